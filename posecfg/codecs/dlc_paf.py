"""DeepLabCut 3's part-affinity-field targets and the generator that chains target generators.

DeepLabCut 3.0.2 ``models/target_generators/pafs_targets.py`` (``PartAffinityFieldGenerator``)
and ``target_generators/base.py:68-83`` (``SequentialGenerator``: the union of its generators'
target dicts, in order). A multi-animal ``DLCRNetHead`` gets ``SequentialGenerator`` of a
``HeatmapPlateauGenerator`` and a ``PartAffinityFieldGenerator`` (``config/base/
head_bodyparts_with_paf.yaml``).

PAF geometry (``pafs_targets.py:47-100``), per image, individual and graph edge ``l = (a, b)``
whose two keypoints are both visible (flag > 0) and distinct: with ``u = (b - a) / |b - a|``
and the cell centres ``(x, y) = (trunc(j·s + s/2), trunc(i·s + s/2))`` (DeepLabCut writes them
into ``np.mgrid``'s integer array, as its heatmap generators), a cell is on the limb when its
projection ``u·(x, y)`` lies between ``u·a`` and ``u·b`` and its distance across the limb
``|u × ((x, y) - a)| / width <= 1``; there channel ``2l`` holds ``u_x (1 - across)`` and
``2l + 1`` holds ``u_y (1 - across)``, 0 elsewhere. An individual drawn later overwrites an
earlier one where their limbs overlap (DeepLabCut's loop order: individuals in label order).
DeepLabCut returns no weights for the PAF target (its criterion then weighs every cell 1).

Vectorised over individuals, edges and the cells near each limb (DeepLabCut loops in Python
over batch, individuals and edges, each time over the whole map), one batch sample at a time.
"""
from __future__ import annotations

import copy
from typing import List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..registry import KEYPOINT_CODECS
from .base import BaseKeypointCodec
from .dlc_heatmap import DLC_LABEL_KEYS, DLCLabelGenerator, _positive


#: elements of the per-chunk (individuals, edges, H, W) arrays
CHUNK_ELEMENTS = 1 << 18


def check_graph(graph, owner: str, num_keypoints: Optional[int] = None) -> List[Tuple[int, int]]:
    """``graph`` as a list of (a, b) keypoint-index pairs, with errors naming ``owner``."""
    try:
        edges = [tuple(int(v) for v in edge) for edge in graph]
    except (TypeError, ValueError):
        raise ValueError(f'{owner}: graph must be a list of [a, b] keypoint index pairs, got '
                         f'{graph!r}') from None
    for edge, raw in zip(edges, graph):
        if len(edge) != 2 or min(edge) < 0 or any(isinstance(v, bool) for v in raw):
            raise ValueError(f'{owner}: graph edge {raw!r} is not a pair of keypoint indices')
        if num_keypoints is not None and max(edge) >= num_keypoints:
            raise ValueError(f'{owner}: graph edge {list(edge)} names keypoint {max(edge)} but '
                             f'there are {num_keypoints} keypoints')
    return edges


def _example_round_trip() -> dict:
    """Registry round trip: heatmap + PAF targets of one individual, read back by
    ``PartAffinityFieldPredictor`` (one animal: its best peak per keypoint)."""
    return dict(
        encoder=dict(type='SequentialGenerator', generators=[
            dict(type='HeatmapPlateauGenerator', num_heatmaps=3, pos_dist_thresh=17,
                 stride=8, heatmap_size=(6, 8)),
            dict(type='PartAffinityFieldGenerator', graph=[[0, 1], [1, 2]], width=20,
                 stride=8, heatmap_size=(6, 8))]),
        decoder=dict(type='PartAffinityFieldPredictor', num_animals=1, num_multibodyparts=3,
                     num_uniquebodyparts=0, graph=[[0, 1], [1, 2]], edges_to_keep=[0, 1],
                     apply_sigmoid=False, stride=8),
        outputs=dict(heatmap='heatmaps', locref='locref_maps', paf='paf_maps'),
        input_size=(48, 64))


