"""TopDownAffine: one warp that equals MMPose's flip-then-warp, at full or reduced decode."""
import copy

import cv2
import numpy as np
import pytest

from posecfg.transforms import (LoadImageFromFile, TopDownAffine, TopDownGetBboxCenterScale,
                                TopDownRandomFlip)
from posecfg.transforms.affine import crop_matrix
from posecfg.transforms.lazy_image import LazyImage, reduction_for, warp_affine

IMAGE_SIZE = np.array([192, 256])


def record(img, joints, visible, center, scale, rotation=0.0, **ann):
    ann_info = dict(image_size=IMAGE_SIZE, num_joints=len(joints), flip_pairs=[[0, 1]], **ann)
    return dict(img=img, joints_3d=np.asarray(joints, np.float32),
                joints_3d_visible=np.asarray(visible, np.float32),
                center=np.asarray(center, np.float32), scale=np.asarray(scale, np.float32),
                rotation=rotation, ann_info=ann_info)


def dots_image(points, height=300, width=400):
    """Black (H, W, 3) uint8 image with a 3x3 white square centred on each integer point."""
    img = np.zeros((height, width, 3), np.uint8)
    for x, y in points:
        img[y - 1:y + 2, x - 1:x + 2] = 255
    return img


def brightest(img):
    """(x, y) of the intensity-weighted centre of the crop's bright pixels."""
    grey = img[..., 0].astype(np.float64)
    grey[grey < 64] = 0
    ys, xs = np.nonzero(grey)
    w = grey[ys, xs]
    return np.array([(xs * w).sum() / w.sum(), (ys * w).sum() / w.sum()])


@pytest.mark.parametrize('use_udp', [False, True])
@pytest.mark.parametrize('rotation', [0.0, 30.0])
@pytest.mark.parametrize('flip', [False, True])
def test_known_points_land_where_the_joints_go(use_udp, rotation, flip):
    dot = (230, 140)
    rec = record(dots_image([dot]), joints=[[*dot, 0], [0, 0, 0]],
                 visible=[[1, 1, 0], [0, 0, 0]], center=(200, 150), scale=(0.96, 1.28),
                 rotation=rotation)
    if flip:
        rec = TopDownRandomFlip(flip_prob=1.0)(rec)
    out = TopDownAffine(use_udp=use_udp)(rec)
    assert out['img'].shape == (256, 192, 3) and out['img'].dtype == np.uint8
    joint = out['joints_3d'][1 if flip else 0, :2]  # a flip makes joint 0 its partner 1
    np.testing.assert_allclose(brightest(out['img']), joint, atol=0.3)
    if not flip and not use_udp and rotation == 0:
        # box 192x256 px centred at (200, 150) maps 1:1 onto the crop
        np.testing.assert_allclose(joint, [230 - 200 + 96, 140 - 150 + 128], atol=1e-4)


def test_invisible_joints_stay_unless_udp(mmpose0):
    rec = record(np.zeros((100, 100, 3), np.uint8), joints=[[10, 20, 0], [30, 40, 0]],
                 visible=[[1, 1, 0], [0, 0, 0]], center=(50, 50), scale=(0.5, 0.5))
    plain = TopDownAffine()(copy.deepcopy(rec))
    np.testing.assert_array_equal(plain['joints_3d'][1], [30, 40, 0])  # MMPose: untouched
    for use_udp in (False, True):
        out = TopDownAffine(use_udp=use_udp)(copy.deepcopy(rec))
        _, expected = mmpose0.warp(rec['img'], rec['joints_3d'], rec['joints_3d_visible'],
                                   rec['center'], rec['scale'], 0.0, IMAGE_SIZE, use_udp)
        np.testing.assert_allclose(out['joints_3d'], expected, rtol=1e-6, atol=1e-4)
    # by hand: the box is 0.5 x 200 = 100 px wide, scaled by 192 / 100 about its centre onto
    # the crop's centre (96, 128): (10, 20) → ((10 - 50) * 1.92 + 96, (20 - 50) * 1.92 + 128)
    np.testing.assert_allclose(plain['joints_3d'][0], [19.2, 70.4, 0], atol=1e-4)
    np.testing.assert_array_equal(rec['joints_3d'][0], [10, 20, 0])  # input not modified


