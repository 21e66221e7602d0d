"""Lightning Pose 2.4.3's supervised heads as posecfg heads (the :class:`BaseHead` contract).

- :class:`LPHeatmapHead` (``model_type: heatmap``; ``models/heads/heatmap.py:20-216``):
  ``PixelShuffle(2)`` then ``n = log2(stride) - downsample_factor - 1`` ConvTranspose2d(3, s2,
  p1, output_padding 1), channels ``C/4 → K`` (one layer) or ``C/4 → K → … → K``, no norm, no
  activation; ``xavier_uniform_(gain=0.01)``, bias 0; a spatial softmax (temperature 1) over each
  map. Decoded by :class:`~posecfg.codecs.LPHeatmap`.
- :class:`LPRegressionHead` (``model_type: regression``; ``models/heads/regression.py``):
  ``Linear(C, 2K)`` on the average-pooled features (torchvision's ``avgpool`` child), default
  init; outputs input pixels directly; scores 0 (``models/regression_tracker.py:136-138``).

Both log ``supervised_rmse`` (:func:`~posecfg.models.losses.lp_rmse`) in training: the heatmap
head's in original-image pixels (Lightning Pose's frame space) through the sample's
``warp_mat``, the regression head's in input pixels (Lightning Pose's model space).
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from posecfg.geometry import affine_points, invert_affine
from posecfg.registry import MODELS
from .base_head import BaseHead


def _select(feats, in_index: int) -> Tensor:
    return feats if isinstance(feats, Tensor) else feats[in_index]


def spatial_softmax(maps: Tensor) -> Tensor:
    """(B, K, h, w) → a float32 softmax over each map's pixels (kornia ``spatial_softmax2d``,
    T = 1). Float32 also under bf16 autocast (as CUDA autocast runs softmax): a map of 64² cells
    holds probabilities ~1/4096 whose sum and soft-argmax lose ~1% in bfloat16's 8-bit
    mantissa."""
    b, k, h, w = maps.shape
    return torch.softmax(maps.float().reshape(b, k, h * w), dim=-1).reshape(b, k, h, w)


def _numpy(value) -> np.ndarray:
    return value.detach().cpu().numpy() if isinstance(value, Tensor) else np.asarray(value)


def join_view_sequences(values: Tensor, views: int) -> Tensor:
    """(U·V, S, K, C) per-view sequences (view after view within each of U samples) → (U, S,
    V·K, C): each frame's keypoints of every view, view after view."""
    u, s, k, c = values.shape
    return values.reshape(u // views, views, s, k, c).permute(0, 2, 1, 3, 4).reshape(
        u // views, s, views * k, c)


def ground_truth(batch: dict, num_keypoints: int, owner: str) -> Tuple[np.ndarray, np.ndarray]:
    """Per-sample keypoints (N ≤ 1, K, 2) → (B, K, 2) float64 with NaN where unlabelled."""
    if batch.get('keypoints') is None or batch.get('keypoints_visible') is None:
        raise ValueError(f"{owner}: training needs 'keypoints' and 'keypoints_visible' in the "
                         f"batch (Collect them in keys)")
    points = np.full((len(batch['keypoints']), num_keypoints, 2), np.nan)
    for i, (kp, vis) in enumerate(zip(batch['keypoints'], batch['keypoints_visible'])):
        kp, vis = _numpy(kp).astype(np.float64), _numpy(vis)
        if len(kp) > 1:
            raise ValueError(f'{owner} is single-instance (Lightning Pose); sample {i} has '
                             f'{len(kp)} instances')
        if len(kp):
            points[i] = np.where(vis[0, :, None] > 0, kp[0, :, :2], np.nan)
    return points


@MODELS.register_module()
class LPHeatmapHead(BaseHead):
    """Lightning Pose's heatmap head (see the module docstring).

    Args:
        in_channels: channels of the backbone map (e.g. 512 for resnet18/34, 2048 for 50+).
        out_channels: keypoints K.
        downsample_factor: heatmaps at input / 2^d (1, 2 or 3).
        backbone_stride: the backbone map's stride (32 CNNs, 16 ViTs).
        deconv_out_channels: intermediate channels (None: K, as Lightning Pose).
        codec: an :class:`~posecfg.codecs.LPHeatmap` config (default: one with this
            downsample_factor); its ``uniform_heatmaps_for_nan_keypoints`` sets the targets.
        loss: ``LPHeatmapMSELoss`` (default), ``LPHeatmapKLLoss`` or ``LPHeatmapJSLoss``.
        in_index: which backbone output to use.
        test_cfg: ``soft_argmax_temperature`` (1000), ``subpixel_offsets``
            ('lightning_pose' | 'exact').
        unsupervised_losses: name → loss config (``LPTemporalLoss``, ``LPPCASingleviewLoss``,
            ``LPPCAMultiviewLoss``) computed by :meth:`loss_unlabeled` on the ``data.unlabeled``
            stream (``UnlabeledVideoDataset`` sequences).
    """

    option_keys = {'test_cfg': ('soft_argmax_temperature', 'subpixel_offsets')}
    example_args = dict(in_channels=16, out_channels=3, downsample_factor=2)
    #: the stride-32 output of a (96, 64) input, as Lightning Pose's ResNets give
    example_feature_shapes = ((2, 16, 2, 3),)
    example_input_size = (96, 64)

    def __init__(self, in_channels: int, out_channels: int, downsample_factor: int = 2,
                 backbone_stride: int = 32, deconv_out_channels: Optional[int] = None,
                 codec: Optional[dict] = None, loss: Optional[dict] = None, in_index: int = -1,
                 test_cfg: Optional[dict] = None, init_cfg: Optional[dict] = None,
                 unsupervised_losses: Optional[dict] = None):
        codec = dict(codec or dict(type='LPHeatmap', downsample_factor=downsample_factor))
        test_cfg = dict(test_cfg or {})
        if 'soft_argmax_temperature' in test_cfg:
            codec['temperature'] = test_cfg['soft_argmax_temperature']
        if 'subpixel_offsets' in test_cfg:
            codec['offsets'] = test_cfg['subpixel_offsets']
        super().__init__(codec=codec, test_cfg=test_cfg, init_cfg=init_cfg)
        if getattr(self.codec, 'downsample_factor', None) != downsample_factor:
            raise ValueError(f'LPHeatmapHead: downsample_factor={downsample_factor} but the codec '
                             f'has {getattr(self.codec, "downsample_factor", None)}')
        n_layers = int(math.log2(backbone_stride)) - downsample_factor - 1
        if n_layers < 1 or in_channels % 4:
            raise ValueError(f'LPHeatmapHead: backbone_stride={backbone_stride} with '
                             f'downsample_factor={downsample_factor} leaves {n_layers} transposed '
                             f'convolutions (needs ≥ 1), and in_channels ({in_channels}) must be '
                             f'divisible by 4')
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.downsample_factor, self.in_index = downsample_factor, in_index
        mid = deconv_out_channels or out_channels
        layers: List[nn.Module] = [nn.PixelShuffle(2)]
        for i in range(n_layers):
            cin = in_channels // 4 if i == 0 else mid
            cout = out_channels if i == n_layers - 1 else mid
            layers.append(nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1,
                                             output_padding=1))
        self.upsampling_layers = nn.Sequential(*layers)
        for layer in self.upsampling_layers:
            if isinstance(layer, nn.ConvTranspose2d):
                nn.init.xavier_uniform_(layer.weight, gain=0.01)
                nn.init.zeros_(layer.bias)
        self.loss_module = MODELS.build(loss or dict(type='LPHeatmapMSELoss'))
        self.unsupervised_losses = nn.ModuleDict(
            {name: MODELS.build(cfg) for name, cfg in (unsupervised_losses or {}).items()})

    def init_weights(self) -> None:
        """Lightning Pose's initialisation is done in ``__init__``; kept unless init_cfg says
        otherwise."""
        if self.init_cfg:
            super().init_weights()

    def forward(self, feats) -> Tensor:
        """feats (B, C, h, w) or a tuple of them → softmaxed heatmaps (B, K, h·2^n·2, ...)."""
        x = _select(feats, self.in_index)
        if x.shape[1] != self.in_channels:
            raise ValueError(f'LPHeatmapHead.in_channels is {self.in_channels} but the feature '
                             f'map has {x.shape[1]} channels')
        return spatial_softmax(self.upsampling_layers(x))

    def loss(self, feats, batch: dict) -> dict:
        return self.loss_from_outputs(self.forward(feats), batch)

    def loss_from_outputs(self, outputs: Tensor, batch: dict, copies: int = 1) -> dict:
        """The supervised loss (and ``supervised_rmse``) of ``outputs`` (copies · B, K, h, w):
        ``copies`` blocks of predictions for the batch's B samples, each trained towards the
        same targets (Lightning Pose's context model concatenates its two heads' maps and
        repeats the targets, ``models/heatmap_tracker_mhcrnn.py:172-178``)."""
        input_size = (int(batch['img'].shape[-1]), int(batch['img'].shape[-2]))
        codec = self.codec.sized(input_size, outputs.shape[:1:-1])
        if batch.get('heatmaps') is not None:
            targets = batch['heatmaps'].float().to(outputs.device)
            weights = torch.as_tensor(np.stack([_numpy(w).reshape(-1)
                                                for w in batch['keypoint_weights']]))
        else:
            encoded = [codec.encode(_numpy(k), _numpy(v))
                       for k, v in zip(batch['keypoints'], batch['keypoints_visible'])]
            targets = torch.from_numpy(np.stack([e['heatmaps'] for e in encoded])).to(
                outputs.device)
            weights = torch.from_numpy(np.stack([e['keypoint_weights'][0] for e in encoded]))
        if copies > 1:
            targets, weights = torch.cat([targets] * copies), torch.cat([weights] * copies)
        losses = {f'{self.loss_module.loss_name}_loss':
                  self.loss_module(outputs, targets, weights.to(outputs.device))}
        rmse = self._rmse(codec, outputs, batch, input_size, copies)
        if rmse is not None:
            losses['supervised_rmse'] = rmse
        return losses

    def loss_unlabeled(self, feats, batch: dict) -> dict:
        """``<name>_loss`` of each of ``unsupervised_losses`` on a batch of unlabeled sequences
        (:func:`~posecfg.datasets.unlabeled_video.unlabeled_sequence_collate`: U · S frames,
        ``sequence_length`` S, ``warp_mat`` (U, 2, 3), ``img_metas[i]['resize']``; with
        ``num_views`` V (:func:`~posecfg.datasets.unlabeled_multiview_video.
        multiview_sequence_collate`) the U sequences are U/V frames' views, and the losses see
        (U/V, S, V·K) keypoints).

        As Lightning Pose (``models/heatmap_tracker.py:264-286``): heatmaps → differentiable
        soft-argmax keypoints and confidences, the sequence's augmentation undone, then mapped
        to original-frame pixels, where the losses (and their epsilons) are measured."""
        if not self.unsupervised_losses:
            raise ValueError('LPHeatmapHead: the batch has an unlabeled stream but the head has '
                             'no unsupervised_losses (e.g. dict(temporal=dict(type='
                             "'LPTemporalLoss', ...)))")
        if 'sequence_length' not in batch or 'warp_mat' not in batch:
            raise KeyError("LPHeatmapHead.loss_unlabeled needs batches of sequences "
                           "(UnlabeledVideoDataset) collated by unlabeled_sequence_collate: set "
                           "data.unlabeled_dataloader.collate_fn=dict(type="
                           "'unlabeled_sequence_collate')")
        length = int(batch['sequence_length'])
        keypoints, scores = self.unlabeled_keypoints(self.forward(feats), batch,
                                                     batch['img_metas'][::length])
        views = int(batch.get('num_views') or 1)
        if views > 1:
            # U·V view sequences (multiview_sequence_collate) → U sequences of the V·K
            # keypoints, view after view (Lightning Pose's multi-view layout)
            keypoints, scores = join_view_sequences(keypoints, views), \
                join_view_sequences(scores[..., None], views)[..., 0]
        return self.unsupervised_loss_values(keypoints, scores)

    def unsupervised_loss_values(self, keypoints: Tensor, scores: Tensor) -> dict:
        """``<name>_loss`` of each of ``unsupervised_losses`` on keypoints (U, S, K, 2)
        original-frame pixels and confidences (U, S, K) of U sequences."""
        return {f'{name}_loss': loss(keypoints, scores)
                for name, loss in self.unsupervised_losses.items()}

    def unlabeled_keypoints(self, outputs: Tensor, batch: dict, metas: Sequence[dict]
                            ) -> Tuple[Tensor, Tensor]:
        """Heatmaps (U · S, K, h, w) of U sequences of S frames (``metas``: one dict per
        sequence, with its ``resize``) → differentiable keypoints (U, S, K, 2) in
        original-frame pixels (the sequence's ``batch['warp_mat']`` augmentation undone) and
        confidences (U, S, K)."""
        input_size = (int(batch['img'].shape[-1]), int(batch['img'].shape[-2]))
        codec = self.codec.sized(input_size, outputs.shape[:1:-1])
        keypoints, scores = codec.decode_torch(outputs, differentiable=True)  # (U·S, K, 2)
        keypoints = keypoints.reshape(len(metas), -1, *keypoints.shape[1:])  # (U, S, K, 2)
        scores = scores.reshape(keypoints.shape[:3])
        from posecfg.datasets.unlabeled_video import undo_warp
        keypoints = undo_warp(keypoints, batch['warp_mat'].to(keypoints)[:, None])
        scale = keypoints.new_tensor([m['resize'].scale for m in metas])[:, None, None]
        offset = keypoints.new_tensor([m['resize'].offset for m in metas])[:, None, None]
        return keypoints * scale + offset, scores

    @torch.no_grad()
    def _rmse(self, codec, outputs: Tensor, batch: dict, input_size,
              copies: int = 1) -> Optional[Tensor]:
        """RMSE in original-image pixels (over the ``copies`` blocks of predictions of
        :meth:`loss_from_outputs`); keypoints outside the input count as unlabelled
        (Lightning Pose sets them NaN, datasets.py:496-508)."""
        if batch.get('keypoints') is None:
            return None
        pred = _numpy(codec.decode_torch(outputs)[0]).astype(np.float64)
        target = ground_truth(batch, self.out_channels, 'LPHeatmapHead')
        w, h = input_size
        inside = ((target >= 0).all(-1) & (target[..., 0] < w) & (target[..., 1] < h))
        target[~inside] = np.nan
        metas = batch.get('img_metas') or []
        for i, meta in enumerate(metas):
            if meta.get('warp_mat') is not None:
                back = invert_affine(meta['warp_mat'])
                target[i] = affine_points(target[i], back)
                for block in range(copies):
                    j = block * len(target) + i
                    pred[j] = affine_points(pred[j], back)
        target = np.concatenate([target] * copies)
        from posecfg.models.losses import lp_rmse
        return lp_rmse(torch.from_numpy(pred), torch.from_numpy(target),
                       torch.from_numpy(np.isfinite(target).all(-1)))


