"""DeepLabCut 3's heatmap targets and heatmap decoding, as codecs (``KEYPOINT_CODECS``).

DeepLabCut 3.0.2 (``deeplabcut/pose_estimation_pytorch/models/``) builds the targets of its
``HeatmapHead`` from the head's outputs at training time (``target_generators/
heatmap_targets.py``) and decodes them with ``predictors/single_predictor.py``. The same
numbers here, vectorised over the batch, the heatmaps and the points drawn on each (DeepLabCut
loops in Python over every (sample, heatmap, keypoint), DeepLabCut#2632).

Geometry (``heatmap_targets.py`` ``HeatmapGenerator.forward``): the model stride ``s`` is the
nominal one, ``backbone stride / head stride`` (``models/model.py`` ``_model_stride``), not
input size / map size (a 3×3 stride-2 deconvolution without padding outputs 2H + 1 cells). Cell
``(i, j)`` (row, column) stands for the pixel ``(x, y) = (trunc(j·s + s/2), trunc(i·s + s/2))``:
DeepLabCut writes these centres into the integer array of ``np.mgrid``, which truncates. The
predictor maps cell ``(i, j)`` back to ``(j·s + s/2, i·s + s/2)`` without truncation.

Visibility flags are DeepLabCut's: ``> 0`` draws the point, ``0`` is a missing point (its map's
weight becomes ``background_weight`` when ``gradient_masking``), ``-1`` is a point that does not
exist for the image (its map's weight becomes 0). posecfg records use 1/0.
"""
from __future__ import annotations

import copy
from typing import Optional, Sequence, Tuple

import numpy as np
import torch

from ..registry import KEYPOINT_CODECS
from .base import BaseKeypointCodec, to_numpy

#: DeepLabCut's ``label_keypoint_key`` values → posecfg batch keys
DLC_LABEL_KEYS = {'keypoints': 'keypoints', 'keypoints_unique': 'unique_keypoints',
                  'unique_keypoints': 'unique_keypoints'}
HEATMAP_MODES = ('KEYPOINT', 'INDIVIDUAL')


def _example_round_trip(generator: str) -> dict:
    """The registry test's round trip for DeepLabCut's encode-only generators and decode-only
    predictor: ``generator`` targets of three keypoints on a (48, 64) input at stride 8, read
    back by ``HeatmapPredictor`` (head output name ← target name)."""
    return dict(encoder=dict(type=generator, num_heatmaps=3, pos_dist_thresh=17, stride=8,
                             heatmap_size=(6, 8)),
                decoder=dict(type='HeatmapPredictor', stride=8, apply_sigmoid=False),
                outputs=dict(heatmap='heatmaps', locref='locref_maps'), input_size=(48, 64))


class DLCLabelGenerator(BaseKeypointCodec):
    """What DeepLabCut's target generators share: the labels they read
    (``label_keypoint_key``, one of :data:`DLC_LABEL_KEYS`) and their copy for a head's
    output size and stride. Subclasses set ``label_keypoint_key`` and ``stride``."""

    label_keypoint_key: str = 'keypoints'

    @property
    def batch_key(self) -> str:
        """The batch key of the labels (``keypoints`` or ``unique_keypoints``)."""
        return DLC_LABEL_KEYS[self.label_keypoint_key]

    def at(self, stride: float, heatmap_size: Tuple[int, int]):
        """This generator for outputs of ``heatmap_size`` (W, H) at model ``stride`` (a copy)."""
        return with_stride(self.sized(heatmap_size=heatmap_size), stride)


