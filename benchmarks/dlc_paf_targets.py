"""Time of DeepLabCut's part-affinity-field targets: posecfg's vectorised
``PartAffinityFieldGenerator`` against DeepLabCut 3.0.2's own (loops over images, individuals
and edges; target_generators/pafs_targets.py, loaded from an unpacked wheel's ``src`` folder,
see benchmarks/paf_predictor.py), on the same labels; checks that the maps agree.

    python benchmarks/dlc_paf_targets.py --dlc-source DIR [--repeats 5]

Prints one JSON line per case (batch, individuals, keypoints, edges, map cells) with
milliseconds per batch.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from paf_predictor import load_dlc_paf_generator  # noqa: E402
from posecfg.codecs import PartAffinityFieldGenerator  # noqa: E402

# B, individuals, keypoints, cells (448 px crop at stride 8 → 57; DLCRNet stride 4 → 113),
# spread: an individual's keypoints within ± spread px of its centre (None: anywhere)
CASES = [(8, 3, 4, 57, 50), (8, 3, 12, 57, 50), (8, 10, 12, 113, 50), (8, 3, 12, 57, None)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--dlc-source', type=Path, required=True)
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    theirs_cls = load_dlc_paf_generator(args.dlc_source)
    rng = np.random.default_rng(0)
    for batch, animals, k, cells, spread in CASES:
        stride = 448 / cells
        graph = [[i, j] for i in range(k) for j in range(i + 1, k)]
        if spread is None:
            points = rng.uniform(0, 448, (batch, animals, k, 2)).astype(np.float32)
        else:
            centres = rng.uniform(spread, 448 - spread, (batch, animals, 1, 2))
            points = (centres + rng.uniform(-spread, spread, (batch, animals, k, 2))
                      ).astype(np.float32)
        flags = (rng.uniform(size=(batch, animals, k)) > 0.1).astype(np.float32)
        labels = {'keypoints': torch.from_numpy(np.concatenate([points, flags[..., None]], -1))}
        outputs = {'heatmap': torch.zeros(batch, k, cells, cells),
                   'paf': torch.zeros(batch, 2 * len(graph), cells, cells)}
        theirs = theirs_cls(graph=graph, width=20)
        ours = PartAffinityFieldGenerator(graph=graph, width=20).at(stride, (cells, cells))

        def run_theirs():
            return theirs(stride, outputs, labels)['paf']['target'].numpy()

        def run_ours():
            return ours.encode_batch(list(points), list(flags))['paf_maps']

        times = {}
        for name, fn in (('dlc', run_theirs), ('posecfg', run_ours)):
            fn()
            start = time.perf_counter()
            for _ in range(args.repeats):
                result = fn()
            times[name] = ((time.perf_counter() - start) / args.repeats * 1000, result)
        diff = float(np.abs(times['dlc'][1] - times['posecfg'][1]).max())
        print(json.dumps(dict(batch=batch, individuals=animals, keypoints=k, edges=len(graph),
                              cells=cells, spread=spread, dlc_ms=round(times['dlc'][0], 1),
                              posecfg_ms=round(times['posecfg'][0], 1),
                              speedup=round(times['dlc'][0] / times['posecfg'][0], 1),
                              max_abs_difference=diff)))


if __name__ == '__main__':
    main()
