"""Time of posecfg's PartAffinityFieldPredictor (DeepLabCut 3.0.2's PAF inference: peaks, line
integrals, assembly) per image, on maps drawn from random individuals by posecfg's own
generators (perfect heatmaps, locref and PAFs, so every individual is found and assembled).

    python benchmarks/paf_predictor.py [--repeats 5] [--threads 1]

Prints one JSON line per case (batch, individuals, keypoints, edges, map cells) with
milliseconds per image for the whole predictor and for the assembly alone, and how many
individuals were found.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from posecfg.codecs import PartAffinityFieldPredictor, SequentialGenerator  # noqa: E402

# B, individuals, keypoints, cells (448 px crop at stride 8: 57; DeepLabCut's default graph:
# every pair of keypoints)
CASES = [(8, 3, 4, 57), (8, 3, 12, 57), (8, 10, 12, 57)]


def maps_for(batch, animals, k, cells, stride, rng):
    graph = [[i, j] for i in range(k) for j in range(i + 1, k)]
    gen = SequentialGenerator([
        dict(type='HeatmapPlateauGenerator', num_heatmaps=k, pos_dist_thresh=6),
        dict(type='PartAffinityFieldGenerator', graph=graph, width=6)]).at(stride, (cells,
                                                                                  cells))
    size = cells * stride
    centres = rng.uniform(40, size - 40, (batch, animals, 1, 2))
    points = (centres + rng.uniform(-35, 35, (batch, animals, k, 2))).astype(np.float32)
    t = gen.encode_batch(list(points), [np.ones((animals, k), np.float32)] * batch)
    return graph, dict(heatmap=torch.from_numpy(t['heatmaps']),
                       locref=torch.from_numpy(t['locref_maps']),
                       paf=torch.from_numpy(t['paf_maps']))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    for batch, animals, k, cells in CASES:
        graph, outputs = maps_for(batch, animals, k, cells, 8, rng)
        pred = PartAffinityFieldPredictor(num_animals=animals, num_multibodyparts=k,
                                          graph=graph, apply_sigmoid=False, stride=8)
        result = pred.predict_poses(outputs)
        start = time.perf_counter()
        for _ in range(args.repeats):
            result = pred.predict_poses(outputs)
        total = (time.perf_counter() - start) / args.repeats / batch * 1000
        start = time.perf_counter()
        for _ in range(args.repeats):
            for p in result['preds']:
                pred.assembler.assemble(p['coordinates'][0], p['confidence'], p['costs'])
        assembly = (time.perf_counter() - start) / args.repeats / batch * 1000
        print(json.dumps(dict(batch=batch, individuals=animals, keypoints=k, edges=len(graph),
                              cells=cells, ms_per_image=round(total, 2),
                              assembly_ms_per_image=round(assembly, 2),
                              found_per_image=float(result['found'].sum(1).mean()))))


if __name__ == '__main__':
    main()
