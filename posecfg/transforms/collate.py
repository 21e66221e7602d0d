"""``pose_collate``: collected samples → one batch (``collate_fn=dict(type="pose_collate")``)."""
from __future__ import annotations

from numbers import Number
from typing import Any, List, Sequence

import numpy as np
import torch

from ..registry import FUNCTIONS

#: Entries kept as per-sample lists: metadata and evaluation ground truth.
LIST_KEYS = ('img_metas', 'gt')


def _stack(key: str, values: List[Any]) -> Any:
    first = values[0]
    if torch.is_tensor(first) or isinstance(first, np.ndarray):
        tensors = [torch.from_numpy(np.ascontiguousarray(v)) if isinstance(v, np.ndarray) else v
                   for v in values]
        shapes = {tuple(t.shape) for t in tensors}
        if len(shapes) > 1:
            raise ValueError(f'pose_collate: {key!r} has different shapes across the batch '
                             f'{sorted(shapes)}; samples must share image_size/heatmap_size')
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
def pose_collate(batch: Sequence[dict]) -> dict:
    """Batch ``Collect`` outputs.

    Tensors and arrays are stacked: ``img`` (N, 3, h, w) keeping its dtype (uint8),
    ``target`` (N, K, Hh, Wh) float32, ``target_weight`` (N, K, 1) float32; numbers become a
    1-D tensor; ``img_metas`` and ``gt`` (and anything else) stay lists of the per-sample values
    (``gt`` is None for samples without ground truth).
    """
    if not batch:
        raise ValueError('pose_collate: got an empty batch')
    keys = [k for k in batch[0] if k != 'gt']
    for i, sample in enumerate(batch):
        if set(sample) - {'gt'} != set(keys):
            raise KeyError(f'pose_collate: sample {i} has keys {sorted(sample)} but sample 0 has '
                           f'{sorted(batch[0])}; every sample needs the same Collect keys')
    out = {}
    for key in keys:
        values = [sample[key] for sample in batch]
        out[key] = list(values) if key in LIST_KEYS else _stack(key, values)
    if any('gt' in sample for sample in batch):
        # a dataset gives ground truth only where it has some: None marks the others
        out['gt'] = [sample.get('gt') for sample in batch]
    return out
