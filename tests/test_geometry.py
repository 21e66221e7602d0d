"""posecfg.geometry against MMPose 0.x's definitions and against known points."""
import math

import cv2
import numpy as np
import pytest

from posecfg.geometry import (affine_points, bbox_cs2xywh, bbox_xywh2cs, compose_affine,
                              flip_permutation, fliplr_joints, get_affine_transform,
                              get_warp_matrix, hflip_matrix, invert_affine, scale_matrix)


def three_point_affine(center, scale, rot, output_size, shift=(0., 0.), inv=False):
    """MMPose 0.x's construction: solve the affine from three point pairs (box centre, a point
    half a box width "above" it turned by ``rot``, and a third at right angles)."""
    box = np.asarray(scale, np.float64) * 200.0
    t = math.radians(rot)
    up = np.array([0.5 * box[0] * math.sin(t), -0.5 * box[0] * math.cos(t)])
    out_w, out_h = output_size

    def right_angle(a, b):
        d = a - b
        return b + np.array([-d[1], d[0]])

    src0 = np.asarray(center, np.float64) + box * np.asarray(shift)
    src = np.array([src0, src0 + up, right_angle(src0, src0 + up)], np.float32)
    dst0 = np.array([out_w * 0.5, out_h * 0.5])
    dst1 = dst0 + np.array([0.0, -0.5 * out_w])
    dst = np.array([dst0, dst1, right_angle(dst0, dst1)], np.float32)
    return cv2.getAffineTransform(dst, src) if inv else cv2.getAffineTransform(src, dst)


CASES = [
    ((100.0, 50.0), (1.2, 1.6), 30.0, (192, 256), (0.0, 0.0)),
    ((10.5, 300.0), (0.5, 0.7), -70.0, (48, 64), (0.1, -0.2)),
    ((640.0, 0.0), (3.0, 4.0), 179.0, (288, 384), (-0.3, 0.25)),
]


@pytest.mark.parametrize('center,scale,rot,size,shift', CASES)
@pytest.mark.parametrize('inv', [False, True])
def test_get_affine_transform_matches_mmpose_construction(center, scale, rot, size, shift, inv):
    ours = get_affine_transform(center, scale, rot, size, shift=shift, inv=inv)
    ref = three_point_affine(center, scale, rot, size, shift=shift, inv=inv)
    # the reference solves in float32: agree to its precision relative to the coordinates
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=2e-3)


def test_get_affine_transform_known_points():
    center, scale, size = (300.0, 200.0), (0.96, 1.28), (192, 256)  # box 192 x 256 px
    m = get_affine_transform(center, scale, 0, size)
    corners = np.array([[300 - 96, 200 - 128], [300 + 96, 200 + 128], [300, 200]])
    np.testing.assert_allclose(affine_points(corners, m), [[0, 0], [192, 256], [96, 128]],
                               atol=1e-9)
    # zoom: the box is twice the output, so everything shrinks by 2 around the centre
    m2 = get_affine_transform(center, np.array(scale) * 2, 0, size)
    np.testing.assert_allclose(affine_points([[300 + 40, 200 - 20]], m2), [[96 + 20, 128 - 10]])
    # rot=90 turns content counter-clockwise as displayed: what was above the centre goes left
    m90 = get_affine_transform(center, scale, 90, size)
    np.testing.assert_allclose(affine_points([[300, 200 - 50]], m90), [[96 - 50, 128]],
                               atol=1e-9)
    # shift moves the box centre by a fraction of the box size
    ms = get_affine_transform(center, scale, 0, size, shift=(0.25, -0.5))
    np.testing.assert_allclose(affine_points([[300 + 48, 200 - 128]], ms), [[96, 128]],
                               atol=1e-9)


def test_get_affine_transform_inverse_composes_to_identity():
    fwd = get_affine_transform((123.4, 56.7), (0.8, 1.1), 33.0, (48, 64), shift=(0.1, 0.2))
    inv = get_affine_transform((123.4, 56.7), (0.8, 1.1), 33.0, (48, 64), shift=(0.1, 0.2),
                               inv=True)
    np.testing.assert_allclose(compose_affine(inv, fwd), [[1, 0, 0], [0, 1, 0]], atol=1e-12)
    np.testing.assert_allclose(invert_affine(fwd), inv, atol=1e-12)


def test_get_warp_matrix_udp_known_points():
    center, box, out = np.array([300.0, 200.0]), np.array([192.0, 256.0]), (96, 128)
    m = get_warp_matrix(0.0, center * 2, np.array(out) - 1.0, box)
    # UDP maps the box edges (not pixel edges) onto the first and last output pixel centres
    np.testing.assert_allclose(
        affine_points([center - box / 2, center + box / 2, center], m),
        [[0, 0], [95, 127], [47.5, 63.5]], atol=1e-9)
    # and, unlike get_affine_transform, turns content clockwise as displayed for theta > 0
    m90 = get_warp_matrix(90.0, center * 2, np.array(out) - 1.0, box)
    np.testing.assert_allclose(affine_points([center - [0, 64]], m90), [[47.5 + 64 * 95 / 192,
                                                                         63.5]], atol=1e-9)


