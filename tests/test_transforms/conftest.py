"""Fixtures for pipeline tests: COCO ann_info from the dataset config, sample records of the
MMPose test images, and a small synthetic JPEG with known content."""
import json
import math
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


class MMPose0:
    """MMPose 0.x's top-down geometry, written out here from its source (branch ``0.x`` of
    open-mmlab/mmpose) as the independent oracle of the transform tests: posecfg's own
    ``posecfg.geometry`` is never called, so a bug there cannot cancel out.

    - ``mmpose/core/bbox/transforms.py``: ``bbox_xywh2cs``;
    - ``mmpose/core/post_processing/post_transforms.py``: ``fliplr_joints``, ``rotate_point``,
      ``_get_3rd_point``, ``get_affine_transform``, ``affine_transform``, ``get_warp_matrix``
      (UDP), ``warp_affine_joints``;
    - ``mmpose/datasets/pipelines/top_down_transform.py``: the random draws of
      ``TopDownRandomShiftBboxCenter``, ``TopDownRandomFlip``, ``TopDownHalfBodyTransform``
      (``half_body_transform``), ``TopDownGetRandomScaleRotation`` and ``TopDownAffine``.
    """

    @staticmethod
    def bbox_xywh2cs(bbox, aspect_ratio, padding=1.0, pixel_std=200.0):
        x, y, w, h = bbox[:4]
        center = np.array([x + w * 0.5, y + h * 0.5], dtype=np.float32)
        if w > aspect_ratio * h:
            h = w * 1.0 / aspect_ratio
        elif w < aspect_ratio * h:
            w = h * aspect_ratio
        return center, np.array([w, h], dtype=np.float32) / pixel_std * padding

    @staticmethod
    def fliplr_joints(joints_3d, joints_3d_visible, img_width, flip_pairs):
        flipped, visible = joints_3d.copy(), joints_3d_visible.copy()
        for left, right in flip_pairs:
            flipped[left, :], flipped[right, :] = joints_3d[right, :], joints_3d[left, :]
            visible[left, :], visible[right, :] = joints_3d_visible[right, :], \
                joints_3d_visible[left, :]
        flipped[:, 0] = img_width - 1 - flipped[:, 0]
        return flipped * (visible > 0), visible

    @staticmethod
    def rotate_point(pt, angle_rad):
        sn, cs = np.sin(angle_rad), np.cos(angle_rad)
        return [pt[0] * cs - pt[1] * sn, pt[0] * sn + pt[1] * cs]

    @staticmethod
    def third_point(a, b):
        direction = a - b
        return b + np.array([-direction[1], direction[0]], dtype=np.float32)

    @classmethod
    def get_affine_transform(cls, center, scale, rot, output_size):
        scale_tmp = np.asarray(scale) * 200.0
        src_w, (dst_w, dst_h) = scale_tmp[0], output_size
        src_dir = cls.rotate_point([0., src_w * -0.5], np.pi * rot / 180)
        dst_dir = np.array([0., dst_w * -0.5])
        src = np.zeros((3, 2), dtype=np.float32)
        src[0, :] = center
        src[1, :] = center + np.asarray(src_dir)
        src[2, :] = cls.third_point(src[0, :], src[1, :])
        dst = np.zeros((3, 2), dtype=np.float32)
        dst[0, :] = [dst_w * 0.5, dst_h * 0.5]
        dst[1, :] = np.array([dst_w * 0.5, dst_h * 0.5]) + dst_dir
        dst[2, :] = cls.third_point(dst[0, :], dst[1, :])
        return cv2.getAffineTransform(np.float32(src), np.float32(dst))

    @staticmethod
    def affine_transform(pt, trans_mat):
        return np.array(trans_mat) @ np.array([pt[0], pt[1], 1.])

    @staticmethod
    def get_warp_matrix(theta, size_input, size_dst, size_target):
        theta = np.deg2rad(theta)
        matrix = np.zeros((2, 3), dtype=np.float32)
        scale_x = size_dst[0] / size_target[0]
        scale_y = size_dst[1] / size_target[1]
        matrix[0, 0] = math.cos(theta) * scale_x
        matrix[0, 1] = -math.sin(theta) * scale_x
        matrix[0, 2] = scale_x * (-0.5 * size_input[0] * math.cos(theta) +
                                  0.5 * size_input[1] * math.sin(theta) + 0.5 * size_target[0])
        matrix[1, 0] = math.sin(theta) * scale_y
        matrix[1, 1] = math.cos(theta) * scale_y
        matrix[1, 2] = scale_y * (-0.5 * size_input[0] * math.sin(theta) -
                                  0.5 * size_input[1] * math.cos(theta) + 0.5 * size_target[1])
        return matrix

    @staticmethod
    def warp_affine_joints(joints, mat):
        joints = np.array(joints)
        shape = joints.shape
        joints = joints.reshape(-1, 2)
        return np.dot(np.concatenate((joints, joints[:, 0:1] * 0 + 1), axis=1),
                      mat.T).reshape(shape)

    @staticmethod
    def half_body_transform(ann_info, joints_3d, joints_3d_visible):
        upper, lower = [], []
        for joint_id in range(ann_info['num_joints']):
            if joints_3d_visible[joint_id][0] > 0:
                (upper if joint_id in ann_info['upper_body_ids'] else lower).append(
                    joints_3d[joint_id])
        if np.random.randn() < 0.5 and len(upper) > 2:
            selected = upper
        elif len(lower) > 2:
            selected = lower
        else:
            selected = upper
        if len(selected) < 2:
            return None, None
        selected = np.array(selected, dtype=np.float32)
        center = selected.mean(axis=0)[:2]
        w, h = np.amax(selected, axis=0)[:2] - np.amin(selected, axis=0)[:2]
        aspect_ratio = ann_info['image_size'][0] / ann_info['image_size'][1]
        if w > aspect_ratio * h:
            h = w * 1.0 / aspect_ratio
        elif w < aspect_ratio * h:
            w = h * aspect_ratio
        return center, np.array([w / 200.0, h / 200.0], dtype=np.float32) * 1.5

    @classmethod
    def warp(cls, img, joints, visible, center, scale, rotation, image_size, use_udp=False):
        """``TopDownAffine``: the crop and the joints in its pixels (plain: visible joints
        only; UDP: every joint)."""
        image_size = np.array(image_size)
        if use_udp:
            trans = cls.get_warp_matrix(rotation, np.asarray(center) * 2.0, image_size - 1.0,
                                        np.asarray(scale) * 200.0)
        else:
            trans = cls.get_affine_transform(center, scale, rotation, image_size)
        crop = cv2.warpAffine(np.ascontiguousarray(img), trans,
                              (int(image_size[0]), int(image_size[1])), flags=cv2.INTER_LINEAR)
        moved = joints.copy()
        if use_udp:
            moved[:, 0:2] = cls.warp_affine_joints(joints[:, 0:2].copy(), trans)
        else:
            for i in range(len(joints)):
                if visible[i, 0] > 0.0:
                    moved[i, 0:2] = cls.affine_transform(joints[i, 0:2], trans)
        return crop, moved


@pytest.fixture
def mmpose0():
    """:class:`MMPose0`, MMPose 0.x's geometry written out (the oracle)."""
    return MMPose0
