"""``LPMultiviewProjectDataset`` on a real two-view rig (the mirror-mouse frames cut into their
top and bottom views, ``lp_two_view_rig.py``) against Lightning Pose 2.4.3's rules:

- ``data/datasets.py:649-650``: one CSV per view; l. 836-854 ``check_data_images_names``: same
  row count, same keypoint names in order, row i the same file name in every view;
- ``data/datamodules.py:111-200``: ``random_split(range(N), [train, val, test],
  generator=torch.Generator().manual_seed(rng_seed_data_pt))`` over the frames (one split for
  all views); ``data/utils.py:17-73`` the sizes (floor, leftover < 5 to train);
- ``data/datasets.py:1141-1186`` ``fusion``: keypoints concatenated view after view;
  l. 1196-1198: every view augmented by its own call (independent draws).
"""
import shutil

import numpy as np
import pytest
import torch

from posecfg.datasets.lp_multiview import LPMultiviewProjectDataset
from posecfg.datasets.project_base import ProjectDataError
from tests.test_datasets.lp_two_view_rig import (BODYPARTS, VIEWS, mirror_mouse_labels,
                                                 view_keypoints, write_two_view_rig)

CSVS = [f'CollectedData_{v}.csv' for v in VIEWS]
PIPELINE = [dict(type='LoadImageFromFile'),
            dict(type='Resize', height=128, width=128, keep_ratio=False),
            dict(type='ToTensor'),
            dict(type='Collect', keys=['img', 'keypoints', 'keypoints_visible'],
                 meta_keys=['image_file', 'image_id'])]


@pytest.fixture(scope='module')
def rig(tmp_path_factory):
    return write_two_view_rig(tmp_path_factory.mktemp('rig') / 'two-view')


def dataset(rig, **kwargs):
    args = dict(data_dir=str(rig), csv_file=CSVS, view_names=list(VIEWS), train_prob=0.8,
                val_prob=0.1, rng_seed_data_pt=42, keypoint_names=list(BODYPARTS))
    args.update(kwargs)
    return LPMultiviewProjectDataset(**args)


def test_split_is_lightning_poses_rule_frame_by_frame(rig):
    """90 frames, train_prob 0.8, val_prob 0.1, seed 42: sizes 72 / 9 / 9 (floor, leftover 9 ≥
    5 to test), members the consecutive pieces of torch.randperm(90) seeded 42 — the same
    frames in every view."""
    perm = torch.randperm(90, generator=torch.Generator().manual_seed(42)).tolist()
    expected = {'train': perm[:72], 'val': perm[72:81], 'test': perm[81:]}
    labels = mirror_mouse_labels()
    for split, rows in expected.items():
        ds = dataset(rig, split=split)
        assert ds.rows.tolist() == rows and len(ds) == len(rows)
        for view, sub in zip(VIEWS, ds.views):
            assert sub.rows.tolist() == rows
            # row r of the view CSV is frame r of the mirror-mouse CSV, in that view's folder
            assert [sub.labels.image_names[r] for r in rows] == [
                f'labeled-data/{view}/{labels.index[r].split("/")[-1]}' for r in rows]
    sets = dataset(rig, split='all').lp_split.set_column()
    assert sorted(np.flatnonzero(sets == 'test').tolist()) == sorted(perm[81:])


