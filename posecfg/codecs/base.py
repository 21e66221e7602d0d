"""The codec contract (``posecfg.registry.KEYPOINT_CODECS``): keypoints ⇄ what a head learns.

A codec turns the keypoints of one sample into training targets (``encode``) and a head's
outputs for a batch back into keypoints (``decode``). Both sides speak **input-image pixels**
(the pixels of the image the model sees, after the pipeline's crop/resize): mapping back to the
original image is the estimator's job (DESIGN.md "Codecs").

- ``encode(keypoints (N, K, 2), keypoints_visible (N, K)) -> dict`` of numpy targets for one
  sample, e.g. ``heatmaps (C, H, W)`` and ``keypoint_weights (N, K)``;
- ``decode(outputs) -> (keypoints (B, N, K, 2) float32, scores (B, N, K) float32)`` for a batch,
  numpy or torch in, numpy out, vectorised over the batch;
- ``flip_back(outputs, flip_pairs, **options)``: outputs of horizontally mirrored inputs in the
  original orientation (flip test), where the output layout allows it.

Codecs whose geometry depends on sizes (heatmaps) may be built without them and sized later with
:meth:`BaseKeypointCodec.sized` (MMPose 0.x configs give the input size in ``data_cfg``, not in the
model): the head sizes its codec from the input batch and its output shape.
"""
from __future__ import annotations

import copy
from typing import Sequence, Tuple

import numpy as np

from ._checks import as_heatmap_size, as_size


class BaseKeypointCodec:
    """Base of keypoint codecs (see the module docstring for the contract).

    Args:
        input_size: (w, h) of the model input in pixels, or None to size later.
        heatmap_size: (W, H) of the output map in cells, or None (taken from the outputs when
            decoding; needed to encode).
    """

    #: names of the arrays :meth:`encode` returns
    target_keys: Tuple[str, ...] = ()
    #: the targets a perfect head outputs, batched, are :meth:`decode`'s input: one key → that
    #: array (B, ...), several → a dict of them (the registry test decodes encoded targets)
    output_keys: Tuple[str, ...] = ('heatmaps',)

    def __init__(self, input_size=None, heatmap_size=None):
        self.input_size = None if input_size is None else tuple(as_size(input_size, 'input_size'))
        self.heatmap_size = None if heatmap_size is None else as_heatmap_size(heatmap_size)

    def sized(self, input_size=None, heatmap_size=None) -> 'BaseKeypointCodec':
        """This codec with the given sizes filled in (a copy; ``self`` if nothing changes).

        A size the codec already has must agree: a config whose codec says 192 × 256 must not
        silently decode 128 × 128 inputs.
        """
        changes = {}
        for name, value, parse in (('input_size', input_size, as_size),
                                   ('heatmap_size', heatmap_size, as_heatmap_size)):
            if value is None:
                continue
            value = tuple(parse(value, name)) if name == 'input_size' else parse(value, name)
            current = getattr(self, name)
            if current is None:
                changes[name] = value
            elif not np.allclose(current, value):
                raise ValueError(f'{type(self).__name__}: {name} is {tuple(current)} but the '
                                 f'model produced {tuple(value)}; set the codec\'s {name} to '
                                 f'match the model input and output')
        if not changes:
            return self
        out = copy.copy(self)
        out.__dict__.update(changes)
        return out

    def require_sizes(self, *names: str) -> None:
        for name in names:
            if getattr(self, name) is None:
                raise ValueError(f'{type(self).__name__}: {name} is not set; give it in the '
                                 f'codec config or size the codec with .sized()')

    def encode(self, keypoints, keypoints_visible=None) -> dict:
        """keypoints (N, K, 2) input pixels, keypoints_visible (N, K) → dict of targets."""
        raise NotImplementedError

    def decode(self, outputs) -> Tuple[np.ndarray, np.ndarray]:
        """A batch of head outputs → keypoints (B, N, K, 2) input pixels, scores (B, N, K)."""
        raise NotImplementedError

    def flip_back(self, outputs, flip_pairs: Sequence, **options):
        """Outputs for mirrored inputs → outputs in the original orientation."""
        raise NotImplementedError(f'{type(self).__name__} cannot flip its outputs back; turn '
                                  f'flip test off')

    @staticmethod
    def instances(owner: str, keypoints, keypoints_visible
                  ) -> Tuple[np.ndarray, np.ndarray]:
        """keypoints as (N, K, 2) float64 and visibility as (N, K) float32 (ones when None),
        with errors naming ``owner``."""
        keypoints = np.asarray(keypoints, dtype=np.float64)
        if keypoints.ndim != 3 or keypoints.shape[-1] < 2:
            raise ValueError(f'{owner}.encode: keypoints must be (N, K, 2) input pixels, got '
                             f'shape {keypoints.shape}')
        n, k = keypoints.shape[:2]
        if keypoints_visible is None:
            keypoints_visible = np.ones((n, k), dtype=np.float32)
        keypoints_visible = np.asarray(keypoints_visible, dtype=np.float32)
        if keypoints_visible.shape != (n, k):
            raise ValueError(f'{owner}.encode: keypoints_visible must be (N, K) = ({n}, {k}), '
                             f'got shape {keypoints_visible.shape}')
        return keypoints[..., :2], keypoints_visible


def to_numpy(outputs) -> np.ndarray:
    """A torch tensor (any dtype, any device) or array → float32 numpy."""
    if hasattr(outputs, 'detach'):
        outputs = outputs.detach().float().cpu().numpy()
    return np.asarray(outputs, dtype=np.float32)
