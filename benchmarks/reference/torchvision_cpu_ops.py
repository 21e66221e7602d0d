"""``torchvision::nms`` and ``torchvision::qnms`` in pure torch, for DeepLabCut's reference env.

torchvision 0.28.0 from PyPI ships ``_C.so`` built against a CUDA torch; on this machine's
CPU-only torch 2.13.0 it does not load, so no ``torchvision::*`` operator exists, and
``import torchvision`` fails in ``torchvision/_meta_registrations.py``, whose
``torch.library.register_fake("torchvision::nms")`` and ``register_fake("torchvision::qnms")``
run unconditionally (its other meta/autograd registrations are skipped when
``torchvision.extension._has_ops()`` is false). ``import deeplabcut`` imports torchvision.

:func:`register` defines those two operators' schemas (the ones of torchvision's
``csrc/ops/nms.cpp``: ``nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor``) in a
``torchvision`` ``torch.library.Library`` with a CPU kernel: greedy NMS, boxes ``(x1, y1, x2,
y2)`` in any unit, boxes kept in decreasing score order, a box dropped when its IoU with a kept
box is ``> iou_threshold`` (torchvision's rule). ``qnms`` (quantized boxes) raises when called.
:func:`install_import_hook` calls :func:`register` just before the first ``import torchvision``
(so processes that never import torchvision, pip included, do not pay for importing torch);
``setup_dlc_reference_env.sh`` writes a ``sitecustomize.py`` into the env that calls it.
"""
import importlib.abc
import sys

_LIBRARY = None  # the torch.library.Library; kept alive, or the definitions are dropped


def nms(boxes, scores, iou_threshold):
    """Greedy non-maximum suppression.

    Args:
        boxes: (N, 4) float tensor, ``(x1, y1, x2, y2)``.
        scores: (N,) float tensor.
        iou_threshold: a box is suppressed when its IoU with a kept box exceeds this.

    Returns:
        (K,) int64 tensor: indices of the kept boxes, highest score first.
    """
    import torch
    if boxes.dim() != 2 or boxes.size(1) != 4:
        raise ValueError(f'nms: boxes must be (N, 4), got {tuple(boxes.shape)}')
    if scores.dim() != 1 or scores.size(0) != boxes.size(0):
        raise ValueError(f'nms: scores must be ({boxes.size(0)},), got {tuple(scores.shape)}')
    order = torch.argsort(scores, descending=True, stable=True)
    if order.numel() == 0:
        return order
    b = boxes[order].to(torch.float64)
    area = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
    x1 = torch.maximum(b[:, None, 0], b[None, :, 0])
    y1 = torch.maximum(b[:, None, 1], b[None, :, 1])
    x2 = torch.minimum(b[:, None, 2], b[None, :, 2])
    y2 = torch.minimum(b[:, None, 3], b[None, :, 3])
    inter = (x2 - x1).clamp(min=0) * (y2 - y1).clamp(min=0)
    iou = inter / (area[:, None] + area[None, :] - inter)  # NaN for two empty boxes: kept
    suppressed = torch.zeros(len(b), dtype=torch.bool)
    keep = []
    for i in range(len(b)):
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= iou[i] > iou_threshold
    return order[torch.tensor(keep, dtype=torch.long)]


def register():
    """Define ``torchvision::nms`` / ``torchvision::qnms`` unless torchvision's own exist."""
    global _LIBRARY
    import torch
    if _LIBRARY is not None or hasattr(torch.ops.torchvision, 'nms'):
        return False
    lib = torch.library.Library('torchvision', 'DEF')
    lib.define('nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor')
    lib.define('qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor')
    lib.impl('nms', nms, 'CPU')

    def qnms(dets, scores, iou_threshold):
        raise NotImplementedError('torchvision::qnms (quantized boxes) is not available: '
                                  'pure-torch stand-in of the posecfg DeepLabCut reference env')

    lib.impl('qnms', qnms, 'CPU')
    _LIBRARY = lib
    return True


class _RegisterBeforeTorchvision(importlib.abc.MetaPathFinder):
    """Finds nothing itself; registers the operators when ``torchvision`` is first looked up."""

    def find_spec(self, name, path=None, target=None):
        if name == 'torchvision':
            sys.meta_path.remove(self)
            register()
        return None


def install_import_hook():
    if not any(isinstance(f, _RegisterBeforeTorchvision) for f in sys.meta_path):
        sys.meta_path.insert(0, _RegisterBeforeTorchvision())
