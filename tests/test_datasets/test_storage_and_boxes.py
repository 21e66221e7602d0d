"""Columnar instance storage and the box → crop helpers."""
import numpy as np
import pytest

from posecfg.datasets.boxes import boxes_to_center_scale, jitter_centers, sanitize_boxes
from posecfg.datasets.instance_table import InstanceTable, StringPool


def test_string_pool():
    pool = StringPool(['a.jpg', '', 'dir/ü.png'])
    assert len(pool) == 3 and [pool[i] for i in range(3)] == ['a.jpg', '', 'dir/ü.png']
    assert pool[-1] == 'dir/ü.png'
    with pytest.raises(IndexError):
        pool[3]


def test_instance_table_rows_are_copies():
    table = InstanceTable(points=np.arange(12, dtype=np.float32).reshape(3, 2, 2),
                          ids=np.array([7, 8, 9]))
    row = table.row(1)
    assert row['ids'] == 8 and isinstance(row['ids'], int)
    row['points'][:] = -1
    assert table.row(1)['points'][0, 0] == 4.0
    with pytest.raises(ValueError):
        table.column('points')[0, 0, 0] = 1.0
    with pytest.raises(ValueError, match=r'InstanceTable columns differ in length: '
                                         r"\{'a': 2, 'b': 3\}"):
        InstanceTable(a=np.zeros(2), b=np.zeros(3))


def test_sanitize_boxes_follows_mmpose():
    boxes = np.array([[-10, 5, 100, 20], [10, 10, 0, 5], [630, 10, 50, 50]])
    clean, valid = sanitize_boxes(boxes, np.full(3, 640.0), np.full(3, 480.0))
    # the left edge clips to 0 and the right edge is taken from there (MMPose's rule)
    assert np.allclose(clean[0], [0, 5, 100, 20])
    assert valid.tolist() == [True, False, True]
    assert np.allclose(clean[2], [630, 10, 9, 50])  # clipped to width - 1


def test_boxes_to_center_scale():
    centers, scales = boxes_to_center_scale(np.array([[10, 20, 100, 50]]), 0.75, 1.25)
    assert np.allclose(centers, [[60, 45]])
    assert np.allclose(scales, [[100 / 200 * 1.25, 100 / 0.75 / 200 * 1.25]])


def test_jitter_centers_stays_within_a_fifth_of_the_box():
    np.random.seed(3)
    centers = np.zeros((2000, 2), np.float32)
    boxes = np.tile([0, 0, 100, 50], (2000, 1)).astype(np.float32)
    moved = jitter_centers(centers, boxes)
    shifted = (moved != 0).any(axis=1)
    assert 0.25 < shifted.mean() < 0.35  # MMPose: probability 0.3
    assert np.abs(moved[:, 0]).max() <= 20 and np.abs(moved[:, 1]).max() <= 10
