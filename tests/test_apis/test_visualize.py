"""draw_pose / draw_keypoints: threshold, NaN points, the input left untouched."""
import numpy as np

from posecfg.apis.visualize import draw_keypoints, draw_pose


def test_draw_pose_copies_and_keeps_scores_at_the_threshold():
    image = np.zeros((20, 30, 3), np.uint8)
    points = np.array([[5, 5], [15, 5], [25, 5], [np.nan, 3]])
    out = draw_pose(image, points, scores=[0.3, 0.29, 1.0, 1.0], score_thr=0.3, radius=2)
    assert not image.any()  # the input is not drawn on
    assert [bool(out[5, x].any()) for x in (5, 15, 25)] == [True, False, True]


def test_draw_keypoints_in_place_skips_far_and_nan_points():
    canvas = np.zeros((20, 30, 3), np.uint8)
    points = np.array([[1e30, 5], [np.inf, 5], [10.5, 10.5]])
    result = draw_keypoints(canvas, points, np.ones(3, bool), np.full((3, 3), 200), radius=1)
    assert result is canvas
    ys, xs = np.nonzero(canvas[..., 0])
    assert abs(xs.mean() - 10.5) < 0.01 and abs(ys.mean() - 10.5) < 0.01