class DLCHeatmapGenerator(DLCLabelGenerator):
    """Base of DeepLabCut's heatmap target generators (``HeatmapGenerator``).

    Args (DeepLabCut's, ``heatmap_targets.py`` ``HeatmapGenerator.__init__``):
        num_heatmaps: maps C: keypoints K (``KEYPOINT`` mode) or individuals (``INDIVIDUAL``).
        pos_dist_thresh: radius in input pixels; the Gaussian's std is ``2/3`` of it and the
            locref mask (and the plateau) covers cells within it.
        heatmap_mode: ``KEYPOINT`` (one map per keypoint, every instance drawn on it) or
            ``INDIVIDUAL`` (one map per individual id, all its keypoints drawn on it); case
            does not matter, as in DeepLabCut.
        gradient_masking: a missing point (flag 0) sets its map's weight to
            ``background_weight``.
        background_weight: see ``gradient_masking``.
        generate_locref: also make location-refinement targets.
        locref_std: locref targets are offsets in pixels divided by this.
        label_keypoint_key: which labels: ``'keypoints'`` or DeepLabCut's
            ``'keypoints_unique'`` (posecfg's ``unique_keypoints``).
        stride: model stride in input pixels per cell (set by the head when None).
        heatmap_size: (W, H) cells (set by the head from its outputs when None).
        num_animals: posecfg's: DeepLabCut pads every image's labels to ``max_num_animals``
            instances with flag 0 (``data/dataset.py:347``), which with ``gradient_masking``
            gives every map of an image with fewer animals the background weight; give
            ``max_num_animals`` (1 for single-animal projects) to do the same. None: only the
            record's instances count (the same targets without ``gradient_masking``).

    ``encode(keypoints (N, K, 2) input pixels, keypoints_visible (N, K), identities (N,))`` →
    ``heatmaps`` (C, H, W) float32, ``heatmap_weights`` (C, 1, 1) float32 (one weight per map,
    broadcasting as DeepLabCut's (C, H, W) constant maps do), and with ``generate_locref``
    ``locref_maps`` (2C, H, W) float32 (channel 2c the x offset, 2c + 1 the y offset, both
    divided by ``locref_std``) and ``locref_weights`` (2C, H, W) float32 (1 within
    ``pos_dist_thresh`` of a drawn point). :meth:`encode_batch` does B samples at once.
    """

    target_keys = ('heatmaps', 'heatmap_weights', 'locref_maps', 'locref_weights')
    #: True: the plateau generator
    plateau = False
    example_args = dict(num_heatmaps=2, pos_dist_thresh=17)

    def __init__(self, num_heatmaps: int, pos_dist_thresh: float, heatmap_mode: str = 'KEYPOINT',
                 gradient_masking: bool = False, background_weight: float = 0.1,
                 generate_locref: bool = True, locref_std: float = 7.2801,
                 label_keypoint_key: str = 'keypoints', stride: Optional[float] = None,
                 heatmap_size=None, num_animals: Optional[int] = None):
        super().__init__(None, heatmap_size)
        owner = type(self).__name__
        if isinstance(num_heatmaps, bool) or not isinstance(num_heatmaps, (int, np.integer)) \
                or num_heatmaps < 1:
            raise ValueError(f'{owner}: num_heatmaps must be a positive integer, got '
                             f'{num_heatmaps!r}')
        self.num_heatmaps = int(num_heatmaps)
        self.dist_thresh = _positive(pos_dist_thresh, 'pos_dist_thresh', owner)
        self.std = 2 * self.dist_thresh / 3
        mode = str(getattr(heatmap_mode, 'value', heatmap_mode)).upper()
        if mode not in HEATMAP_MODES:
            raise ValueError(f'{owner}: heatmap_mode must be KEYPOINT or INDIVIDUAL, got '
                             f'{heatmap_mode!r}')
        self.heatmap_mode = mode
        self.gradient_masking = bool(gradient_masking)
        self.background_weight = float(background_weight)
        self.generate_locref = bool(generate_locref)
        self.locref_std = _positive(locref_std, 'locref_std', owner)
        self.locref_scale = 1.0 / self.locref_std
        if label_keypoint_key not in DLC_LABEL_KEYS:
            raise ValueError(f'{owner}: label_keypoint_key must be one of '
                             f'{", ".join(DLC_LABEL_KEYS)}, got {label_keypoint_key!r}')
        self.label_keypoint_key = label_keypoint_key
        self.stride = None if stride is None else _positive(stride, 'stride', owner)
        if num_animals is not None and (isinstance(num_animals, bool) or not isinstance(
                num_animals, (int, np.integer)) or num_animals < 1):
            raise ValueError(f'{owner}: num_animals must be None or a positive integer, got '
                             f'{num_animals!r}')
        self.num_animals = num_animals

    # ------------------------------------------------------------------ encoding
    def encode(self, keypoints, keypoints_visible=None, identities=None) -> dict:
        keypoints, visible = self.instances(type(self).__name__, keypoints, keypoints_visible)
        batch = self.encode_batch([keypoints], [visible],
                                  None if identities is None else [identities])
        return {k: v[0] for k, v in batch.items()}

    def encode_batch(self, keypoints: Sequence, keypoints_visible: Sequence,
                     identities: Optional[Sequence] = None) -> dict:
        """B samples of keypoints (N_b, K, 2) and flags (N_b, K) (and ``identities`` (N_b,) in
        INDIVIDUAL mode) → the targets of :meth:`encode` with a leading B axis."""
        owner = type(self).__name__
        if self.stride is None or self.heatmap_size is None:
            raise ValueError(f'{owner}: stride and heatmap_size are not set; the head sets them '
                             f'from its outputs (generator.at(stride, heatmap_size))')
        if identities is None:
            identities = [None] * len(keypoints)
        groups = [self._groups(*self.instances(owner, k, v), ids)
                  for k, v, ids in zip(keypoints, keypoints_visible, identities)]
        points, flags, present = _pad(groups)
        return self._targets(points, flags, present)

    def _groups(self, keypoints: np.ndarray, visible: np.ndarray, identities
                ) -> Tuple[np.ndarray, np.ndarray]:
        """One sample's instances → the points drawn on each map: (C, M, 2) and flags (C, M)."""
        owner = type(self).__name__
        bad = (visible > 0) & ~np.isfinite(keypoints).all(axis=-1)
        if bad.any():
            n, k = np.argwhere(bad)[0]
            raise ValueError(f'{owner}.encode: keypoint {k} of instance {n} is visible but its '
                             f'coordinates are {keypoints[n, k].tolist()}')
        n, k = visible.shape
        if self.heatmap_mode == 'KEYPOINT':
            if k != self.num_heatmaps:
                raise ValueError(f'{owner}: num_heatmaps is {self.num_heatmaps} but the labels '
                                 f'have {k} keypoints (KEYPOINT mode draws one map per keypoint)')
            if self.num_animals is not None and n < self.num_animals:
                # DeepLabCut's padding: absent animals are instances with every flag 0
                pad = self.num_animals - n
                keypoints = np.concatenate([keypoints, np.zeros((pad, k, 2))])
                visible = np.concatenate([visible, np.zeros((pad, k), np.float32)])
            return keypoints.transpose(1, 0, 2), visible.T
        # INDIVIDUAL: DeepLabCut re-orders instances by individual id; ids never seen keep
        # coordinates and flags -1 (their maps get weight 0)
        if identities is None:
            raise ValueError(f'{owner}: heatmap_mode INDIVIDUAL needs the instances\' '
                             f'identities (the records\' identities, (N,) ints)')
        ids = np.asarray(identities, np.int64).reshape(-1)
        if ids.shape != (n,):
            raise ValueError(f'{owner}: identities must be (N,) = ({n},), got {ids.shape}')
        if (ids >= self.num_heatmaps).any():
            raise ValueError(f'{owner}: identity {int(ids.max())} is out of range for '
                             f'num_heatmaps={self.num_heatmaps} individuals')
        points = -np.ones((self.num_heatmaps, k, 2))
        flags = -np.ones((self.num_heatmaps, k), np.float32)
        known = ids >= 0
        points[ids[known]] = keypoints[known]
        flags[ids[known]] = visible[known]
        return points, flags

    def _targets(self, points: np.ndarray, flags: np.ndarray, present: np.ndarray) -> dict:
        """points (B, C, M, 2) pixels, flags (B, C, M), present (B, C, M) bool (False for
        padding) → targets with a leading B axis."""
        width, height = self.heatmap_size
        s = self.stride
        # DeepLabCut's cell centres, truncated by its integer grid
        cx = np.trunc(np.arange(width) * s + s / 2)
        cy = np.trunc(np.arange(height) * s + s / 2)
        # points are float32 labels in DeepLabCut; offsets and distances in float64 as there
        px = points[..., 0].astype(np.float32).astype(np.float64)
        py = points[..., 1].astype(np.float32).astype(np.float64)
        dx = px[..., None] - cx  # (B, C, M, W)
        dy = py[..., None] - cy  # (B, C, M, H)
        drawn = present & (flags > 0)  # (B, C, M)
        # in place over the one (B, C, M, H, W) array: it dominates the time
        dist_sq = np.square(dy)[..., :, None] + np.square(dx)[..., None, :]
        if not self.plateau:
            # DeepLabCut's Gaussian takes np.linalg.norm(...) ** 2: the square of the root
            np.square(np.sqrt(dist_sq, out=dist_sq), out=dist_sq)
        within = dist_sq <= self.dist_thresh ** 2
        within &= drawn[..., None, None]
        if self.plateau:
            heatmaps = within.any(axis=2)
        else:
            gauss = np.exp(np.divide(dist_sq, -(2 * self.std ** 2), out=dist_sq), out=dist_sq)
            gauss *= drawn[..., None, None]
            heatmaps = gauss.max(axis=2)
        out = dict(heatmaps=heatmaps.astype(np.float32),
                   heatmap_weights=self._map_weights(flags, present)[..., None, None])
        if self.generate_locref:
            out.update(self._locref(dx, dy, drawn, within))
        return out

    def _map_weights(self, flags: np.ndarray, present: np.ndarray) -> np.ndarray:
        """(B, C) weights: the last point of a map that is missing (flag 0, with gradient
        masking: ``background_weight``) or undefined (flag -1: 0) decides; 1 otherwise."""
        missing = self.gradient_masking & (flags == 0)
        assigned = present & (missing | (flags == -1))
        values = np.where(missing, self.background_weight, 0.0)
        last = _last_true(assigned, axis=2)
        chosen = np.take_along_axis(values, last[..., None], axis=2)[..., 0]
        return np.where(assigned.any(axis=2), chosen, 1.0).astype(np.float32)

    def _locref(self, dx, dy, drawn, within) -> dict:
        """Offsets (2C, H, W) per sample: Gaussian — the last drawn point's offsets over the
        whole map; plateau — per cell, the last drawn point whose disc covers it."""
        b, c, m, w = dx.shape
        h = dy.shape[-1]
        # scaled per point (float64, then float32 as DeepLabCut's map), then spread over cells
        sx = (dx * self.locref_scale).astype(np.float32)  # (B, C, M, W)
        sy = (dy * self.locref_scale).astype(np.float32)  # (B, C, M, H)
        maps = np.zeros((b, c, 2, h, w), np.float32)
        covered = within.any(axis=2)  # (B, C, H, W)
        if self.plateau:
            last = _last_true(within, axis=2)[:, :, None]  # (B, C, 1, H, W)
            maps[:, :, 0] = np.take_along_axis(
                np.broadcast_to(sx[..., None, :], (b, c, m, h, w)), last, 2)[:, :, 0]
            maps[:, :, 1] = np.take_along_axis(
                np.broadcast_to(sy[..., :, None], (b, c, m, h, w)), last, 2)[:, :, 0]
            maps *= covered[:, :, None]
        else:
            last = _last_true(drawn, axis=2)[..., None, None]  # (B, C, 1, 1)
            valid = drawn.any(axis=2)[..., None]  # (B, C, 1)
            maps[:, :, 0] = (np.take_along_axis(sx, last, 2)[:, :, 0] * valid)[:, :, None, :]
            maps[:, :, 1] = (np.take_along_axis(sy, last, 2)[:, :, 0] * valid)[:, :, :, None]
        mask = np.broadcast_to(covered[:, :, None], (b, c, 2, h, w)).astype(np.float32)
        return dict(locref_maps=maps.reshape(b, 2 * c, h, w),
                    locref_weights=mask.reshape(b, 2 * c, h, w))


