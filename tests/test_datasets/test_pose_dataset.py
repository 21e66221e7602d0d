"""PoseDataset without MMPose 0.x's data_cfg: a dataset over a reader's NaN-marked arrays (the
shape DeepLabCut and Lightning Pose readers return), as the next dataset classes will be."""
import numpy as np
import pytest

from posecfg.datasets import PoseDataset, check_image_record
from posecfg.datasets.instance_table import InstanceTable, StringPool
from posecfg.registry import METRICS

INFO = 'configs/_base_/datasets/synthetic_animal.py'  # 14 keypoints, with OKS sigmas


class ArrayDataset(PoseDataset):
    """Images (M,), keypoints (M, N, K, 2) with NaN for unlabelled points, identities, unique
    keypoints (M, U, 2): the columns of ``PoseDataset._load``."""

    def __init__(self, files, keypoints, unique, **kwargs):
        self.arrays = (files, np.asarray(keypoints, np.float64), np.asarray(unique, np.float64))
        super().__init__(**kwargs)

    def _load(self):
        files, keypoints, unique = self.arrays
        m, n, k = keypoints.shape[:3]
        labelled = ~np.isnan(keypoints).any(axis=-1)  # (M, N, K)
        keep = labelled.any(axis=-1)  # an individual with no label in an image is no instance
        rows, ids = np.nonzero(keep)
        points = np.where(labelled[..., None], keypoints, 0.0)[rows, ids].astype(np.float32)
        visible = labelled[rows, ids].astype(np.float32)
        low = np.where(visible[..., None] > 0, points, np.inf).min(axis=1)
        high = np.where(visible[..., None] > 0, points, -np.inf).max(axis=1)
        bbox = np.concatenate([low, high - low], axis=1).astype(np.float32)
        count = len(rows)
        table = InstanceTable(
            image_row=rows.astype(np.int64), ann_id=np.full(count, -1, np.int64),
            category_id=np.full(count, -1, np.int64), keypoints=points, visible=visible,
            bbox=bbox, area=(bbox[:, 2] * bbox[:, 3]).astype(np.float32),
            bbox_score=np.ones(count, np.float32), has_gt=np.ones(count, bool),
            identity=ids.astype(np.int64))
        unique_visible = (~np.isnan(unique).any(axis=-1)).astype(np.float32)
        images = InstanceTable(unique_keypoints=np.nan_to_num(unique).astype(np.float32),
                               unique_visible=unique_visible)
        return table, StringPool(files), np.arange(m, dtype=np.int64), images


def arrays():
    keypoints = np.full((3, 2, 14, 2), np.nan)
    keypoints[0, 0, :5] = [[10 + i, 20 + i] for i in range(5)]
    keypoints[0, 1, 3:] = 50.0
    keypoints[2, 1, :2] = [[1, 2], [3, 4]]  # image 1 has no labelled individual
    unique = np.full((3, 1, 2), np.nan)
    unique[0, 0] = [7, 8]
    return ['a.png', 'b.png', 'c.png'], keypoints, unique


def test_a_reader_s_arrays_become_image_records_and_samples():
    ds = ArrayDataset(*arrays(), dataset_info=INFO, data_mode='bottomup', test_mode=True)
    assert len(ds) == ds.num_images == 3 and ds.num_instances == 3
    first = ds.image_record(0)
    check_image_record(first, 'ArrayDataset', 14)
    assert first['identities'].tolist() == [0, 1]
    assert first['keypoints_visible'].sum(axis=1).tolist() == [5, 11]
    np.testing.assert_array_equal(first['keypoints'][0, 5:], 0)  # NaN → 0, visibility 0
    np.testing.assert_array_equal(first['unique_keypoints'], [[[7, 8]]])
    empty = ds[1]  # a frame without labels is a sample with N = 0
    assert empty['keypoints'].shape == (0, 14, 2) and empty['gt']['keypoints'].shape == (0, 14, 2)
    assert ds[2]['identities'].tolist() == [1]
    assert ds[0]['ann_info']['num_joints'] == 14 and 'flip_pairs' in ds[0]['ann_info']
    # top-down: one sample per instance, the crop left to the pipeline (no center/scale here)
    topdown = ArrayDataset(*arrays(), dataset_info=INFO, test_mode=True)
    assert len(topdown) == 3 and 'center' not in topdown[0]
    assert topdown[1]['joints_3d'][3:, :2].tolist() == [[50.0, 50.0]] * 11


def test_every_dataset_expands_the_image_level_metric_names():
    names = ['mAP', 'PCK', 'EPE']
    configs = ArrayDataset.metric_configs(names, dict(dataset_info=INFO))
    assert configs == [dict(type='CocoKeypointMetric'),
                       dict(type='PCKAccuracy', thr=0.2, norm_item='bbox'), dict(type='EPE')]
    for cfg in configs:
        METRICS.build(cfg)
    with pytest.raises(ValueError, match="'PCKh' is not supported; supported: 'mAP', 'PCK'"):
        ArrayDataset.metric_configs('PCKh', dict(dataset_info=INFO))
    train = ArrayDataset(*arrays(), dataset_info=INFO)
    with pytest.raises(ValueError, match='built with test_mode=False'):
        train.check_evaluator([dict(type='EPE')])
