"""Fixtures for pipeline tests: COCO ann_info from the dataset config, sample records of the
MMPose test images, and a small synthetic JPEG with known content."""
import json
import runpy
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
COCO_DATASET_INFO = REPO_ROOT / 'configs' / '_base_' / 'datasets' / 'coco.py'


def ann_info_from_dataset_info(dataset_info: dict, image_size=(192, 256),
                               heatmap_size=(48, 64)) -> dict:
    """The ``ann_info`` a top-down dataset builds from a dataset_info dict (flip pairs from
    ``swap`` names, upper/lower body from ``type``)."""
    keypoints = dataset_info['keypoint_info']
    ids = {kp['name']: kp['id'] for kp in keypoints.values()}
    pairs = sorted({tuple(sorted((kp['id'], ids[kp['swap']])))
                    for kp in keypoints.values() if kp['swap']})
    num = len(keypoints)
    upper = [kp['id'] for kp in keypoints.values() if kp['type'] == 'upper']
    flip_index = list(range(num))
    for left, right in pairs:
        flip_index[left], flip_index[right] = right, left
    return dict(image_size=np.array(image_size), heatmap_size=np.array(heatmap_size),
                num_joints=num, num_output_channels=num, flip_pairs=[list(p) for p in pairs],
                flip_index=flip_index, upper_body_ids=upper,
                lower_body_ids=[i for i in range(num) if i not in upper],
                joint_weights=np.ones((num, 1), np.float32), use_different_joint_weights=False,
                dataset_channel=[list(range(num))], inference_channel=list(range(num)))


@pytest.fixture
def coco_ann_info():
    """ann_info for COCO-17 with a 192x256 input, facts read from configs/_base_/datasets."""
    if not COCO_DATASET_INFO.exists():
        pytest.skip(f'{COCO_DATASET_INFO} not found')
    return ann_info_from_dataset_info(runpy.run_path(str(COCO_DATASET_INFO))['dataset_info'])


@pytest.fixture
def coco_records(mmpose_tests, coco_ann_info):
    """Top-down records (DESIGN.md) of the 14 persons in mmpose-tests/coco/test_coco.json,
    with GT boxes; a function returning fresh copies, so tests may mutate them."""
    root = mmpose_tests / 'coco'
    coco = json.loads((root / 'test_coco.json').read_text())
    files = {im['id']: str(root / im['file_name']) for im in coco['images']}

    def make():
        records = []
        for bbox_id, ann in enumerate(coco['annotations']):
            kpts = np.array(ann['keypoints'], np.float32).reshape(-1, 3)
            joints = np.zeros((len(kpts), 3), np.float32)
            joints[:, :2] = kpts[:, :2]
            visible = np.zeros((len(kpts), 3), np.float32)
            visible[:, :2] = np.minimum(1, kpts[:, 2:3])
            records.append(dict(
                image_file=files[ann['image_id']], image_id=ann['image_id'],
                joints_3d=joints, joints_3d_visible=visible,
                bbox=np.array(ann['bbox'], np.float32), rotation=0.0, bbox_score=1.0,
                bbox_id=bbox_id, dataset='coco', ann_info=coco_ann_info))
        return records

    return make


def synthetic_image(height=120, width=160, seed=0) -> np.ndarray:
    """(H, W, 3) uint8 BGR: smooth random colours, so bilinear sampling is well behaved."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


@pytest.fixture
def jpeg_file(tmp_path):
    """Path of a 160x120 JPEG with smooth synthetic content, and its decoded BGR pixels."""
    path = tmp_path / 'synthetic.jpg'
    ok, buf = cv2.imencode('.jpg', synthetic_image(), [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    path.write_bytes(buf.tobytes())
    return path, cv2.imread(str(path))
