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


def test_project_datasets_pickle_for_spawned_workers():
    import pickle

    for name in ('DLCProjectDataset', 'LPProjectDataset'):
        cls = DATASETS.get(name)
        ds = DATASETS.build(dict(type=name, pipeline=[dict(type='LoadImageFromFile')],
                                 **cls.example_args))
        copy = pickle.loads(pickle.dumps(ds))
        assert np.asarray(copy[0]['img']).shape == (24, 32, 3)


def test_boxes_from_keypoints_follow_deeplabcut():
    # DeepLabCut 3.0.2 pose_estimation_pytorch/data/utils.py bbox_from_keypoints: visible
    # points' min - margin / max + margin, clipped to [0, W] x [0, H]; no visible point -> 0s;
    # base.py _compute_bboxes: area = max(1, w * h)
    from posecfg.datasets.boxes import boxes_from_keypoints

    keypoints = np.array([[[5, 30], [50, 10], [99, 99]],
                          [[1, 1], [2, 2], [3, 3]]], np.float32)
    visible = np.array([[1, 1, 0], [0, 0, 0]], np.float32)
    boxes, areas = boxes_from_keypoints(keypoints, visible, np.array([[40, 60], [40, 60]]),
                                        margin=20, min_area=1)
    assert boxes.tolist() == [[0, 0, 60, 40], [0, 0, 0, 0]]  # (x 5-20 → 0, 50+20 → 60 = W)
    assert areas.tolist() == [2400, 1]
