"""DeepLabCut's train/test split rule (trainingsetmanipulation.py ``SplitTrials``).

For ``n`` labelled images and a training fraction ``f`` (two decimals at most):
``perm = permutation(n)``; the first ``int(n * round(f, 2))`` rows of ``perm`` train, the rest
test. DeepLabCut draws ``perm`` from numpy's global generator without seeding it, one draw per
(shuffle, fraction) in creation order: fractions outer and shuffles inner for single-animal
projects (``create_training_dataset``), shuffles outer and fractions inner for multi-animal
ones (``create_multianimaltraining_dataset``). posecfg draws from ``RandomState(seed)`` instead,
so a split is reproducible: with ``seed=s`` it is the split DeepLabCut makes for trainset
index ``i`` of a single new shuffle after ``numpy.random.seed(s)`` (the ``i+1``-th draw).
"""
from __future__ import annotations

from typing import Tuple

import numpy as np


def check_fraction(train_fraction: float) -> float:
    """DeepLabCut's check: 0 <= f <= 1 with at most two decimals (folder names use 100 f)."""
    if not 0 <= train_fraction <= 1 or abs(train_fraction - round(train_fraction, 2)) > 0:
        raise ValueError(f'training fraction {train_fraction} must be a number between 0 and 1 '
                         f'with at most two decimals (e.g. 0.95), as DeepLabCut requires')
    return round(train_fraction, 2)


def split_trials(num_images: int, train_fraction: float,
                 permutation: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Train and test rows from a permutation of ``range(num_images)`` (int64 arrays)."""
    fraction = check_fraction(train_fraction)
    train_size = int(num_images * fraction)
    permutation = np.asarray(permutation, dtype=np.int64)
    return permutation[:train_size], permutation[train_size:]


def seeded_split(num_images: int, train_fraction: float, seed: int,
                 draw: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """The split of the ``draw``-th permutation (0-based) of ``RandomState(seed)``."""
    rng = np.random.RandomState(seed)
    for _ in range(draw):
        rng.permutation(num_images)
    return split_trials(num_images, train_fraction, rng.permutation(num_images))
