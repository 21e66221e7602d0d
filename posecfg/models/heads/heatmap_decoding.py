"""Test-time heatmap post-processing of top-down models: flip-back and decoding to keypoints.

Array math only (numpy); the codec functions do the work, with MMPose 0.x semantics:
``posecfg.codecs.flip_back`` and ``posecfg.codecs.keypoints_from_heatmaps``.
"""
from __future__ import annotations

from typing import List, Sequence

import numpy as np

from posecfg.codecs import PIXEL_STD, flip_back, keypoints_from_heatmaps
from .heatmap_test_cfg import HeatmapTestConfig


def flip_back_heatmaps(heatmaps: np.ndarray, flip_pairs: Sequence, cfg: HeatmapTestConfig
                       ) -> np.ndarray:
    """Heatmaps of horizontally flipped inputs → heatmaps in the original orientation.

    Args:
        heatmaps: (N, C, H, W) float32, the model's output for the flipped images.
        flip_pairs: [[left, right], …] joint indices swapped by a horizontal flip.
        cfg: ``target_type`` selects how channels flip (``CombinedTarget`` negates x offsets);
            ``shift_heatmap`` moves the result one pixel right (column ``x`` takes column
            ``x - 1``, column 0 is kept), because a flipped feature map is misaligned by one
            pixel with non-UDP processing.

    Returns:
        (N, C, H, W) float32, a new array.
    """
    flipped = np.asarray(flip_back(heatmaps, flip_pairs, target_type=cfg.target_type),
                         dtype=np.float32)  # a new array: shifting it in place is safe
    if cfg.shift_heatmap:
        flipped[..., 1:] = flipped[..., :-1].copy()
    return flipped


def _meta_array(img_metas: Sequence[dict], key: str) -> np.ndarray:
    """``img_metas[i][key]`` (2 numbers each) stacked to (N, 2) float32."""
    try:
        return np.stack([np.asarray(m[key], dtype=np.float32).reshape(2) for m in img_metas])
    except KeyError:
        raise KeyError(f"img_metas has no {key!r}: decoding top-down heatmaps needs the box "
                       f"'center' and 'scale'; list them in the test pipeline's "
                       f"Collect(meta_keys=...)") from None


def decode_heatmaps(heatmaps: np.ndarray, img_metas: Sequence[dict], cfg: HeatmapTestConfig
                    ) -> List[dict]:
    """Decode a batch of heatmaps to one prediction dict per instance.

    Args:
        heatmaps: (N, C, H, W) float32 model output (C = K, or 3K for ``CombinedTarget``).
        img_metas: N dicts with ``center`` (2,) and ``scale`` (2,) of the box (pixels and
            pixels / 200), and optionally ``bbox_score``, ``image_file``, ``image_id``,
            ``bbox_id``.
        cfg: decoding settings (post-processing, UDP, target type).

    Returns:
        N dicts: ``preds`` (K, 3) float32 = (x, y, score) in original-image pixels, ``boxes``
        (6,) float32 = (cx, cy, sw, sh, area = sw * sh * PIXEL_STD², bbox score), ``image_file``,
        ``image_id``, ``bbox_id`` (None where ``img_metas`` lacks them).
    """
    if len(img_metas) != len(heatmaps):
        raise ValueError(f'{len(heatmaps)} heatmaps but {len(img_metas)} img_metas; the batch '
                         'must carry one img_metas dict per image')
    centers = _meta_array(img_metas, 'center')
    scales = _meta_array(img_metas, 'scale')
    scores = np.array([float(np.asarray(m.get('bbox_score', 1.0)).reshape(-1)[0])
                       for m in img_metas], dtype=np.float32)
    coords, maxvals = keypoints_from_heatmaps(heatmaps, centers, scales, **cfg.decode_kwargs())

    preds = np.concatenate([np.asarray(coords, np.float32)[..., :2],
                            np.asarray(maxvals, np.float32).reshape(len(img_metas), -1, 1)],
                           axis=-1)  # (N, K, 3)
    boxes = np.concatenate([centers, scales, np.prod(scales * PIXEL_STD, axis=1, keepdims=True),
                            scores[:, None]], axis=1).astype(np.float32)  # (N, 6)
    return [dict(preds=preds[i], boxes=boxes[i], image_file=meta.get('image_file'),
                 image_id=meta.get('image_id'), bbox_id=meta.get('bbox_id'))
            for i, meta in enumerate(img_metas)]
