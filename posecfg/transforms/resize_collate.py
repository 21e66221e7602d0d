"""DeepLabCut's resizing collate functions: images of different sizes → one batch size.

``collate_fn=dict(type='ResizeFromDataSizeCollate', min_scale=0.4, max_scale=1.0, ...)`` or
``dict(type='ResizeFromListCollate', scales=[[384, 384], [448, 448]], ...)`` — the keys of
DeepLabCut 3's ``data.train.collate`` (``pose_estimation_pytorch/data/collate.py``), with its
defaults. Per batch, a target size (h, w) is drawn; every sample's image is resized keeping its
aspect ratio so it covers the target (its long side capped at ``max_size``), then cropped to it
at a random offset, which may reach up to ``max_shift`` px beyond the image (zero border):
DeepLabCut's ``resize_and_random_crop`` (``data/image.py:45-208``). Keypoints (and unique
keypoints) move with the pixels, those that leave the target become unlabelled (0, visibility
0; DeepLabCut writes -1), boxes are scaled and clipped, ``areas`` scaled, and each sample's
``img_metas['warp_mat']`` gets the resize and crop composed in, so predictions still map back
to original-image pixels. Then the batch is stacked by :func:`~posecfg.transforms.collate.
pose_collate`.

Training targets depend on the input size, so they are made after the resize: give the
per-sample steps that make them as ``transforms`` (e.g. ``[dict(type='GenerateTarget',
codec=...)]``); a sample arriving with other size-dependent arrays is an error naming them.

The samples arrive after ``ToTensor``: ``img`` (3, h, w) uint8; it is resized with bilinear,
antialiased interpolation (torchvision's ``resize``, which DeepLabCut calls) on the pixel-centre
convention (x → (x + 0.5)·s - 0.5). DeepLabCut crops after normalising, so its border is the
normalised 0 (the mean colour); here pixels are still uint8 and the border is the mean colour
too (``round(255 · mean)`` of the sample's ``img_norm_cfg``; 0 without one).

Randomness: DeepLabCut draws from a generator seeded once with ``seed``, copied into every
dataloader worker (each epoch's workers repeat the same sizes). Here the sizes and offsets of a
batch come from ``seed`` and the batch's per-sample seeds (``img_metas['sample_seed']``, set by
the dataset under the seeded sampler), so they depend on (seed, epoch, batch) only, whatever
the number of workers; without sample seeds, from ``np.random``.
"""
from __future__ import annotations

from numbers import Integral
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from ..registry import FUNCTIONS
from .collate import pose_collate
from .compose import Compose
from .warped_image import compose_warp_mat
from .whole_image import move_boxes, move_points

#: keys the collate updates or that do not depend on the image size
HANDLED_KEYS = ('img', 'img_metas', 'gt', 'keypoints', 'keypoints_visible', 'unique_keypoints',
                'unique_keypoints_visible', 'bboxes', 'areas', 'bbox_scores', 'instance_ids',
                'category_ids', 'identities')


