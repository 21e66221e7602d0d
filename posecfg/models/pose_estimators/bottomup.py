"""``BottomUp``: a whole image in, every instance's keypoints out, from one or several heads.

The estimator of whole-image models: single-animal heatmap models, and multi-animal ones whose
heads find and group instances (part affinity fields, DEKR) — each head is a
:class:`~posecfg.models.heads.base_head.BaseHead` under its name, as DeepLabCut's
``heads: {bodypart: ..., unique_bodypart: ..., identity: ...}`` (so the state-dict keys are
``<name>.…``).

Shapes (B images of (w, h) pixels, K keypoints, N_i instances in image i):

- ``img`` (B, 3, h, w), or (B, T, 3, h, w) for context models;
- ``'tensor'`` → the outputs of the one head, or name → outputs;
- ``'loss'`` → every head's losses, named ``<head>_<loss>`` when there are several heads; the
  objective (:meth:`BottomUp.parse_losses`) sums each head's ``*loss*`` terms, then sums
  (``head_loss_reduction='sum'``, mmengine's rule) or averages (``'mean'``, DeepLabCut 3.0.2's
  ``PoseModel.get_loss``, models/model.py:93-102) the heads' totals;
- ``'predict'`` → per image: ``keypoints`` (N_i, K, 2) float32 and ``keypoint_scores`` (N_i, K)
  of the first head in **original-image** pixels, ``bboxes`` (N_i, 4) xywh (the keypoints'
  extent), ``bbox_scores`` (N_i,) (mean keypoint score), ``image_file``, ``image_id``, and each
  further head's decoded dict under its name. DeepLabCut's extra heads are lifted to the top
  level: a unique-bodypart head's ``unique_keypoints`` (1, U, 2) and ``unique_keypoint_scores``
  (1, U); an identity head's maps become ``identity_scores`` (N_i, K, I) (the maps at each
  keypoint, ``data/postprocessor.py`` ``PredictKeypointIdentities``) and ``identities`` (N_i,)
  int64 (DeepLabCut's ``assign_identity``; -1 unassigned), the instances sorted by identity as
  DeepLabCut reorders them (``AssignIndividualIdentities``).

Input pixels go back to the original image by the inverse of the sample's ``warp_mat`` (the
pipeline's resize/crop, a (2, 3) original → input affine) when it has one; otherwise the input
is the original image (padding at the bottom/right by ``pose_pad_collate`` moves nothing).
"""
from __future__ import annotations

import warnings
from typing import Dict, Mapping, Optional, Union

import numpy as np
import torch
from torch import nn

from posecfg.codecs.dekr import assign_identities, identity_scores
from posecfg.registry import MODELS
from .base import BasePoseEstimator


@MODELS.register_module()
class BottomUp(BasePoseEstimator):
    """Whole-image pose estimator with named heads (arguments: :class:`BasePoseEstimator`;
    ``heads`` is required and ``test_cfg.flip_test`` defaults to False).

    Args:
        head_loss_reduction: how the heads' totals (each the sum of a head's ``*loss*`` terms)
            make the objective: ``'sum'`` (mmengine's ``parse_losses``), or ``'mean'`` over the
            heads, as DeepLabCut 3.0.2 (``total_loss = mean(head totals)``,
            models/model.py:93-102; the DeepLabCut dialect sets it). Losses of the unlabeled
            stream are added to either. The logged per-head terms are the same in both.
    """

    example_args = dict(
        backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8,
                      num_stages=1, strides=(1,), dilations=(1,), out_indices=(0,)),
        heads=dict(bodypart=dict(type='HeatmapHead', in_channels=8, out_channels=3,
                                 codec=dict(type='ArgmaxHeatmap', sigma=2))))

    default_flip_test = False
    HEAD_LOSS_REDUCTIONS = ('sum', 'mean')

    def __init__(self, backbone: dict, neck: Optional[dict] = None,
                 heads: Optional[Mapping[str, dict]] = None, train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None, pretrained: Optional[str] = None,
                 data_preprocessor: Union[dict, nn.Module, None] = None,
                 init_cfg: Optional[dict] = None, head_loss_reduction: str = 'sum'):
        if head_loss_reduction not in self.HEAD_LOSS_REDUCTIONS:
            raise ValueError(f'BottomUp: head_loss_reduction must be one of '
                             f'{", ".join(self.HEAD_LOSS_REDUCTIONS)}, got '
                             f'{head_loss_reduction!r}')
        super().__init__(backbone, neck, heads, train_cfg, test_cfg, pretrained,
                         data_preprocessor, init_cfg)
        self.head_loss_reduction = head_loss_reduction

    def parse_losses(self, losses: Dict[str, torch.Tensor]):
        """``(objective, log_vars)`` as mmengine's, the objective reduced over the heads by
        :attr:`head_loss_reduction` (a ``<head>_`` prefix names a key's head; with one head,
        or unprefixed keys, both reductions are mmengine's sum)."""
        loss, log_vars = super().parse_losses(losses)
        if self.head_loss_reduction == 'sum' or len(self.head_names) < 2:
            return loss, log_vars
        per_head = {name: [] for name in self.head_names}
        others = []
        by_length = sorted(self.head_names, key=len, reverse=True)
        for key, value in log_vars.items():
            if key == 'loss' or 'loss' not in key:
                continue
            head = next((n for n in by_length if key.startswith(f'{n}_')), None)
            (per_head[head] if head is not None else others).append(value)
        totals = [sum(terms) for terms in per_head.values() if terms]
        loss = sum(totals) / len(totals) + sum(others)
        log_vars['loss'] = loss
        return loss, log_vars

    def combine_heads(self, per_head: Dict[str, dict]) -> Dict[str, dict]:
        first = per_head[self.head_names[0]]
        for name in self.head_names[1:]:
            maps = per_head[name].pop('identity_maps', None)
            if maps is None:
                continue
            scores = identity_scores(maps, first['keypoints'])
            ids = assign_identities(first['keypoint_scores'], scores)
            order = np.argsort(np.where(ids < 0, len(ids) + scores.shape[-1], ids), kind='stable')
            # per-instance values follow their instances (a DLCRNetHead's affinities too)
            for key in ('keypoints', 'keypoint_scores', 'individual_affinities'):
                if key in first:
                    first[key] = np.asarray(first[key])[order]
            first.update(identity_scores=scores[order], identities=ids[order])
        return per_head

    def pack(self, per_head: Dict[str, dict], meta: dict) -> dict:
        result = super().pack(per_head, meta)
        for name in self.head_names[1:]:
            if not result[name]:  # an identity head: its results went into the first head's
                del result[name]
            elif 'unique_keypoints' in result[name]:
                result.update(result.pop(name))
        keypoints = np.asarray(result['keypoints'], np.float32)
        if 'bboxes' not in result:
            result['bboxes'] = keypoint_boxes(keypoints)
        if 'bbox_scores' not in result:
            scores = np.asarray(result['keypoint_scores'], np.float32)
            result['bbox_scores'] = (scores.mean(axis=1) if scores.size
                                     else np.zeros(len(scores), np.float32))
        return result


def keypoint_boxes(keypoints: np.ndarray) -> np.ndarray:
    """(N, K, 2) pixels → (N, 4) float32 xywh boxes of each instance's keypoints (NaN
    keypoints, missing from an assembly, left out)."""
    if not len(keypoints):
        return np.zeros((0, 4), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', RuntimeWarning)  # an all-NaN instance → NaN box
        low, high = np.nanmin(keypoints, axis=1), np.nanmax(keypoints, axis=1)
    return np.concatenate([low, high - low], axis=1).astype(np.float32)