@KEYPOINT_CODECS.register_module()
class HeatmapGaussianGenerator(DLCHeatmapGenerator):
    """DeepLabCut's ``HeatmapGaussianGenerator`` (``heatmap_targets.py``): on each map the
    maximum over its points of ``exp(-d² / (2 std²))``, ``std = 2 pos_dist_thresh / 3``, ``d``
    the distance in pixels from the cell centre to the point; locref targets over the whole map
    from the map's last drawn point, weighted 1 within ``pos_dist_thresh`` of any drawn point.
    Arguments: :class:`DLCHeatmapGenerator`."""

    example_args = dict(num_heatmaps=2, pos_dist_thresh=17)
    example_round_trip = _example_round_trip('HeatmapGaussianGenerator')


@KEYPOINT_CODECS.register_module()
class HeatmapPlateauGenerator(DLCHeatmapGenerator):
    """DeepLabCut's ``HeatmapPlateauGenerator``: 1 on the cells within ``pos_dist_thresh``
    pixels of a point (``d² <= pos_dist_thresh²``), 0 elsewhere; locref targets only there (a
    later point overwrites an earlier one). Arguments: :class:`DLCHeatmapGenerator`."""

    plateau = True
    example_args = dict(num_heatmaps=2, pos_dist_thresh=17)
    example_round_trip = _example_round_trip('HeatmapPlateauGenerator')


