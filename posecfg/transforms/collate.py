"""Collate functions: collected samples → one batch (``collate_fn=dict(type=...)``, ``FUNCTIONS``).

- ``pose_collate`` stacks what every sample has in one shape (``img``, heatmap targets) and keeps
  per-instance arrays (whose N differs between images), metadata and ground truth as per-sample
  lists;
- ``pose_pad_collate`` does the same after padding images of different sizes to one size
  (bottom/right, so pixel coordinates do not move), recording each image's own size.

A dataloader's collate function is set with ``data.collate_fn`` or
``data.{train,val,test,unlabeled}_dataloader.collate_fn`` (default ``pose_collate``); extra
arguments are partial arguments (``dict(type='pose_collate', list_keys=['my_key'])``), as
mmengine builds collate functions. Resizing collate functions (DeepLabCut's
``ResizeFromDataSizeCollate``) are registered the same way.
"""
from __future__ import annotations

import math
from numbers import Number
from typing import Any, Iterable, List, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..datasets.records import IMAGE_ARRAY_KEYS, INSTANCE_KEYS
from ..registry import FUNCTIONS

#: Entries always kept as per-sample lists: metadata, evaluation ground truth, and the arrays of
#: an image record whose first axis is the instance count N (which differs between images).
LIST_KEYS = ('img_metas', 'gt', 'keypoint_weights') + INSTANCE_KEYS + IMAGE_ARRAY_KEYS


def _stack(key: str, values: List[Any]) -> Any:
    first = values[0]
    if torch.is_tensor(first) or isinstance(first, np.ndarray):
        tensors = [torch.from_numpy(np.ascontiguousarray(v)) if isinstance(v, np.ndarray) else v
                   for v in values]
        shapes = {tuple(t.shape) for t in tensors}
        if len(shapes) > 1:
            hint = ("give the images one size (a resizing or cropping step), or collate with "
                    "collate_fn=dict(type='pose_pad_collate')" if key == 'img' else
                    f"list it in pose_collate's list_keys to keep it per sample")
            raise ValueError(f'pose_collate: {key!r} has different shapes across the batch '
                             f'{sorted(shapes)}; {hint}')
        out = None
        if torch.utils.data.get_worker_info() is not None:
            # in a dataloader worker, stack straight into shared memory: the batch then
            # reaches the main process without another copy (as torch's default_collate does)
            numel = sum(t.numel() for t in tensors)
            storage = tensors[0]._typed_storage()._new_shared(numel, device=tensors[0].device)
            out = tensors[0].new(storage).resize_(len(tensors), *tensors[0].shape)
        return torch.stack(tensors, 0, out=out)
    if isinstance(first, Number):
        return torch.as_tensor(values)
    return list(values)


@FUNCTIONS.register_module()
def pose_collate(batch: Sequence[dict], list_keys: Iterable[str] = ()) -> dict:
    """Batch ``Collect`` outputs.

    Tensors and arrays are stacked: ``img`` (B, 3, h, w) (or (B, T, 3, h, w) with a time axis)
    keeping its dtype (uint8), ``target`` (B, K, Hh, Wh) float32, ``target_weight`` (B, K, 1),
    ``heatmaps`` (B, C, Hh, Wh); numbers become a 1-D tensor. :data:`LIST_KEYS` (``img_metas``,
    ``gt``, ``keypoints`` (N_i, K, 2), ``keypoints_visible``, ``bboxes``, ``keypoint_weights``,
    ...), the keys in ``list_keys`` and anything else that is neither an array nor a number stay
    lists of the per-sample values (``gt`` is None for samples without ground truth). An array
    of another key that differs in shape between samples is an error naming the key.
    """
    if not batch:
        raise ValueError('pose_collate: got an empty batch')
    as_list = set(LIST_KEYS).union(list_keys)
    keys = [k for k in batch[0] if k != 'gt']
    for i, sample in enumerate(batch):
        if set(sample) - {'gt'} != set(keys):
            raise KeyError(f'pose_collate: sample {i} has keys {sorted(sample)} but sample 0 has '
                           f'{sorted(batch[0])}; every sample needs the same Collect keys')
    out = {}
    for key in keys:
        values = [sample[key] for sample in batch]
        out[key] = list(values) if key in as_list else _stack(key, values)
    if any('gt' in sample for sample in batch):
        # a dataset gives ground truth only where it has some: None marks the others
        out['gt'] = [sample.get('gt') for sample in batch]
    return out


def pad_images(images: Sequence[torch.Tensor], size_divisor: int = 1, pad_value: float = 0
               ) -> torch.Tensor:
    """(..., h_i, w_i) tensors → one (B, ..., H, W) tensor, each padded at the bottom and right
    to the largest h and w, rounded up to a multiple of ``size_divisor``."""
    height = max(int(img.shape[-2]) for img in images)
    width = max(int(img.shape[-1]) for img in images)
    height = int(math.ceil(height / size_divisor) * size_divisor)
    width = int(math.ceil(width / size_divisor) * size_divisor)
    padded = [F.pad(img, (0, width - img.shape[-1], 0, height - img.shape[-2]),
                    value=pad_value) for img in images]
    return torch.stack(padded)


@FUNCTIONS.register_module()
def pose_pad_collate(batch: Sequence[dict], size_divisor: int = 1, pad_value: float = 0,
                     list_keys: Iterable[str] = ()) -> dict:
    """:func:`pose_collate` for images of different sizes: each ``img`` (C, h, w) (or (T, C, h,
    w)) is padded at the bottom and right with ``pad_value`` to the batch's largest size,
    rounded up to a multiple of ``size_divisor`` (e.g. 32 for HRNet); pixel coordinates are
    unchanged. Each sample's ``img_metas`` gets ``img_shape`` (h, w) before and ``pad_shape``
    (H, W) after padding."""
    if not isinstance(size_divisor, int) or size_divisor < 1:
        raise ValueError(f'pose_pad_collate: size_divisor must be a positive int, got '
                         f'{size_divisor!r}')
    images = []
    for i, sample in enumerate(batch):
        img = sample.get('img')
        if img is None:
            raise KeyError(f"pose_pad_collate: sample {i} has no 'img'; Collect it in keys")
        images.append(torch.from_numpy(np.ascontiguousarray(img)) if isinstance(img, np.ndarray)
                      else img)
    padded = pad_images(images, size_divisor, pad_value)
    out = pose_collate([{k: v for k, v in sample.items() if k != 'img'} for sample in batch],
                       list_keys)
    out['img'] = padded
    metas = out.get('img_metas')
    if metas is not None:
        out['img_metas'] = [dict(meta, img_shape=tuple(img.shape[-2:]),
                                 pad_shape=tuple(padded.shape[-2:]))
                            for meta, img in zip(metas, images)]
    return out


#: constructor-style example arguments (partial arguments of the collate function), as every
#: registered part has (tests/test_registry.py)
pose_collate.example_args = {}
pose_pad_collate.example_args = dict(size_divisor=8)
