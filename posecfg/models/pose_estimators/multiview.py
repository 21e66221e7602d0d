"""``MultiviewBottomUp``: Lightning Pose's multi-view heatmap model — every camera view of a frame
through one shared backbone and one shared head, the views' keypoints concatenated.

Lightning Pose 2.4.3 builds ``model_type: heatmap`` with several ``data.view_names`` as the
ordinary ``HeatmapTracker`` with ``num_keypoints`` = the keypoints of one view
(``models/factory.py:258-283``); its ``forward`` (``models/heatmap_tracker.py:107-131``) takes
(B, V, 3, H, W), reshapes it to (B·V, 3, H, W) (sample-major: ``b0v0, b0v1, …, b1v0, …``), runs
the backbone and the one head on every view image, and reshapes the heatmaps (B·V, K, h, w) back
to (B, V·K, h, w): view after view within a sample. Losses are the head's over all B·V·K maps
(the mean over maps is the same whether the views are folded into the batch or not), and the
keypoints (B, V·K, 2) are what ``pca_multiview`` reads (``mirrored_column_matches`` index the
V·K concatenated keypoints).

Here the views are folded into the batch before the backbone and every per-sample entry of the
batch is unfolded to one entry per (sample, view) — ``img_metas[b]['views'][v]`` (each view's
own ``warp_mat``: views may differ in size), ``keypoints[b][v]``, … as
:class:`~posecfg.datasets.lp_multiview.LPMultiviewProjectDataset` gives them — so any
single-view head (``LPHeatmapHead``) trains and decodes as it does for one image, in each view's
own original pixels. The unlabeled stream (``MultiviewUnlabeledVideoDataset`` batches from
``multiview_sequence_collate``) already holds one sequence per (sample, view); the head joins
the views' keypoints for ``pca_multiview``/``temporal``. Predictions are regrouped per sample: ``keypoints`` (1, V·K, 2) and
``keypoint_scores`` (1, V·K), view after view, ``view_image_files`` (V,).

Shapes: ``img`` (B, V, 3, H, W); ``'tensor'`` → (B, V·K, h, w) (Lightning Pose's layout). A
(B, 3, H, W) batch is one view per sample and runs as :class:`BottomUp`.
"""
from __future__ import annotations

from typing import List

import numpy as np
import torch
from torch import Tensor

from posecfg.registry import MODELS
from .bottomup import BottomUp, keypoint_boxes

#: batch keys that are not per-view entries
_SHARED_KEYS = ('gt', 'unlabeled', 'img')


def fold_views(batch: dict, num_views: int) -> dict:
    """A batch of B multi-view samples → a batch of B·V single-view samples (sample-major):
    tensors (B, V, ...) → (B·V, ...), per-sample lists of V-stacked values → one entry per view,
    ``img_metas[b]['views']`` → the per-view metas. ``gt`` and ``unlabeled`` are left out."""
    folded = {}
    for key, value in batch.items():
        if key in _SHARED_KEYS or value is None:
            continue
        if key == 'img_metas':
            folded[key] = [view for meta in value for view in _views_of(meta, num_views)]
        elif torch.is_tensor(value) and value.dim() >= 2 and value.shape[1] == num_views:
            folded[key] = value.reshape(value.shape[0] * num_views, *value.shape[2:])
        elif isinstance(value, (list, tuple)):
            folded[key] = [entry for sample in value for entry in _per_view(key, sample,
                                                                             num_views)]
        else:
            raise ValueError(f'MultiviewBottomUp: batch key {key!r} holds '
                             f'{type(value).__name__} {getattr(value, "shape", "")}; every key '
                             f'of a multi-view batch has one entry per view '
                             f'(LPMultiviewProjectDataset)')
    return folded


def _views_of(meta: dict, num_views: int) -> List[dict]:
    views = meta.get('views')
    if views is None or len(views) != num_views:
        raise KeyError(f"MultiviewBottomUp: img_metas need 'views' (one meta per view, {num_views}"
                       f'); got keys {sorted(meta)} (LPMultiviewProjectDataset makes them)')
    return list(views)


