"""``ContextFrames`` / ``lp_context_paths``: a labelled frame's neighbouring image files by
Lightning Pose 2.4.3's rule, frame by frame, and one augmentation for all five frames.

The oracle is Lightning Pose's rule written out here (``lightning_pose/utils/io.py:518-547``
``get_context_img_paths``: the first digit run of the stem is the index, t-2 … t+2 floored at
0, zero-padded to the centre's width, every occurrence replaced; ``data/datasets.py:303-312``:
a file that does not exist is replaced by the centre frame).
"""
import os
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from posecfg.transforms import Compose, ContextFrames, lp_context_paths


def lp_rule(centre: Path):
    """Lightning Pose's rule, as its source says it (io.py:530-547, datasets.py:306-309)."""
    match = re.search(r'(\d+)', centre.stem)
    digits = match.group()
    paths = []
    for index in range(int(digits) - 2, int(digits) + 3):
        index = max(index, 0)
        path = centre.with_stem(centre.stem.replace(digits, str(index).zfill(len(digits))))
        paths.append(path if path.exists() else centre)  # datasets.py:307-309 → paths[2]
    return [str(p) for p in paths]


def frames(folder: Path, names):
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        image = np.full((24, 32, 3), 10 * i, np.uint8)
        image[4:10, 3 + i:9 + i] = 250  # a square moving one pixel per frame
        cv2.imwrite(str(folder / name), image)
    return folder


@pytest.mark.parametrize('centre,want', [
    ('img00.png', ['img00', 'img00', 'img00', 'img01', 'img02']),   # floored at 0
    ('img01.png', ['img00', 'img00', 'img01', 'img02', 'img03']),
    ('img03.png', ['img01', 'img02', 'img03', 'img04', 'img05']),
    ('img05.png', ['img03', 'img04', 'img05', 'img05', 'img05']),   # img06/07 missing → centre
])
def test_window_of_each_frame(tmp_path, centre, want):
    folder = frames(tmp_path / 'labeled-data', [f'img{i:02d}.png' for i in range(6)])
    got = lp_context_paths(str(folder / centre))
    assert got == [str(folder / f'{w}.png') for w in want]
    assert got == lp_rule(folder / centre)


def test_every_frame_of_a_folder_against_the_rule(tmp_path):
    """Gaps (a missing img04), a stem whose digits repeat, numbers that outgrow their width,
    the first digit run of a longer stem."""
    names = ([f'img{i:02d}.png' for i in range(8) if i != 4]
             + [f'cam{i}_{i}.png' for i in (7, 8, 9, 10, 11)]
             + ['img9.png', 'img10.png', 'img11.png']
             + [f'v2_frame{i:03d}.jpg' for i in range(0, 4)])
    folder = frames(tmp_path / 'frames', names)
    for name in names:
        assert lp_context_paths(str(folder / name)) == lp_rule(folder / name), name
    # the first digit run is the index: v2_frame001's "2" changes, not the frame number
    assert lp_context_paths(str(folder / 'v2_frame001.jpg'))[3] == str(folder / 'v2_frame001.jpg')
    assert lp_context_paths(str(folder / 'img9.png'))[3:] == [str(folder / 'img10.png'),
                                                             str(folder / 'img11.png')]
    # both occurrences of the digits change (str.replace): cam9_9 → cam10_10
    assert lp_context_paths(str(folder / 'cam9_9.png'))[3] == str(folder / 'cam10_10.png')


def test_a_name_without_a_number_is_an_error(tmp_path):
    with pytest.raises(ValueError, match='labelled.png: no frame number'):
        lp_context_paths(str(tmp_path / 'labelled.png'))


def test_the_same_augmentation_on_every_frame(tmp_path):
    """A random flip and affine drawn once: five copies of one frame stay equal after the
    pipeline, and the centre's keypoints are what the plain pipeline gives with that seed."""
    folder = frames(tmp_path / 'same', ['img00.png'])
    for i in range(1, 5):
        os.link(folder / 'img00.png', folder / f'img{i:02d}.png')
    steps = [dict(type='LoadImageFromFile'),
             dict(type='RandomAffine', p=1.0, rotation=30, scaling=(0.8, 1.2)),
             dict(type='HorizontalFlip', p=0.5), dict(type='ToTensor')]
    record = dict(image_file=str(folder / 'img02.png'), image_id=0,
                  keypoints=np.array([[[5.0, 6.0], [20.0, 12.0]]], np.float32),
                  keypoints_visible=np.ones((1, 2), np.float32),
                  bboxes=np.array([[5, 6, 15, 6]], np.float32))
    for seed in range(4):
        np.random.seed(seed)
        out = ContextFrames(steps)(dict(record))
        assert out['img'].shape == (5, 3, 24, 32)
        for frame in out['img']:
            assert torch.equal(frame, out['img'][2])
        np.random.seed(seed)
        plain = Compose(steps)(dict(record))
        assert torch.equal(plain['img'], out['img'][2])
        np.testing.assert_array_equal(plain['keypoints'], out['keypoints'])
    # different frames stay different and in time order
    folder = frames(tmp_path / 'moving', [f'img{i:02d}.png' for i in range(5)])
    out = ContextFrames([dict(type='LoadImageFromFile'), dict(type='ToTensor')])(
        dict(record, image_file=str(folder / 'img02.png')))
    for i in range(5):
        want = cv2.cvtColor(cv2.imread(str(folder / f'img{i:02d}.png')), cv2.COLOR_BGR2RGB)
        np.testing.assert_array_equal(out['img'][i].permute(1, 2, 0).numpy(), want)
    assert out['context_files'] == [str(folder / f'img{i:02d}.png') for i in range(5)]
