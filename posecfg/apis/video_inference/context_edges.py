"""Lightning Pose's rule for the first and last frames of a video under a context model.

A context model predicts frame t from frames t − c … t + c (c = 2). Lightning Pose 2.4.3 predicts
only the frames that have c real frames on each side and gives the first c frames the prediction
of frame c and the last c frames that of frame N − 1 − c (``utils/predictions.py:147-185``
``fix_context_preds_confs``: the rows shifted by two, ``tile(row 0, 2)`` in front, and
``preds_combined[-2:] = preds_combined[-3]``; confidences too, not zeroed, for
``heatmap_mhcrnn``). posecfg applies the same rule to every frame that decoded (a frame lost to
damage is skipped, as the reader's windows skip it), for videos of at least 2c + 1 decoded
frames; a shorter video keeps its edge-padded windows' predictions (Lightning Pose cannot
predict it).

Lightning Pose's own reader differs in one corner: when its windows end exactly at the video's
end (``(N − L) % (L − 4) == 0`` for ``dali.context.predict.sequence_length`` L) it has 4 rows
fewer than frames and pads the last four with the prediction of **frame 2**
(``torch.tile(preds_combined[0], ...)``, l. 178-182) — a bug posecfg does not copy.

:func:`lp_context_edges` fixes a finished (T, ...) array; :class:`ContextEdgeStream` applies
the same rule to rows as they come (for drawing a labeled video while predicting), holding back
at most 2c frames.
"""
from __future__ import annotations

from typing import Callable, List

import numpy as np

__all__ = ['lp_context_edges', 'ContextEdgeStream']


def lp_context_edges(values: np.ndarray, decoded: np.ndarray, context: int) -> np.ndarray:
    """``values`` (T, ...) per-frame rows with the first and last ``context`` decoded frames
    given the rows of the decoded frames next to them (module docstring); in place, returned."""
    frames = np.flatnonzero(decoded)
    if context <= 0 or len(frames) < 2 * context + 1:
        return values
    values[frames[:context]] = values[frames[context]]
    values[frames[-context:]] = values[frames[-context - 1]]
    return values


class ContextEdgeStream:
    """``push(frame, row)`` in frame order, then ``finish()``: ``emit(frame, row)`` is called for
    every frame in order with its row under :func:`lp_context_edges`'s rule (rows are copied
    before they are changed)."""

    def __init__(self, context: int, emit: Callable[[np.ndarray, np.ndarray], None]):
        self.context, self.emit = int(context), emit
        self.pending: List[list] = []
        self.count = 0
        self.last_row = None

    def push(self, frame: np.ndarray, row: np.ndarray) -> None:
        c = self.context
        self.pending.append([frame, row])
        self.count += 1
        if self.count == 2 * c + 1:  # the video is long enough: the first c take frame c's row
            for item in self.pending[:c]:
                item[1] = np.array(self.pending[c][1], copy=True)
        if self.count > 2 * c:  # never emit the last c frames before the end is known
            while len(self.pending) > c:
                frame, row = self.pending.pop(0)
                self.emit(frame, row)
                self.last_row = row

    def finish(self) -> None:
        long_enough = self.count >= 2 * self.context + 1
        for frame, row in self.pending:
            self.emit(frame, np.array(self.last_row, copy=True) if long_enough else row)
        self.pending = []