def test_get_warp_matrix_axes_scale_independently():
    m = get_warp_matrix(0.0, (0.0, 0.0), (10.0, 40.0), (20.0, 20.0))
    np.testing.assert_allclose(m[:, :2], [[0.5, 0], [0, 2.0]])


def test_bbox_xywh2cs_fixes_aspect_and_pads():
    center, scale = bbox_xywh2cs([10, 20, 30, 40], aspect_ratio=0.75, padding=1.25)
    assert center.dtype == np.float32 and scale.dtype == np.float32
    np.testing.assert_allclose(center, [25, 40])
    np.testing.assert_allclose(scale, [30 / 200 * 1.25, 40 / 200 * 1.25], rtol=1e-6)
    _, wide = bbox_xywh2cs([0, 0, 300, 100], aspect_ratio=0.75)  # too wide: grow the height
    np.testing.assert_allclose(wide, [1.5, 2.0], rtol=1e-6)
    _, tall = bbox_xywh2cs([0, 0, 30, 100, 0.9], aspect_ratio=0.75)  # score entry ignored
    np.testing.assert_allclose(tall, [0.375, 0.5], rtol=1e-6)
    np.testing.assert_allclose(bbox_cs2xywh(*bbox_xywh2cs([10, 20, 30, 40], 0.75, 1.25), 1.25),
                               [10, 20, 30, 40], rtol=1e-6)


def test_affine_points_shapes_and_dtypes():
    m = np.array([[2.0, 0.0, 1.0], [0.0, 3.0, -1.0]])
    pts = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    out = affine_points(pts, m)
    assert out.shape == (2, 3, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out[1, 2], [2 * 10 + 1, 3 * 11 - 1])
    assert affine_points([[1, 2]], m).dtype == np.float64


def test_compose_affine_order_and_errors():
    double, shift = scale_matrix(2, 2), scale_matrix(1, 1, 5, 0)
    # compose_affine(a, b)(p) == a(b(p)): shift first, then double
    np.testing.assert_allclose(affine_points([[1, 1]], compose_affine(double, shift)), [[12, 2]])
    with pytest.raises(ValueError, match=r'expected \(2, 3\) matrices, got shape \(3, 3\)'):
        compose_affine(np.eye(3))


def test_hflip_matrix_equals_array_mirror_under_warp():
    img = np.random.default_rng(0).integers(0, 255, (7, 11, 3), dtype=np.uint8)
    warped = cv2.warpAffine(img, hflip_matrix(11), (11, 7), flags=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(warped, img[:, ::-1])


def test_fliplr_joints_mirrors_swaps_and_zeroes_invisible():
    joints = np.array([[10, 5, 0], [20, 6, 0], [30, 7, 0], [40, 8, 0]], np.float32)
    visible = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 0], [1, 1, 0]], np.float32)
    before = joints.copy()
    flipped, vis = fliplr_joints(joints, visible, img_width=100, flip_pairs=[[0, 1], [2, 3]])
    np.testing.assert_array_equal(joints, before)  # inputs untouched
    # joint 0 takes joint 1's data, x → W - 1 - x; joint 3 takes invisible joint 2 → zeros
    np.testing.assert_array_equal(flipped, [[79, 6, 0], [89, 5, 0], [59, 8, 0], [0, 0, 0]])
    np.testing.assert_array_equal(vis[:, 0], [1, 1, 1, 0])
    np.testing.assert_array_equal(flip_permutation(5, [[0, 1], [2, 3]]), [1, 0, 3, 2, 4])


def test_fliplr_joints_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match='joints_3d has 3 joints but joints_3d_visible has 2'):
        fliplr_joints(np.zeros((3, 3)), np.zeros((2, 3)), 10, [])


@pytest.mark.parametrize('use_udp', [False, True])
def test_crop_to_image_inverts_the_crop(use_udp):
    """Oracle: OpenCV's inverse of the crop's affine matrix (no rotation: MMPose 0.x's
    transform_preds does not undo one)."""
    from posecfg.geometry import crop_to_image
    from posecfg.transforms.affine import crop_matrix
    center, scale, size = np.array([120.0, 80.5]), np.array([0.9, 1.2]), (192, 256)
    matrix = crop_matrix(center, scale, 0.0, size, use_udp)
    inverse = cv2.invertAffineTransform(matrix)
    points = np.random.default_rng(0).uniform(0, 192, (5, 3, 2))
    expected = points @ inverse[:, :2].T + inverse[:, 2]
    np.testing.assert_allclose(crop_to_image(points, center, scale, size, use_udp), expected,
                               atol=1e-9)
