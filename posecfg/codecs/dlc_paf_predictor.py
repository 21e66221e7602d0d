"""DeepLabCut 3's ``PartAffinityFieldPredictor``: peaks, PAF affinities, individuals.

DeepLabCut 3.0.2 ``models/predictors/paf_predictor.py`` (identical in 3.0.1), per batch of
``heatmap`` (B, K, H, W), ``locref`` (B, 2K, H, W) and ``paf`` (B, 2L, H, W):

1. ``apply_sigmoid``: heatmaps → sigmoid; then smoothed by a (2r+1)² Gaussian kernel
   (``r = nms_radius``; 1-D weights ``softmax(-d² / (2 sigma²))`` over ``d = -r..r``, outer
   product; zero padding, lines 144-146, 253-256);
2. peaks (lines 247-251): cells equal to the max-pool of kernel ``r`` (stride 1, padding
   ``r // 2``) of the smoothed map and ``>= 0.01``, in (batch, keypoint, row, column) order;
3. position (lines 258-268): ``(x, y) = s·(col, row) + floor(s/2) + locref·locref_stdev``
   (``s`` the model stride; channel 2k the x offset of keypoint k); confidence: the smoothed
   heatmap at the peak;
4. affinity of every pair of peaks (a, b) of a kept edge (``edges_to_keep``) in one image
   (lines 270-441): 10 points ``p_t = a + t (b - a)`` (t = linspace(0, 1, 10), in cells,
   truncated to integers, clipped to the map) and the PAF ``F`` of the edge there;
   ``I = (trapz(F_x, p_x), trapz(F_y, p_y))``, affinity ``|I| / (|b - a| + eps32)``, both
   affinity and length rounded to 3 decimals;
5. individuals: :class:`~posecfg.codecs.paf_assembly.PAFAssembler` (DeepLabCut's
   ``Assembler``) per image; output ``poses`` (B, num_animals, K, 5): x, y, confidence,
   identity group (-1), the individual's mean affinity; -1 everywhere for individuals not
   found; a keypoint an individual lacks has NaN coordinates and group, confidence 0;
   ``clip_scores`` clips the confidences.

Steps 1-4 run in torch over the whole batch (the pairs of every edge and image at once);
DeepLabCut's per-image Python assembly is replaced by a lighter one with the same rules.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from ..registry import KEYPOINT_CODECS
from .base import BaseKeypointCodec
from .dlc_heatmap import _positive, with_stride
from .dlc_paf import _example_round_trip, check_graph
from .paf_assembly import PAFAssembler

#: DeepLabCut's peak threshold on the smoothed heatmaps (paf_predictor.py:164)
PEAK_THRESHOLD = 0.01
#: points sampled along a candidate limb, decimals of affinities (paf_predictor.py:280-281)
N_POINTS, N_DECIMALS = 10, 3


@KEYPOINT_CODECS.register_module()
class PartAffinityFieldPredictor(BaseKeypointCodec):
    """DeepLabCut's ``PartAffinityFieldPredictor`` (see the module).

    Args (DeepLabCut's, with the defaults of its ``default_init`` and config):
        num_animals: individuals per image at most (DeepLabCut's ``num_individuals``).
        num_multibodyparts: keypoints of an individual (heatmap channels before unique ones).
        num_uniquebodyparts: unique keypoints after them in the heatmaps (0 for DLCRNetHead,
            whose unique bodyparts have their own head).
        graph: the PAF edges ``[[a, b], ...]`` (the head's ``paf_graph``).
        edges_to_keep: indices into ``graph`` used to assemble (``paf_edges_to_keep``);
            None: all.
        locref_stdev: locref outputs are multiplied by this (pixels).
        nms_radius: peak suppression radius in cells (odd: DeepLabCut's max-pool keeps the
            map size only then).
        sigma: std of the smoothing Gaussian in cells.
        min_affinity: least affinity of a link.
        add_discarded: give unassembled peaks to the nearest individual lacking them.
        apply_sigmoid: heatmaps are logits (DLCRNetHead: true).
        clip_scores: clip confidences to [0, 1].
        force_fusion: merge surplus individuals into the nearest instead of along links.
        return_preds: compute every pair's affinity for the ``preds`` of
            :meth:`predict_poses` (otherwise, with the optimal pairing, only the pairs it can
            link: the others' ``m1`` are NaN; the poses are the same).
    DeepLabCut's ``Assembler`` defaults it does not expose (posecfg's, same defaults):
        pcutoff: peaks below are not linked (0.1), min_n_links: fewest links of an individual
        (2), max_overlap: pose NMS threshold (0.8), greedy: greedy instead of optimal pairing.
    posecfg's:
        stride: model stride, input pixels per cell (set by the head when None).

    ``decode(outputs)`` → keypoints (B, num_animals, K, 2) float32 input pixels and scores
    (B, num_animals, K): NaN coordinates where an individual lacks a keypoint (score 0, as
    DeepLabCut), NaN coordinates and scores for individuals not found;
    :meth:`predict_poses` gives DeepLabCut's ``poses`` array.
    """

    example_args = dict(num_animals=2, num_multibodyparts=3, num_uniquebodyparts=0,
                        graph=[[0, 1], [1, 2]], edges_to_keep=[0, 1], stride=8)
    example_round_trip = _example_round_trip()
    output_keys = ('heatmaps', 'locref_maps', 'paf_maps')

    def __init__(self, num_animals: int, num_multibodyparts: int, num_uniquebodyparts: int = 0,
                 graph: Sequence[Sequence[int]] = (), edges_to_keep: Optional[Sequence[int]] = None,
                 locref_stdev: float = 7.2801, nms_radius: int = 5, sigma: float = 1.0,
                 min_affinity: float = 0.05, add_discarded: bool = False,
                 apply_sigmoid: bool = True, clip_scores: bool = False,
                 force_fusion: bool = False, return_preds: bool = False, pcutoff: float = 0.1,
                 min_n_links: int = 2, max_overlap: float = 0.8, greedy: bool = False,
                 stride: Optional[float] = None):
        super().__init__()
        owner = type(self).__name__
        for name, value, least in (('num_animals', num_animals, 1),
                                   ('num_multibodyparts', num_multibodyparts, 1),
                                   ('num_uniquebodyparts', num_uniquebodyparts, 0),
                                   ('nms_radius', nms_radius, 1), ('min_n_links', min_n_links, 0)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                    or value < least:
                raise ValueError(f'{owner}: {name} must be an integer >= {least}, got {value!r}')
        if nms_radius % 2 == 0:
            raise ValueError(f'{owner}: nms_radius={nms_radius} must be odd (DeepLabCut max-pools '
                             f'with kernel nms_radius and padding nms_radius // 2, which only '
                             f'keeps the map size for odd kernels)')
        self.num_animals = int(num_animals)
        self.num_multibodyparts = int(num_multibodyparts)
        self.num_uniquebodyparts = int(num_uniquebodyparts)
        self.graph = check_graph(graph, owner, self.num_multibodyparts)
        if edges_to_keep is None:
            edges_to_keep = range(len(self.graph))
        self.edges_to_keep = [int(e) for e in edges_to_keep]
        bad = [e for e in self.edges_to_keep if not 0 <= e < len(self.graph)]
        if bad:
            raise ValueError(f'{owner}: edges_to_keep {bad} are not indices of the '
                             f'{len(self.graph)} graph edges')
        self.locref_stdev = _positive(locref_stdev, 'locref_stdev', owner)
        self.nms_radius = int(nms_radius)
        self.sigma = _positive(sigma, 'sigma', owner)
        self.min_affinity = float(min_affinity)
        self.apply_sigmoid = bool(apply_sigmoid)
        self.clip_scores = bool(clip_scores)
        self.return_preds = bool(return_preds)
        self.stride = None if stride is None else _positive(stride, 'stride', owner)
        self.assembler = PAFAssembler(
            self.num_animals, self.num_multibodyparts, self.num_uniquebodyparts, self.graph,
            self.edges_to_keep, greedy=greedy, pcutoff=pcutoff, min_affinity=min_affinity,
            min_n_links=min_n_links, max_overlap=max_overlap, force_fusion=force_fusion,
            add_discarded=add_discarded)

    def at(self, stride: float) -> 'PartAffinityFieldPredictor':
        """This predictor at model ``stride`` (a copy)."""
        return with_stride(self, stride)

    # ------------------------------------------------------------------ decoding
    def decode(self, outputs) -> Tuple[np.ndarray, np.ndarray]:
        result = self.predict_poses(outputs)
        poses = result['poses']
        absent = np.broadcast_to(~result['found'][..., None], poses.shape[:3])
        keypoints = poses[..., :2].copy()
        scores = poses[..., 2].copy()
        keypoints[absent] = np.nan
        scores[absent] = np.nan
        return keypoints.astype(np.float32), scores.astype(np.float32)

    def predict_poses(self, outputs) -> dict:
        """See :meth:`_predict_poses`; always in float32: under a bfloat16 autocast (posecfg's
        default on CPUs with native bf16) the smoothing convolution would round the plateaus
        into other peaks and ``.numpy()`` rejects bfloat16."""
        with torch.autocast(device_type='cpu', enabled=False):
            return self._predict_poses(outputs)

    def _predict_poses(self, outputs) -> dict:
        """``dict(heatmap, locref, paf)`` → ``poses`` (B, num_animals, K, 5) float32 (see the
        module), ``found`` (B, num_animals) bool (the individuals assembled), ``unique``
        (B, 1, U, 4) and ``preds`` (per image: ``coordinates``,
        ``confidence``, ``costs`` as DeepLabCut's ``return_preds``)."""
        owner = type(self).__name__
        if self.stride is None:
            raise ValueError(f'{owner}: stride is not set; the head sets it (predictor.at(s))')
        heatmaps, locref, pafs = self._check(outputs)
        b, k, h, w = heatmaps.shape
        if self.apply_sigmoid:
            heatmaps = torch.sigmoid(heatmaps)
        heatmaps = smooth_heatmaps(heatmaps, self.sigma, self.nms_radius)
        peaks = find_peaks(heatmaps, self.nms_radius, PEAK_THRESHOLD)  # (P, 4) long
        poses = np.full((b, self.num_animals, self.num_multibodyparts, 5), -1, np.float32)
        unique = np.full((b, 1, self.num_uniquebodyparts, 4), -1, np.float32)
        found = np.zeros((b, self.num_animals), bool)
        if not len(peaks):
            return dict(poses=poses, found=found, unique=unique, preds=[dict(coordinates=([],), costs={})
                                                           for _ in range(b)])
        bi, ki, ri, ci = peaks.unbind(1)
        offsets = locref.reshape(b, k, 2, h, w)[bi, ki, :, ri, ci] * self.locref_stdev
        grid = torch.stack([ci, ri], 1).float() * self.stride
        xy = (grid + float(self.stride // 2) + offsets).numpy()
        conf = heatmaps[bi, ki, ri, ci].numpy()
        # the optimal pairing only reads the pairs of each keypoint's num_animals most
        # confident peaks: integrate only those unless all costs are asked for
        candidates = None
        if not (self.assembler.greedy or self.return_preds):
            candidates = linked_candidates(peaks, heatmaps[bi, ki, ri, ci], self.num_animals,
                                           self.assembler.pcutoff)
        costs = edge_costs(pafs.reshape(b, -1, 2, h, w), peaks,
                           [self.graph[e] for e in self.edges_to_keep], self.edges_to_keep,
                           candidates)
        peaks_np = peaks.numpy()
        preds = []
        for i in range(b):
            in_image = peaks_np[:, 0] == i
            coords, confs = [], []
            for label in range(k):
                sel = np.flatnonzero(in_image & (peaks_np[:, 1] == label))
                coords.append(xy[sel])
                confs.append(conf[sel][:, None])
            preds.append(dict(coordinates=(coords,), confidence=confs, costs=costs[i]))
            assemblies, found_unique = self.assembler.assemble(coords, confs, costs[i])
            for j, assembly in enumerate(assemblies or []):
                poses[i, j, :, :4] = assembly.data
                poses[i, j, :, 4] = assembly.affinity
                found[i, j] = True
            if found_unique is not None:
                unique[i, 0, :, :3] = found_unique
                unique[i, 0, :, 3] = -1
        if self.clip_scores:
            poses[..., 2] = np.clip(poses[..., 2], 0, 1)
        return dict(poses=poses, found=found, unique=unique, preds=preds)

    def _check(self, outputs) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        owner = type(self).__name__
        if not isinstance(outputs, dict) or not {'heatmap', 'locref', 'paf'} <= set(outputs):
            raise ValueError(f'{owner}.decode needs dict(heatmap=(B, K, H, W), locref=(B, 2K, '
                             f'H, W), paf=(B, 2L, H, W)), got '
                             f'{sorted(outputs) if isinstance(outputs, dict) else type(outputs)}')
        heatmaps, locref, pafs = (torch.as_tensor(outputs[n]).detach().float().cpu()
                                  for n in ('heatmap', 'locref', 'paf'))
        if heatmaps.dim() != 4:
            raise ValueError(f'{owner}: heatmap must be (B, K, H, W), got '
                             f'{tuple(heatmaps.shape)}')
        b, k, h, w = heatmaps.shape
        expected = self.num_multibodyparts + self.num_uniquebodyparts
        if k != expected:
            raise ValueError(f'{owner}: heatmap has {k} channels but num_multibodyparts + '
                             f'num_uniquebodyparts = {expected}')
        if tuple(locref.shape) != (b, 2 * k, h, w):
            raise ValueError(f'{owner}: locref must be (B, 2K, H, W) = {(b, 2 * k, h, w)}, got '
                             f'{tuple(locref.shape)}')
        if tuple(pafs.shape) != (b, 2 * len(self.graph), h, w):
            raise ValueError(f'{owner}: paf must be (B, 2 × len(graph), H, W) = '
                             f'{(b, 2 * len(self.graph), h, w)}, got {tuple(pafs.shape)}')
        return heatmaps, locref, pafs


def gaussian_kernel(sigma: float, size: int) -> torch.Tensor:
    """DeepLabCut's ``make_2d_gaussian_kernel``: softmax-normalised 1-D weights, outer product."""
    d = torch.arange(-size // 2 + 1, size // 2 + 1, dtype=torch.float32) ** 2
    k = F.softmax(-d / (2 * sigma ** 2), dim=0)
    return torch.outer(k, k)


def smooth_heatmaps(heatmaps: torch.Tensor, sigma: float, radius: int) -> torch.Tensor:
    """(B, K, H, W) → the same convolved with :func:`gaussian_kernel` (2r+1)², zero padding."""
    # DeepLabCut's very call: plateau targets make flat maxima, and a separable convolution's
    # different rounding (~3e-8) changes which cells of a plateau are peaks
    k = heatmaps.shape[1]
    kernel = gaussian_kernel(sigma, 2 * radius + 1)[None, None].repeat(k, 1, 1, 1)
    return F.conv2d(heatmaps, kernel.to(heatmaps), stride=1, padding='same', groups=k)


def find_peaks(heatmaps: torch.Tensor, radius: int, threshold: float) -> torch.Tensor:
    """Cells equal to their ``radius``-window max and ``>= threshold`` → (P, 4) long (batch,
    keypoint, row, column), in that lexicographic order."""
    pooled = F.max_pool2d(heatmaps, kernel_size=radius, stride=1, padding=radius // 2)
    maxima = heatmaps * (heatmaps == pooled).float()
    return torch.nonzero(maxima >= threshold)


def edge_costs(pafs: torch.Tensor, peaks: torch.Tensor, graph: Sequence[Tuple[int, int]],
               edge_inds: Sequence[int], candidates: Optional[torch.Tensor] = None
               ) -> List[Dict[int, Dict[str, np.ndarray]]]:
    """PAF line integrals of every candidate pair.

    Args:
        pafs: (B, L, 2, H, W) (x, y components per graph edge).
        peaks: (P, 4) (batch, keypoint, row, column), sorted (as ``torch.nonzero`` gives them).
        graph: the kept edges (a, b); ``edge_inds``: their indices in the full graph (PAF
            channel and key of the result).
        candidates: (P,) bool or None: integrate only pairs of these peaks (the others' ``m1``
            and ``distance`` are NaN); None: every pair, as DeepLabCut.

    Returns per image ``{edge index: {'m1': (n_a, n_b) affinity, 'distance': (n_a, n_b)
    length in cells}}``, rows and columns in peak order, for edges with peaks at both ends.
    """
    if candidates is not None:
        return _candidate_edge_costs(pafs, peaks, graph, edge_inds, candidates)
    b, _, _, h, w = pafs.shape
    costs: List[Dict[int, Dict[str, np.ndarray]]] = [{} for _ in range(b)]
    if not len(graph) or not len(peaks):
        return costs
    k, counts, starts = _peak_runs(peaks, graph, b)
    src = torch.tensor([e[0] for e in graph])
    dst = torch.tensor([e[1] for e in graph])
    # groups (image, edge) in that order, each the n_a × n_b pairs of its peaks, source-major
    # (DeepLabCut's order after its lexsort by image then edge)
    n_s, n_t = counts[:, src].flatten(), counts[:, dst].flatten()  # (B·E,)
    s0, t0 = starts[:, src].flatten(), starts[:, dst].flatten()
    sizes = n_s * n_t
    total = int(sizes.sum())
    if not total:
        return costs
    group = torch.repeat_interleave(torch.arange(len(sizes)), sizes)
    local = torch.arange(total) - torch.repeat_interleave(torch.cumsum(sizes, 0) - sizes, sizes)
    s = s0[group] + torch.div(local, n_t[group], rounding_mode='floor')
    t = t0[group] + local % n_t[group]
    del local
    rc = peaks[:, 2:].float()  # (P, 2) row, column
    eps = float(np.spacing(np.float32(1)))
    scale = 10 ** N_DECIMALS
    vec = rc[t] - rc[s]
    lengths = torch.linalg.vector_norm(vec, dim=1) + eps
    channel = torch.tensor(list(edge_inds))[group % len(graph)]
    steps = torch.linspace(0, 1, N_POINTS)[None, :, None]
    points = (rc[s][:, None] + steps * vec[:, None]).to(torch.int32)  # (Q, n, 2) row, col
    points[..., 0].clamp_(0, h - 1)
    points[..., 1].clamp_(0, w - 1)
    points = points.long()
    sampled = pafs[peaks[s, 0][:, None], channel[:, None], :, points[..., 0], points[..., 1]]
    integral = torch.trapezoid(sampled, points.flip(-1).float(), dim=1)  # (Q, 2)
    affinity = torch.round(torch.linalg.vector_norm(integral, dim=1) / lengths * scale) / scale
    lengths = torch.round(lengths * scale) / scale
    affinity, lengths = affinity.numpy(), lengths.numpy()
    bounds = np.cumsum(np.r_[0, sizes.numpy()])
    n_s, n_t = n_s.tolist(), n_t.tolist()
    for g in np.flatnonzero(sizes.numpy()).tolist():
        image, e = divmod(g, len(graph))
        lo, hi = bounds[g], bounds[g + 1]
        costs[image][int(edge_inds[e])] = dict(
            m1=affinity[lo:hi].reshape(n_s[g], n_t[g]),
            distance=lengths[lo:hi].reshape(n_s[g], n_t[g]))
    return costs


def _peak_runs(peaks: torch.Tensor, graph, b: int) -> Tuple[int, torch.Tensor, torch.Tensor]:
    """``(k, counts, starts)``: the keypoint count, and per (image, keypoint) (``(b, k)``
    each) how many peaks it has and where their run starts in ``peaks`` (sorted by image, then
    keypoint, as ``torch.nonzero`` gives them)."""
    k = max(int(peaks[:, 1].max()) + 1, 1 + max(max(e) for e in graph))
    counts = torch.bincount(peaks[:, 0] * k + peaks[:, 1], minlength=b * k).reshape(b, k)
    starts = (torch.cumsum(counts.flatten(), 0) - counts.flatten()).reshape(b, k)
    return k, counts, starts


def _candidate_edge_costs(pafs, peaks, graph, edge_inds, candidates):
    """:func:`edge_costs` of the pairs of ``candidates`` only, in the matrices of all peaks
    (the other pairs NaN): an untrained network's maps have hundreds of peaks per keypoint, and
    forming every pair of them cost more than the network (~10 ms per 256x256 image)."""
    chosen = candidates.nonzero()[:, 0]
    costs = edge_costs(pafs, peaks[chosen], graph, edge_inds)
    b = pafs.shape[0]
    full: List[Dict[int, Dict[str, np.ndarray]]] = [{} for _ in range(b)]
    if not len(graph) or not len(peaks):
        return full
    k, counts, starts = _peak_runs(peaks, graph, b)
    # each candidate's row/column in its (image, keypoint)'s run of all peaks
    run = peaks[chosen, 0] * k + peaks[chosen, 1]
    position = (chosen - starts.flatten()[run]).tolist()
    by_run: Dict[int, List[int]] = {}
    for r, pos in zip(run.tolist(), position):
        by_run.setdefault(r, []).append(pos)
    counts = counts.tolist()
    for image in range(b):
        for (a, c), e in zip(graph, edge_inds):
            n_a, n_c = counts[image][a], counts[image][c]
            if not (n_a and n_c):
                continue
            m1 = np.full((n_a, n_c), np.nan, np.float32)
            distance = np.full((n_a, n_c), np.nan, np.float32)
            part = costs[image].get(int(e))
            if part is not None:
                rows = by_run[image * k + a]
                cols = by_run[image * k + c]
                m1[np.ix_(rows, cols)] = part['m1']
                distance[np.ix_(rows, cols)] = part['distance']
            full[image][int(e)] = dict(m1=m1, distance=distance)
    return full


def linked_candidates(peaks: torch.Tensor, confidence: torch.Tensor, num_animals: int,
                      pcutoff: float) -> torch.Tensor:
    """(P,) bool: the peaks DeepLabCut's optimal pairing can link (``extract_best_links``):
    per image and keypoint the ``num_animals`` most confident (stable order on ties) that
    reach ``pcutoff``."""
    key = (peaks[:, 0] * (int(peaks[:, 1].max()) + 1) + peaks[:, 1]).numpy()
    conf = confidence.double().numpy()  # DeepLabCut compares Python floats
    order = np.lexsort((np.arange(len(key)), -conf, key))
    first = np.r_[0, np.flatnonzero(np.diff(key[order])) + 1]
    run_start = np.repeat(first, np.diff(np.r_[first, len(order)]))
    rank = np.empty(len(key), np.int64)
    rank[order] = np.arange(len(order)) - run_start
    return torch.from_numpy((rank < num_animals) & (conf >= pcutoff))
