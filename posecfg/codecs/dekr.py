"""DeepLabCut 3's DEKR targets and DEKR decoding (centre detection, offsets → poses, pose NMS).

DeepLabCut 3.0.2 ``deeplabcut/pose_estimation_pytorch/models/``:

- ``target_generators/dekr_targets.py`` ``DEKRGenerator`` → :class:`DEKRGenerator` (the same
  numbers, the Python loops over cells replaced by array operations: one step per (instance,
  keypoint) in DeepLabCut's order, because later instances read what earlier ones wrote);
- ``predictors/dekr_predictor.py`` ``DEKRPredictor`` → :class:`DEKRPredictor` (torch, vectorised
  over the batch as DeepLabCut's).

Geometry: a point at ``x`` input pixels lies at ``x_sm = (x - s/2) / s`` heatmap cells (``s`` the
model stride, backbone stride / head stride: 4 for DEKR on HRNet); offsets are in **cells**,
``cell - x_sm``, and a pose decodes as ``(cell - offset) · s + s/2`` pixels.

Centres: DeepLabCut's ``with_center_keypoints: true`` makes its dataset append to every instance
the mean of its visible keypoints (``data/dataset.py:481-506`` ``add_center_keypoints``: flag 2
when the instance has a visible keypoint, else 0). posecfg records do not carry centres: the
generator appends them itself by that rule, so the labels it reads are the records' K keypoints.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from ..datasets.boxes import boxes_from_keypoints
from ..registry import KEYPOINT_CODECS
from .base import BaseKeypointCodec, to_numpy
from .dlc_heatmap import DLC_LABEL_KEYS, DLCLabelGenerator, _positive, with_stride

#: DeepLabCut's ``data.bbox_margin`` default (dlcloader.py ``load_data``)
DLC_BBOX_MARGIN = 20
KEYPOINT_SCORE_TYPES = ('heatmap', 'center', 'combined')


def _round_trip() -> dict:
    """Registry round trip: DEKR targets of three keypoints of one instance on a (48, 64) input
    at stride 4, decoded by ``DEKRPredictor`` as a perfect head's outputs."""
    return dict(encoder=dict(type='DEKRGenerator', num_joints=3, pos_dist_thresh=17, stride=4,
                             heatmap_size=(12, 16)),
                decoder=dict(type='DEKRPredictor', num_animals=1, apply_sigmoid=False,
                             use_heatmap=False, stride=4),
                outputs=dict(heatmap='heatmaps', offset='offset_maps'), input_size=(48, 64))


class StridedPredictor(BaseKeypointCodec):
    """Base of the DeepLabCut predictors here: they decode at the model stride, which the head
    sets (:meth:`at`) unless the config gives it."""

    stride: Optional[float] = None

    def at(self, stride: float):
        """This predictor at model ``stride`` (a copy)."""
        return with_stride(self, stride)

    def require_stride(self) -> None:
        if self.stride is None:
            raise ValueError(f'{type(self).__name__}: stride is not set; the head sets it '
                             f'(predictor.at(stride))')


def _int(value, name: str, owner: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f'{owner}: {name} must be an integer >= {low}, got {value!r}')
    return int(value)


def add_center_keypoints(keypoints: np.ndarray, visible: np.ndarray
                         ) -> Tuple[np.ndarray, np.ndarray]:
    """(N, K, 2), (N, K) → (N, K + 1, 2), (N, K + 1): each instance's centre appended, the mean
    of its visible keypoints (computed in float64, kept as float32 as DeepLabCut's labels) with
    flag 2, or (0, 0) with flag 0 when it has none (``data/dataset.py:481-506``)."""
    keypoints = np.asarray(keypoints, np.float64)
    visible = np.asarray(visible, np.float32)
    shown = visible > 0
    count = shown.sum(axis=1)
    sums = (keypoints * shown[..., None]).sum(axis=1)
    has = count > 0
    centers = np.zeros((len(keypoints), 1, 2))
    centers[has, 0] = sums[has] / count[has, None]
    centers = centers.astype(np.float32).astype(np.float64)
    flags = np.where(has, 2.0, 0.0).astype(np.float32)[:, None]
    return (np.concatenate([keypoints, centers], axis=1),
            np.concatenate([visible, flags], axis=1))


