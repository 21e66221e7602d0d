"""Grouping detected keypoints into individuals along a graph: DeepLabCut's ``Assembler``.

The rules of DeepLabCut 3.0.2 ``deeplabcut/core/inferenceutils.py`` ``Assembler._assemble``
(lines 653-800) as ``PartAffinityFieldPredictor`` configures it (``Assembler.empty``, lines
284-330: no calibration, no temporal window, no identity): per image,

1. detections: per keypoint its peaks (position, confidence), numbered in keypoint order
   (a keypoint whose coordinates are all 0 is skipped, ``_flatten_detections``);
2. unique keypoints (labels >= ``n_multibodyparts``): the most confident peak each, kept when
   above ``pcutoff`` (or ``add_discarded``);
3. one keypoint → one individual per peak above ``pcutoff``; one individual → the most
   confident peak of each keypoint;
4. otherwise links (``extract_best_links``, lines 432-489): for each edge in ``paf_inds`` the
   ``max_n_individuals`` most confident peaks of either end above ``pcutoff`` paired by an
   optimal assignment maximising the affinity (``greedy``: best affinities first, both
   confidences' product >= ``pcutoff²``); a pair is a link when its affinity >=
   ``min_affinity``;
5. assemblies (``build_assemblies``, lines 542-651): connected components of the links with
   exactly ``n_multibodyparts`` joints first; then from each unused link in decreasing
   affinity, grown best-affinity-first over links touching it (``_fill_assembly``); surplus
   assemblies merged along links not used (or, ``force_fusion``, each small one into the
   nearest); incomplete ones grown again;
6. assemblies with fewer than ``min_n_links`` links (but some) or none are dropped; pose NMS
   (``0 < max_overlap < 1``): by summed affinity, an assembly sharing ``>= max_overlap`` of its
   points' box with a better one is dropped; the ``max_n_individuals`` largest are kept;
   ``add_discarded`` gives left-over peaks to the nearest assembly missing that keypoint.

The numbers match DeepLabCut's (same order of operations, same tie-breaking: stable sorts, a
heap keyed by (-affinity, push order)); the objects are lighter (no networkx, no dataclass
hashing), which with the vectorised peaks and costs of :mod:`.dlc_paf_predictor` is where
the time goes.
"""
from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np


class Joint:
    """One peak: position (x, y) input pixels, confidence, keypoint ``label``, running ``idx``."""

    __slots__ = ('pos', 'confidence', 'label', 'idx')

    def __init__(self, pos, confidence: float, label: int, idx: int):
        self.pos, self.confidence, self.label, self.idx = pos, confidence, label, idx


class Link:
    """An edge between two joints with its PAF affinity."""

    __slots__ = ('j1', 'j2', 'affinity', 'idx')

    def __init__(self, j1: Joint, j2: Joint, affinity: float):
        self.j1, self.j2, self.affinity = j1, j2, affinity
        self.idx = (j1.idx, j2.idx)


class Assembly:
    """An individual being built: ``data`` (K, 4) x, y, confidence, group (-1); a keypoint it
    lacks has NaN coordinates and group and confidence 0 (DeepLabCut's ``Assembly.__init__``
    sets ``self.confidence = 0``, a property writing the whole column)."""

    def __init__(self, size: int):
        self.data = np.full((size, 4), np.nan)
        self.data[:, 2] = 0
        self.affinity_sum = 0.0
        self.links: List[Link] = []
        self.visible = set()
        self.idx = set()

    def __len__(self):
        return len(self.visible)

    def shares_labels(self, other: 'Assembly') -> bool:
        return bool(self.visible & other.visible)

    def merged(self, other: 'Assembly') -> 'Assembly':
        out = Assembly(self.data.shape[0])
        for link in self.links + other.links:
            out.add_link(link)
        return out

    @property
    def affinity(self) -> float:
        """Mean affinity of its links (0 without links)."""
        return float(self.affinity_sum / len(self.links)) if self.links else 0.0

    def add_joint(self, joint: Joint) -> bool:
        if joint.label in self.visible:
            return False
        self.data[joint.label] = (*joint.pos, joint.confidence, -1)
        self.visible.add(joint.label)
        self.idx.add(joint.idx)
        return True

    def add_link(self, link: Link) -> bool:
        i1, i2 = link.idx
        if i1 in self.idx and i2 in self.idx:
            self.affinity_sum += link.affinity
            self.links.append(link)
            return False
        if link.j1.label in self.visible and link.j2.label in self.visible:
            return False
        self.add_joint(link.j1)
        self.add_joint(link.j2)
        self.affinity_sum += link.affinity
        self.links.append(link)
        return True


