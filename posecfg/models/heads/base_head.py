"""``BaseHead``: the contract every keypoint head keeps (DESIGN.md "Heads").

A head turns backbone (or neck) features into outputs, learns from a batch, and decodes its
outputs into keypoints in **input-image pixels** through its codec; estimators map those to the
original image and run flip test. Shapes: B samples, K keypoints, N instances per sample.

- ``forward(feats) -> outputs``: a tensor (e.g. heatmaps (B, C, H, W)) or a dict of tensors;
- ``loss(feats, batch) -> dict`` of 0-dim tensors (keys containing ``loss`` are summed by
  mmengine; others, like ``acc_pose``, are logged). ``batch`` is the collated batch after the
  data preprocessor: ``img``, the pipeline's targets (``target``/``target_weight`` of MMPose 0.x,
  or a codec's ``heatmaps``/``keypoint_weights``), per-sample lists ``keypoints`` (N, K, 2) input
  pixels and ``keypoints_visible`` (N, K) for heads that build their own targets from their
  output stride (as DeepLabCut's do), and ``img_metas``;
- ``decode(outputs, input_size) -> list`` of one dict per sample with ``keypoints`` (N, K, 2)
  float32 input pixels and ``keypoint_scores`` (N, K) float32 (more keys where the head has
  more to say);
- ``predict(feats, batch_metas, input_size)`` = ``decode(forward(feats), input_size)``;
- ``flip_back(outputs, flip_pairs)``: outputs of mirrored inputs in the original orientation,
  for flip test (heads whose outputs cannot be flipped raise);
- ``loss_unlabeled(feats, batch)`` (optional): losses on a batch of unlabeled samples (the
  ``data.unlabeled`` stream), e.g. Lightning Pose's temporal and PCA losses.

``option_keys = {'test_cfg': (...)}`` declares the ``test_cfg`` keys the head reads: an
estimator's ``test_cfg`` is checked against its own keys and its heads' (config validation and
``--cfg-options`` use the same declaration), and each head receives the keys it declares.
"""
from __future__ import annotations

import difflib
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from mmengine.model import BaseModule

from posecfg.codecs.base import BaseKeypointCodec
from posecfg.registry import KEYPOINT_CODECS


class BaseHead(BaseModule):
    """Base of keypoint heads; see the module docstring for the contract.

    Args:
        codec: the head's codec (a ``KEYPOINT_CODECS`` config or object), used to decode and,
            where the head builds targets itself, to encode; None for heads that define their
            own decoding.
        test_cfg: the head's test-time settings (keys in ``option_keys['test_cfg']``).
        init_cfg: mmengine init config.
    """

    option_keys: Dict[str, Tuple[str, ...]] = {'test_cfg': ()}
    #: constructor arguments of a small head (class attribute of every registered head) that
    #: takes features of ``example_feature_shapes`` and predicts 3 keypoints
    example_args: dict = {}
    #: (B, C, H, W) of each backbone output the example head reads: a 2-output backbone on a
    #: (w, h) = ``example_input_size`` input, strides 4 and 8; a head needing others overrides it
    example_feature_shapes: Tuple[Tuple[int, ...], ...] = ((2, 8, 16, 12), (2, 16, 8, 6))
    example_input_size: Tuple[int, int] = (48, 64)

    def __init__(self, codec=None, test_cfg: Optional[Mapping] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.codec: Optional[BaseKeypointCodec] = (
            KEYPOINT_CODECS.build(codec) if isinstance(codec, dict) else codec)
        self.test_cfg = check_test_cfg(test_cfg, self.test_cfg_keys(), type(self).__name__)

    @classmethod
    def test_cfg_keys(cls) -> Tuple[str, ...]:
        return tuple((cls.option_keys or {}).get('test_cfg', ()))

    # ------------------------------------------------------------------ the contract
    def forward(self, feats):
        raise NotImplementedError

    def loss(self, feats, batch: dict) -> dict:
        raise NotImplementedError

    def decode(self, outputs, input_size: Tuple[int, int]) -> List[dict]:
        """Outputs for B samples → B dicts with ``keypoints`` (N, K, 2) float32 input pixels and
        ``keypoint_scores`` (N, K); default: the codec's ``decode``, sized with ``input_size``
        (w, h)."""
        if self.codec is None:
            raise NotImplementedError(f'{type(self).__name__} has no codec to decode with')
        keypoints, scores = self.codec.sized(input_size).decode(outputs)
        return [dict(keypoints=k, keypoint_scores=s) for k, s in zip(keypoints, scores)]

    def predict(self, feats, batch_metas: Sequence[dict], input_size: Tuple[int, int]
                ) -> List[dict]:
        return self.decode(self.forward(feats), input_size)

    def flip_back(self, outputs, flip_pairs: Sequence):
        raise NotImplementedError(f'{type(self).__name__} cannot flip its outputs back; set '
                                  f'test_cfg.flip_test=False')


def check_test_cfg(test_cfg: Optional[Mapping], accepted: Sequence[str], owner: str) -> dict:
    """``test_cfg`` as a dict whose keys are all in ``accepted``; a KeyError otherwise, naming
    each unknown key with its closest accepted one."""
    cfg = dict(test_cfg or {})
    unknown = [k for k in cfg if k not in accepted]
    if unknown:
        raise KeyError(f'test_cfg has keys {owner} does not read: {unknown_keys(unknown, accepted)}'
                       f'; it reads {", ".join(accepted) or "none"}')
    return cfg


def unknown_keys(keys: Sequence[Any], accepted: Sequence[str]) -> str:
    """``'a' (did you mean 'b'?), 'c'`` for error messages."""
    hints = []
    for key in keys:
        close = difflib.get_close_matches(str(key), list(accepted), n=1)
        hints.append(f'{key!r}' + (f' (did you mean {close[0]!r}?)' if close else ''))
    return ', '.join(hints)