def mmpose_flip_then_warp(mm, pixels, rec, use_udp):
    """What MMPose 0.x does (``mm``: its formulas written out in conftest.py): mirror the decoded
    array, the joints and the centre, then warp."""
    width = pixels.shape[1]
    joints, visible = mm.fliplr_joints(rec['joints_3d'], rec['joints_3d_visible'], width,
                                       rec['ann_info']['flip_pairs'])
    center = np.array([width - rec['center'][0] - 1, rec['center'][1]])
    return mm.warp(pixels[:, ::-1, :], joints, visible, center, rec['scale'], rec['rotation'],
                   IMAGE_SIZE, use_udp)


def coco_crop_record(coco_records, index, rotation, scale_factor, reduced_decode):
    rec = coco_records()[index]
    rec = LoadImageFromFile(reduced_decode=reduced_decode)(rec)
    rec = TopDownGetBboxCenterScale()(rec)
    rec['scale'] = rec['scale'] * scale_factor
    rec['rotation'] = rotation
    return rec


@pytest.mark.parametrize('use_udp', [False, True])
@pytest.mark.parametrize('index,rotation,scale_factor', [(0, 0.0, 1.0), (4, 25.0, 1.3),
                                                         (9, -60.0, 0.7)])
def test_flip_folded_into_one_warp_equals_flip_then_warp(coco_records, mmpose0, use_udp, index,
                                                         rotation, scale_factor):
    rec = coco_crop_record(coco_records, index, rotation, scale_factor, reduced_decode=False)
    pixels = np.asarray(rec['img'])
    expected_img, expected_joints = mmpose_flip_then_warp(mmpose0, pixels, rec, use_udp)
    out = TopDownAffine(use_udp=use_udp)(TopDownRandomFlip(flip_prob=1.0)(rec))
    assert out['flip'] is True
    diff = np.abs(out['img'].astype(np.int16) - expected_img.astype(np.int16))
    # the same sampling positions up to float rounding; cv2 rounds them to 1/32 pixel, so a
    # few pixels on strong edges land in the neighbouring 1/32 step (a few levels off)
    assert diff.max() <= 16 and (diff > 0).mean() < 0.02, (diff.max(), (diff > 0).mean())
    assert diff.mean() < 0.05
    np.testing.assert_allclose(out['joints_3d'], expected_joints, atol=1e-3)


def blur(img):
    return cv2.GaussianBlur(img.astype(np.float32), (0, 0), 1.0)


def misalignment(reference, image):
    """Sub-pixel (dx, dy) that best aligns ``image`` to ``reference`` (phase correlation)."""
    def grey(x):
        return cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).astype(np.float64)

    window = cv2.createHanningWindow(tuple(IMAGE_SIZE), cv2.CV_64F)
    shift, _ = cv2.phaseCorrelate(grey(reference), grey(image), window)
    return np.array(shift)


@pytest.mark.parametrize('flip', [False, True])
@pytest.mark.parametrize('index,scale_factor,rotation,reduction', [
    (0, 1.5, 0.0, 2), (9, 1.4, -35.0, 2), (4, 1.5, 10.0, 2), (0, 3.5, 0.0, 4), (9, 3.0, 45.0, 4)])
def test_reduced_decode_matches_full_decode(coco_records, flip, index, scale_factor, rotation,
                                            reduction):
    full = coco_crop_record(coco_records, index, rotation, scale_factor, reduced_decode=False)
    reduced = coco_crop_record(coco_records, index, rotation, scale_factor, reduced_decode=True)
    matrix = crop_matrix(full['center'], full['scale'], rotation, IMAGE_SIZE, False)
    assert reduction_for(matrix, reduced['img'].max_reduction) == reduction  # case under test
    if flip:
        full, reduced = TopDownRandomFlip(1.0)(full), TopDownRandomFlip(1.0)(reduced)
    a = TopDownAffine()(full)  # full decode: MMPose's pixels
    b = TopDownAffine()(reduced)
    np.testing.assert_array_equal(a['joints_3d'], b['joints_3d'])
    # aligned: a pixel-centre slip of the reduced grid (0.5 px at 1/2, 1.5 px at 1/4) shows as
    # 0.2-0.4 output px here
    assert np.abs(misalignment(a['img'], b['img'])).max() < 0.1
    # same content: the full-resolution warp aliases (it samples every 2nd-4th pixel without a
    # prefilter); seen through a 1-pixel blur, which removes most of that, the crops agree
    assert np.abs(blur(a['img']) - blur(b['img'])).mean() < 1.5
    assert np.abs(a['img'].astype(np.float32) - b['img']).mean() < 6.0