@KEYPOINT_CODECS.register_module()
class PartAffinityFieldGenerator(DLCLabelGenerator):
    """DeepLabCut's ``PartAffinityFieldGenerator`` (see the module for the maps).

    Args (DeepLabCut's):
        graph: the edges, ``[[a, b], ...]`` keypoint indices (DeepLabCut's ``paf_graph``).
        width: half-width of a limb in input pixels (DeepLabCut's default config: 20).
        label_keypoint_key: which labels (``'keypoints'``).
    posecfg's:
        stride: model stride in input pixels per cell (set by the head when None).
        heatmap_size: (W, H) cells (set by the head when None).

    ``encode(keypoints (N, K, 2) input pixels, keypoints_visible (N, K))`` →
    ``paf_maps`` (2L, H, W) float32 (L = ``len(graph)``; channel 2l the x component, 2l + 1 the
    y component of edge l). :meth:`encode_batch` does B samples (lists of (N_b, K, ...)).
    """

    target_keys = ('paf_maps',)
    example_args = dict(graph=[[0, 1], [1, 2]], width=20)
    example_round_trip = _example_round_trip()

    def __init__(self, graph: Sequence[Sequence[int]], width: float,
                 label_keypoint_key: str = 'keypoints', stride: Optional[float] = None,
                 heatmap_size=None):
        super().__init__(None, heatmap_size)
        owner = type(self).__name__
        self.graph = check_graph(graph, owner)
        self.num_limbs = len(self.graph)
        self.width = _positive(width, 'width', owner)
        if label_keypoint_key not in DLC_LABEL_KEYS:
            raise ValueError(f'{owner}: label_keypoint_key must be one of '
                             f'{", ".join(DLC_LABEL_KEYS)}, got {label_keypoint_key!r}')
        self.label_keypoint_key = label_keypoint_key
        self.stride = None if stride is None else _positive(stride, 'stride', owner)

    def encode(self, keypoints, keypoints_visible=None, identities=None) -> dict:
        keypoints, visible = self.instances(type(self).__name__, keypoints, keypoints_visible)
        return {k: v[0] for k, v in self.encode_batch([keypoints], [visible]).items()}

    def encode_batch(self, keypoints: Sequence, keypoints_visible: Sequence,
                     identities: Optional[Sequence] = None) -> dict:
        owner = type(self).__name__
        if self.stride is None or self.heatmap_size is None:
            raise ValueError(f'{owner}: stride and heatmap_size are not set; the head sets them '
                             f'from its outputs (generator.at(stride, heatmap_size))')
        width, height = self.heatmap_size
        s = self.stride
        cx = np.trunc(np.arange(width) * s + s / 2)  # DeepLabCut's integer grid
        cy = np.trunc(np.arange(height) * s + s / 2)
        maps = np.zeros((len(keypoints), 2 * self.num_limbs, height, width), np.float32)
        if not self.num_limbs:
            return dict(paf_maps=maps)
        edges = np.asarray(self.graph)
        for i, (points, flags) in enumerate(zip(keypoints, keypoints_visible)):
            points, flags = self.instances(owner, points, flags)
            if points.shape[1] <= edges.max():
                raise ValueError(f'{owner}: graph names keypoint {int(edges.max())} but the '
                                 f'labels have {points.shape[1]} keypoints')
            if not len(points):  # an image without individuals keeps zero maps
                continue
            points = points.astype(np.float32).astype(np.float64)  # DeepLabCut's float32 labels
            # edges in chunks: the (N, edges, H, W) arrays stay near CHUNK_ELEMENTS
            step = max(1, CHUNK_ELEMENTS // (len(points) * height * width))
            for first in range(0, self.num_limbs, step):
                chunk = edges[first:first + step]
                maps[i, 2 * first:2 * (first + len(chunk))] = self._sample(points, flags, chunk,
                                                                          cx, cy)
        return dict(paf_maps=maps)

    def _sample(self, points: np.ndarray, flags: np.ndarray, edges: np.ndarray,
                cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
        """One image: points (N, K, 2), flags (N, K), edges (E, 2) → (2E, H, W).

        Only the cells of each limb's box (its segment's extent ± ``width`` pixels, which holds
        every cell within ``width`` of the segment) are evaluated, all limbs at once as one
        flat list of (individual, edge, cell) entries."""
        n_edges, height, width = len(edges), len(cy), len(cx)
        out = np.zeros((n_edges, 2, height, width))
        a, b = points[:, edges[:, 0]], points[:, edges[:, 1]]  # (N, E, 2)
        vec = b - a
        dist = np.sqrt(np.square(vec).sum(-1))  # (N, E)
        drawn = (flags[:, edges[:, 0]] > 0) & (flags[:, edges[:, 1]] > 0) & (dist > 0)
        ind, edge = np.nonzero(drawn)  # individual-major: DeepLabCut's drawing order
        if not len(ind):
            return out.reshape(-1, height, width).astype(np.float32)
        a, b, vec, dist = a[ind, edge], b[ind, edge], vec[ind, edge], dist[ind, edge]
        ux, uy = vec[:, 0] / dist, vec[:, 1] / dist
        along_a, along_b = ux * a[:, 0] + uy * a[:, 1], ux * b[:, 0] + uy * b[:, 1]
        low_along, high_along = np.minimum(along_a, along_b), np.maximum(along_a, along_b)
        ortho = a[:, 1] * ux - a[:, 0] * uy
        # each limb's box of cells (cell centres ascend, so search them)
        lo, hi = np.minimum(a, b) - self.width, np.maximum(a, b) + self.width
        c0, c1 = np.searchsorted(cx, lo[:, 0], 'left'), np.searchsorted(cx, hi[:, 0], 'right')
        r0, r1 = np.searchsorted(cy, lo[:, 1], 'left'), np.searchsorted(cy, hi[:, 1], 'right')
        box_w, box_h = c1 - c0, r1 - r0
        sizes = box_w * box_h
        limb = np.repeat(np.arange(len(ind)), sizes)
        local = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        col = c0[limb] + local % box_w[limb]
        row = r0[limb] + local // box_w[limb]
        x, y = cx[col], cy[row]
        along = ux[limb] * x + uy[limb] * y
        across = np.abs((y * ux[limb] - x * uy[limb]) - ortho[limb]) / self.width
        on = (along >= low_along[limb]) & (along <= high_along[limb]) & (across <= 1)
        limb, row, col, across = limb[on], row[on], col[on], across[on]
        # where limbs of several individuals cover a cell, the last drawn wins (DeepLabCut
        # overwrites): keep the last entry of each (edge, cell), entries being in drawing order
        key = (edge[limb] * height + row) * width + col
        order = np.argsort(key, kind='stable')
        key = key[order]
        last = order[np.r_[key[1:] != key[:-1], True]]
        limb, row, col, value = limb[last], row[last], col[last], 1 - across[last]
        out[edge[limb], 0, row, col] = ux[limb] * value
        out[edge[limb], 1, row, col] = uy[limb] * value
        return out.reshape(-1, height, width).astype(np.float32)


@KEYPOINT_CODECS.register_module()
class SequentialGenerator(BaseKeypointCodec):
    """DeepLabCut's ``SequentialGenerator``: runs its ``generators`` in order and returns the
    union of their targets (a later generator's key replaces an earlier one's, as DeepLabCut's
    ``dict.update``).

    Args (DeepLabCut's):
        generators: target generator configs (``HeatmapPlateauGenerator``,
            ``PartAffinityFieldGenerator``, ...), built from ``KEYPOINT_CODECS``.
        label_keypoint_key: which labels (every generator must read the same).
    """

    example_args = dict(generators=[
        dict(type='HeatmapPlateauGenerator', num_heatmaps=3, pos_dist_thresh=17),
        dict(type='PartAffinityFieldGenerator', graph=[[0, 1], [1, 2]], width=20)])
    example_round_trip = _example_round_trip()

    def __init__(self, generators: Sequence, label_keypoint_key: str = 'keypoints'):
        super().__init__()
        owner = type(self).__name__
        if isinstance(generators, (str, Mapping)) or not generators:
            raise ValueError(f'{owner}: generators must be a non-empty list of generator '
                             f'configs, got {generators!r}')
        built = []
        for i, cfg in enumerate(generators):
            if isinstance(cfg, BaseKeypointCodec):
                built.append(cfg)
                continue
            if not isinstance(cfg, Mapping) or 'type' not in cfg:
                raise ValueError(f'{owner}: generators[{i}] must be a config dict with a type, '
                                 f'got {cfg!r}')
            built.append(KEYPOINT_CODECS.build(dict(cfg)))
        for i, gen in enumerate(built):
            if not (hasattr(gen, 'encode_batch') and hasattr(gen, 'at')):
                raise ValueError(f'{owner}: generators[{i}] ({type(gen).__name__}) is not a '
                                 f'DeepLabCut target generator')
        if label_keypoint_key not in DLC_LABEL_KEYS:
            raise ValueError(f'{owner}: label_keypoint_key must be one of '
                             f'{", ".join(DLC_LABEL_KEYS)}, got {label_keypoint_key!r}')
        keys = {gen.batch_key for gen in built}
        if len(keys) > 1:
            raise ValueError(f'{owner}: its generators read different labels {sorted(keys)}; '
                             f'a head\'s generators must all read the same')
        self.generators = built
        self.label_keypoint_key = label_keypoint_key
        self.heatmap_size = built[0].heatmap_size
        self.target_keys = tuple(k for gen in built for k in gen.target_keys)

    @property
    def batch_key(self) -> str:
        return self.generators[0].batch_key

    @property
    def heatmap_mode(self) -> str:
        """The heatmap generator's mode (KEYPOINT when none has one)."""
        modes = [g.heatmap_mode for g in self.generators if hasattr(g, 'heatmap_mode')]
        return modes[0] if modes else 'KEYPOINT'

    def find(self, kind: type):
        """The first of its generators that is a ``kind`` (None if none)."""
        return next((g for g in self.generators if isinstance(g, kind)), None)

    def at(self, stride: float, heatmap_size: Tuple[int, int]) -> 'SequentialGenerator':
        out = copy.copy(self)
        out.generators = [g.at(stride, heatmap_size) for g in self.generators]
        return out

    def sized(self, input_size=None, heatmap_size=None) -> 'SequentialGenerator':
        out = copy.copy(self)
        out.generators = [g.sized(input_size, heatmap_size) for g in self.generators]
        out.heatmap_size = out.generators[0].heatmap_size
        return out

    def encode(self, keypoints, keypoints_visible=None, identities=None) -> dict:
        out = {}
        for gen in self.generators:
            out.update(gen.encode(keypoints, keypoints_visible, identities))
        return out

    def encode_batch(self, keypoints: Sequence, keypoints_visible: Sequence,
                     identities: Optional[Sequence] = None) -> dict:
        out = {}
        for gen in self.generators:
            out.update(gen.encode_batch(keypoints, keypoints_visible, identities))
        return out
