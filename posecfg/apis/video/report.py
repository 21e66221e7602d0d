"""Accounting of decoded and lost frames, and the message a damaged video gets."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

__all__ = ['DecodeReport', 'LossTracker', 'format_ranges']


def format_ranges(ranges: Sequence[Tuple[int, int]], most: int = 12) -> str:
    """``[(3, 3), (10, 19)]`` → ``'3, 10-19'`` (inclusive ranges; the first ``most`` shown)."""
    parts = [f'{a}' if a == b else f'{a}-{b}' for a, b in ranges[:most]]
    if len(ranges) > most:
        parts.append(f'and {len(ranges) - most} more ranges')
    return ', '.join(parts)


@dataclass
class DecodeReport:
    """What decoding a video gave.

    ``lost_ranges``: inclusive (first, last) frame index ranges that did not decode: gaps in the
    decoded frames' indices, and the tail between the last decoded frame and the container's
    frame count.
    """
    path: str
    frame_count: Optional[int]
    decoded: int
    lost_ranges: List[Tuple[int, int]] = field(default_factory=list)
    truncated: bool = False
    note: str = ''

    @property
    def lost(self) -> int:
        return sum(b - a + 1 for a, b in self.lost_ranges)

    @property
    def num_frames(self) -> int:
        """Frames the video should have: the container's count, or more if more decoded."""
        end = self.lost_ranges[-1][1] + 1 if self.lost_ranges else 0
        return max(self.frame_count or 0, self.decoded + self.lost, end)

    def message(self) -> str:
        if not self.lost:
            return f'{self.path}: all {self.decoded} frames decoded'
        declared = (f'the container declares {self.frame_count}' if self.frame_count
                    else 'the container declares no frame count')
        text = (f'{self.path}: {self.lost} of {self.num_frames} frames could not be decoded '
                f'({self.decoded} decoded, {declared}); lost frames '
                f'{format_ranges(self.lost_ranges)}')
        if self.truncated:
            text += '; the file ends early (truncated or cut off while recording?)'
        if self.note:
            text += f'; {self.note}'
        return text


class LossTracker:
    """Collects the decoded frames' indices (increasing) as they come."""

    def __init__(self):
        self.decoded = 0
        self.last = -1
        self.gaps: List[Tuple[int, int]] = []

    def add(self, index: int) -> None:
        if index > self.last + 1:
            self.gaps.append((self.last + 1, index - 1))
        self.last = max(self.last, index)
        self.decoded += 1

    def report(self, path: str, frame_count: Optional[int], note: str = '') -> DecodeReport:
        ranges = list(self.gaps)
        truncated = bool(frame_count and frame_count > self.last + 1)
        if truncated:
            ranges.append((self.last + 1, frame_count - 1))
        return DecodeReport(path=path, frame_count=frame_count, decoded=self.decoded,
                            lost_ranges=ranges, truncated=truncated, note=note)
