"""``TopDown``: one instance crop in, its keypoints out (MMPose 0.x's top-down detector).

The config arguments of MMPose 0.x's ``TopDown`` on the :class:`BasePoseEstimator` contract:
one head, ``keypoint_head`` (its module name, so MMPose 0.x checkpoints load), which receives
the model's ``train_cfg`` and ``test_cfg`` as in MMPose 0.x.

Shapes (B crops of (w, h) pixels, K keypoints, one instance per crop): ``img`` (B, 3, h, w);
``'tensor'`` → heatmaps (B, C, H, W) (backbone features without a head); ``'loss'`` →
``dict(heatmap_loss, acc_pose)``; ``'predict'`` → per crop ``keypoints`` (1, K, 2) and
``keypoint_scores`` (1, K) in original-image pixels, ``bbox_scores`` (1,), and MMPose 0.x's
``preds`` (K, 3) (x, y, score), ``boxes`` (6,) = (cx, cy, sw, sh, area, score), ``image_file``,
``image_id``, ``bbox_id``.
"""
from __future__ import annotations

import warnings
from typing import Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from torch import Tensor, nn

from posecfg.codecs import UDPHeatmap
from posecfg.geometry import PIXEL_STD, crop_to_image
from posecfg.registry import MODELS
from .base import ESTIMATOR_TEST_CFG_KEYS, BasePoseEstimator