@KEYPOINT_CODECS.register_module()
class DEKRGenerator(DLCLabelGenerator):
    """DeepLabCut's ``DEKRGenerator``: K + 1 heatmaps (keypoints, then the instance centre) and
    2K offset maps from each instance's centre region to its keypoints.

    Args (DeepLabCut's, ``dekr_targets.py:32``):
        num_joints: K keypoints (the centre is added: ``num_joints + 1`` heatmaps).
        pos_dist_thresh: in input pixels; keypoint Gaussians have ``σ = pos_dist_thresh / 2 / s``
            cells, the centre's ``pos_dist_thresh / s``, and offsets are written within
            ``pos_dist_thresh / s`` cells of the centre (``dekr_targets.py:90-92``).
        bg_weight: heatmap weight of the cells no drawn point's window covers.
        label_keypoint_key: DeepLabCut's ``BaseGenerator`` key (``keypoints``).
    posecfg's:
        stride, heatmap_size: set by the head from its outputs when None.
        bbox_margin: instance areas weight the offsets (``1 / sqrt(area)``) and decide which
            instance owns an overlapping cell; DeepLabCut's area is its (augmented) box's
            ``max(1, w) · max(1, h)`` (``data/dataset.py:328-330``). ``encode`` takes ``areas``;
            without them, boxes are made as DeepLabCut makes them before augmentation (visible
            keypoints' extent ± ``bbox_margin``, clipped to the input).

    Rules (``dekr_targets.py:103-178``), per instance in order, per point (keypoints then centre):
    flag ``-1`` sets the point's whole heatmap weight to 0; flag ``<= 0`` or a point off the map
    (``x_sm < 0``, ``y_sm < 0``, ``x_sm >= W``, ``y_sm >= H``) draws nothing; otherwise the
    Gaussian ``exp(-((c - x_sm)² + (r - y_sm)²) / (2σ²))`` is drawn (maximum with what is there)
    on the window ``[floor(x_sm - 3σ - 1), ceil(x_sm + 3σ + 2))`` (columns; rows alike) whose
    weights become 1; weights never set are ``bg_weight``. For a keypoint, offsets ``(c - x_sm,
    r - y_sm)`` go on the cells ``[max(int(cx - R), 0), min(int(cx + R), W))`` (columns, rows
    alike; ``cx`` the centre in cells from its truncated pixel position ``int(x_c)``, ``R`` the
    radius) with weight ``1 / sqrt(area)``, except on cells whose offset for that keypoint is
    already non-zero and whose last writer (any keypoint) had a smaller area.

    ``encode(keypoints (N, K, 2), keypoints_visible (N, K), areas (N,) or None)`` → ``heatmaps``
    (K + 1, H, W), ``heatmap_weights`` (K + 1, H, W), ``offset_maps`` (2K, H, W) (channel 2k the
    x offset of keypoint k, 2k + 1 the y offset, cells), ``offset_weights`` (2K, H, W), float32;
    :meth:`encode_batch` does B samples.
    """

    target_keys = ('heatmaps', 'heatmap_weights', 'offset_maps', 'offset_weights')
    example_args = dict(num_joints=2, pos_dist_thresh=17)
    example_round_trip = _round_trip()

    def __init__(self, num_joints: int, pos_dist_thresh: float, bg_weight: float = 0.1,
                 label_keypoint_key: str = 'keypoints', stride: Optional[float] = None,
                 heatmap_size=None, bbox_margin: float = DLC_BBOX_MARGIN):
        super().__init__(None, heatmap_size)
        owner = type(self).__name__
        self.num_joints = _int(num_joints, 'num_joints', owner)
        self.num_heatmaps = self.num_joints + 1
        self.pos_dist_thresh = _positive(pos_dist_thresh, 'pos_dist_thresh', owner)
        if isinstance(bg_weight, bool) or not isinstance(bg_weight, (int, float)):
            raise ValueError(f'{owner}: bg_weight must be a number, got {bg_weight!r}')
        self.bg_weight = float(bg_weight)
        if label_keypoint_key not in DLC_LABEL_KEYS:
            raise ValueError(f'{owner}: label_keypoint_key must be one of '
                             f'{", ".join(DLC_LABEL_KEYS)}, got {label_keypoint_key!r}')
        self.label_keypoint_key = label_keypoint_key
        self.stride = None if stride is None else _positive(stride, 'stride', owner)
        if not (isinstance(bbox_margin, (int, float)) and bbox_margin >= 0):
            raise ValueError(f'{owner}: bbox_margin must be >= 0 pixels, got {bbox_margin!r}')
        self.bbox_margin = float(bbox_margin)

    # ------------------------------------------------------------------ encoding
    def encode(self, keypoints, keypoints_visible=None, areas=None) -> dict:
        keypoints, visible = self.instances(type(self).__name__, keypoints, keypoints_visible)
        batch = self.encode_batch([keypoints], [visible], None if areas is None else [areas])
        return {k: v[0] for k, v in batch.items()}

    def default_areas(self, keypoints: np.ndarray, visible: np.ndarray) -> np.ndarray:
        """(N,) DeepLabCut's un-augmented box areas: visible keypoints' extent ±
        ``bbox_margin`` clipped to the input, ``max(1, w) · max(1, h)``."""
        width, height = (np.asarray(self.heatmap_size, float) * self.stride)
        sizes = np.tile([[height, width]], (len(keypoints), 1))
        boxes, _ = boxes_from_keypoints(keypoints, visible, sizes, self.bbox_margin)
        return (np.maximum(1, boxes[:, 2]) * np.maximum(1, boxes[:, 3])).astype(np.float32)

    def encode_batch(self, keypoints: Sequence, keypoints_visible: Sequence,
                     areas: Optional[Sequence] = None) -> dict:
        """B samples of keypoints (N_b, K, 2) input pixels, flags (N_b, K) and areas (N_b,)
        pixels² (None: :meth:`default_areas`) → :meth:`encode`'s targets with a leading B."""
        owner = type(self).__name__
        if self.stride is None or self.heatmap_size is None:
            raise ValueError(f'{owner}: stride and heatmap_size are not set; the head sets them '
                             f'from its outputs (generator.at(stride, heatmap_size))')
        b = len(keypoints)
        samples = []
        for i in range(b):
            kpts, vis = self.instances(owner, keypoints[i], keypoints_visible[i])
            if kpts.shape[1] != self.num_joints:
                raise ValueError(f'{owner}: num_joints is {self.num_joints} but sample {i} has '
                                 f'{kpts.shape[1]} keypoints')
            bad = (vis > 0) & ~np.isfinite(kpts).all(axis=-1)
            if bad.any():
                n, k = np.argwhere(bad)[0]
                raise ValueError(f'{owner}.encode: keypoint {k} of instance {n} (sample {i}) is '
                                 f'visible but its coordinates are {kpts[n, k].tolist()}')
            area = (self.default_areas(kpts, vis) if areas is None or areas[i] is None
                    else np.asarray(areas[i], np.float32).reshape(-1))
            if area.shape != (len(kpts),):
                raise ValueError(f'{owner}: sample {i} has {len(kpts)} instances but '
                                 f'{area.shape} areas')
            samples.append(add_center_keypoints(kpts, vis) + (area,))
        m = max([len(s[0]) for s in samples] + [1])
        j = self.num_heatmaps
        points = np.zeros((b, m, j, 2))
        flags = np.zeros((b, m, j), np.float32)  # padding: DeepLabCut's flag 0 instances
        area = np.zeros((b, m), np.float32)
        for i, (p, f, a) in enumerate(samples):
            points[i, :len(p)], flags[i, :len(p)], area[i, :len(p)] = p, f, a
        return self._targets(points.astype(np.float32), flags, area)

    def _targets(self, points: np.ndarray, flags: np.ndarray, area: np.ndarray) -> dict:
        """points (B, M, K + 1, 2) float32 pixels, flags (B, M, K + 1), area (B, M)."""
        width, height = self.heatmap_size
        s = self.stride
        b, m, j, _ = points.shape
        k = j - 1
        sigma = np.full(j, self.pos_dist_thresh / 2 / s)
        sigma[-1] = self.pos_dist_thresh / s  # the centre's
        xs = (points[..., 0].astype(np.float64) - s / 2) / s  # (B, M, J) cells
        ys = (points[..., 1].astype(np.float64) - s / 2) / s
        drawn = (flags > 0) & (xs >= 0) & (ys >= 0) & (xs < width) & (ys < height)
        # Gaussian windows [floor(x - 3σ - 1), ceil(x + 3σ + 2)), gathered as fixed-size
        # windows (B, M, J, n) of cell indices with a mask, and the separable values there
        size = int(np.ceil(6 * sigma.max() + 3)) + 1
        cx, in_x = _window(np.floor(xs - 3 * sigma - 1), np.ceil(xs + 3 * sigma + 2), size,
                           width)
        cy, in_y = _window(np.floor(ys - 3 * sigma - 1), np.ceil(ys + 3 * sigma + 2), size,
                           height)
        two_var = (2 * sigma ** 2)[:, None]
        gx = np.exp(-np.square(cx - xs[..., None]) / two_var)
        gy = np.exp(-np.square(cy - ys[..., None]) / two_var)
        heatmaps = np.zeros((b, j, height, width), np.float32)
        weights = np.full((b, j, height, width), 2.0, np.float32)  # 2: not set (background)
        bi, ji = np.meshgrid(np.arange(b), np.arange(j), indexing='ij')
        for n in range(m):  # DeepLabCut's order: later instances overwrite weights
            valid = (in_y[:, n, :, :, None] & in_x[:, n, :, None, :]
                     & drawn[:, n, :, None, None])  # (B, J, size, size)
            sel = np.nonzero(valid)
            at = (bi[sel[:2]], ji[sel[:2]], cy[:, n][sel[:3]], cx[:, n][sel[0], sel[1],
                                                                        sel[3]])
            gauss = (gy[:, n][sel[:3]] * gx[:, n][sel[0], sel[1], sel[3]]).astype(np.float32)
            # within one instance every (sample, map) is drawn once: no index repeats
            heatmaps[at] = np.maximum(heatmaps[at], gauss)
            weights[at] = 1.0
            weights[flags[:, n] == -1] = 0.0
        weights[weights == 2.0] = self.bg_weight
        offsets, offset_weights = self._offsets(points, xs[..., :k], ys[..., :k],
                                                drawn[..., :k], area)
        return dict(heatmaps=heatmaps, heatmap_weights=weights, offset_maps=offsets,
                    offset_weights=offset_weights)

    def _offsets(self, points, xs, ys, drawn, area):
        """Offsets (B, 2K, H, W) in cells and their weights; one step per (instance, keypoint)
        in DeepLabCut's order (the area rule reads what earlier steps wrote), each on the
        centre regions of the B samples gathered as fixed-size windows."""
        width, height = self.heatmap_size
        s = self.stride
        radius = self.pos_dist_thresh / s
        b, m, k = xs.shape
        # the centre's cell position from its truncated pixel position (dekr_targets.py:106-110)
        cx = (np.trunc(points[:, :, -1, 0]) - s / 2) / s  # (B, M)
        cy = (np.trunc(points[:, :, -1, 1]) - s / 2) / s
        # cells [max(int(c - R), 0), min(int(c + R), W)); python's int() truncates towards 0
        size = int(np.floor(2 * radius)) + 2
        col, in_x = _window(np.trunc(cx - radius), np.trunc(cx + radius), size, width)
        row, in_y = _window(np.trunc(cy - radius), np.trunc(cy + radius), size, height)
        offsets = np.zeros((b, k, 2, height, width), np.float32)
        weights = np.zeros((b, k, 2, height, width), np.float32)
        area_map = np.zeros((b, height, width), np.float32)
        inv_sqrt = np.zeros(area.shape, np.float32)  # (B, M); padding instances draw nothing
        np.divide(1.0, np.sqrt(area, dtype=np.float32), out=inv_sqrt, where=area > 0)
        bi = np.broadcast_to(np.arange(b)[:, None, None], (b, size, size))
        for n in range(m):
            r = np.broadcast_to(row[:, n, :, None], (b, size, size))
            c = np.broadcast_to(col[:, n, None, :], (b, size, size))
            region = in_y[:, n, :, None] & in_x[:, n, None, :]  # (B, size, size)
            mine = area[:, n, None, None]
            for kp in range(k):
                on = region & drawn[:, n, kp, None, None]
                if not on.any():
                    continue
                sel = np.nonzero(on)
                at = (bi[sel], r[sel], c[sel])  # (sample, row, column) of each written cell
                old = offsets[at[0], kp, :, at[1], at[2]]  # (P, 2)
                taken = (old != 0).any(axis=1)
                write = ~(taken & (area_map[at] < mine[sel[0], 0, 0]))
                at = tuple(a[write] for a in at)
                offsets[at[0], kp, 0, at[1], at[2]] = (at[2] - xs[at[0], n, kp]).astype(
                    np.float32)
                offsets[at[0], kp, 1, at[1], at[2]] = (at[1] - ys[at[0], n, kp]).astype(
                    np.float32)
                weights[at[0], kp, :, at[1], at[2]] = inv_sqrt[at[0], n, None]
                area_map[at] = area[at[0], n]
        return (offsets.reshape(b, 2 * k, height, width),
                weights.reshape(b, 2 * k, height, width))


