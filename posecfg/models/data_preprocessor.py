"""``PoseDataPreprocessor``: the collated batch → model input on the model's device.

The pipeline hands over ``img`` as uint8 (N, 3, h, w) and records ``img_norm_cfg`` (mean and std
on the 0–1 scale, per channel) in each sample's ``img_metas``. Converting and normalizing here,
once per batch, gives the numbers MMPose's per-sample ``ToTensor`` + ``NormalizeTensor`` give,
while dataloader workers move a quarter of the bytes (uint8 instead of float32).
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.model import BaseDataPreprocessor
from torch import Tensor

from posecfg.registry import MODELS


def _norm_tensors(img_metas: Optional[Sequence[dict]], num_images: int, channels: int
                  ) -> Optional[tuple]:
    """Per-image (mean, std) as float32 (M, C, 1, 1) tensors (M = 1 if all images share them),
    or None when no image has an ``img_norm_cfg``."""
    if not img_metas:
        return None
    cfgs = [meta.get('img_norm_cfg') for meta in img_metas]
    if all(cfg is None for cfg in cfgs):
        return None
    if any(cfg is None for cfg in cfgs) or len(cfgs) != num_images:
        num_set = sum(cfg is not None for cfg in cfgs)
        raise ValueError(f'img_metas[i]["img_norm_cfg"] is set for {num_set} of {num_images} '
                         'images; the pipeline must normalize all or none')
    stats = []
    for key in ('mean', 'std'):
        rows = np.array([np.asarray(cfg[key], dtype=np.float32).reshape(-1) for cfg in cfgs])
        if rows.shape[1] != channels:
            raise ValueError(f'img_norm_cfg.{key} has {rows.shape[1]} values but the images have '
                             f'{channels} channels')
        if (rows == rows[:1]).all():  # the usual case: one set of statistics for the batch
            rows = rows[:1]
        stats.append(torch.from_numpy(rows)[:, :, None, None])
    if (stats[1] <= 0).any():
        raise ValueError(f'img_norm_cfg.std must be positive, got {stats[1].flatten().tolist()}')
    return tuple(stats)


@MODELS.register_module()
class PoseDataPreprocessor(BaseDataPreprocessor):
    """Moves a top-down batch to the model's device and normalizes ``img``.

    Input (the collated batch): ``img`` uint8 or float (N, C, h, w) tensor (or a list of
    (C, h, w) tensors), ``target`` (N, K, Hh, Wh), ``target_weight`` (N, K, 1), ``img_metas``
    list of dicts (with ``img_norm_cfg=dict(mean, std)`` on the 0–1 scale when the pipeline
    normalizes), and any other keys (``gt``, …).

    ``img`` may have a time axis, (N, T, C, h, w), for context models: every frame is converted
    and normalized alike. A nested batch under ``unlabeled`` (the ``data.unlabeled`` stream,
    see ``posecfg.engine.streams``) is prepared the same way.

    Output: the same dict with ``img`` float32 on the device — uint8 images divided by 255 and,
    when ``img_norm_cfg`` is present, normalized ``(x - mean) / std``. Float images are not
    rescaled, only normalized (MMPose's ``ToTensor`` divides uint8 images only, too).
    ``target`` and ``target_weight`` become float32 on the device; every other tensor moves to
    the device; ``img_metas``, ``gt`` and other non-tensors are passed through untouched.

    Args:
        channels_last: give ``img`` the channels-last memory format (faster convolutions on
            CPUs with oneDNN and on tensor-core GPUs when the model is channels-last too).
        non_blocking: asynchronous host-to-device copies (with pinned memory).
    """

    example_args = dict(channels_last=False)

    def __init__(self, channels_last: bool = False, non_blocking: bool = False):
        super().__init__(non_blocking=non_blocking)
        self.channels_last = channels_last

    def _to_device(self, tensor: Tensor) -> Tensor:
        return tensor.to(self.device, non_blocking=self._non_blocking)

    def normalize(self, img: Tensor, img_metas: Optional[Sequence[dict]]) -> Tensor:
        """uint8 or float (N, C, h, w) → float32 (N, C, h, w): uint8 divided by 255, then
        ``(x - mean) / std`` with the batch's ``img_norm_cfg`` if any. (N, T, C, h, w) frames
        are normalized frame by frame with their sample's statistics."""
        if img.dim() == 5:
            n, t = img.shape[:2]
            frames = img.reshape(n * t, *img.shape[2:])
            metas = None if not img_metas else [m for m in img_metas for _ in range(t)]
            return self.normalize(frames, metas).reshape(n, t, *img.shape[2:])
        if img.dim() != 4:
            raise ValueError(f'PoseDataPreprocessor: img must be (N, C, h, w) or (N, T, C, h, w),'
                             f' got shape {tuple(img.shape)}')
        norm = _norm_tensors(img_metas, img.shape[0], img.shape[1])
        scale = 1. / 255 if img.dtype == torch.uint8 else 1.
        if norm is None:
            return img.float() * scale if scale != 1. else img.float()
        mean, std = (t.to(img.device) for t in norm)
        # (x * scale - mean) / std as one multiply-add over the batch: x * a + b
        return torch.addcmul(-mean / std, img.float(), scale / std)

    def forward(self, data: dict, training: bool = False) -> dict:
        """Collated batch dict → the same keys, ready for ``TopDown.forward(**data)``."""
        if not isinstance(data, dict) or 'img' not in data:
            got = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise KeyError(f"PoseDataPreprocessor expects the collated batch dict with an 'img' "
                           f"key (the pipeline's Collect keys), got {got}")
        out = {key: self._to_device(value) if isinstance(value, Tensor) else value
               for key, value in data.items()}
        if isinstance(out.get('unlabeled'), dict):
            out['unlabeled'] = self.forward(out['unlabeled'], training)
        img = out['img']
        if isinstance(img, (list, tuple)):
            img = torch.stack([self._to_device(i) for i in img])
        img = self.normalize(img, out.get('img_metas'))
        if self.channels_last and img.dim() == 4:  # NHWC has no 5-d form
            img = img.contiguous(memory_format=torch.channels_last)
        out['img'] = img
        for key in ('target', 'target_weight', 'heatmaps'):
            if isinstance(out.get(key), Tensor):
                out[key] = out[key].float()
        return out