@MODELS.register_module()
class TopDown(BasePoseEstimator):
    """Top-down pose estimator: one person crop in, one heatmap per keypoint out.

    Args:
        backbone: backbone config; its ``forward`` returns a tuple of (N, C_i, H_i, W_i) maps.
        neck: optional neck config, applied to the backbone's output.
        keypoint_head: head config, e.g. ``TopdownHeatmapSimpleHead``; it receives the test_cfg
            keys it declares (its ``option_keys``) and this model's ``train_cfg``.
        train_cfg: must be empty (None or ``dict()``, as MMPose 0.x configs give).
        test_cfg: ``flip_test`` (default True) and the head's keys, for the simple heatmap head
            ``shift_heatmap``, ``post_process``, ``modulate_kernel``, ``use_udp``,
            ``target_type``, ``valid_radius_factor``, ``unbiased_decoding`` (see
            ``posecfg.models.heads.HEATMAP_TEST_CFG_KEYS``).
        pretrained: backbone weights (path, ``torchvision://…``, URL), loaded by
            :meth:`init_weights` — which mmengine's Runner calls before training, so testing
            from a checkpoint never fetches them.
        loss_pose: deprecated MMPose 0.x spelling of ``keypoint_head.loss_keypoint``.
        data_preprocessor: config or module; default :class:`PoseDataPreprocessor`. A dict
            without ``type`` gives its options (``model.data_preprocessor.channels_last=True``
            on the command line works on a config that does not set it).
        init_cfg: mmengine init config of this module.

    Keypoints decoded in crop pixels go back to the original image by the inverse of the crop
    (``center``, ``scale`` of each sample's ``img_metas``; with ``test_cfg.use_udp`` UDP's
    crop, as MMPose 0.x's ``transform_preds``), or of ``warp_mat`` where the pipeline records it.
    """

    example_args = dict(
        backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8,
                      num_stages=1, strides=(1,), dilations=(1,), out_indices=(0,)),
        keypoint_head=dict(type='TopdownHeatmapSimpleHead', in_channels=8, out_channels=3,
                           num_deconv_layers=1, num_deconv_filters=(8,), num_deconv_kernels=(4,),
                           loss_keypoint=dict(type='JointsMSELoss', use_target_weight=True)),
        test_cfg=dict(flip_test=True))

    estimator_test_cfg_keys = ESTIMATOR_TEST_CFG_KEYS
    default_flip_test = True  # MMPose 0.x's default

    def __init__(self, backbone: dict, neck: Optional[dict] = None,
                 keypoint_head: Optional[dict] = None, train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None, pretrained: Optional[str] = None,
                 loss_pose: Optional[dict] = None,
                 data_preprocessor: Union[dict, nn.Module, None] = None,
                 init_cfg: Optional[dict] = None):
        heads = {}
        if keypoint_head is not None:
            head_cfg = dict(keypoint_head, train_cfg=train_cfg)
            if loss_pose is not None and 'loss_keypoint' not in head_cfg:
                warnings.warn('TopDown(loss_pose=...) is deprecated; set '
                              'keypoint_head.loss_keypoint instead', DeprecationWarning)
                head_cfg['loss_keypoint'] = loss_pose
            heads['keypoint_head'] = head_cfg
        super().__init__(backbone, neck, heads, train_cfg, test_cfg, pretrained,
                         data_preprocessor, init_cfg)
        #: the crop convention of the inverse mapping: test_cfg.use_udp (MMPose 0.x), else
        #: whether the head decodes with UDP's codec (MMPose 1.x style configs)
        head_codec = getattr(getattr(self, 'keypoint_head', None), 'codec', None)
        self.use_udp = bool(self.test_cfg.get('use_udp', isinstance(head_codec, UDPHeatmap)))

    @classmethod
    def head_configs(cls, spec: Mapping) -> dict:
        head = spec.get('keypoint_head')
        return {} if head is None else {'keypoint_head': head}

    @property
    def with_keypoint(self) -> bool:
        return bool(self.head_names)

    def _require_heads(self, mode: str) -> None:
        if not self.head_names:
            raise ValueError(f"TopDown mode={mode!r} needs a keypoint_head; the model config "
                             'has none')

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
                ``'predict'`` → one dict per instance (see the module docstring).
            **batch: other batch keys (``gt`` for the metrics, 1.x-style targets, ...).
        """
        batch = dict(batch, target=target, target_weight=target_weight, img_metas=img_metas)
        return super().forward(img, mode=mode, **batch)

    def to_original(self, keypoints: np.ndarray, meta: dict,
                    input_size: Tuple[int, int]) -> np.ndarray:
        if meta.get('warp_mat') is not None:
            return super().to_original(keypoints, meta, input_size)
        for key in ('center', 'scale'):
            if key not in meta:
                raise KeyError(f"img_metas has no {key!r}: mapping top-down keypoints back to "
                               f"the image needs the box 'center' and 'scale'; list them in the "
                               f"test pipeline's Collect(meta_keys=...)")
        return crop_to_image(keypoints, meta['center'], meta['scale'], input_size,
                             self.use_udp).astype(np.float32)

    def pack(self, per_head: dict, meta: dict) -> dict:
        decoded = per_head['keypoint_head']
        keypoints, scores = decoded['keypoints'], decoded['keypoint_scores']
        center = np.asarray(meta['center'], np.float32).reshape(2)
        scale = np.asarray(meta['scale'], np.float32).reshape(2)
        bbox_score = float(np.asarray(meta.get('bbox_score', 1.0)).reshape(-1)[0])
        area = np.prod(scale * PIXEL_STD)
        return dict(
            keypoints=keypoints, keypoint_scores=scores,
            bbox_scores=np.array([bbox_score], np.float32),
            preds=np.concatenate([keypoints[0], scores[0][:, None]], axis=1).astype(np.float32),
            boxes=np.array([*center, *scale, area, bbox_score], np.float32),
            image_file=meta.get('image_file'), image_id=meta.get('image_id'),
            bbox_id=meta.get('bbox_id'))

    def predict_heatmaps(self, img: Tensor, img_metas: Optional[Sequence[dict]]) -> np.ndarray:
        """Heatmaps (N, C, Hh, Wh) float32 numpy, averaged with the flipped image's when
        ``test_cfg.flip_test``."""
        self._require_heads('predict')
        return self.head_outputs(img, img_metas)['keypoint_head'].detach().float().cpu().numpy()
