"""Augmentation randomness that depends only on (seed, epoch, sample index).

CONTRACTS.md "Randomness": the training sampler yields keys ``(index, sample_seed)``; a dataset's
``__getitem__`` accepts them (and plain int indices), and runs its pipeline inside
:func:`seeded_random`, which seeds numpy's global generator and Python's ``random`` from
``sample_seed`` and restores both afterwards. Transforms draw from ``np.random`` / ``random``, so
sample ``i`` of epoch ``e`` is augmented the same way whichever dataloader worker, process or
rank prepares it, and a run resumed at an epoch boundary repeats the uninterrupted one bit for
bit (the sampler's order comes from ``seed + epoch`` too, as mmengine's ``DefaultSampler``).
"""
from __future__ import annotations

import random
from contextlib import contextmanager
from typing import Iterator, Optional, Tuple, Union

import numpy as np
from mmengine.dataset import DefaultSampler

from ..registry import DATA_SAMPLERS

SampleKey = Union[int, Tuple[int, int]]

_MASK64 = (1 << 64) - 1


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A 64-bit seed for sample ``index`` in ``epoch`` of a run seeded with ``seed``
    (numpy's ``SeedSequence`` mixing, so nearby triples give unrelated streams)."""
    words = np.random.SeedSequence([int(seed) & _MASK64, int(epoch), int(index)]) \
        .generate_state(2, np.uint32)
    return int(words[0]) | (int(words[1]) << 32)


def split_key(key: SampleKey) -> Tuple[int, Optional[int]]:
    """``(index, sample_seed)`` of a dataset key; the seed is None for a plain index."""
    if isinstance(key, (tuple, list)):
        if len(key) != 2:
            raise TypeError(f'a dataset key is an index or an (index, seed) pair, got {key!r}')
        return int(key[0]), int(key[1])
    return int(key), None


@contextmanager
def seeded_random(seed: Optional[int]):
    """Seed ``np.random`` and ``random`` from ``seed`` (64-bit) for the block, then restore the
    generators' previous states; does nothing for None."""
    if seed is None:
        yield
        return
    numpy_state, python_state = np.random.get_state(), random.getstate()
    np.random.seed([seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF])
    random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)


@DATA_SAMPLERS.register_module()
class SeededSampler(DefaultSampler):
    """mmengine's ``DefaultSampler`` (same order: a permutation seeded by ``seed + epoch``, split
    over ranks) yielding ``(index, sample_seed(seed, epoch, index))`` keys.

    Args: those of ``DefaultSampler`` (``dataset``, ``shuffle``, ``seed``, ``round_up``);
    ``set_epoch`` is called by mmengine's ``DistSamplerSeedHook`` before each epoch.
    """

    def __iter__(self) -> Iterator[Tuple[int, int]]:
        for index in super().__iter__():
            yield int(index), sample_seed(self.seed, self.epoch, index)