def _max_pool5(maps: torch.Tensor) -> torch.Tensor:
    """``MaxPool2d(5, stride=1, padding=2)`` over the last two axes, as two separable running
    maxima (the same values; torch's CPU pooling with a 5 × 5 window is much slower)."""
    out = maps
    for axis in (-1, -2):
        pad = [0, 0, 0, 0]
        pad[0 if axis == -1 else 2: (0 if axis == -1 else 2) + 2] = [2, 2]
        padded = F.pad(out, pad, value=float('-inf'))
        n = out.shape[axis]
        out = padded.narrow(axis, 0, n)
        for i in range(1, 5):
            out = torch.maximum(out, padded.narrow(axis, i, n))
    return out


def _window(start: np.ndarray, stop: np.ndarray, size: int, limit: int
            ) -> Tuple[np.ndarray, np.ndarray]:
    """Cells ``start + [0, size)`` (..., size) int64, clipped into ``[0, limit)``, and the
    mask of those inside ``[max(start, 0), min(stop, limit))`` (each window spans at most
    ``size`` cells)."""
    cells = start[..., None].astype(np.int64) + np.arange(size)
    inside = (cells >= 0) & (cells < np.minimum(stop, limit)[..., None])
    return np.clip(cells, 0, limit - 1), inside


@KEYPOINT_CODECS.register_module()
class DEKRPredictor(StridedPredictor):
    """DeepLabCut's ``DEKRPredictor`` (``predictors/dekr_predictor.py``): up to ``num_animals``
    poses per image from the centre heatmap and the offsets.

    Args (DeepLabCut's, with its defaults, ``dekr_predictor.py:71-82``):
        num_animals: poses per image (the top centre peaks).
        detection_threshold: kept for DeepLabCut's configs; DeepLabCut 3.0.2 does not use it.
        apply_sigmoid: sigmoid on the heatmaps first (DeepLabCut's DEKR configs: false).
        clip_scores: clip keypoint scores to [0, 1].
        use_heatmap: move a regressed keypoint onto the nearest peak of its heatmap when it is
            closer than ``max_absorb_distance`` (cells).
        keypoint_score_type: ``heatmap`` (the keypoint heatmap at the keypoint), ``center`` (the
            centre peak's score) or ``combined`` (their product).
        max_absorb_distance: see ``use_heatmap``.
        nms_threshold: pose NMS: pose j (of lower centre score) is dropped when, for an earlier
            pose i, at least one keypoint is closer than ``nms_threshold · sqrt(w_j² + h_j²)``
            pixels (``w_j``, ``h_j`` the extent of pose j) (``dekr_predictor.py:365-423``).
        apply_pose_nms: apply it.
    posecfg's:
        stride: model stride (set by the head when None).

    Steps (``forward``, ``dekr_predictor.py:112-171``): peaks of the centre map (equal to their
    5 × 5 max-pool) → top ``num_animals`` by value; the pose at a peak cell is ``cell - offset``
    per keypoint; scores; pixels ``cell · s + s/2``; clip; NMS. Kept poses come first, **in
    reverse order** of their centre score (DeepLabCut's sort key), dropped ones are -1.

    :meth:`predict` → ``poses`` (B, A, K, 3) (x, y pixels, score) and ``kept`` (B, A) bool;
    ``decode(outputs)`` → keypoints (B, A, K, 2) float32 input pixels and scores (B, A, K)
    (dropped poses: -1, as DeepLabCut).
    """

    output_keys = ('heatmaps', 'offset_maps')
    example_args = dict(num_animals=1, apply_sigmoid=False, use_heatmap=False, stride=4)
    example_round_trip = _round_trip()

    def __init__(self, num_animals: int, detection_threshold: float = 0.01,
                 apply_sigmoid: bool = True, clip_scores: bool = False,
                 use_heatmap: bool = True, keypoint_score_type: str = 'combined',
                 max_absorb_distance: float = 75, nms_threshold: float = 0.05,
                 apply_pose_nms: bool = True, stride: Optional[float] = None):
        super().__init__()
        owner = type(self).__name__
        self.num_animals = _int(num_animals, 'num_animals', owner)
        self.detection_threshold = float(detection_threshold)
        self.apply_sigmoid = bool(apply_sigmoid)
        self.clip_scores = bool(clip_scores)
        self.use_heatmap = bool(use_heatmap)
        if keypoint_score_type not in KEYPOINT_SCORE_TYPES:
            raise ValueError(f'{owner}: keypoint_score_type must be one of '
                             f'{", ".join(KEYPOINT_SCORE_TYPES)}, got {keypoint_score_type!r}')
        self.keypoint_score_type = keypoint_score_type
        self.max_absorb_distance = float(max_absorb_distance)
        self.nms_threshold = float(nms_threshold)
        self.apply_pose_nms = bool(apply_pose_nms)
        self.stride = None if stride is None else _positive(stride, 'stride', owner)

    @staticmethod
    def _peaks(maps: torch.Tensor) -> torch.Tensor:
        """``maps`` (..., H, W) with every cell that is not its 5 × 5 neighbourhood's maximum
        set to 0 (DeepLabCut's ``max_pool`` uses ``MaxPool2d(5, 1, 2)``)."""
        return maps * (_max_pool5(maps) == maps)

    def predict(self, outputs) -> dict:
        """``dict(heatmap=(B, K + 1, H, W), offset=(B, 2K, H, W))`` → ``poses`` (B, A, K, 3)
        float32 torch (input pixels, scores) and ``kept`` (B, A) bool."""
        self.require_stride()
        heatmaps = torch.as_tensor(outputs['heatmap']).detach().float()
        offsets = torch.as_tensor(outputs['offset']).detach().float().to(heatmaps.device)
        if heatmaps.dim() != 4 or offsets.dim() != 4:
            raise ValueError('DEKRPredictor.decode: heatmap and offset must be (B, C, H, W)')
        b, j, h, w = heatmaps.shape
        k = j - 1
        if tuple(offsets.shape) != (b, 2 * k, h, w):
            raise ValueError(f'DEKRPredictor.decode: offset must be (B, 2K, H, W) = '
                             f'{(b, 2 * k, h, w)} for heatmaps {tuple(heatmaps.shape)} (K '
                             f'keypoints + the centre), got {tuple(offsets.shape)}')
        if self.apply_sigmoid:
            heatmaps = torch.sigmoid(heatmaps)
        a = min(self.num_animals, h * w)
        centres = self._peaks(heatmaps[:, -1])
        ctr_scores, index = centres.reshape(b, h * w).topk(a, dim=1)  # (B, A)
        # pose at cell (x, y): (x, y) - offset, per keypoint, in cells
        off = offsets.reshape(b, k, 2, h * w)
        gathered = off.gather(3, index[:, None, None, :].expand(b, k, 2, a))  # (B, K, 2, A)
        cell = torch.stack([index % w, torch.div(index, w, rounding_mode='floor')], 1)
        poses = (cell[:, None].float() - gathered).permute(0, 3, 1, 2)  # (B, A, K, 2)
        keypoint_maps = heatmaps[:, :-1]
        if self.use_heatmap:
            # DeepLabCut suppresses non-peaks of the keypoint maps in place (a view of the
            # heatmaps), so its heatmap scores below read the suppressed maps
            keypoint_maps = self._peaks(keypoint_maps)
            poses = self._absorb(poses, keypoint_maps, a)
        if self.keypoint_score_type == 'center':
            scores = ctr_scores[..., None].expand(b, a, k)
        else:
            x = poses[..., 0].floor().clamp(0, w - 1).long()
            y = poses[..., 1].floor().clamp(0, h - 1).long()
            heat = keypoint_maps.reshape(b, k, h * w).gather(
                2, (y * w + x).transpose(1, 2)).transpose(1, 2)  # (B, A, K)
            scores = heat if self.keypoint_score_type == 'heatmap' else ctr_scores[..., None] * heat
        poses = poses * self.stride + 0.5 * self.stride
        if self.clip_scores:
            scores = scores.clamp(0, 1)
        result = torch.cat([poses, scores[..., None]], dim=3)
        kept = torch.ones(b, a, dtype=torch.bool, device=result.device)
        if self.apply_pose_nms:
            result, kept = self.pose_nms(result)
        return dict(poses=result, kept=kept)

    def _absorb(self, poses: torch.Tensor, keypoint_maps: torch.Tensor, a: int) -> torch.Tensor:
        """``use_heatmap``: each keypoint moves to the nearest of its map's top-``a`` peaks
        when closer than ``max_absorb_distance`` cells (``dekr_predictor.py:290-338``)."""
        b, k, h, w = keypoint_maps.shape
        _, ind = keypoint_maps.reshape(b, k, h * w).topk(a, dim=2)  # (B, K, A')
        peaks = torch.stack([ind % w, torch.div(ind, w, rounding_mode='floor')], 3).float()
        dist = torch.linalg.vector_norm(poses[:, :, :, None] - peaks[:, None], dim=-1)
        nearest = dist.argmin(dim=-1)  # (B, A, K)
        close = dist.gather(3, nearest[..., None])[..., 0] < self.max_absorb_distance
        chosen = peaks[torch.arange(b, device=poses.device)[:, None, None],
                       torch.arange(k, device=poses.device)[None, None], nearest]
        return torch.where(close[..., None], chosen, poses)

    def pose_nms(self, poses: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(B, A, K, 3) poses sorted by centre score → (reordered poses with dropped ones -1,
        kept (B, A) bool of the reordered rows), DeepLabCut's rule (class docstring)."""
        b, a, k, _ = poses.shape
        if a == 0:
            return poses, torch.zeros(b, 0, dtype=torch.bool, device=poses.device)
        xy = poses[..., :2]
        extent = xy.amax(dim=2) - xy.amin(dim=2)  # (B, A, 2)
        area = (extent ** 2).sum(-1).clamp(min=1)  # (B, A): w² + h²
        dist = torch.linalg.vector_norm(xy[:, :, None] - xy[:, None], dim=-1)  # (B, A, A, K)
        close = (dist < self.nms_threshold * area.sqrt()[:, None, :, None]).sum(-1)
        pairs = (close > self.nms_threshold) & torch.ones(
            a, a, dtype=torch.bool, device=poses.device).triu(1)
        kept = ~pairs.any(dim=1)  # pose j dropped by any earlier pose i
        order = torch.arange(a, device=poses.device).float()
        sort_keys = kept.float() + (order + 1) / (a + 1)
        sort_index = sort_keys.argsort(dim=1, descending=True)
        poses = torch.where(kept[..., None, None], poses, torch.full_like(poses, -1.0))
        rows = torch.arange(b, device=poses.device)[:, None]
        return poses[rows, sort_index], kept[rows, sort_index]

    def decode(self, outputs) -> Tuple[np.ndarray, np.ndarray]:
        if not isinstance(outputs, dict):
            raise ValueError('DEKRPredictor.decode: outputs must be dict(heatmap=..., '
                             'offset=...)')
        poses = to_numpy(self.predict(outputs)['poses'])
        return poses[..., :2].copy(), poses[..., 2].copy()


@KEYPOINT_CODECS.register_module()
class IdentityPredictor(StridedPredictor):
    """DeepLabCut's ``IdentityPredictor`` (``predictors/identity_predictor.py``): the identity
    head's maps (one per individual) resized to the model input and squashed.

    Args:
        apply_sigmoid: sigmoid after resizing (DeepLabCut's default and config: true).
        stride: model stride (set by the head when None).

    :meth:`identity_maps`: ``(B, I, H, W)`` logits → ``(B, int(H·s), int(W·s), I)`` float32
    (bilinear, antialiased resize as torchvision's ``F.resize``, then the sigmoid), what
    DeepLabCut's postprocessor samples at each predicted keypoint (:func:`identity_scores`).
    ``decode`` (the codec contract): each identity map's arg-max, (B, 1, I, 2) input pixels,
    and its value (B, 1, I) — where each individual is seen most confidently.
    """

    example_args = dict(apply_sigmoid=False, stride=8)
    #: the round trip reads back the peak of each map (Gaussian targets here; DeepLabCut trains
    #: identity maps on plateaus, INDIVIDUAL mode)
    example_round_trip = dict(
        encoder=dict(type='HeatmapGaussianGenerator', num_heatmaps=3, pos_dist_thresh=17,
                     stride=8, heatmap_size=(6, 8)),
        decoder=dict(type='IdentityPredictor', apply_sigmoid=False, stride=8),
        outputs=dict(heatmap='heatmaps'), input_size=(48, 64))
    #: the head's location-refinement check reads this
    location_refinement = False

    def __init__(self, apply_sigmoid: bool = True, stride: Optional[float] = None):
        super().__init__()
        self.apply_sigmoid = bool(apply_sigmoid)
        self.stride = None if stride is None else _positive(stride, 'stride',
                                                            'IdentityPredictor')

    def identity_maps(self, outputs) -> torch.Tensor:
        """Head outputs → (B, h_in, w_in, I) float32 torch maps (class docstring)."""
        self.require_stride()
        maps = outputs['heatmap'] if isinstance(outputs, dict) else outputs
        maps = torch.as_tensor(maps).detach().float()
        h, w = maps.shape[-2:]
        size = [int(h * self.stride), int(w * self.stride)]
        maps = F.interpolate(maps, size=size, mode='bilinear', align_corners=False,
                             antialias=True)
        if self.apply_sigmoid:
            maps = torch.sigmoid(maps)
        return maps.permute(0, 2, 3, 1)

    def decode(self, outputs) -> Tuple[np.ndarray, np.ndarray]:
        maps = self.identity_maps(outputs)
        b, h, w, i = maps.shape
        scores, index = maps.reshape(b, h * w, i).max(dim=1)  # first maximum per identity
        xy = torch.stack([index % w, torch.div(index, w, rounding_mode='floor')], -1)
        return to_numpy(xy)[:, None], to_numpy(scores)[:, None]


def identity_scores(maps, keypoints: np.ndarray) -> np.ndarray:
    """DeepLabCut's ``PredictKeypointIdentities`` (``data/postprocessor.py:474-525``): maps
    (h, w, I) (:meth:`IdentityPredictor.identity_maps` of one image) and keypoints (N, K, 2)
    input pixels → (N, K, I) float32, the maps at each keypoint's rounded pixel (``np.rint``,
    clipped to the map); 0 for non-finite keypoints."""
    maps = to_numpy(maps)
    h, w, i = maps.shape
    keypoints = np.asarray(keypoints, np.float64).reshape(-1, np.shape(keypoints)[-2], 2)
    valid = np.isfinite(keypoints).all(axis=-1)
    pix = np.rint(np.where(valid[..., None], keypoints, 0)).astype(np.int64)
    xs, ys = np.clip(pix[..., 0], 0, w - 1), np.clip(pix[..., 1], 0, h - 1)
    return np.where(valid[..., None], maps[ys, xs], 0).astype(np.float32)


def assign_identities(keypoint_scores: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """DeepLabCut's ``assign_identity`` (``post_processing/identity.py``): poses' keypoint
    scores (N, K) and identity scores (N, K, I) → (N,) int64 identity of each pose, the
    assignment maximising ``mean_k(score · identity score)`` (``linear_sum_assignment``); -1
    for poses left without an identity (more poses than identities)."""
    from scipy.optimize import linear_sum_assignment
    n = len(scores)
    out = -np.ones(n, np.int64)
    if n == 0 or scores.shape[-1] == 0:
        return out
    cost = np.mean(np.asarray(keypoint_scores)[..., None] * scores, axis=1)  # (N, I)
    rows, cols = linear_sum_assignment(cost, maximize=True)
    out[rows] = cols
    return out