def _per_view(key: str, sample, num_views: int) -> list:
    if len(sample) != num_views:
        raise ValueError(f'MultiviewBottomUp: batch key {key!r} has {len(sample)} entries for a '
                         f'sample of {num_views} views')
    return list(sample)


@MODELS.register_module()
class MultiviewBottomUp(BottomUp):
    """Lightning Pose's multi-view heatmap model (module docstring); arguments as
    :class:`BottomUp` (one head, ``LPHeatmapHead``, whose ``out_channels`` is K per view)."""

    example_args = dict(
        backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8,
                      num_stages=1, strides=(1,), dilations=(1,), out_indices=(0,)),
        heads=dict(bodypart=dict(type='HeatmapHead', in_channels=8, out_channels=3,
                                 codec=dict(type='ArgmaxHeatmap', sigma=2))))

    @staticmethod
    def _num_views(img: Tensor) -> int:
        """V of img (B, V, 3, H, W); 0 for (B, 3, H, W): a one-view batch, run as BottomUp."""
        if img.dim() not in (4, 5):
            raise ValueError(f'MultiviewBottomUp takes img (B, V, 3, H, W) (every view of each '
                             f'frame), or (B, 3, H, W) for one view; got shape '
                             f'{tuple(img.shape)}')
        return int(img.shape[1]) if img.dim() == 5 else 0

    def _forward(self, img: Tensor):
        views = self._num_views(img)
        if not views:
            return super()._forward(img)
        outputs = super()._forward(img.flatten(0, 1))
        return _unfold_outputs(outputs, img.shape[0], views)

    def loss(self, img: Tensor, batch: dict) -> dict:
        views = self._num_views(img)
        if not views:
            return super().loss(img, batch)
        folded = fold_views(batch, views)
        if batch.get('unlabeled') is not None:
            # already one sequence per (sample, view): multiview_sequence_collate
            folded['unlabeled'] = batch['unlabeled']
        return super().loss(img.flatten(0, 1), folded)

    def predict(self, img: Tensor, batch: dict) -> List[dict]:
        views = self._num_views(img)
        if not views:
            return super().predict(img, batch)
        metas = batch.get('img_metas')
        if metas is None or len(metas) != img.shape[0]:
            raise ValueError(f"MultiviewBottomUp mode='predict' needs one img_metas dict per "
                             f"sample ({img.shape[0]}), got "
                             f"{'none' if metas is None else len(metas)}")
        per_view = super().predict(img.flatten(0, 1), fold_views(batch, views))
        return [self.join_views(per_view[b * views:(b + 1) * views], meta)
                for b, meta in enumerate(metas)]

    @staticmethod
    def join_views(results: List[dict], meta: dict) -> dict:
        """The V per-view predictions of one frame → one: ``keypoints`` (1, V·K, 2) and
        ``keypoint_scores`` (1, V·K), view after view, each view in its own image's pixels."""
        for v, result in enumerate(results):
            if len(result['keypoints']) != 1:
                raise ValueError(f'MultiviewBottomUp: view {v} of frame {meta.get("image_id")} '
                                 f'has {len(result["keypoints"])} predicted instances; the '
                                 f'multi-view model predicts one animal per view')
        keypoints = np.concatenate([np.asarray(r['keypoints'], np.float32) for r in results],
                                   axis=1)
        scores = np.concatenate([np.asarray(r['keypoint_scores'], np.float32)
                                 for r in results], axis=1)
        return dict(keypoints=keypoints, keypoint_scores=scores,
                    bboxes=keypoint_boxes(keypoints), bbox_scores=scores.mean(axis=1),
                    image_file=meta.get('image_file'), image_id=meta.get('image_id'),
                    view_image_files=[r.get('image_file') for r in results])


def _unfold_outputs(outputs, batch: int, views: int):
    """(B·V, K, ...) head outputs (or a dict of them) → (B, V·K, ...)."""
    if isinstance(outputs, dict):
        return {k: _unfold_outputs(v, batch, views) for k, v in outputs.items()}
    if torch.is_tensor(outputs) and outputs.dim() >= 2:
        return outputs.reshape(batch, views * outputs.shape[1], *outputs.shape[2:])
    return outputs


__all__ = ['MultiviewBottomUp', 'fold_views']