class PAFAssembler:
    """DeepLabCut's ``Assembler`` rules for one image at a time (see the module).

    Args: ``max_n_individuals``, ``n_multibodyparts``, ``n_uniquebodyparts``, ``graph`` (list of
    (a, b)), ``paf_inds`` (indices into ``graph``), ``greedy``, ``pcutoff``, ``min_affinity``,
    ``min_n_links``, ``max_overlap``, ``force_fusion``, ``add_discarded``: DeepLabCut's, with
    its defaults.
    """

    def __init__(self, max_n_individuals: int, n_multibodyparts: int, n_uniquebodyparts: int,
                 graph: Sequence[Tuple[int, int]], paf_inds: Sequence[int], greedy: bool = False,
                 pcutoff: float = 0.1, min_affinity: float = 0.05, min_n_links: int = 2,
                 max_overlap: float = 0.8, force_fusion: bool = False,
                 add_discarded: bool = False):
        self.max_n_individuals = int(max_n_individuals)
        self.n_multibodyparts = int(n_multibodyparts)
        self.n_uniquebodyparts = int(n_uniquebodyparts)
        self.graph = [tuple(e) for e in graph]
        self.paf_inds = list(paf_inds)
        self.greedy, self.pcutoff = bool(greedy), float(pcutoff)
        self.min_affinity, self.min_n_links = float(min_affinity), int(min_n_links)
        self.max_overlap = float(max_overlap)
        self.force_fusion, self.add_discarded = bool(force_fusion), bool(add_discarded)

    # ------------------------------------------------------------------ one image
    def assemble(self, coordinates: Sequence[np.ndarray], confidence: Sequence[np.ndarray],
                 costs: Dict[int, Dict[str, np.ndarray]]
                 ) -> Tuple[Optional[List[Assembly]], Optional[np.ndarray]]:
        """Per keypoint label: ``coordinates[k]`` (n_k, 2) and ``confidence[k]`` (n_k,);
        ``costs[edge] = {'m1': (n_a, n_b) affinities, 'distance': (n_a, n_b)}`` →
        (assemblies or None, unique (U, 3) x, y, confidence or None)."""
        joints, bag = [], defaultdict(list)
        for label, (xy, conf) in enumerate(zip(coordinates, confidence)):
            if not np.any(xy):
                continue
            for pos, p in zip(np.asarray(xy, np.float64).tolist(),
                              np.asarray(conf, np.float64).reshape(-1).tolist()):
                joint = Joint(tuple(pos), p, label, len(joints))
                joints.append(joint)
                bag[label].append(joint)
        if not joints:
            return None, None
        assembled = set()
        unique = self._unique(bag, assembled)
        if not any(i in bag for i in range(self.n_multibodyparts)):
            return None, unique
        if self.n_multibodyparts == 1:
            assemblies = []
            for joint in bag[0]:
                if joint.confidence >= self.pcutoff:
                    assembly = Assembly(1)
                    assembly.add_joint(joint)
                    assemblies.append(assembly)
            return assemblies, unique
        if self.max_n_individuals == 1:
            assembly = Assembly(self.n_multibodyparts)
            for label in range(self.n_multibodyparts):
                if bag.get(label):
                    assembly.add_joint(max(bag[label], key=lambda j: j.confidence))
            return [assembly], unique
        links = self.best_links(bag, costs)
        assemblies, built = self.build(links)
        assembled |= built
        return self._finish(assemblies, assembled, joints), unique

    def _unique(self, bag, assembled) -> Optional[np.ndarray]:
        if not self.n_uniquebodyparts:
            return None
        unique = np.full((self.n_uniquebodyparts, 3), np.nan)
        for n, label in enumerate(range(self.n_multibodyparts,
                                        self.n_multibodyparts + self.n_uniquebodyparts)):
            dets = bag[label]
            if not dets:
                continue
            det = max(dets, key=lambda j: j.confidence)
            assembled.update(d.idx for d in dets)
            if det.confidence <= self.pcutoff and not self.add_discarded:
                continue
            unique[n] = (*det.pos, det.confidence)
        return None if np.isnan(unique).all() else unique

    def best_links(self, bag, costs) -> List[Link]:
        links = []
        for ind in self.paf_inds:
            s, t = self.graph[ind]
            dets_s, dets_t = bag.get(s), bag.get(t)
            if dets_s is None or dets_t is None or ind not in costs:
                continue
            lengths = costs[ind]['distance']
            if np.isinf(lengths).all():
                continue
            aff = np.array(costs[ind]['m1'], np.float64)
            aff[np.isnan(aff)] = 0
            if self.greedy:
                conf = np.outer([d.confidence for d in dets_s], [d.confidence for d in dets_t])
                rows, cols = np.where((conf >= self.pcutoff ** 2) & (aff >= self.min_affinity))
                order = np.argsort(-aff[rows, cols], kind='stable')
                seen_i, seen_j = set(), set()
                for i, j in zip(rows[order].tolist(), cols[order].tolist()):
                    if i not in seen_i and j not in seen_j:
                        seen_i.add(i)
                        seen_j.add(j)
                        links.append(Link(dets_s[i], dets_t[j], aff[i, j]))
                        if len(seen_i) == self.max_n_individuals:
                            break
                continue
            keep_s = self._most_confident(dets_s)
            keep_t = self._most_confident(dets_t)
            sub = aff[keep_s][:, keep_t]
            # imported here: scipy.optimize costs ~0.7 CPU s to import, and every posecfg
            # process that imports the codecs (e.g. a Lightning Pose video prediction) paid it
            from scipy.optimize import linear_sum_assignment
            rows, cols = linear_sum_assignment(sub, maximize=True)
            for row, col in zip(rows.tolist(), cols.tolist()):
                w = sub[row, col]
                if w >= self.min_affinity:
                    links.append(Link(dets_s[keep_s[row]], dets_t[keep_t[col]], w))
        return links

    def _most_confident(self, dets) -> List[int]:
        order = sorted(range(len(dets)), key=lambda i: dets[i].confidence,
                       reverse=True)[:self.max_n_individuals]
        return [i for i in order if dets[i].confidence >= self.pcutoff]

    def _fill(self, assembly: Assembly, lookup, assembled) -> None:
        stack, visited, counter = [], set(), itertools.count()

        def push(i):
            for j, link in lookup[i].items():
                if j in assembly.idx or link.idx in visited:
                    continue
                heapq.heappush(stack, (-link.affinity, next(counter), link))
                visited.add(link.idx)

        for idx in assembly.idx:
            push(idx)
        while stack and len(assembly) < self.n_multibodyparts:
            _, _, best = heapq.heappop(stack)
            i, j = best.idx
            if i in assembly.idx:
                new = j
            elif j in assembly.idx:
                new = i
            else:
                continue
            if new in assembled:
                continue
            assembly.add_link(best)
            push(new)

    def build(self, links: List[Link]) -> Tuple[List[Assembly], set]:
        lookup = defaultdict(dict)
        for link in links:
            i, j = link.idx
            lookup[i][j] = link
            lookup[j][i] = link
        assemblies, assembled = [], set()
        # complete individuals first: components with exactly one joint per keypoint count
        for nodes, edges in _components(links):
            if len(nodes) != self.n_multibodyparts:
                continue
            assembly = Assembly(self.n_multibodyparts)
            for link in links:
                if link.idx in edges and assembly.add_link(link):
                    i, j = link.idx
                    lookup[i].pop(j, None)
                    lookup[j].pop(i, None)
            assembled |= assembly.idx
            assemblies.append(assembly)
        if len(assemblies) == self.max_n_individuals:
            return assemblies, assembled
        for link in sorted(links, key=lambda x: x.affinity, reverse=True):
            if link.idx[0] in assembled or link.idx[1] in assembled:
                continue
            assembly = Assembly(self.n_multibodyparts)
            assembly.add_link(link)
            self._fill(assembly, lookup, assembled)
            for used in assembly.links:
                i, j = used.idx
                lookup[i].pop(j, None)
                lookup[j].pop(i, None)
            assembled |= assembly.idx
            assemblies.append(assembly)
        if len(assemblies) > self.max_n_individuals:
            assemblies = self._fuse(assemblies, links)
        for assembly in assemblies:
            if len(assembly) != self.n_multibodyparts:
                self._fill(assembly, lookup, assembled)
                assembled |= assembly.idx
        return assemblies, assembled

    def _fuse(self, assemblies: List[Assembly], links: List[Link]) -> List[Assembly]:
        n_extra = len(assemblies) - self.max_n_individuals
        if self.force_fusion:
            assemblies = sorted(assemblies, key=len)
            for nrow in range(n_extra):
                assembly = assemblies[nrow]
                candidates = [a for a in assemblies[nrow:] if not assembly.shares_labels(a)]
                if not candidates:
                    continue
                if len(candidates) == 1:
                    candidate = candidates[0]
                else:
                    dists = [np.nanmin(_cdist(assembly.data[:, :2], c.data[:, :2]))
                             for c in candidates]
                    candidate = candidates[int(np.argmin(dists))]
                ind = next(i for i, a in enumerate(assemblies) if a is candidate)
                assemblies[ind] = assemblies[ind].merged(assembly)
            return assemblies
        store = {}
        for assembly in assemblies:
            if len(assembly) != self.n_multibodyparts:
                for i in assembly.idx:
                    store[i] = assembly
        used = {id(link) for assembly in assemblies for link in assembly.links}
        for link in links:
            if id(link) in used:
                continue
            i, j = link.idx
            if i not in store or j not in store:
                continue
            if not store[j].shares_labels(store[i]):
                merged = store[i].merged(store[j])
                store[i].__dict__.update(merged.__dict__)
                gone = store[j]
                assemblies = [a for a in assemblies if a is not gone]
                for idx in gone.idx:
                    store[idx] = store[i]
        return assemblies

    def _finish(self, assemblies: List[Assembly], assembled: set, joints: List[Joint]
                ) -> List[Assembly]:
        discarded = {j.idx: j for j in joints
                     if j.idx not in assembled and np.isfinite(j.confidence)}
        kept = []
        for assembly in assemblies:
            n_links = len(assembly.links)
            if 0 < n_links < self.min_n_links or not len(assembly):
                for link in assembly.links:
                    discarded[link.j1.idx] = link.j1
                    discarded[link.j2.idx] = link.j2
            else:
                kept.append(assembly)
        assemblies = kept
        if 0 < self.max_overlap < 1 and assemblies:  # pose NMS by summed affinity
            overlap = overlaps(assemblies)
            pending = list(range(len(assemblies)))
            kept = []
            while pending:
                top = max(pending, key=lambda i: assemblies[i].affinity_sum)  # first best
                pending.remove(top)
                kept.append(assemblies[top])
                pending = [i for i in pending if overlap[top, i] < self.max_overlap]
            assemblies = kept
        if len(assemblies) > self.max_n_individuals:
            assemblies = sorted(assemblies, key=len, reverse=True)
            for assembly in assemblies[self.max_n_individuals:]:
                for link in assembly.links:
                    discarded[link.j1.idx] = link.j1
                    discarded[link.j2.idx] = link.j2
            assemblies = assemblies[:self.max_n_individuals]
        if self.add_discarded and discarded:
            for joint in sorted(discarded.values(), key=lambda j: (-j.confidence, j.idx)):
                dists = [(i, np.nanmin(_cdist(a.data[:, :2], np.atleast_2d(joint.pos))))
                         for i, a in enumerate(assemblies) if joint.label not in a.visible]
                if dists:
                    ind = min(dists, key=lambda d: d[1])[0]
                    assemblies[ind].add_joint(joint)
        return assemblies


