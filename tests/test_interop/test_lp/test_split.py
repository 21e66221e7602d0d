"""Lightning Pose's split, checked against the rule written out here independently: sizes by
floor / leftover / at-least-one-validation, membership by torch.randperm cut in order."""
import numpy as np
import pytest
import torch

from posecfg.interop.lp.labels import read_lp_labels
from posecfg.interop.lp.split import (LPSplitError, lp_num_train_frames, lp_split,
                                      lp_split_sizes)
from tests.conftest import shared_path


def oracle_split(n, sizes, seed, n_train_kept=None):
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    train, val = perm[:sizes[0]], perm[sizes[0]:sizes[0] + sizes[1]]
    test = perm[sizes[0] + sizes[1]:]
    return train[:n_train_kept], val, test


@pytest.mark.parametrize('total, train_prob, val_prob, expected', [
    (90, 0.8, 0.1, (72, 9, 9)),       # mirror-mouse example: floor 72, 9, leftover 9 >= 5 -> test
    (90, 0.95, 0.05, (86, 4, 0)),     # floor 85, 4, leftover 1 < 5 -> train
    (10, 0.95, 0.05, (9, 1, 0)),      # floor 9, 0, leftover 1 -> train 10; val 0 -> 9, 1
    (3, 0.8, 0.1, (2, 1, 0)),
    (100, 0.8, None, (80, 10, 10)),   # val_prob None: (1 - 0.8) / 2 each
    (20, 0.5, 0.2, (10, 4, 6)),
    (2, 1.0, 0.0, (1, 1, 0)),
    (100, 0.7, 0.08, (70, 8, 22)),    # Lightning Pose's float-equality assert refuses this pair
])
def test_sizes(total, train_prob, val_prob, expected):
    assert lp_split_sizes(total, train_prob, val_prob) == expected


@pytest.mark.parametrize('total, train_prob, val_prob', [(1, 0.8, 0.1), (5, 0.9, 0.5)])
def test_impossible_sizes(total, train_prob, val_prob):
    with pytest.raises(LPSplitError):
        lp_split_sizes(total, train_prob, val_prob)


@pytest.mark.parametrize('train_frames, expected', [
    (None, 72), (1, 72), (1.0, 72), (100, 72), (72, 72), (20, 20), (20.7, 20), (0.5, 36),
    (0.999, 71), (1.5, 1)])
def test_train_frames(train_frames, expected):
    assert lp_num_train_frames(72, train_frames) == expected


@pytest.mark.parametrize('train_frames', [0, -3, -0.5])
def test_train_frames_must_be_positive(train_frames):
    with pytest.raises(LPSplitError, match='train_frames must be > 0'):
        lp_num_train_frames(72, train_frames)


def test_mirror_mouse_split_frame_by_frame():
    labels = read_lp_labels(str(shared_path('lp-mirror-mouse', 'CollectedData.csv')))
    # config_mirror-mouse-example.yaml: train_prob 0.8, val_prob 0.1, train_frames 1, seed 42
    split = lp_split(labels.num_images, 0.8, 0.1, 1, rng_seed_data_pt=42)
    train, val, test = oracle_split(90, (72, 9, 9), 42)
    assert split.train.tolist() == train
    assert split.validation.tolist() == val
    assert split.test.tolist() == test
    assert split.sizes == (72, 9, 9)
    column = split.set_column()
    assert [labels.image_names[i] for i in np.flatnonzero(column == 'test')] == \
        [labels.image_names[i] for i in sorted(test)]
    assert set(column) == {'train', 'validation', 'test'}


def test_train_frames_truncates_and_leaves_unused():
    split = lp_split(90, 0.8, 0.1, train_frames=20, rng_seed_data_pt=0)
    train, val, test = oracle_split(90, (72, 9, 9), 0, n_train_kept=20)
    assert split.train.tolist() == train and split.validation.tolist() == val
    assert split.test.tolist() == test
    column = split.set_column()
    assert (column == 'unused').sum() == 52
    assert (column[split.train_full[20:]] == 'unused').all()
