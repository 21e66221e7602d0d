"""``BasePoseEstimator``: data preprocessor → backbone → (neck) → heads, in mmengine's three modes.

Shapes: B samples, T frames (context models), K keypoints, N instances per sample.

- input ``img``: (B, 3, h, w) float, normalized by the data preprocessor; (B, T, 3, h, w) for
  context models (the backbone then takes the time axis);
- ``forward(img, mode='tensor')`` → the head outputs (a tensor for one head, a dict name →
  outputs for several); backbone features without heads;
- ``forward(img, mode='loss', **batch)`` → dict of 0-dim tensors: every head's ``loss(feats,
  batch)`` (keys prefixed ``<head name>_`` when there are several heads), plus
  ``loss_unlabeled`` of the heads that have one when the batch carries an ``unlabeled`` batch
  (the ``data.unlabeled`` stream, keys prefixed ``unlabeled_``);
- ``forward(img, mode='predict', img_metas=..., **batch)`` → one dict per sample
  (``frame_context=c`` in the batch: ``img`` is a run of B + 2c consecutive frames (B + 2c, 3,
  h, w) and ``img_metas`` the B centre frames'; the backbone runs once per frame and the heads
  read each centre's window of 2c + 1 frames' maps, as for inputs (B, 2c + 1, 3, h, w)):
  ``keypoints`` (N, K, 2) float32 **original-image** pixels, ``keypoint_scores`` (N, K) float32,
  ``image_file``, ``image_id`` (plus what the estimator adds: see TopDown, BottomUp).

The heads decode into input-image pixels; the estimator maps them back with each sample's
metadata (:meth:`to_original`). Flip test (``test_cfg.flip_test``) is an estimator option: the
mirrored batch goes through the network with the original one, each head flips its outputs back
(``BaseHead.flip_back``), and the two are averaged before decoding. ``test_cfg`` keys are the
estimator's (:attr:`ESTIMATOR_TEST_CFG_KEYS`) and its heads' (their ``option_keys``); each head
receives the keys it declares.
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.model import BaseModel
from torch import Tensor, nn

from posecfg.geometry import affine_points, invert_affine
from posecfg.registry import MODELS, find_type
from ..data_preprocessor import PoseDataPreprocessor
from ..heads.base_head import unknown_keys

MODES = ('tensor', 'loss', 'predict')
#: test_cfg keys every estimator reads
ESTIMATOR_TEST_CFG_KEYS = ('flip_test',)
#: data preprocessor options a typeless dict may give (``model.data_preprocessor.x=...``)
PREPROCESSOR_KEYS = ('type', 'channels_last', 'non_blocking')


def head_test_cfg_keys(head_cfg: Optional[Mapping]) -> Tuple[str, ...]:
    """The ``test_cfg`` keys the registered type of ``head_cfg`` declares (none if unknown)."""
    if not isinstance(head_cfg, Mapping):
        return ()
    cls = find_type(head_cfg.get('type')) if isinstance(head_cfg.get('type'), str) else None
    return tuple(((getattr(cls, 'option_keys', None) or {}).get('test_cfg', ())))


class _AnyHeadTestCfgKeys:
    """``option_keys`` of an estimator class as ``accepts_key`` (``--cfg-options``) sees it
    without a config: its own ``test_cfg`` keys plus those of every registered head, so
    ``model.test_cfg.<a head's key>=...`` is accepted; config validation then checks the keys
    against the heads the config actually has (:meth:`BasePoseEstimator.spec_option_keys`)."""

    def __get__(self, obj, cls) -> dict:
        from posecfg.models.heads.base_head import BaseHead
        MODELS.import_from_location()
        keys = list(cls.estimator_test_cfg_keys)
        for head in MODELS.module_dict.values():
            if isinstance(head, type) and issubclass(head, BaseHead):
                keys += [k for k in head.test_cfg_keys() if k not in keys]
        return {'test_cfg': tuple(keys), 'train_cfg': (), 'data_preprocessor': PREPROCESSOR_KEYS}


def build_data_preprocessor(spec: Union[dict, nn.Module, None]) -> nn.Module:
    """The data preprocessor: a module, a config (a dict without ``type`` configures
    :class:`PoseDataPreprocessor`), or the default."""
    if isinstance(spec, dict):
        # built here, from posecfg's registry: mmengine's root registry does not see it
        return MODELS.build({'type': 'PoseDataPreprocessor', **spec})
    return spec if spec is not None else PoseDataPreprocessor()


def average_outputs(a, b):
    """(a + b) / 2 of two head outputs (tensors, or dicts of tensors)."""
    if isinstance(a, dict):
        return {k: average_outputs(a[k], b[k]) for k in a}
    return (a.float() + b.float()) * 0.5


class BasePoseEstimator(BaseModel):
    """Base of pose estimators (see the module docstring).

    Args:
        backbone: backbone config; ``forward`` returns a tuple of (B, C_i, H_i, W_i) maps.
        neck: optional neck config, applied to the backbone's output.
        heads: name → head config (``BaseHead`` subclasses); the heads are modules under
            these names.
        train_cfg: must be empty.
        test_cfg: the estimator's keys (``flip_test``) and its heads'.
        pretrained: backbone weights loaded by :meth:`init_weights`.
        data_preprocessor: config or module; default :class:`PoseDataPreprocessor`.
        init_cfg: mmengine init config.
    """

    option_keys = _AnyHeadTestCfgKeys()
    #: test_cfg keys of the estimator itself
    estimator_test_cfg_keys: Tuple[str, ...] = ESTIMATOR_TEST_CFG_KEYS
    #: default of test_cfg.flip_test
    default_flip_test = False
    #: factor on the losses of the unlabeled stream (Lightning Pose's annealed weight, set per
    #: epoch by ``AnnealWeightHook``; 1.0 without it)
    total_unsupervised_importance: float = 1.0

    def __init__(self, backbone: dict, neck: Optional[dict] = None,
                 heads: Optional[Mapping[str, dict]] = None, train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None, pretrained: Optional[str] = None,
                 data_preprocessor: Union[dict, nn.Module, None] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=build_data_preprocessor(data_preprocessor),
                         init_cfg=init_cfg)
        owner = type(self).__name__
        if train_cfg:
            raise KeyError(f'train_cfg has keys {sorted(train_cfg)} but {owner} reads none; '
                           'remove them (train_cfg=dict() is the MMPose 0.x default)')
        self.train_cfg = dict(train_cfg or {})
        self.test_cfg = dict(test_cfg or {})
        heads = dict(heads or {})
        self._check_test_cfg(heads)
        self.flip_test = bool(self.test_cfg.get('flip_test', self.default_flip_test))
        self.pretrained = pretrained
        self.backbone = MODELS.build(backbone)
        if neck is not None:
            self.neck = MODELS.build(neck)
        self.head_names: List[str] = []
        for name, cfg in heads.items():
            self.add_head(name, self._head_config(cfg))

    # ------------------------------------------------------------------ construction
    @classmethod
    def spec_option_keys(cls, spec: Mapping) -> dict:
        """``option_keys`` for the model config ``spec``: its heads' ``test_cfg`` keys only."""
        keys = list(cls.estimator_test_cfg_keys)
        for head_cfg in cls.head_configs(spec).values():
            keys += [k for k in head_test_cfg_keys(head_cfg) if k not in keys]
        return {'test_cfg': tuple(keys), 'train_cfg': (), 'data_preprocessor': PREPROCESSOR_KEYS}

    @classmethod
    def head_configs(cls, spec: Mapping) -> Dict[str, dict]:
        """Head name → head config of a model config."""
        return dict(spec.get('heads') or {})

    def _check_test_cfg(self, heads: Mapping[str, dict]) -> None:
        accepted = list(self.estimator_test_cfg_keys)
        for cfg in heads.values():
            accepted += [k for k in head_test_cfg_keys(cfg) if k not in accepted]
        unknown = [k for k in self.test_cfg if k not in accepted]
        if unknown:
            raise KeyError(f'test_cfg has keys {type(self).__name__} and its heads do not read: '
                           f'{unknown_keys(unknown, accepted)}; they read {", ".join(accepted)}')
        flip = self.test_cfg.get('flip_test', self.default_flip_test)
        if not isinstance(flip, bool):
            raise TypeError(f'test_cfg.flip_test must be True or False, got {flip!r}')

    def _head_config(self, cfg: dict) -> dict:
        """A head's config with the model test_cfg keys it declares (its own win)."""
        keys = head_test_cfg_keys(cfg)
        given = {k: v for k, v in self.test_cfg.items() if k in keys}
        if given or 'test_cfg' in cfg:
            cfg = dict(cfg, test_cfg={**given, **(cfg.get('test_cfg') or {})})
        return cfg

    def add_head(self, name: str, cfg: dict) -> None:
        if name in self.head_names or hasattr(self, name):
            raise ValueError(f'{type(self).__name__}: head name {name!r} is taken')
        self.add_module(name, MODELS.build(cfg))
        self.head_names.append(name)

    @property
    def heads(self) -> Dict[str, nn.Module]:
        return {name: getattr(self, name) for name in self.head_names}

    @property
    def with_neck(self) -> bool:
        return hasattr(self, 'neck')

    def init_weights(self) -> None:
        """Initialize backbone, neck and heads, then load ``pretrained`` into the backbone."""
        super().init_weights()
        if self.pretrained:
            from posecfg.models.utils import load_pretrained
            load_pretrained(self.backbone, self.pretrained)

    # ------------------------------------------------------------------ running
    def extract_feat(self, img: Tensor) -> tuple:
        """(B, 3, h, w) normalized images → backbone (and neck) maps (B, C_i, h_i, w_i).

        Windows of frames (B, T, 3, h, w) (context models): the backbone (and neck) run on the
        B · T frames as one batch, each map comes back as (B, T, C_i, h_i, w_i) (as Lightning
        Pose's ``get_representations``, ``models/base.py``, before its time-last permute)."""
        if img.dim() == 5:
            frames = img.reshape(-1, *img.shape[2:])
            feats = self.extract_feat(frames)
            if isinstance(feats, Tensor):
                return feats.reshape(*img.shape[:2], *feats.shape[1:])
            return tuple(f.reshape(*img.shape[:2], *f.shape[1:]) for f in feats)
        feats = self.backbone(img)
        return self.neck(feats) if self.with_neck else feats

    def forward(self, img: Tensor, mode: str = 'tensor', **batch):
        """``'tensor'``, ``'loss'`` or ``'predict'`` (see the module docstring); ``batch`` holds
        the other keys of the collated batch (targets, ``img_metas``, ``gt``, ...)."""
        if mode == 'tensor':
            return self._forward(img)
        if mode == 'loss':
            return self.loss(img, batch)
        if mode == 'predict':
            return self.predict(img, batch)
        raise ValueError(f'{type(self).__name__}.forward: mode must be one of '
                         f'{", ".join(MODES)}, got {mode!r}')

    def _forward(self, img: Tensor):
        feats = self.extract_feat(img)
        if not self.head_names:
            return feats
        outputs = {name: head(feats) for name, head in self.heads.items()}
        return outputs[self.head_names[0]] if len(outputs) == 1 else outputs

    def _require_heads(self, mode: str) -> None:
        if not self.head_names:
            raise ValueError(f"{type(self).__name__} mode={mode!r} needs a head; the model "
                             f"config has none")

    def loss(self, img: Tensor, batch: dict) -> dict:
        """Every head's losses (prefixed with the head's name when there are several), and
        their unlabeled-data losses when ``batch['unlabeled']`` is given."""
        self._require_heads('loss')
        feats = self.extract_feat(img)
        batch = dict(batch, img=img)
        losses = {}
        for name, head in self.heads.items():
            prefix = f'{name}_' if len(self.head_names) > 1 else ''
            losses.update({prefix + k: v for k, v in head.loss(feats, batch).items()})
        unlabeled = batch.get('unlabeled')
        if unlabeled is not None:
            losses.update(self.loss_unlabeled(unlabeled))
        return losses

    def loss_unlabeled(self, batch: dict) -> dict:
        """Losses on a batch of the ``data.unlabeled`` stream: each head's ``loss_unlabeled``
        (keys prefixed ``unlabeled_`` and, with several heads, the head's name), each times
        :attr:`total_unsupervised_importance`."""
        heads = {n: h for n, h in self.heads.items() if hasattr(h, 'loss_unlabeled')}
        if not heads:
            raise ValueError(f'the batch has an unlabeled stream (data.unlabeled) but no head of '
                             f'this {type(self).__name__} learns from unlabeled data '
                             f'(loss_unlabeled); remove data.unlabeled or use such a head')
        feats = self.extract_feat(batch['img'])
        losses = {}
        scale = float(self.total_unsupervised_importance)
        for name, head in heads.items():
            prefix = 'unlabeled_' + (f'{name}_' if len(self.head_names) > 1 else '')
            losses.update({prefix + k: v * scale
                           for k, v in head.loss_unlabeled(feats, batch).items()})
        return losses

    @torch.no_grad()
    def head_outputs(self, img: Tensor, img_metas: Optional[Sequence[dict]],
                     frame_context: int = 0) -> dict:
        """Head name → outputs for ``img``, averaged with the mirrored batch's outputs flipped
        back when ``test_cfg.flip_test`` (both batches in one pass: larger matrices, one
        network call; the same numbers in eval mode). ``frame_context`` c > 0: ``img`` is a run
        of frames whose windows of 2c + 1 the heads read (module docstring)."""
        if frame_context:
            if self.flip_test:
                raise ValueError('test_cfg.flip_test=True is not available for runs of frames '
                                 '(frame_context); set test_cfg.flip_test=False')
            from ..utils.frame_windows import windows_from_sequences
            feats = self.extract_feat(img)
            feats = (windows_from_sequences(feats, len(feats), frame_context)
                     if isinstance(feats, Tensor) else
                     tuple(windows_from_sequences(f, len(f), frame_context) for f in feats))
            return {name: head(feats) for name, head in self.heads.items()}
        if not self.flip_test:
            feats = self.extract_feat(img)
            return {name: head(feats) for name, head in self.heads.items()}
        if not img_metas or 'flip_pairs' not in img_metas[0]:
            raise KeyError("test_cfg.flip_test=True needs img_metas[0]['flip_pairs'] (the "
                           "dataset's left/right joint pairs); list 'flip_pairs' in the test "
                           "pipeline's Collect(meta_keys=...) or set test_cfg.flip_test=False")
        n = img.shape[0]
        feats = self.extract_feat(torch.cat([img, img.flip(-1)]))
        outputs = {}
        for name, head in self.heads.items():
            both = head(feats)
            plain, mirrored = _split(both, n)
            outputs[name] = average_outputs(plain, head.flip_back(mirrored,
                                                                  img_metas[0]['flip_pairs']))
        return outputs

    def predict(self, img: Tensor, batch: dict) -> List[dict]:
        """One dict per sample; see the module docstring and the subclass."""
        self._require_heads('predict')
        img_metas = batch.get('img_metas')
        context = int(batch.get('frame_context') or 0)
        count = img.shape[0] - 2 * context
        if img_metas is None or len(img_metas) != count:
            raise ValueError(f"{type(self).__name__} mode='predict' needs one img_metas dict "
                             f"per image ({count}), got "
                             f"{'none' if img_metas is None else len(img_metas)}")
        input_size = (int(img.shape[-1]), int(img.shape[-2]))
        outputs = _float32(self.head_outputs(img, img_metas, context))
        # decoding runs in float32 whatever the forward ran in: bfloat16's 8-bit mantissa
        # would round a 256-pixel coordinate to 1-2 pixels, and numpy has no bfloat16
        with torch.autocast(img.device.type, enabled=False):
            decoded = {name: head.decode(outputs[name], input_size)
                       for name, head in self.heads.items()}
        results = []
        for i, meta in enumerate(img_metas):
            per_head = self.combine_heads(
                {name: dict(decoded[name][i]) for name in self.head_names})
            for values in per_head.values():
                for key in ('keypoints', 'unique_keypoints'):
                    if key in values:
                        values[key] = self.to_original(values[key], meta, input_size)
            results.append(self.pack(per_head, meta))
        return results

    def combine_heads(self, per_head: Dict[str, dict]) -> Dict[str, dict]:
        """One sample's decoded head results, in input pixels, before they are mapped to the
        original image: where an estimator combines heads (BottomUp: identity scores at the
        bodypart keypoints). Default: unchanged."""
        return per_head

    def to_original(self, keypoints: np.ndarray, meta: dict,
                    input_size: Tuple[int, int]) -> np.ndarray:
        """(..., 2) input-image pixels → original-image pixels: through the inverse of
        ``meta['warp_mat']`` (the (2, 3) original → input affine of the pipeline) when the
        sample has one, else unchanged (the input is the original image)."""
        if meta.get('warp_mat') is None:
            return np.asarray(keypoints, dtype=np.float32)
        return affine_points(np.asarray(keypoints, np.float64),
                             invert_affine(meta['warp_mat'])).astype(np.float32)

    def pack(self, per_head: Dict[str, dict], meta: dict) -> dict:
        """One sample's prediction dict from its heads' decoded (and mapped) results: the first
        head's keys at the top level, the others' under their names."""
        first, *others = self.head_names
        result = dict(per_head[first], image_file=meta.get('image_file'),
                      image_id=meta.get('image_id'))
        for name in others:
            result[name] = per_head[name]
        return result


def _split(outputs, n: int):
    """Head outputs for a 2n batch → (first n, last n) (tensors or dicts of tensors)."""
    if isinstance(outputs, dict):
        pairs = {k: _split(v, n) for k, v in outputs.items()}
        return {k: p[0] for k, p in pairs.items()}, {k: p[1] for k, p in pairs.items()}
    return outputs[:n], outputs[n:]


def _float32(outputs):
    """Head outputs (a tensor, or dicts / lists / tuples of them) with every reduced-precision
    floating tensor as float32; everything else as it is."""
    if isinstance(outputs, Tensor):
        return outputs.float() if outputs.dtype in (torch.bfloat16, torch.float16) else outputs
    if isinstance(outputs, dict):
        return type(outputs)((k, _float32(v)) for k, v in outputs.items())
    if isinstance(outputs, (list, tuple)) and not hasattr(outputs, '_fields'):
        return type(outputs)(_float32(v) for v in outputs)
    return outputs
