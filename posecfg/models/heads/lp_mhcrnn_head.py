"""Lightning Pose 2.4.3's context head (``model_type: heatmap_mhcrnn``) as a posecfg head.

Facts from the lightning-pose 2.4.3 wheel (``lightning_pose/<file>:<lines>``):

- ``HeatmapMHCRNNHead`` (``models/heads/heatmap_mhcrnn.py:18-136``) holds two heads on the
  features of a 5-frame window t−2 … t+2: ``head_sf``, the static heatmap head
  (:class:`~posecfg.models.heads.lp_heads.LPHeatmapHead`) on the centre frame's features
  (index 2, l. 109), and ``head_mf``, an :class:`UpsamplingCRNN` over the 5 frames (l. 110);
- ``UpsamplingCRNN`` (l. 139-316): per frame ``PixelShuffle(2)`` then, with upsampling_factor 2
  (stride-32 backbones), ``W_pre = ConvTranspose2d(C/4 → K, 3, s2, p1, op1)``; with 1 (stride-16
  ViTs) no ``W_pre``. Then a bidirectional recurrence ``x_f = W_f(x_0)``, ``x_f = W_f(x_t) +
  H_f(x_f)`` over the frames, and the same backwards with ``W_b``/``H_b`` on the reversed frames,
  ``W_* = ConvTranspose2d(· → K, 3, s2, p1, op1)``, ``H_* = Conv2d(K → 16K, 2, s2, groups=K)`` then
  ``ConvTranspose2d(16K → K, 2, s2, groups=K)``; output the spatial softmax (temperature 1) of
  ``(x_f + x_b) / 2``. Every layer ``xavier_uniform_(gain=1)``, bias 0 (l. 251-267). Built after
  ``head_sf``, as Lightning Pose does (the same order of draws under one seed);
- the CRNN's maps are at 1/4 of the input whatever the backbone, so only downsample_factor 2
  exists (``models/heatmap_tracker_mhcrnn.py:68-69``);
- training (``heatmap_tracker_mhcrnn.py:158-178``): both heads' maps concatenated
  ``[sf; mf]`` against the targets repeated, one loss (so the mean over both heads' kept maps);
  the logged RMSE over both blocks;
- unlabeled sequences (``models/base.py:360-386``, ``heatmap_tracker_mhcrnn.py:302-337``): the
  backbone runs on every frame of a sequence, windows are built by edge-padding it
  (``get_context_from_sequence``) and the first and last two dropped, so a sequence of F frames
  predicts its frames 2 … F−3; the keypoints of both heads are concatenated ``[sf; mf]`` along
  the frames before the unsupervised losses (so the temporal loss also measures the step from
  the last static prediction to the first context one, Lightning Pose's quirk, kept);
- prediction (``heatmap_tracker_mhcrnn.py:205-229``): both heads decoded; per keypoint the
  context head's keypoint and confidence where ``conf_mf > conf_sf`` (ties: the static head).
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from posecfg.registry import MODELS
from ..utils.frame_windows import windows_from_sequences
from .base_head import BaseHead
from .lp_heads import LPHeatmapHead, _select, spatial_softmax

#: frames on each side of the centre frame (windows of 2 · CONTEXT + 1 = 5 frames)
CONTEXT = 2


def _up(cin: int, cout: int) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1)


def _hidden(keypoints: int, filters: int = 16) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(keypoints, keypoints * filters, 2, stride=2, groups=keypoints),
        nn.ConvTranspose2d(keypoints * filters, keypoints, 2, stride=2, groups=keypoints))


class UpsamplingCRNN(nn.Module):
    """Lightning Pose's bidirectional convolutional RNN over a window's frames (module docstring).

    ``forward(features (B, T, C, h, w))`` → softmaxed heatmaps (B, K, h · 2^u · 2, ...) with u =
    ``upsampling_factor`` (4× the feature map for a stride-32 backbone and u = 2).
    """

    def __init__(self, in_channels: int, num_keypoints: int, upsampling_factor: int = 2):
        super().__init__()
        if upsampling_factor not in (1, 2):
            raise ValueError(f'UpsamplingCRNN: upsampling_factor must be 1 or 2, got '
                             f'{upsampling_factor!r}')
        self.upsampling_factor = upsampling_factor
        self.pixel_shuffle = nn.PixelShuffle(2)
        rnn_in = in_channels // 4
        if upsampling_factor == 2:
            self.W_pre = _up(in_channels // 4, num_keypoints)
            rnn_in = num_keypoints
        self.W_f, self.H_f = _up(rnn_in, num_keypoints), _hidden(num_keypoints)
        self.W_b, self.H_b = _up(rnn_in, num_keypoints), _hidden(num_keypoints)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.xavier_uniform_(module.weight, gain=1.0)
                nn.init.zeros_(module.bias)

    def forward(self, features: Tensor) -> Tensor:
        b, t = features.shape[:2]
        x = self.pixel_shuffle(features.reshape(b * t, *features.shape[2:]))
        if self.upsampling_factor == 2:
            x = self.W_pre(x)
        x = x.reshape(b, t, *x.shape[1:])
        x_f = self.W_f(x[:, 0])
        for i in range(1, t):
            x_f = self.W_f(x[:, i]) + self.H_f(x_f)
        x_b = self.W_b(x[:, t - 1])
        for i in range(t - 2, -1, -1):
            x_b = self.W_b(x[:, i]) + self.H_b(x_b)
        return spatial_softmax((x_f + x_b) / 2)


def choose_confident(keypoints_sf, scores_sf, keypoints_mf, scores_mf):
    """Per keypoint the context head's keypoint and score where its score is strictly higher,
    else the static head's (``torch.gt(conf_mf, conf_sf)``, heatmap_tracker_mhcrnn.py:214).
    Keypoints (..., K, 2), scores (..., K); numpy or torch."""
    if torch.is_tensor(scores_sf):
        take = torch.gt(scores_mf, scores_sf)
        return (torch.where(take[..., None], keypoints_mf, keypoints_sf),
                torch.where(take, scores_mf, scores_sf))
    take = np.greater(scores_mf, scores_sf)
    return (np.where(take[..., None], keypoints_mf, keypoints_sf),
            np.where(take, scores_mf, scores_sf))


@MODELS.register_module()
class LPHeatmapMHCRNNHead(BaseHead):
    """Lightning Pose's context head (``heatmap_mhcrnn``; module docstring): a static heatmap
    head on the centre frame and a CRNN over 5-frame windows.

    Args:
        in_channels, out_channels, downsample_factor, backbone_stride, deconv_out_channels,
        codec, loss, in_index, test_cfg, unsupervised_losses: as
            :class:`~posecfg.models.heads.lp_heads.LPHeatmapHead` (the static head ``head_sf``,
            whose codec, losses and unsupervised losses this head uses); downsample_factor must
            be 2.
        upsampling_factor: of the CRNN; None: 1 for stride-16 backbones, else 2 (Lightning
            Pose, ``heatmap_tracker_mhcrnn.py:102``).

    ``forward(feats)``: backbone maps of windows (B, 5, C, h, w) → ``dict(sf=, mf=)`` softmaxed
    heatmaps (B, K, H, W) of each head. :meth:`loss_unlabeled` takes per-frame maps of
    sequences (``UnlabeledVideoDataset`` batches) and builds the windows itself.
    """

    option_keys = LPHeatmapHead.option_keys
    #: frames on each side of the centre frame the model reads (inputs (B, 2c + 1, 3, h, w))
    context = CONTEXT
    example_args = dict(in_channels=16, out_channels=3, downsample_factor=2)
    #: windows of 5 frames: a (96, 64) input through a stride-32 backbone, per frame
    example_feature_shapes = ((2, 2 * CONTEXT + 1, 16, 2, 3),)
    example_input_size = (96, 64)

    def __init__(self, in_channels: int, out_channels: int, downsample_factor: int = 2,
                 backbone_stride: int = 32, deconv_out_channels: Optional[int] = None,
                 upsampling_factor: Optional[int] = None, codec: Optional[dict] = None,
                 loss: Optional[dict] = None, in_index: int = -1,
                 test_cfg: Optional[dict] = None, init_cfg: Optional[dict] = None,
                 unsupervised_losses: Optional[dict] = None):
        if downsample_factor != 2:
            raise ValueError(f'LPHeatmapMHCRNNHead: downsample_factor must be 2 (the context '
                             f'head\'s maps are at 1/4 of the input; Lightning Pose refuses '
                             f'others too), got {downsample_factor!r}')
        super().__init__(codec=None, test_cfg=test_cfg, init_cfg=init_cfg)
        self.head_sf = LPHeatmapHead(in_channels, out_channels, downsample_factor,
                                     backbone_stride, deconv_out_channels, codec, loss,
                                     in_index=0, test_cfg=test_cfg,
                                     unsupervised_losses=unsupervised_losses)
        if upsampling_factor is None:
            upsampling_factor = 1 if backbone_stride == 16 else 2
        self.head_mf = UpsamplingCRNN(in_channels, out_channels, upsampling_factor)
        self.codec = self.head_sf.codec
        self.in_index, self.out_channels = in_index, out_channels

    def init_weights(self) -> None:
        """Lightning Pose's initialisation is done in ``__init__``."""
        if self.init_cfg:
            super().init_weights()

    @property
    def unsupervised_losses(self) -> nn.ModuleDict:
        return self.head_sf.unsupervised_losses

    def forward(self, feats) -> dict:
        x = _select(feats, self.in_index)
        size = 2 * self.context + 1
        if x.dim() != 5 or x.shape[1] != size:
            raise ValueError(f'LPHeatmapMHCRNNHead reads windows of {size} frames: features '
                             f'(B, {size}, C, h, w), got {tuple(x.shape)}; give the model img '
                             f'(B, {size}, 3, H, W)')
        sf = self.head_sf(x[:, self.context])
        mf = self.head_mf(x)
        if sf.shape != mf.shape:
            raise ValueError(f'LPHeatmapMHCRNNHead: the static head gives maps '
                             f'{tuple(sf.shape)} but the context head {tuple(mf.shape)}; check '
                             f'backbone_stride / upsampling_factor')
        return dict(sf=sf, mf=mf)

    def loss(self, feats, batch: dict) -> dict:
        out = self.forward(feats)
        return self.head_sf.loss_from_outputs(torch.cat([out['sf'], out['mf']]), batch,
                                              copies=2)

    def loss_unlabeled(self, feats, batch: dict) -> dict:
        """The unsupervised losses on unlabeled sequences of F frames (per-frame maps, U · F):
        both heads predict frames 2 … F−3 of each sequence (module docstring)."""
        if not self.unsupervised_losses:
            raise ValueError('LPHeatmapMHCRNNHead: the batch has an unlabeled stream but the '
                             'head has no unsupervised_losses')
        if 'sequence_length' not in batch or 'warp_mat' not in batch:
            raise KeyError("LPHeatmapMHCRNNHead.loss_unlabeled needs batches of sequences "
                           "(UnlabeledVideoDataset) collated by unlabeled_sequence_collate")
        length = int(batch['sequence_length'])
        x = _select(feats, self.in_index)
        out = self.forward((windows_from_sequences(x, length, self.context),))
        metas = batch['img_metas'][::length]
        sf, conf_sf = self.head_sf.unlabeled_keypoints(out['sf'], batch, metas)
        mf, conf_mf = self.head_sf.unlabeled_keypoints(out['mf'], batch, metas)
        return self.head_sf.unsupervised_loss_values(torch.cat([sf, mf], dim=1),
                                                     torch.cat([conf_sf, conf_mf], dim=1))

    def decode(self, outputs: dict, input_size: Tuple[int, int]) -> List[dict]:
        """Both heads decoded, per keypoint the more confident (module docstring)."""
        codec = self.codec.sized(input_size)
        kp_sf, sc_sf = codec.decode(outputs['sf'])
        kp_mf, sc_mf = codec.decode(outputs['mf'])
        keypoints, scores = choose_confident(kp_sf, sc_sf, kp_mf, sc_mf)
        return [dict(keypoints=k.astype(np.float32), keypoint_scores=s.astype(np.float32))
                for k, s in zip(keypoints, scores)]

    def flip_back(self, outputs, flip_pairs: Sequence):
        raise NotImplementedError('LPHeatmapMHCRNNHead has no flip test (neither has Lightning '
                                  'Pose); set test_cfg.flip_test=False')
