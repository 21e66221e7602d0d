"""``TopDown``: backbone → (neck) → keypoint head, as an mmengine ``BaseModel``.

MMPose 0.x's top-down detector with the config arguments of its ``TopDown`` and mmengine's
``forward(..., mode=)`` protocol (see DESIGN.md, "Model input and output").
"""
from __future__ import annotations

import warnings
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.model import BaseModel
from torch import Tensor, nn

from posecfg.registry import MODELS
from ..data_preprocessor import PoseDataPreprocessor
from ..heads.heatmap_test_cfg import (HEATMAP_TEST_CFG_KEYS, check_train_cfg,
                                      resolve_heatmap_test_cfg)

MODES = ('tensor', 'loss', 'predict')


@MODELS.register_module()
class TopDown(BaseModel):
    """Top-down pose estimator: one person crop in, one heatmap per keypoint out.

    Args:
        backbone: backbone config; its ``forward`` returns a tuple of (N, C_i, H_i, W_i) maps.
        neck: optional neck config, applied to the backbone's output.
        keypoint_head: head config, e.g. ``TopdownHeatmapSimpleHead``; it receives this model's
            ``train_cfg`` and ``test_cfg`` (as in MMPose 0.x).
        train_cfg: must be empty (None or ``dict()``, as MMPose 0.x configs give).
        test_cfg: ``flip_test`` (default True), ``shift_heatmap``, ``post_process``,
            ``modulate_kernel``, ``use_udp``, ``target_type``, ``valid_radius_factor``,
            ``unbiased_decoding`` (see ``posecfg.models.heads.HEATMAP_TEST_CFG_KEYS``).
        pretrained: backbone weights (path, ``torchvision://…``, URL), loaded by
            :meth:`init_weights` — which mmengine's Runner calls before training, so testing
            from a checkpoint never fetches them.
        loss_pose: deprecated MMPose 0.x spelling of ``keypoint_head.loss_keypoint``.
        data_preprocessor: config or module; default :class:`PoseDataPreprocessor`. A dict
            without ``type`` gives its options (``model.data_preprocessor.channels_last=True``
            on the command line works on a config that does not set it).
        init_cfg: mmengine init config of this module.
    """

    option_keys = {'test_cfg': HEATMAP_TEST_CFG_KEYS, 'train_cfg': (),
                   'data_preprocessor': ('type', 'channels_last', 'non_blocking')}

    def __init__(self, backbone: dict, neck: Optional[dict] = None,
                 keypoint_head: Optional[dict] = None, train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None, pretrained: Optional[str] = None,
                 loss_pose: Optional[dict] = None,
                 data_preprocessor: Union[dict, nn.Module, None] = None,
                 init_cfg: Optional[dict] = None):
        if isinstance(data_preprocessor, dict):
            # built here, from posecfg's registry: mmengine's root registry does not see it
            data_preprocessor = MODELS.build(
                {'type': 'PoseDataPreprocessor', **data_preprocessor})
        elif data_preprocessor is None:
            data_preprocessor = PoseDataPreprocessor()
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.train_cfg = check_train_cfg(train_cfg, 'TopDown')
        self.test_cfg = dict(test_cfg or {})
        self.test_settings = resolve_heatmap_test_cfg(self.test_cfg)
        self.pretrained = pretrained

        self.backbone = MODELS.build(backbone)
        if neck is not None:
            self.neck = MODELS.build(neck)
        if keypoint_head is not None:
            head_cfg = dict(keypoint_head, train_cfg=self.train_cfg, test_cfg=self.test_cfg)
            if loss_pose is not None and 'loss_keypoint' not in head_cfg:
                warnings.warn('TopDown(loss_pose=...) is deprecated; set '
                              'keypoint_head.loss_keypoint instead', DeprecationWarning)
                head_cfg['loss_keypoint'] = loss_pose
            self.keypoint_head = MODELS.build(head_cfg)

    @property
    def with_neck(self) -> bool:
        return hasattr(self, 'neck')

    @property
    def with_keypoint(self) -> bool:
        return hasattr(self, 'keypoint_head')

    def init_weights(self) -> None:
        """Initialize backbone, neck and head, then load ``pretrained`` into the backbone."""
        super().init_weights()
        if self.pretrained:
            from posecfg.models.utils import load_pretrained
            load_pretrained(self.backbone, self.pretrained)

    def extract_feat(self, img: Tensor) -> tuple:
        """(N, 3, h, w) normalized images → backbone (and neck) feature maps."""
        feats = self.backbone(img)
        return self.neck(feats) if self.with_neck else feats

    def forward(self, img: Tensor, target: Optional[Tensor] = None,
                target_weight: Optional[Tensor] = None,
                img_metas: Optional[Sequence[dict]] = None, mode: str = 'tensor', **batch):
        """Run the model in one of three modes.

        Args:
            img: (N, 3, h, w) float, normalized (the data preprocessor's output).
            target: (N, C, Hh, Wh) heatmap targets; needed for ``'loss'``.
            target_weight: (N, K, 1) per-joint weights; needed for ``'loss'``.
            img_metas: N dicts; ``'predict'`` reads ``center``, ``scale`` (and ``flip_pairs``
                with flip test, ``bbox_score``, ``image_file``, ``image_id``, ``bbox_id``).
            mode: ``'tensor'`` → heatmaps (N, C, Hh, Wh) (backbone features without a head);
                ``'loss'`` → ``dict(heatmap_loss, acc_pose)`` of 0-dim tensors;
                ``'predict'`` → one dict per instance (see :meth:`predict`).
            **batch: other batch keys (``gt`` for the metrics) are not model inputs.
        """
        if mode == 'tensor':
            feats = self.extract_feat(img)
            return self.keypoint_head(feats) if self.with_keypoint else feats
        if mode == 'loss':
            return self.loss(img, target, target_weight)
        if mode == 'predict':
            return self.predict(img, img_metas)
        raise ValueError(f'TopDown.forward: mode must be one of {", ".join(MODES)}, '
                         f'got {mode!r}')

    def _require_head(self, mode: str) -> None:
        if not self.with_keypoint:
            raise ValueError(f"TopDown mode={mode!r} needs a keypoint_head; the model config "
                             'has none')

    def loss(self, img: Tensor, target: Optional[Tensor], target_weight: Optional[Tensor]
             ) -> dict:
        """``dict(heatmap_loss=…, acc_pose=…)``, 0-dim tensors (``acc_pose`` without grad)."""
        self._require_head('loss')
        for name, value in (('target', target), ('target_weight', target_weight)):
            if value is None:
                raise ValueError(f"TopDown mode='loss' needs {name!r} in the batch; the train "
                                 f"pipeline must generate it (TopDownGenerateTarget) and "
                                 f"Collect it in keys")
        output = self.keypoint_head(self.extract_feat(img))
        losses = self.keypoint_head.get_loss(output, target, target_weight)
        losses.update(self.keypoint_head.get_accuracy(output, target, target_weight))
        return losses

    @torch.no_grad()
    def predict_heatmaps(self, img: Tensor, img_metas: Optional[Sequence[dict]]) -> np.ndarray:
        """Heatmaps (N, C, Hh, Wh) float32 numpy, averaged with the flipped image's when
        ``test_cfg.flip_test``.

        With flip test the original and the mirrored batch go through the network as one batch
        of 2N: one pass with larger matrices instead of two (same numbers in eval mode).
        """
        self._require_head('predict')
        if not self.test_settings.flip_test:
            return self.keypoint_head.inference_model(self.extract_feat(img))
        if not img_metas or 'flip_pairs' not in img_metas[0]:
            raise KeyError("test_cfg.flip_test=True needs img_metas[0]['flip_pairs'] (the "
                           "dataset's left/right joint pairs); list 'flip_pairs' in the test "
                           "pipeline's Collect(meta_keys=...) or set test_cfg.flip_test=False")
        n = img.shape[0]
        heatmaps = self.keypoint_head.inference_model(
            self.extract_feat(torch.cat([img, img.flip(3)])))
        flipped = self.keypoint_head.flip_back(heatmaps[n:], img_metas[0]['flip_pairs'])
        return (heatmaps[:n] + flipped) * 0.5

    def predict(self, img: Tensor, img_metas: Optional[Sequence[dict]]) -> List[dict]:
        """One dict per instance: ``preds`` (K, 3) float32 (x, y, score) in original-image
        pixels, ``boxes`` (6,) = (cx, cy, sw, sh, area, score), ``image_file``, ``image_id``,
        ``bbox_id``."""
        if img_metas is None or len(img_metas) != img.shape[0]:
            raise ValueError(f"TopDown mode='predict' needs one img_metas dict per image "
                             f"({img.shape[0]}), got "
                             f"{'none' if img_metas is None else len(img_metas)}")
        heatmaps = self.predict_heatmaps(img, img_metas)
        return self.keypoint_head.decode(img_metas, heatmaps)
