"""``HeatmapHead``: optional deconvolutions and a conv to heatmaps, learning from its codec.

The codec-driven heatmap head (MMPose 1.x's ``HeatmapHead`` design) for any estimator: in
``TopDown`` (crops) or ``BottomUp`` (whole images, one of several heads). It learns either from
targets the pipeline made (``GenerateTarget``'s ``heatmaps``/``keypoint_weights``) or, when the
batch has none, from the samples' keypoints, encoded with its codec at its own output size (as
DeepLabCut's heads build their targets from their output stride).

Shapes: feats = the backbone's tuple of (B, C_i, H_i, W_i) maps; outputs (B, K, H, W) with
H = H_i · 2^len(deconv_out_channels); ground truth per sample ``<keypoint_key>`` (N, K, 2) input
pixels and ``<keypoint_key>_visible`` (N, K) (per-sample lists from the collate step).
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.model import normal_init
from torch import Tensor, nn

from posecfg.registry import MODELS
from .base_head import BaseHead
from .topdown_heatmap_simple_head import Features, _deconv_layers


@MODELS.register_module()
class HeatmapHead(BaseHead):
    """Deconvolutions (×2 each, optional) and a 1×1 conv to ``out_channels`` heatmaps.

    Args:
        in_channels: channels of the selected feature map.
        out_channels: heatmaps K.
        codec: a heatmap codec config (e.g. ``dict(type='ArgmaxHeatmap', sigma=2)``); sizes
            left out are taken from the input and output shapes.
        deconv_out_channels: output channels of each stride-2 deconvolution (none by default).
        deconv_kernel_sizes: kernel of each deconvolution (2, 3 or 4).
        in_index: which backbone output to use.
        loss: loss config taking (outputs, targets (B, K, H, W), weights (B, K, 1)).
        keypoint_key: the batch key of this head's ground truth (``'keypoints'``; e.g.
            ``'unique_keypoints'`` for a head of DeepLabCut's unique bodyparts), with
            ``<keypoint_key>_visible``.
        test_cfg: none read.
        init_cfg: mmengine init config.

    A keypoint channel's loss weight is 1 where some instance has the keypoint labelled, 0
    where instances exist but none has it labelled (unknown), and 1 on images without instances
    (nothing to find is something to learn).
    """

    #: the last map of ``example_feature_shapes``, one ×2 deconvolution → (2, 3, 16, 12)
    example_args = dict(in_channels=16, out_channels=3, deconv_out_channels=(4,),
                        deconv_kernel_sizes=(4,), codec=dict(type='ArgmaxHeatmap'))

    option_keys = {'test_cfg': ()}

    def __init__(self, in_channels: int, out_channels: int, codec: dict,
                 deconv_out_channels: Sequence[int] = (), deconv_kernel_sizes: Sequence[int] = (),
                 in_index: int = -1,
                 loss: Optional[dict] = None, keypoint_key: str = 'keypoints',
                 test_cfg: Optional[dict] = None, init_cfg: Optional[dict] = None):
        super().__init__(codec=codec, test_cfg=test_cfg, init_cfg=init_cfg)
        if len(deconv_out_channels) != len(deconv_kernel_sizes):
            raise ValueError(f'HeatmapHead: deconv_out_channels has {len(deconv_out_channels)} '
                             f'entries but deconv_kernel_sizes has {len(deconv_kernel_sizes)}')
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.in_index = in_index
        self.keypoint_key = keypoint_key
        self.deconv_layers = (_deconv_layers(in_channels, deconv_out_channels,
                                             deconv_kernel_sizes)
                              if deconv_out_channels else nn.Identity())
        channels = deconv_out_channels[-1] if deconv_out_channels else in_channels
        self.final_layer = nn.Conv2d(channels, out_channels, 1)
        self.loss_module = MODELS.build(loss or dict(type='JointsMSELoss',
                                                      use_target_weight=True))
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                normal_init(module, std=0.001, bias=0.)

    def forward(self, feats: Features) -> Tensor:
        """feats: tuple of (B, C_i, H_i, W_i) → heatmaps (B, K, H, W)."""
        x = feats if isinstance(feats, Tensor) else feats[self.in_index]
        if x.shape[1] != self.in_channels:
            raise ValueError(f'HeatmapHead.in_channels is {self.in_channels} but the selected '
                             f'feature map has {x.shape[1]} channels')
        return self.final_layer(self.deconv_layers(x))

    def loss(self, feats: Features, batch: dict) -> dict:
        """``dict(heatmap_loss)``: the loss of the outputs against the targets."""
        outputs = self.forward(feats)
        targets, weights = self.targets(batch, outputs)
        return dict(heatmap_loss=self.loss_module(outputs, targets, weights))

    def targets(self, batch: dict, outputs: Tensor) -> Tuple[Tensor, Tensor]:
        """(targets (B, K, H, W), weights (B, K, 1)) for ``outputs``: the pipeline's
        ``heatmaps`` when the batch has them for this head, else encoded here."""
        height, width = outputs.shape[-2:]
        if self.keypoint_key == 'keypoints' and batch.get('heatmaps') is not None:
            targets = batch['heatmaps'].float()
            if tuple(targets.shape[-2:]) != (height, width):
                raise ValueError(f'HeatmapHead: the batch heatmaps are {tuple(targets.shape[-2:])}'
                                 f' but the head outputs {(height, width)} (H, W); make the '
                                 f"codec's heatmap_size the head's output size")
            weights = [np.asarray(w) for w in batch['keypoint_weights']]
        else:
            targets, weights = self._encode(batch, outputs)
        channel_weights = np.stack([_channel_weights(w, self.out_channels) for w in weights])
        return targets, torch.from_numpy(channel_weights[..., None]).to(outputs.device)

    def _encode(self, batch: dict, outputs: Tensor) -> Tuple[Tensor, List[np.ndarray]]:
        key = self.keypoint_key
        if batch.get(key) is None or batch.get(f'{key}_visible') is None:
            raise ValueError(f"HeatmapHead: training needs {key!r} and '{key}_visible' in the "
                             f"batch (Collect them in keys), or the pipeline's heatmaps")
        input_size = (int(batch['img'].shape[-1]), int(batch['img'].shape[-2]))
        codec = self.codec.sized(input_size, outputs.shape[:1:-1])
        maps, weights = [], []
        for keypoints, visible in zip(batch[key], batch[f'{key}_visible']):
            encoded = codec.encode(_numpy(keypoints), _numpy(visible))
            maps.append(encoded['heatmaps'])
            weights.append(encoded['keypoint_weights'])
        return torch.from_numpy(np.stack(maps)).to(outputs.device), weights

    def flip_back(self, outputs: Tensor, flip_pairs: Sequence) -> Tensor:
        return self.codec.flip_back(outputs, flip_pairs)


def _channel_weights(keypoint_weights: np.ndarray, num: int) -> np.ndarray:
    """(N, K) instance weights → (K,) channel weights (see :class:`HeatmapHead`)."""
    if len(keypoint_weights) == 0:
        return np.ones(num, np.float32)
    return np.asarray(keypoint_weights, np.float32).reshape(-1, num).max(axis=0)


def _numpy(value) -> np.ndarray:
    return value.detach().cpu().numpy() if isinstance(value, Tensor) else np.asarray(value)