def _components(links: List[Link]):
    """Connected components of the links' graph, in networkx's order (first appearance of a
    node, breadth-first): (nodes, the sorted (i, j) pairs of their edges)."""
    adjacency = defaultdict(list)
    order = []
    for link in links:
        i, j = link.idx
        for node in (i, j):
            if node not in adjacency:
                order.append(node)
        adjacency[i].append(j)
        adjacency[j].append(i)
    seen = set()
    for start in order:
        if start in seen:
            continue
        nodes, frontier = {start}, [start]
        while frontier:
            nxt = []
            for node in frontier:
                for other in adjacency[node]:
                    if other not in nodes:
                        nodes.add(other)
                        nxt.append(other)
            frontier = nxt
        seen |= nodes
        edges = {tuple(sorted(link.idx)) for link in links if link.idx[0] in nodes}
        yield nodes, edges


def overlaps(assemblies: Sequence[Assembly]) -> np.ndarray:
    """(A, A) :meth:`Assembly.intersection_with` of every pair, at once: within the
    intersection of two keypoint boxes, the smaller of the fractions of each one's keypoints
    (0 when the boxes do not meet)."""
    xy = np.stack([a.data[:, :2] for a in assemblies])  # (A, K, 2), NaN where absent
    present = ~np.isnan(xy).any(-1)
    low, high = np.nanmin(xy, axis=1), np.nanmax(xy, axis=1)  # (A, 2)
    box_low = np.maximum(low[:, None], low[None])  # (A, A, 2)
    box_high = np.minimum(high[:, None], high[None])
    meet = (box_high >= box_low).all(-1)
    with np.errstate(invalid='ignore'):  # NaN points compare False
        inside = ((xy[:, None] >= box_low[:, :, None]) & (xy[:, None] <= box_high[:, :, None])
                  ).all(-1) & present[:, None]  # (A, A, K): i's points in box (i, j)
    frac = inside.sum(-1) / present.sum(-1)[:, None]
    return np.where(meet, np.minimum(frac, frac.T), 0.0)


def _cdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(np.square(a[:, None, :] - b[None, :, :]).sum(-1))