@KEYPOINT_CODECS.register_module()
class HeatmapPredictor(BaseKeypointCodec):
    """DeepLabCut's ``HeatmapPredictor`` (``predictors/single_predictor.py``): one pose per image.

    Args (DeepLabCut's, with its defaults):
        apply_sigmoid: scores from ``sigmoid(heatmap)`` (DeepLabCut's ``HeatmapHead`` configs
            set False: raw heatmap values).
        clip_scores: clip the scores to [0, 1].
        location_refinement: add the locref offset at the arg-max cell.
        locref_std: locref outputs are multiplied by this (pixels).
        stride: model stride in input pixels per cell (set by the head when None).

    ``decode(outputs)``: ``dict(heatmap=(B, K, H, W), locref=(B, 2K, H, W))`` (or the heatmap
    tensor alone without location refinement) → keypoints (B, 1, K, 2) float32 input pixels
    ``x = j·s + s/2 + dx``, ``y = i·s + s/2 + dy`` at each map's first maximum ``(i, j)``, and
    scores (B, 1, K) (the heatmap there). Computed in torch float32, as DeepLabCut.
    """

    example_args = dict(stride=8)
    example_round_trip = _example_round_trip('HeatmapGaussianGenerator')

    def __init__(self, apply_sigmoid: bool = True, clip_scores: bool = False,
                 location_refinement: bool = True, locref_std: float = 7.2801,
                 stride: Optional[float] = None):
        super().__init__()
        self.apply_sigmoid = bool(apply_sigmoid)
        self.clip_scores = bool(clip_scores)
        self.location_refinement = bool(location_refinement)
        self.locref_std = float(locref_std)
        self.stride = None if stride is None else _positive(stride, 'stride', 'HeatmapPredictor')

    def at(self, stride: float) -> 'HeatmapPredictor':
        """This predictor at model ``stride`` (a copy)."""
        return with_stride(self, stride)

    def decode(self, outputs) -> Tuple[np.ndarray, np.ndarray]:
        if self.stride is None:
            raise ValueError('HeatmapPredictor: stride is not set; the head sets it '
                             '(predictor.at(stride))')
        if isinstance(outputs, dict):
            heatmaps, locref = outputs['heatmap'], outputs.get('locref')
        else:
            heatmaps, locref = outputs, None
        heatmaps = torch.as_tensor(heatmaps).detach().float()
        if heatmaps.dim() != 4:
            raise ValueError(f'HeatmapPredictor.decode: heatmap must be (B, K, H, W), got '
                             f'shape {tuple(heatmaps.shape)}')
        if self.apply_sigmoid:
            heatmaps = torch.sigmoid(heatmaps)
        b, k, h, w = heatmaps.shape
        flat = heatmaps.flatten(2)
        index = flat.argmax(dim=-1)  # (B, K): the first maximum (torch.argmax's documented rule)
        scores = flat.gather(2, index[..., None])[..., 0]
        row = torch.div(index, w, rounding_mode='floor')
        col = index % w
        x = col * self.stride + 0.5 * self.stride
        y = row * self.stride + 0.5 * self.stride
        if self.location_refinement:
            if locref is None:
                raise ValueError('HeatmapPredictor: location_refinement needs the head\'s '
                                 '"locref" output (give the head a locref_config, or set '
                                 'location_refinement=False)')
            locref = torch.as_tensor(locref).detach().float().to(heatmaps.device)
            if tuple(locref.shape) != (b, 2 * k, h, w):
                raise ValueError(f'HeatmapPredictor.decode: locref must be (B, 2K, H, W) = '
                                 f'{(b, 2 * k, h, w)}, got {tuple(locref.shape)}')
            offsets = locref.reshape(b, k, 2, h * w).gather(
                3, index[:, :, None, None].expand(b, k, 2, 1))[..., 0] * self.locref_std
            x = x + offsets[..., 0]
            y = y + offsets[..., 1]
        if self.clip_scores:
            scores = scores.clamp(0, 1)
        keypoints = torch.stack([x, y], dim=-1).float()
        return to_numpy(keypoints)[:, None], to_numpy(scores)[:, None]


