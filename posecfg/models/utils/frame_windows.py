"""Windows of consecutive frames from per-frame maps, for context models.

A context model reads, for each frame t, the frames t − c … t + c. When the frames come as runs
(unlabeled training sequences, video batches), the backbone runs once per frame and the windows
are built from its maps, as Lightning Pose does (``models/base.py:159-199``
``get_context_from_sequence`` then ``[2:-2]``, l. 360-386: windows centred on the frames that
have c real frames on each side).
"""
from __future__ import annotations

from torch import Tensor


def windows_from_sequences(feats: Tensor, frames_per_sequence: int, context: int) -> Tensor:
    """Per-frame maps (U · F, ...) of U runs of F consecutive frames → windows
    (U · (F − 2c), 2c + 1, ...) centred on each run's frames c … F − 1 − c, in order."""
    size = 2 * context + 1
    if frames_per_sequence < size or len(feats) % frames_per_sequence:
        raise ValueError(f'context windows need runs of at least {size} frames; got '
                         f'{len(feats)} frames in runs of {frames_per_sequence}')
    runs = feats.reshape(-1, frames_per_sequence, *feats.shape[1:])  # (U, F, ...)
    windows = runs.unfold(1, size, 1)  # (U, F − 2c, ..., 2c + 1)
    windows = windows.permute(0, 1, windows.dim() - 1, *range(2, windows.dim() - 1))
    return windows.reshape(-1, size, *feats.shape[1:])