def test_samples_hold_every_view_and_the_concatenated_labels(rig):
    """Frame img01 (CSV row 0): top view paw1LH (77.25, 36.25) and bottom view paw1LH (83.75,
    270.25 - 168 = 102.25); tailBase/tailMid unlabelled in the top view. The record and gt
    concatenate the 7 keypoints of top then bottom; the sample stacks both resized views."""
    ds = dataset(rig, split='all', test_mode=True, pipeline=PIPELINE)
    record = ds.image_record(0)
    assert record['keypoints'].shape == (1, 14, 2)
    np.testing.assert_allclose(record['keypoints'][0, 0], [77.25, 36.25])
    np.testing.assert_allclose(record['keypoints'][0, 7], [83.75, 102.25])
    assert record['keypoints_visible'][0].tolist() == [1, 1, 1, 1, 0, 0, 1] + [1] * 7
    assert record['view_image_files'][1].endswith('labeled-data/bot/img01.png')
    sample = ds[0]
    assert sample['img'].shape == (2, 3, 128, 128)
    assert sample['keypoints'].shape == (2, 1, 7, 2)
    # Resize: the top view is 396x168, the bottom 396x238 pixels → 128x128 (each its own warp)
    top, bot = sample['img_metas']['views']
    assert top['warp_mat'][1, 1] == pytest.approx(128 / 168)
    assert bot['warp_mat'][1, 1] == pytest.approx(128 / 238)
    np.testing.assert_allclose(sample['gt']['keypoints'][0, 7], [83.75, 102.25])
    labels = mirror_mouse_labels()
    both = np.concatenate([view_keypoints(labels, v) for v in VIEWS], axis=1)
    for i in (3, 40):
        gt = ds[i]['gt']
        want = both[i]
        visible = np.isfinite(want).all(-1)
        assert gt['keypoints_visible'][0].astype(bool).tolist() == visible.tolist()
        np.testing.assert_allclose(gt['keypoints'][0][visible], want[visible], rtol=1e-6)


def test_views_are_augmented_independently_and_reproducibly(rig):
    """A random transform draws for each view on its own (Lightning Pose: one call per view);
    the same (index, seed) key gives the same sample."""
    pipeline = [dict(type='LoadImageFromFile'), dict(type='Rot90', k=[0, 1, 2, 3]),
                dict(type='Resize', height=128, width=128, keep_ratio=False),
                dict(type='ToTensor'),
                dict(type='Collect', keys=['img', 'keypoints', 'keypoints_visible'],
                     meta_keys=['image_file', 'image_id'])]
    ds = dataset(rig, pipeline=pipeline)
    turns = set()
    for seed in range(12):
        a, b = ds[(0, seed)], ds[(0, seed)]
        assert torch.equal(a['img'], b['img'])
        top, bot = (m['warp_mat'] for m in a['img_metas']['views'])
        # the quarter turn of each view: the sign pattern of its warp's linear part (the views'
        # scales differ: 168 and 238 rows resized to 128)
        turns.add(not np.array_equal(np.sign(top[:, :2].round(6)),
                                     np.sign(bot[:, :2].round(6))))
    assert turns == {True, False}  # sometimes the two views turn differently, sometimes alike


def test_views_that_do_not_match_are_refused(rig, tmp_path):
    with pytest.raises(ProjectDataError, match='give one CSV per view'):
        dataset(rig, csv_file=CSVS[:1])
    with pytest.raises(ProjectDataError, match='must be lists'):
        dataset(rig, csv_file=CSVS[0])
    with pytest.raises(ProjectDataError, match='at least two different views'):
        dataset(rig, view_names=['top', 'top'])
    other = tmp_path / 'rig'
    shutil.copytree(rig, other)
    bot = other / CSVS[1]
    lines = bot.read_text().splitlines()
    bot.write_text('\n'.join(lines[:3] + [lines[4], lines[3]] + lines[5:]) + '\n')
    with pytest.raises(ProjectDataError, match='row 0: .* must be the same frame'):
        dataset(other)
    bot.write_text('\n'.join(lines[:-1]) + '\n')
    with pytest.raises(ProjectDataError, match='89 labelled frames but .* has 90'):
        dataset(other)
    bot.write_text('\n'.join(lines[:1] + [lines[1].replace('nose', 'snout')] + lines[2:]) + '\n')
    with pytest.raises(ProjectDataError, match='differ from the keypoints of .*bot'):
        dataset(other)
    with pytest.raises(ProjectDataError, match='same keypoints in the same order'):
        dataset(other, keypoint_names=None)
