"""Augmentation randomness from (seed, epoch, sample index): the same sample whatever the number
of dataloader workers or ranks, a different one in another epoch, the global generators left as
they were (CONTRACTS.md "Randomness")."""
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.dataset import DefaultSampler

from posecfg.config import Config
from posecfg.datasets.sampler import SeededSampler, sample_seed, seeded_random, split_key
from posecfg.registry import DATASETS
from posecfg.transforms import pose_collate

SEED_CONFIG = Path(__file__).resolve().parents[2] / 'configs' / 'body' / '2d_kpt_sview_rgb_img' / \
    'topdown_heatmap' / 'coco' / 'res50_coco_256x192.py'


@pytest.fixture
def seed_train_set(mmpose_tests):
    """COCO's four MMPose test images through the seed config's train pipeline (flip,
    half-body, scale/rotation, affine, targets)."""
    coco = mmpose_tests / 'coco'
    cfg = Config.fromfile(str(SEED_CONFIG)).to_dict()
    train = dict(cfg['data']['train'], ann_file=str(coco / 'test_coco.json'),
                 img_prefix=str(coco) + '/')
    return DATASETS.build(train)


def batches(dataset, workers, seed=7, epoch=0):
    sampler = SeededSampler(dataset, shuffle=True, seed=seed)
    sampler.set_epoch(epoch)
    loader = torch.utils.data.DataLoader(dataset, batch_size=3, sampler=sampler,
                                         num_workers=workers, collate_fn=pose_collate)
    return [(b['img'], b['target'], [m['rotation'] for m in b['img_metas']]) for b in loader]


def test_the_same_samples_whatever_the_number_of_workers(seed_train_set):
    np.random.seed(0)
    inline = batches(seed_train_set, workers=0)
    np.random.seed(123)  # the global state must not matter
    two = batches(seed_train_set, workers=2)
    assert len(inline) == len(two) > 1
    for (img_a, target_a, rot_a), (img_b, target_b, rot_b) in zip(inline, two):
        assert torch.equal(img_a, img_b) and torch.equal(target_a, target_b)
        assert rot_a == rot_b
    rotations = [r for _, _, rots in inline for r in rots]
    assert any(r != 0 for r in rotations)  # the seed pipeline really augmented
    other_epoch = batches(seed_train_set, workers=0, epoch=1)
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(inline, other_epoch))


def test_a_key_reproduces_one_sample_and_the_global_generators_go_on(seed_train_set):
    key = (2, sample_seed(7, 3, 2))
    np.random.seed(5)
    random.seed(5)
    first = seed_train_set[key]
    after = (np.random.rand(), random.random())
    np.random.rand()  # move the global generator on: the sample must not change
    again = seed_train_set[key]
    assert torch.equal(first['img'], again['img'])
    assert np.array_equal(first['target'], again['target'])
    # the global streams after a sample depend on where they were, not on the sample
    np.random.seed(5)
    random.seed(5)
    seed_train_set[(3, sample_seed(7, 3, 3))]
    assert (np.random.rand(), random.random()) == after
    plain = seed_train_set[2]  # an int key still works, drawing from the global generator
    assert plain['img'].shape == first['img'].shape


def test_ranks_split_the_single_process_keys(monkeypatch):
    data = list(range(11))
    single = list(SeededSampler(data, shuffle=True, seed=3))
    order = list(DefaultSampler(data, shuffle=True, seed=3))
    assert [i for i, _ in single] == order  # mmengine's order, with seeds attached
    import mmengine.dataset.sampler as sampler_module
    per_rank = []
    for rank in (0, 1):
        monkeypatch.setattr(sampler_module, 'get_dist_info', lambda r=rank: (r, 2))
        per_rank.append(list(SeededSampler(data, shuffle=True, seed=3)))
    keys = dict(single)
    for rank_keys in per_rank:
        for index, seed in rank_keys:
            assert keys[index] == seed  # a sample's seed does not depend on its rank
    assert sorted({i for r in per_rank for i, _ in r}) == data


def test_sample_seeds_differ_and_are_stable():
    seeds = {sample_seed(0, e, i) for e in range(3) for i in range(100)}
    assert len(seeds) == 300
    # SplitMix64's finaliser, written out: x += golden gamma; two xor-shift-multiply rounds
    mask = 2 ** 64 - 1

    def mix(x):
        x = (x + 0x9E3779B97F4A7C15) & mask
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
        return x ^ (x >> 31)
    assert sample_seed(5, 2, 9) == mix(mix(mix(5) ^ 2) ^ 9) < 2 ** 64
    assert mix(0) == 0xE220A8397B1DCDAF  # the reference implementation's first output
    assert sample_seed(-1, 0, 0) == sample_seed(2 ** 64 - 1, 0, 0)
    with seeded_random(sample_seed(1, 2, 3)):
        a = (np.random.rand(), random.random())
    with seeded_random(sample_seed(1, 2, 3)):
        b = (np.random.rand(), random.random())
    assert a == b


def test_keys():
    assert split_key(4) == (4, None)
    assert split_key((4, 99)) == (4, 99)
    with pytest.raises(TypeError, match=r'an index or an \(index, seed\) pair'):
        split_key((1, 2, 3))
