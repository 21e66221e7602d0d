"""Packing a sample for the model: ``ToTensor``, ``NormalizeTensor``, ``Collect``.

Unlike MMPose 0.x, pixels stay uint8 here: ``ToTensor`` makes a (3, h, w) uint8 tensor and
``NormalizeTensor`` only records ``img_norm_cfg``; the model's data preprocessor converts the
stacked batch to float, divides by 255 and normalises once per batch (DESIGN.md). That is the
same arithmetic at a third of the bytes moved through dataloader workers.
"""
from __future__ import annotations

from numbers import Real
from typing import Any, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from ..registry import TRANSFORMS
from .record import require


_CV2_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32))


@TRANSFORMS.register_module()
class ToTensor(BaseTransform):
    """``img`` (h, w, C) or (h, w) array → contiguous (C, h, w) tensor of the same dtype
    (uint8 unless the image was loaded ``to_float32``; values stay 0–255)."""

    example_args: dict = {}  # no arguments

    def transform(self, results: dict) -> dict:
        require(results, self, 'img')
        img = np.asarray(results['img'])
        if img.ndim == 2:
            chw = img[None]
        elif img.ndim == 3 and img.dtype in _CV2_DTYPES:
            # cv2.split copies planes out ~5x faster than numpy's strided transpose copy
            chw = np.stack(cv2.split(np.ascontiguousarray(img)))
        elif img.ndim == 3:
            chw = img.transpose(2, 0, 1)
        else:
            raise ValueError(f"ToTensor: results['img'] must be (h, w) or (h, w, C), got shape "
                             f'{img.shape}')
        results['img'] = torch.from_numpy(np.ascontiguousarray(chw))
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'


def _check_stats(name: str, values: Any) -> Tuple[float, ...]:
    if (not isinstance(values, Sequence) and not isinstance(values, np.ndarray)) or not all(
            isinstance(v, (Real, np.floating, np.integer)) for v in values):
        raise TypeError(f'NormalizeTensor: {name} must be a list of numbers, one per channel '
                        f'(e.g. [0.485, 0.456, 0.406]), got {values!r}')
    return tuple(float(v) for v in values)


@TRANSFORMS.register_module()
class NormalizeTensor(BaseTransform):
    """Record ``img_norm_cfg = dict(mean, std)`` (per channel, on the 0–1 scale, RGB) for the
    data preprocessor, which applies ``(img / 255 - mean) / std`` to the batch."""

    example_args = dict(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        self.mean = _check_stats('mean', mean)
        self.std = _check_stats('std', std)
        if len(self.mean) != len(self.std):
            raise ValueError(f'NormalizeTensor: mean has {len(self.mean)} values but std has '
                             f'{len(self.std)}; give one of each per channel')
        if any(s == 0 for s in self.std):
            raise ValueError(f'NormalizeTensor: std {list(self.std)} has a zero; '
                             'it divides the pixels')

    def transform(self, results: dict) -> dict:
        require(results, self, 'img')
        channels = results['img'].shape[0] if torch.is_tensor(results['img']) else None
        if channels is not None and channels != len(self.mean):
            raise ValueError(f'NormalizeTensor: the image has {channels} channels but mean/std '
                             f'have {len(self.mean)} values')
        results['img_norm_cfg'] = dict(mean=list(self.mean), std=list(self.std))
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(mean={list(self.mean)}, std={list(self.std)})'


def _names(entry: Any) -> Tuple[str, str]:
    """A ``keys``/``meta_keys`` entry: 'name' or (source name, collected name)."""
    if isinstance(entry, (tuple, list)):
        if len(entry) != 2:
            raise ValueError(f'Collect: a renaming entry must be (source, target), got {entry!r}')
        return str(entry[0]), str(entry[1])
    return entry, entry


@TRANSFORMS.register_module()
class Collect(BaseTransform):
    """Keep ``keys`` of the record and gather ``meta_keys`` into ``img_metas`` (MMPose 0.x).

    Returns ``{**{k: results[k] for k in keys}, meta_name: {m: results[m] for m in meta_keys}}``
    where a key is looked up in ``ann_info`` first (so ``'flip_pairs'`` works as a meta key,
    as MMPose's ``results.update(ann_info)`` makes it), then in the record. ``img_metas`` also
    gets ``bbox_id`` and ``img_norm_cfg`` when the record has them, and a ``gt`` entry of the
    record (evaluation ground truth in test mode) is kept. An entry may be a pair
    ``(source, target)`` to rename.
    """

    example_args = dict(keys=['img'], meta_keys=['image_file', 'flip_pairs'])

    def __init__(self, keys: Sequence, meta_keys: Sequence = (), meta_name: str = 'img_metas'):
        if isinstance(keys, str) or isinstance(meta_keys, str):
            raise TypeError("Collect: keys and meta_keys are lists of names, e.g. keys=['img'], "
                            f'got keys={keys!r}, meta_keys={meta_keys!r}')
        self.keys = [_names(k) for k in keys]
        self.meta_keys = [_names(k) for k in meta_keys]
        self.meta_name = meta_name

    @staticmethod
    def _lookup(results: dict, key: str, kind: str) -> Any:
        ann_info = results.get('ann_info') or {}
        if key in ann_info:
            return ann_info[key]
        if key in results:
            return results[key]
        raise KeyError(f'Collect: {kind} {key!r} is neither in the sample record nor in its '
                       f'ann_info; the record has {sorted(results)}'
                       + (f', ann_info has {sorted(ann_info)}' if ann_info else ''))

    def transform(self, results: dict) -> dict:
        data = {tgt: self._lookup(results, src, 'key') for src, tgt in self.keys}
        meta = {tgt: self._lookup(results, src, 'meta key') for src, tgt in self.meta_keys}
        for extra in ('bbox_id', 'img_norm_cfg', 'warp_mat'):
            if extra in results:
                meta[extra] = results[extra]
        data[self.meta_name] = meta
        if 'gt' in results:
            data['gt'] = results['gt']
        return data

    def __repr__(self) -> str:
        keys = [s if s == t else (s, t) for s, t in self.keys]
        meta = [s if s == t else (s, t) for s, t in self.meta_keys]
        return f'{type(self).__name__}(keys={keys}, meta_keys={meta})'