def with_stride(codec, stride: float):
    """A copy of ``codec`` (a DeepLabCut generator or predictor) at model ``stride``; a stride
    it already has must agree."""
    owner = type(codec).__name__
    if codec.stride is not None and not np.isclose(codec.stride, stride):
        raise ValueError(f'{owner}: stride is {codec.stride} but the model outputs at stride '
                         f'{stride}')
    out = copy.copy(codec)
    out.stride = _positive(stride, 'stride', owner)
    return out


def _positive(value, name: str, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not value > 0:
        raise ValueError(f'{owner}: {name} must be a positive number, got {value!r}')
    return float(value)


def _last_true(mask: np.ndarray, axis: int) -> np.ndarray:
    """Index of the last True along ``axis`` (0 where there is none)."""
    n = mask.shape[axis]
    if n == 0:
        return np.zeros(mask.shape[:axis] + mask.shape[axis + 1:], np.int64)
    return n - 1 - np.argmax(np.flip(mask, axis=axis), axis=axis)


def _pad(groups) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-sample (C, M_b, 2) points and (C, M_b) flags → (B, C, M, 2), (B, C, M) and the
    (B, C, M) mask of real points (padding is never drawn and sets no weight)."""
    c = groups[0][1].shape[0] if groups else 0
    m = max([g[1].shape[1] for g in groups] + [1])  # one padding point at least
    points = np.zeros((len(groups), c, m, 2))
    flags = np.zeros((len(groups), c, m), np.float32)
    present = np.zeros((len(groups), c, m), bool)
    for i, (p, f) in enumerate(groups):
        points[i, :, :p.shape[1]] = p
        flags[i, :, :f.shape[1]] = f
        present[i, :, :f.shape[1]] = True
    return points, flags, present