@MODELS.register_module()
class LPRegressionHead(BaseHead):
    """Lightning Pose's regression head: ``Linear(C, 2K)`` on the average-pooled map.

    Args:
        in_channels: channels of the backbone map.
        out_channels: keypoints K.
        loss: default ``LPRegressionMSELoss`` (input pixels, weight 0.5).
        in_index: which backbone output to use.

    ``forward`` → (B, K, 2) input pixels; ``decode`` → keypoints (1, K, 2), scores (1, K) = 0
    per sample.
    """

    option_keys = {'test_cfg': ()}
    example_args = dict(in_channels=16, out_channels=3)
    #: the stride-32 output of a (96, 64) input, as Lightning Pose's ResNets give
    example_feature_shapes = ((2, 16, 2, 3),)
    example_input_size = (96, 64)

    def __init__(self, in_channels: int, out_channels: int, loss: Optional[dict] = None,
                 in_index: int = -1, test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(codec=None, test_cfg=test_cfg, init_cfg=init_cfg)
        self.in_channels, self.out_channels, self.in_index = in_channels, out_channels, in_index
        self.linear_layer = nn.Linear(in_channels, 2 * out_channels)  # torch default init
        self.loss_module = MODELS.build(loss or dict(type='LPRegressionMSELoss'))

    def init_weights(self) -> None:
        if self.init_cfg:
            super().init_weights()

    def forward(self, feats) -> Tensor:
        """feats (B, C, h, w) → (B, K, 2) input pixels, float32 also under bf16 autocast (the
        layer is tiny, and bfloat16 has a step of 1 pixel between 128 and 256)."""
        x = _select(feats, self.in_index)
        with torch.autocast(x.device.type, enabled=False):
            pooled = x.float().mean(dim=(2, 3))
            return self.linear_layer(pooled).reshape(x.shape[0], self.out_channels, 2)

    def loss(self, feats, batch: dict) -> dict:
        outputs = self.forward(feats)
        target = torch.from_numpy(ground_truth(batch, self.out_channels, 'LPRegressionHead')).to(
            outputs.device, torch.float32)
        losses = {f'{self.loss_module.loss_name}_loss': self.loss_module(outputs, target)}
        from posecfg.models.losses import lp_rmse
        rmse = lp_rmse(outputs, target, torch.isfinite(target).all(-1))
        if rmse is not None:
            losses['supervised_rmse'] = rmse
        return losses

    def decode(self, outputs: Tensor, input_size: Tuple[int, int]) -> List[dict]:
        points = outputs.detach().float().cpu().numpy()
        return [dict(keypoints=p[None], keypoint_scores=np.zeros((1, len(p)), np.float32))
                for p in points]

    def flip_back(self, outputs, flip_pairs: Sequence):
        raise NotImplementedError('LPRegressionHead cannot flip its outputs back; set '
                                  'test_cfg.flip_test=False')
