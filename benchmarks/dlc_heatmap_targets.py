"""Time of DeepLabCut heatmap target generation: posecfg's vectorised codecs against
DeepLabCut 3.0.2's loop structure (one full-map numpy update per (sample, heatmap, point),
target_generators/heatmap_targets.py:181-203 and :277-300, written out here since DeepLabCut is
not importable in posecfg's environment), on the same labels; checks that the maps agree.

    python benchmarks/dlc_heatmap_targets.py [--repeats 20]

Prints one JSON line per case (batch, animals, keypoints, map size) with milliseconds per batch.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from posecfg.codecs import HeatmapGaussianGenerator  # noqa: E402

CASES = [(8, 1, 4, 57), (8, 3, 12, 57), (8, 10, 40, 33)]  # B, N, K, cells (448 px crop: 57)


def loop_targets(keypoints, visible, stride, size, thresh=17.0, locref_std=7.2801):
    std = 2 * thresh / 3
    b, k = len(keypoints), keypoints[0].shape[1]
    heat = np.zeros((b, size, size, k), np.float32)
    locref = np.zeros((b, size, size, 2 * k), np.float32)
    mask = np.zeros_like(locref, dtype=int)
    grid = np.mgrid[:size, :size].transpose((1, 2, 0))
    grid[:, :, 0] = grid[:, :, 0] * stride + stride / 2
    grid[:, :, 1] = grid[:, :, 1] * stride + stride / 2
    for i in range(b):
        coords = np.concatenate([keypoints[i], visible[i][..., None]], -1).transpose(1, 0, 2)
        for h, group in enumerate(coords):
            for point in group:
                if point[-1] > 0:
                    yx = point[:2].copy()[::-1]
                    dist = np.linalg.norm(grid - yx, axis=2) ** 2
                    heat[i, :, :, h] = np.maximum(heat[i, :, :, h],
                                                  np.exp(-dist / (2 * std ** 2)))
                    locref[i, :, :, 2 * h] = (yx[1] - grid[:, :, 1]) / locref_std
                    locref[i, :, :, 2 * h + 1] = (yx[0] - grid[:, :, 0]) / locref_std
                    mask[i, :, :, 2 * h:2 * h + 2][dist <= thresh ** 2] = 1
    return heat.transpose(0, 3, 1, 2)


def timed(fn, repeats):
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        result = fn()
    return (time.perf_counter() - start) / repeats * 1000, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for b, n, k, size in CASES:
        keypoints = [rng.uniform(0, 448, (n, k, 2)).astype(np.float32) for _ in range(b)]
        visible = [np.ones((n, k), np.float32) for _ in range(b)]
        gen = HeatmapGaussianGenerator(num_heatmaps=k, pos_dist_thresh=17).at(8, (size, size))
        ours, out = timed(lambda: gen.encode_batch(keypoints, visible), args.repeats)
        theirs, ref = timed(lambda: loop_targets(keypoints, visible, 8, size), args.repeats)
        np.testing.assert_allclose(out['heatmaps'], ref, rtol=1e-6, atol=1e-7)
        print(json.dumps(dict(benchmark='dlc_heatmap_targets', batch=b, animals=n, keypoints=k,
                              cells=size, posecfg_ms=round(ours, 2), loop_ms=round(theirs, 2),
                              ratio=round(theirs / ours, 2))))


if __name__ == '__main__':
    main()
