"""Lightning Pose's train/validation/test split of the labelled images, frame for frame.

The rule (Lightning Pose 2.4.3):

1. sizes (``lightning_pose/data/utils.py::split_sizes_from_probabilities``, l. 17-73) for ``N``
   images: ``train = floor(train_prob * N)``, ``val = floor(val_prob * N)`` (when ``val_prob`` is
   None both val and test get ``round((1 - train_prob) / 2, 5)``); the ``leftover = N - train -
   val`` goes to test if it is at least 5, else to train (test = 0); then if ``val == 0`` one
   image moves from train to val, and fewer than one train image left is an error;
2. membership (``lightning_pose/data/datamodules.py::BaseDataModule._setup``, l. 111-200):
   ``torch.utils.data.random_split(range(N), [train, val, test],
   generator=torch.Generator().manual_seed(rng_seed_data_pt))``, i.e. a ``torch.randperm(N)``
   cut into consecutive pieces in the order train, val, test;
3. ``train_frames`` (``data/utils.py::compute_num_train_frames``, l. 104-139) keeps the first
   ``n`` train indices: all when None, 1, or not less than the train size; ``int(train_frames)``
   when above 1; ``int(train_frames * train)`` when in (0, 1); an error when <= 0;
4. in ``predictions.csv`` (``utils/predictions.py::add_split_indices_to_df``, l. 223-239) a row
   is ``train``, ``validation`` or ``test`` by that membership and ``unused`` otherwise (the
   train images ``train_frames`` left out).

Lightning Pose also asserts ``train + val + test probabilities == 1.0`` with float equality,
which fails for some valid pairs (e.g. train_prob 0.7, val_prob 0.08: 1 - 0.7 - 0.08 + 0.7 +
0.08 != 1.0 in binary floating point) with a bare AssertionError; posecfg computes the sizes
for those too.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple, Union

import numpy as np

SET_NAMES = ('train', 'validation', 'test')
UNUSED = 'unused'


class LPSplitError(ValueError):
    """A split that Lightning Pose's rule cannot make."""


@dataclass(frozen=True)
class LPSplit:
    """Which labelled images (row numbers of the labels CSV) are in which set.

    ``train`` is after ``train_frames``; ``train_full`` before it. Each is an int64 array in the
    order ``random_split`` gives (Lightning Pose's ``Subset.indices``).
    """
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    train_full: np.ndarray
    num_images: int

    @property
    def sizes(self) -> Tuple[int, int, int]:
        return len(self.train), len(self.validation), len(self.test)

    def set_column(self) -> np.ndarray:
        """(M,) object array: ``train`` / ``validation`` / ``test`` / ``unused`` per image."""
        column = np.full(self.num_images, UNUSED, dtype=object)
        for name, indices in zip(SET_NAMES, (self.train, self.validation, self.test)):
            column[indices] = name
        return column


def lp_split_sizes(total: int, train_prob: float,
                   val_prob: Optional[float] = None) -> Tuple[int, int, int]:
    """(train, val, test) image counts by Lightning Pose's rule (module docstring, step 1)."""
    if val_prob is None:
        val_prob = round((1.0 - train_prob) / 2, 5)
    if not (0 <= train_prob <= 1 and 0 <= val_prob <= 1 and train_prob + val_prob <= 1 + 1e-9):
        raise LPSplitError(f'training.train_prob ({train_prob}) and training.val_prob '
                           f'({val_prob}) must lie in [0, 1] and add up to at most 1')
    train = int(math.floor(train_prob * total))
    val = int(math.floor(val_prob * total))
    leftover = total - train - val
    if leftover < 5:
        train, test = train + leftover, 0
    else:
        test = leftover
    if val == 0:
        train, val = train - 1, 1
        if train < 1:
            raise LPSplitError(
                f'{total} labelled image(s): Lightning Pose needs at least two, one for training '
                'and one for validation')
    return train, val, test


def lp_num_train_frames(train_size: int, train_frames: Union[int, float, None]) -> int:
    """How many of the ``train_size`` train images ``training.train_frames`` keeps (step 3)."""
    if train_frames is None or train_frames == 1 or train_frames >= train_size:
        return train_size
    if train_frames > 1:
        return int(train_frames)
    if train_frames > 0:
        return int(train_frames * train_size)
    raise LPSplitError(f'training.train_frames must be > 0 (a fraction of the {train_size} train '
                       f'images, or a count above 1), got {train_frames}')


def lp_split(num_images: int, train_prob: float, val_prob: Optional[float] = None,
             train_frames: Union[int, float, None] = None, rng_seed_data_pt: int = 0) -> LPSplit:
    """Lightning Pose's split of ``num_images`` labelled images (module docstring, steps 1-3).

    Uses torch because the rule is torch's ``random_split``: the permutation is the one
    ``torch.Generator().manual_seed(rng_seed_data_pt)`` gives on CPU.
    """
    import torch
    from torch.utils.data import random_split

    sizes = lp_split_sizes(num_images, train_prob, val_prob)
    parts = random_split(range(num_images), list(sizes),
                         generator=torch.Generator().manual_seed(int(rng_seed_data_pt)))
    train_full, val, test = (np.asarray(list(p), dtype=np.int64) for p in parts)
    train = train_full[:lp_num_train_frames(len(train_full), train_frames)]
    return LPSplit(train=train, validation=val, test=test, train_full=train_full,
                   num_images=num_images)