def to_multiple(value: int, of: int) -> int:
    """The smallest multiple of ``of`` that is >= ``value`` (DeepLabCut ``_to_multiple``)."""
    return of * ((value + of - 1) // of)


def square_resize_hw(oh: int, ow: int, short: int, max_size: Optional[int]) -> Tuple[int, int]:
    """(h, w) with the short side ``short`` and the long side ``int(short / s · l)``, capped at
    ``max_size`` (then the short side ``int(max_size / l · s)``) (DLC ``get_resize_hw``)."""
    short_side, long_side = min(oh, ow), max(oh, ow)
    tgt_long = int((short / short_side) * long_side)
    if max_size is not None and tgt_long > max_size:
        tgt_long = max_size
        short = int((tgt_long / long_side) * short_side)
    return (short, tgt_long) if oh < ow else (tgt_long, short)


def cover_resize_hw(oh: int, ow: int, tgt_h: int, tgt_w: int,
                    max_size: Optional[int]) -> Tuple[int, int]:
    """(h, w) of the aspect-preserving resize with one side equal to the target and the other
    covering it, long side capped at ``max_size`` (DLC ``get_resize_preserve_ratio``)."""
    if oh / tgt_h <= ow / tgt_w:
        h, w = tgt_h, int(ow * (tgt_h / oh))
    else:
        h, w = int(oh * (tgt_w / ow)), tgt_w
    if max_size is not None and max(h, w) > max_size:
        if h <= w:
            w, h = max_size, int(oh * (max_size / ow))
        else:
            w, h = int(ow * (max_size / oh)), max_size
    return h, w


def crop_offsets(rng: np.random.Generator, h: int, w: int, tgt_h: int, tgt_w: int,
                 max_shift: int) -> Tuple[int, int]:
    """(x, y) offsets of the crop in the resized image, DLC's ranges (``image.py:147-155``)."""
    extra_x, extra_y = max(0, w - tgt_w), max(0, h - tgt_h)
    ranges = ((max(-tgt_w // 2, -max(0, tgt_w - w) - max_shift),
               min(max_shift + extra_x, extra_x + (min(w, tgt_w) // 2))),
              (max(-tgt_h // 2, -max(0, tgt_h - h) - max_shift),
               min(max_shift + extra_y, extra_y + (min(h, tgt_h) // 2))))
    # an empty range (max_shift=0 and a side already the target's: DLC's randint raises)
    # means the one offset low
    off_x, off_y = (rng.integers(low, high) if high > low else low for low, high in ranges)
    return int(off_x), int(off_y)


class ResizeCollate:
    """Base of the two collates (arguments: DeepLabCut's ``ResizeCollate``).

    Args:
        max_shift: px the crop may extend beyond the resized image.
        max_size: cap on the long side of the resized image (px).
        seed: mixed into the batch's random draws.
        transforms: per-sample steps run after the resize (target generation).
        list_keys: passed to ``pose_collate``.
    """

    def __init__(self, max_shift: int = 10, max_size: Optional[int] = 2048, seed: int = 0,
                 transforms: Sequence = (), list_keys: Sequence[str] = ()):
        owner = type(self).__name__
        if isinstance(max_shift, bool) or not isinstance(max_shift, Integral) or max_shift < 0:
            raise ValueError(f'{owner}: max_shift must be a non-negative int (pixels), got '
                             f'{max_shift!r}')
        if max_size is not None and (not isinstance(max_size, Integral) or max_size < 1):
            raise ValueError(f'{owner}: max_size must be a positive int or None, got '
                             f'{max_size!r}')
        self.max_shift, self.max_size, self.seed = int(max_shift), max_size, int(seed)
        self.transforms = Compose(list(transforms)) if transforms else None
        self.list_keys = tuple(list_keys)

    def target_size(self, rng: np.random.Generator, first_hw: Tuple[int, int]):
        """An int (square side) or (h, w)."""
        raise NotImplementedError

    def generator(self, batch: Sequence[dict]) -> np.random.Generator:
        seeds = [(s.get('img_metas') or {}).get('sample_seed') for s in batch]
        if seeds and all(s is not None for s in seeds):
            return np.random.default_rng([self.seed] + [int(s) & (2 ** 64 - 1) for s in seeds])
        return np.random.default_rng(np.random.randint(0, 2 ** 32, size=4))

    def __call__(self, batch: Sequence[dict]) -> dict:
        owner = type(self).__name__
        if not batch:
            raise ValueError(f'{owner}: got an empty batch')
        images = []
        for i, sample in enumerate(batch):
            img = sample.get('img')
            if img is None:
                raise KeyError(f"{owner}: sample {i} has no 'img'; Collect it in keys")
            img = torch.from_numpy(np.ascontiguousarray(img)) if isinstance(img, np.ndarray) \
                else img
            if not torch.is_tensor(img) or img.dim() != 3:
                raise ValueError(f'{owner}: sample {i} img must be a (3, h, w) tensor (after '
                                 f'ToTensor), got {getattr(img, "shape", type(img))}')
            extra = [k for k, v in sample.items() if k not in HANDLED_KEYS and k not in
                     self.list_keys and (torch.is_tensor(v) or isinstance(v, np.ndarray))]
            if extra:
                raise ValueError(f'{owner}: sample {i} has {extra}, made before the collate '
                                 f'resized its image; make them after it: move the step that '
                                 f'makes them (e.g. GenerateTarget) into the collate\'s '
                                 f'transforms=[...]')
            images.append(img)
        rng = self.generator(batch)
        size = self.target_size(rng, tuple(int(v) for v in images[0].shape[1:]))
        out = [self.resize_sample(sample, img, size, rng) for sample, img in zip(batch, images)]
        if self.transforms is not None:
            out = [self.transforms(s) for s in out]
        return pose_collate(out, self.list_keys)

    def resize_sample(self, sample: dict, img: torch.Tensor, size, rng) -> dict:
        oh, ow = int(img.shape[1]), int(img.shape[2])
        if isinstance(size, (int, np.integer)):
            h, w = square_resize_hw(oh, ow, int(size), self.max_size)
            tgt_h = tgt_w = int(size)
        else:
            tgt_h, tgt_w = int(size[0]), int(size[1])
            h, w = cover_resize_hw(oh, ow, tgt_h, tgt_w, self.max_size)
        off_x, off_y = crop_offsets(rng, h, w, tgt_h, tgt_w, self.max_shift)

        resized = img if (h, w) == (oh, ow) else F.interpolate(
            img[None].float(), size=(h, w), mode='bilinear', align_corners=False,
            antialias=True)[0].round().clamp(0, 255).to(img.dtype)
        metas = dict(sample.get('img_metas') or {})
        fill = torch.zeros(img.shape[0], 1, 1, dtype=img.dtype)
        norm = metas.get('img_norm_cfg')
        if norm is not None and img.dtype == torch.uint8:
            fill = torch.tensor([round(255 * m) for m in norm['mean']],
                                dtype=img.dtype).view(-1, 1, 1)
        canvas = fill.expand(img.shape[0], tgt_h, tgt_w).clone()
        # canvas pixel (u, v) = resized pixel (u + off_x, v + off_y)
        x0, y0 = max(0, off_x), max(0, off_y)
        x1, y1 = min(w, off_x + tgt_w), min(h, off_y + tgt_h)
        if x1 > x0 and y1 > y0:
            canvas[:, y0 - off_y:y1 - off_y, x0 - off_x:x1 - off_x] = resized[:, y0:y1, x0:x1]

        sx, sy = w / ow, h / oh
        matrix = np.array([[sx, 0.0, 0.5 * sx - 0.5 - off_x], [0.0, sy, 0.5 * sy - 0.5 - off_y]])
        new = dict(sample, img=canvas)
        move_points(new, matrix, tgt_w, tgt_h, strict=True)
        move_boxes(new, matrix, tgt_w, tgt_h)
        metas['warp_mat'] = compose_warp_mat(metas, matrix)
        new['img_metas'] = metas
        return new


class ResizeFromDataSize(ResizeCollate):
    """Target size from the first image (h, w) of the batch and a scale s ~ U(min_scale,
    max_scale) (DeepLabCut ``ResizeFromDataSizeCollate``, ``collate.py:84-162``):

    - ``to_square``: side = round(clip(s · min(h, w), min_short_side, max_short_side)),
      rounded up to a multiple of ``multiple_of``;
    - else short = round(clip(s · short side, min_short_side, max_short_side)), long =
      int(min(long / short side, max_ratio) · short), each rounded up to ``multiple_of``.
    """

    def __init__(self, min_scale: float, max_scale: float, min_short_side: int = 128,
                 max_short_side: int = 1152, max_ratio: float = 2.0,
                 multiple_of: Optional[int] = None, to_square: bool = False, **kwargs):
        super().__init__(**kwargs)
        if not 0 < float(min_scale) <= float(max_scale):
            raise ValueError(f'ResizeFromDataSizeCollate: need 0 < min_scale <= max_scale, got '
                             f'{min_scale}, {max_scale}')
        if float(max_ratio) < 1:
            raise ValueError(f'ResizeFromDataSizeCollate: max_ratio must be >= 1, got '
                             f'{max_ratio}')
        if multiple_of is not None and (not isinstance(multiple_of, Integral)
                                        or multiple_of < 1):
            raise ValueError(f'ResizeFromDataSizeCollate: multiple_of must be a positive int '
                             f'or None, got {multiple_of!r}')
        self.min_scale, self.max_scale = float(min_scale), float(max_scale)
        self.min_short_side, self.max_short_side = int(min_short_side), int(max_short_side)
        self.max_ratio, self.multiple_of = float(max_ratio), multiple_of
        self.to_square = bool(to_square)

    def target_size(self, rng, first_hw):
        h, w = first_hw
        scale = rng.uniform(self.min_scale, self.max_scale)
        if self.to_square:
            side = int(round(min(self.max_short_side, max(self.min_short_side,
                                                          scale * min(h, w)))))
            return side if self.multiple_of is None else to_multiple(side, self.multiple_of)
        short, long = min(h, w), max(h, w)
        ratio = min(long / short, self.max_ratio)
        short_size = int(round(min(self.max_short_side, max(self.min_short_side,
                                                            scale * short))))
        if h < w:
            h, w = short_size, int(ratio * short_size)
        else:
            h, w = int(ratio * short_size), short_size
        if self.multiple_of is not None:
            h, w = to_multiple(h, self.multiple_of), to_multiple(w, self.multiple_of)
        return h, w


class ResizeFromList(ResizeCollate):
    """Target size drawn uniformly from ``scales``: ints are square sides, pairs are (h, w)
    (DeepLabCut ``ResizeFromListCollate``, ``collate.py:165-182``)."""

    def __init__(self, scales: Sequence[Any], **kwargs):
        super().__init__(**kwargs)
        parsed: List[Any] = []
        for s in scales if isinstance(scales, (list, tuple)) else ():
            if isinstance(s, Integral) and not isinstance(s, bool) and s > 0:
                parsed.append(int(s))
            elif (isinstance(s, (list, tuple)) and len(s) == 2
                  and all(isinstance(v, Integral) and v > 0 for v in s)):
                parsed.append((int(s[0]), int(s[1])))
            else:
                parsed = []
                break
        if not parsed:
            raise ValueError(f'ResizeFromListCollate: scales must be a non-empty list of sizes '
                             f'(int: a square side) or [h, w] pairs, got {scales!r}')
        self.scales = parsed

    def target_size(self, rng, first_hw):
        return self.scales[int(rng.integers(len(self.scales)))]


def _collate(cls, batch, kwargs: Dict[str, Any]):
    return cls(**kwargs)(batch)


@FUNCTIONS.register_module()
def ResizeFromDataSizeCollate(batch: Sequence[dict], **kwargs) -> dict:  # noqa: N802
    """Collate function of :class:`ResizeFromDataSize` (``collate_fn=dict(type=
    'ResizeFromDataSizeCollate', min_scale=..., max_scale=..., ...)``, DeepLabCut's name and
    keys)."""
    return _collate(ResizeFromDataSize, batch, kwargs)


@FUNCTIONS.register_module()
def ResizeFromListCollate(batch: Sequence[dict], **kwargs) -> dict:  # noqa: N802
    """Collate function of :class:`ResizeFromList` (``collate_fn=dict(type=
    'ResizeFromListCollate', scales=[...], ...)``)."""
    return _collate(ResizeFromList, batch, kwargs)


ResizeFromDataSizeCollate.example_args = dict(min_scale=0.5, max_scale=1.0, min_short_side=16,
                                              max_short_side=64)
ResizeFromListCollate.example_args = dict(scales=[32, [32, 48]])
ResizeFromDataSize.example_args = ResizeFromDataSizeCollate.example_args
ResizeFromList.example_args = ResizeFromListCollate.example_args
