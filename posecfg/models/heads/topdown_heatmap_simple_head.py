"""``TopdownHeatmapSimpleHead``: deconvolutions then a conv to one heatmap per keypoint.

Xiao et al., "Simple Baselines for Human Pose Estimation and Tracking" (ECCV 2018), with the
arguments, module names (so MMPose 0.x checkpoints load), weight init, loss, accuracy and
inference of MMPose 0.x, on the :class:`~posecfg.models.heads.base_head.BaseHead` contract: it
decodes through a codec, which ``test_cfg``'s 0.x keys choose
(:func:`posecfg.codecs.mmpose0x.decoding_codec`) unless ``codec`` gives one.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import constant_init, normal_init
from torch import Tensor, nn

from posecfg.evaluation.functional import pose_pck_accuracy
from posecfg.registry import KEYPOINT_CODECS, MODELS
from .base_head import BaseHead
from .heatmap_test_cfg import (DECODING_KEYS, HEATMAP_TEST_CFG_KEYS, check_train_cfg,
                               resolve_heatmap_test_cfg)

Features = Union[Tensor, Sequence[Tensor]]

EXTRA_KEYS = ('final_conv_kernel', 'num_conv_layers', 'num_conv_kernels')
INPUT_TRANSFORMS = (None, 'resize_concat')
# deconv kernel size → (padding, output_padding) so that each deconv exactly doubles H and W
DECONV_PADDING = {4: (1, 0), 3: (1, 1), 2: (0, 0)}


def _deconv_layers(in_channels: int, filters: Sequence[int], kernels: Sequence[int]
                   ) -> nn.Sequential:
    """[ConvTranspose2d(stride 2, no bias), BatchNorm2d, ReLU] per layer: ×2 resolution each."""
    layers = []
    for planes, kernel in zip(filters, kernels):
        if kernel not in DECONV_PADDING:
            raise ValueError(f'num_deconv_kernels entries must be one of '
                             f'{sorted(DECONV_PADDING)}, got {kernel}')
        padding, output_padding = DECONV_PADDING[kernel]
        layers += [nn.ConvTranspose2d(in_channels, planes, kernel, stride=2, padding=padding,
                                      output_padding=output_padding, bias=False),
                   nn.BatchNorm2d(planes), nn.ReLU(inplace=True)]
        in_channels = planes
    return nn.Sequential(*layers)


def _final_layer(channels: int, out_channels: int, extra: dict) -> nn.Module:
    """``extra.num_conv_layers`` × [Conv2d, BN, ReLU] then the output conv (1×1 by default)."""
    final_kernel = extra.get('final_conv_kernel', 1)
    if final_kernel not in (0, 1, 3):
        raise ValueError(f'extra.final_conv_kernel must be 0 (identity), 1 or 3, '
                         f'got {final_kernel!r}')
    if final_kernel == 0:
        return nn.Identity()
    num_convs = extra.get('num_conv_layers', 0)
    kernels = extra.get('num_conv_kernels', [1] * num_convs)
    if len(kernels) != num_convs:
        raise ValueError(f'extra.num_conv_kernels has {len(kernels)} entries but '
                         f'extra.num_conv_layers is {num_convs}')
    layers = []
    for kernel in kernels:
        layers += [nn.Conv2d(channels, channels, kernel, stride=1, padding=(kernel - 1) // 2),
                   nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
    layers.append(nn.Conv2d(channels, out_channels, final_kernel, stride=1,
                            padding=(final_kernel - 1) // 2))
    # a lone conv is not wrapped, so parameter names match MMPose 0.x checkpoints
    return nn.Sequential(*layers) if len(layers) > 1 else layers[0]


@MODELS.register_module()
class TopdownHeatmapSimpleHead(BaseHead):
    """Deconv layers, optional extra convs, and a final conv to heatmaps (MMPose 0.x head).

    Args:
        in_channels: channels of the selected feature map (with ``input_transform=
            'resize_concat'``, a list: channels of each map in ``in_index``).
        out_channels: heatmap channels K (3K for ``target_type='CombinedTarget'``).
        num_deconv_layers: number of stride-2 deconvolutions (0: none); each doubles H and W.
        num_deconv_filters: output channels of each deconvolution.
        num_deconv_kernels: kernel size of each deconvolution, each 2, 3 or 4.
        extra: ``final_conv_kernel`` (0 = identity, 1 or 3), ``num_conv_layers`` and
            ``num_conv_kernels`` (extra conv-BN-ReLU blocks before the final conv).
        in_index: which backbone output to use (a list with ``'resize_concat'``).
        input_transform: None (one map) or ``'resize_concat'`` (resize the ``in_index`` maps
            to the first one's size and concatenate them along channels).
        align_corners: ``align_corners`` of the bilinear resizes.
        loss_keypoint: loss config, e.g. ``dict(type='JointsMSELoss', use_target_weight=True)``.
        train_cfg: must be empty (None or ``dict()``, as MMPose 0.x configs give).
        test_cfg: see ``HEATMAP_TEST_CFG_KEYS`` (shift_heatmap, target_type, decoding).
        upsample: if > 0, ReLU then bilinear upsampling of the selected map by this factor
            before the deconvolutions (ViTPose's simple decoder).
        codec: a heatmap codec config (MMPose 1.x style, e.g. ``dict(type='UDPHeatmap')``) to
            decode with instead of ``test_cfg``'s decoding keys (which must then be absent).

    Shapes: ``forward`` takes the backbone's tuple of (N, C_i, H_i, W_i) maps and returns
    heatmaps (N, out_channels, H * 2^num_deconv_layers * max(upsample, 1), W * ...).
    """

    #: HRNet's use: the 1/4-resolution map of ``example_feature_shapes`` → (2, 3, 16, 12)
    example_args = dict(in_channels=8, out_channels=3, num_deconv_layers=0,
                        extra=dict(final_conv_kernel=1),
                        loss_keypoint=dict(type='JointsMSELoss', use_target_weight=True))

    option_keys = {'test_cfg': HEATMAP_TEST_CFG_KEYS, 'extra': EXTRA_KEYS, 'train_cfg': ()}

    def __init__(self, in_channels, out_channels: int, num_deconv_layers: int = 3,
                 num_deconv_filters: Sequence[int] = (256, 256, 256),
                 num_deconv_kernels: Sequence[int] = (4, 4, 4), extra: Optional[dict] = None,
                 in_index=0, input_transform: Optional[str] = None, align_corners: bool = False,
                 loss_keypoint: Optional[dict] = None, train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None, upsample: int = 0, codec=None):
        settings = resolve_heatmap_test_cfg(test_cfg)
        if codec is not None and any(k in (test_cfg or {}) for k in DECODING_KEYS):
            given = sorted(k for k in test_cfg if k in DECODING_KEYS)
            raise ValueError(f'TopdownHeatmapSimpleHead: the decoding is given twice, by codec '
                             f'and by test_cfg keys {given}; keep one')
        if codec is None:
            codec = KEYPOINT_CODECS.build(settings.codec_config())
        super().__init__(codec=codec, test_cfg=test_cfg)
        self.test_settings = settings
        self.in_index = in_index
        self.input_transform = input_transform
        self.align_corners = align_corners
        self.upsample = upsample
        self.in_channels = self._check_inputs(in_channels, in_index, input_transform, upsample)
        self.train_cfg = check_train_cfg(train_cfg, type(self).__name__)
        #: heatmap channels per keypoint: 3 for UDP's CombinedTarget
        self.channels_per_keypoint = getattr(self.codec, 'channels_per_keypoint', 1)
        self.loss_module = MODELS.build(loss_keypoint) if loss_keypoint is not None else None

        if extra is not None and not isinstance(extra, dict):
            raise TypeError(f'extra must be a dict with keys {", ".join(EXTRA_KEYS)} or None, '
                            f'got {type(extra).__name__}')
        extra = dict(extra or {})
        unknown = sorted(set(extra) - set(EXTRA_KEYS))
        if unknown:
            raise KeyError(f'extra has unknown keys {unknown}; it takes {", ".join(EXTRA_KEYS)}')

        if num_deconv_layers < 0:
            raise ValueError(f'num_deconv_layers must be >= 0, got {num_deconv_layers}')
        for name, values in (('num_deconv_filters', num_deconv_filters),
                             ('num_deconv_kernels', num_deconv_kernels)):
            if num_deconv_layers > 0 and len(values) != num_deconv_layers:
                raise ValueError(f'{name} has {len(values)} entries but num_deconv_layers is '
                                 f'{num_deconv_layers}; give one per deconv layer')
        if num_deconv_layers > 0:
            self.deconv_layers = _deconv_layers(self.in_channels, num_deconv_filters,
                                                num_deconv_kernels)
            channels = num_deconv_filters[-1]
        else:
            self.deconv_layers = nn.Identity()
            channels = self.in_channels
        self.final_layer = _final_layer(channels, out_channels, extra)
        self.init_weights()

    @staticmethod
    def _check_inputs(in_channels, in_index, input_transform, upsample) -> int:
        """Validate the feature-selection arguments; return the channels entering the deconvs."""
        if input_transform not in INPUT_TRANSFORMS:
            raise ValueError(f'input_transform must be one of {INPUT_TRANSFORMS}, got '
                             f'{input_transform!r} (a simple head needs one feature map, so '
                             "'multiple_select' does not apply)")
        if input_transform is None:
            if not isinstance(in_channels, int) or not isinstance(in_index, int):
                raise TypeError(f'with input_transform=None, in_channels and in_index must be '
                                f'ints, got in_channels={in_channels!r}, in_index={in_index!r}')
            return in_channels
        if not (isinstance(in_channels, (list, tuple)) and isinstance(in_index, (list, tuple))
                and len(in_channels) == len(in_index)):
            raise TypeError(f"with input_transform='resize_concat', in_channels and in_index "
                            f'must be lists of the same length, got in_channels={in_channels!r}, '
                            f'in_index={in_index!r}')
        if upsample:
            # MMPose 0.x silently ignores upsample for multi-map input; say so instead
            raise ValueError("upsample applies to a single feature map; it cannot be combined "
                             "with input_transform='resize_concat'")
        return sum(in_channels)

    def init_weights(self) -> None:
        """MMPose 0.x init: N(0, 0.001) for (de)convolutions, zero biases, BN weight 1 bias 0."""
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                normal_init(module, mean=0., std=0.001, bias=0.)
            elif isinstance(module, nn.BatchNorm2d):
                constant_init(module, 1, bias=0.)

    def _select_input(self, feats: Features) -> Tensor:
        """The backbone's tuple of (N, C_i, H_i, W_i) maps → the (N, C, H, W) map to upsample."""
        if isinstance(feats, Tensor):  # a backbone that returns a bare map, as some 0.x ones do
            x = feats
        elif self.input_transform is None:
            if not -len(feats) <= self.in_index < len(feats):
                raise IndexError(f'keypoint_head.in_index={self.in_index} but the backbone '
                                 f'returned {len(feats)} feature map(s); set in_index or the '
                                 "backbone's out_indices")
            x = feats[self.in_index]
        else:
            maps = [feats[i] for i in self.in_index]
            size = maps[0].shape[2:]
            x = torch.cat([m if m.shape[2:] == size else
                           F.interpolate(m, size=size, mode='bilinear',
                                         align_corners=self.align_corners) for m in maps], dim=1)
        if self.upsample > 0:
            x = F.interpolate(F.relu(x), scale_factor=self.upsample, mode='bilinear',
                              align_corners=self.align_corners)
        if x.shape[1] != self.in_channels:
            raise ValueError(f'keypoint_head.in_channels is {self.in_channels} but the selected '
                             f'feature map has {x.shape[1]} channels; set in_channels to match '
                             'the backbone')
        return x

    def forward(self, feats: Features) -> Tensor:
        """feats: tuple of (N, C_i, H_i, W_i) → heatmaps (N, out_channels, H', W')."""
        return self.final_layer(self.deconv_layers(self._select_input(feats)))

    def loss(self, feats: Features, batch: dict) -> dict:
        """``dict(heatmap_loss, acc_pose)`` of 0-dim tensors from the batch's ``target``
        (B, C, H, W) and ``target_weight`` (B, K, 1) (MMPose 0.x's ``TopDownGenerateTarget``),
        or a codec's ``heatmaps`` and ``keypoint_weights`` (B lists of (1, K))."""
        target, target_weight = heatmap_targets(batch, type(self).__name__)
        output = self.forward(feats)
        losses = self.get_loss(output, target, target_weight)
        losses.update(self.get_accuracy(output, target, target_weight))
        return losses

    def get_loss(self, output: Tensor, target: Tensor, target_weight: Tensor) -> dict:
        """output, target (N, C, H, W), target_weight (N, K, 1) → dict(heatmap_loss=0-dim)."""
        if self.loss_module is None:
            raise ValueError("keypoint_head.loss_keypoint is not set; training needs one, e.g. "
                             "dict(type='JointsMSELoss', use_target_weight=True)")
        if target.dim() != 4 or target_weight.dim() != 3:
            raise ValueError(f'target must be (N, C, H, W) and target_weight (N, K, 1), got '
                             f'{tuple(target.shape)} and {tuple(target_weight.shape)}')
        return dict(heatmap_loss=self.loss_module(output, target, target_weight))

    def get_accuracy(self, output: Tensor, target: Tensor, target_weight: Tensor) -> dict:
        """PCK of heatmap argmaxes at 0.05 of the heatmap size → ``dict(acc_pose=0-dim tensor)``.

        Empty for ``CombinedTarget``, as in MMPose 0.x. A tensor rather than MMPose's float,
        because mmengine's ``parse_losses`` logs only tensors.
        """
        if self.channels_per_keypoint != 1:
            return {}
        _, avg_acc, _ = pose_pck_accuracy(
            output.detach().float().cpu().numpy(), target.detach().float().cpu().numpy(),
            target_weight.detach().cpu().numpy().squeeze(-1) > 0)
        return dict(acc_pose=torch.tensor(float(avg_acc), device=output.device))

    def flip_back(self, outputs: Tensor, flip_pairs: Sequence) -> Tensor:
        """(N, C, H, W) heatmaps of flipped images → original orientation, shifted one cell
        right when ``test_cfg.shift_heatmap`` (see :func:`posecfg.codecs.flip.flip_heatmaps`)."""
        return self.codec.flip_back(outputs, flip_pairs, shift=self.test_settings.shift_heatmap)


def heatmap_targets(batch: dict, owner: str) -> Tuple[Tensor, Tensor]:
    """(target (B, C, H, W), target_weight (B, K, 1)) of a batch: MMPose 0.x's ``target`` and
    ``target_weight``, or a codec's ``heatmaps`` and ``keypoint_weights`` (one instance each)."""
    if batch.get('target') is not None and batch.get('target_weight') is not None:
        return batch['target'], batch['target_weight']
    if batch.get('heatmaps') is not None and batch.get('keypoint_weights') is not None:
        weights = batch['keypoint_weights']
        if isinstance(weights, (list, tuple)):
            weights = torch.stack([torch.as_tensor(w, dtype=torch.float32) for w in weights])
        heatmaps = batch['heatmaps']
        if weights.dim() != 3 or weights.shape[1] != 1:
            raise ValueError(f"{owner}: keypoint_weights must be one instance per sample (B, 1, "
                             f"K) for a top-down head, got {tuple(weights.shape)}")
        return heatmaps, weights.to(heatmaps.device).transpose(1, 2)
    missing = 'target' if batch.get('target') is None else 'target_weight'
    raise ValueError(f"{owner}: training needs {missing!r} in the batch; the train pipeline "
                     f"must generate it (TopDownGenerateTarget, or GenerateTarget's heatmaps "
                     f"and keypoint_weights) and Collect it in keys")