def test_reduction_rule():
    # 0.3 output pixels per input pixel: a 1/2 image still has more pixels than the output
    # samples, a 1/4 one too (0.3 * 4 = 1.2 > 1 would not)
    assert reduction_for(np.array([[0.3, 0, 0], [0, 0.3, 0]]), 8) == 2
    assert reduction_for(np.array([[0.2, 0, 0], [0, 0.2, 0]]), 8) == 4
    assert reduction_for(np.array([[0.1, 0, 0], [0, 0.1, 0]]), 8) == 8
    assert reduction_for(np.array([[0.1, 0, 0], [0, 0.1, 0]]), 1) == 1
    # the densest axis decides
    assert reduction_for(np.array([[0.1, 0, 0], [0, 0.6, 0]]), 8) == 1
    assert reduction_for(np.array([[1.0, 0, 0], [0, 1.0, 0]]), 8) == 1


def test_array_image_is_flipped_inside_the_warp(mmpose0):
    img = np.random.default_rng(3).integers(0, 255, (90, 120, 3), dtype=np.uint8)
    rec = record(img, joints=[[10, 20, 0], [100, 30, 0]], visible=np.ones((2, 3)),
                 center=(60, 45), scale=(0.5, 0.6))
    flipped = TopDownRandomFlip(flip_prob=1.0)(copy.deepcopy(rec))
    assert isinstance(flipped['img'], LazyImage) and flipped['img'].mirrored
    np.testing.assert_array_equal(np.asarray(flipped['img']), img[:, ::-1])
    out = TopDownAffine()(flipped)
    expected, _ = mmpose_flip_then_warp(mmpose0, img, rec, use_udp=False)
    assert np.abs(out['img'].astype(np.int16) - expected).max() <= 1


def test_missing_keys_are_named():
    rec = record(np.zeros((10, 10, 3), np.uint8), [[0, 0, 0]], [[1, 1, 0]], (5, 5), (0.1, 0.1))
    del rec['rotation']
    with pytest.raises(KeyError, match="TopDownAffine: the sample record has no 'rotation'"):
        TopDownAffine()(rec)
    rec['rotation'] = 0.0
    del rec['ann_info']['image_size']
    with pytest.raises(KeyError, match="TopDownAffine: results\\['ann_info'\\] has no "
                                       "'image_size'"):
        TopDownAffine()(rec)


@pytest.mark.parametrize('kwargs', [dict(), dict(channel_order='bgr'), dict(to_float32=True),
                                    dict(color_type='grayscale')])
@pytest.mark.parametrize('decoded_first', [False, True])
def test_warp_affine_matches_warping_the_loaded_array(jpeg_file, kwargs, decoded_first):
    path, _ = jpeg_file
    img = LoadImageFromFile(reduced_decode=False, **kwargs)(dict(image_file=str(path)))['img']
    img = img.mirror()
    expected_input = np.ascontiguousarray(np.asarray(img))  # MMPose's (mirrored) array
    if not decoded_first:
        img = LoadImageFromFile(reduced_decode=False, **kwargs)(
            dict(image_file=str(path)))['img'].mirror()
    matrix = crop_matrix((70.0, 60.0), (0.4, 0.5), 15.0, (64, 80), use_udp=False)
    expected = cv2.warpAffine(expected_input, matrix, (64, 80), flags=cv2.INTER_LINEAR)
    out = warp_affine(img, matrix, (64, 80))
    assert out.dtype == expected.dtype and out.shape == expected.shape
    diff = np.abs(out.astype(np.float64) - expected)
    assert diff.mean() < 0.05 and diff.max() <= 16  # 1/32-pixel rounding of sample positions
