"""The project datasets' and metrics' ``example_args`` build working instances without shared
data: tiny projects generated on demand (posecfg/datasets/examples.py)."""
import numpy as np

import posecfg.datasets  # noqa: F401  (registration)
import posecfg.evaluation  # noqa: F401
from posecfg.registry import DATASETS, METRICS


def test_datasets_build_from_example_args():
    dlc = DATASETS.build(dict(type='DLCProjectDataset', test_mode=True,
                              **DATASETS.get('DLCProjectDataset').example_args))
    lp = DATASETS.build(dict(type='LPProjectDataset', test_mode=True, split='all',
                             **DATASETS.get('LPProjectDataset').example_args))
    assert len(dlc) == 4 and len(lp) == 5
    for ds in (dlc, lp):
        assert ds.metainfo['keypoint_names'] == ['nose', 'body', 'tail']
        rec = ds.image_record(1)  # frame 1 has 'body' unlabelled (empty CSV cells)
        assert rec['keypoints_visible'][0].tolist() == [1, 0, 1]
        assert rec['keypoints'][0, 1].tolist() == [0, 0]
        assert np.allclose(rec['keypoints'][0, [0, 2]], [[6, 6], [25, 18]])
        assert rec['img_shape'] == (24, 32)
    assert dlc.metainfo['skeleton_links'] == [(0, 1)]
    # the generated project is reused, not rewritten
    assert DATASETS.get('LPProjectDataset').example_args == \
        DATASETS.get('LPProjectDataset').example_args


def test_metrics_build_from_example_args():
    for name in ('DLCRMSEMetric', 'LPPixelErrorMetric'):
        metric = METRICS.build(dict(type=name, **METRICS.get(name).example_args))
        assert type(metric).__name__ == name
