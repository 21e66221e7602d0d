"""Time of posecfg's PartAffinityFieldPredictor (DeepLabCut 3.0.2's PAF inference: peaks, line
integrals, assembly) per image, on maps drawn from random individuals by posecfg's own
generators (perfect heatmaps, locref and PAFs, so every individual is found and assembled).

    python benchmarks/paf_predictor.py [--repeats 5] [--threads 1] [--dlc-source DIR]

Prints one JSON line per case (batch, individuals, keypoints, edges, map cells) with
milliseconds per image for the whole predictor and for the assembly alone, and how many
individuals were found. With ``--dlc-source`` (the ``src`` folder of an unpacked DeepLabCut
3.0.2 wheel: ``pip download --no-deps deeplabcut==3.0.2`` and unzip into DIR/), DeepLabCut's
own ``PartAffinityFieldPredictor`` (models/predictors/paf_predictor.py, with
core/inferenceutils.py's ``Assembler``; loaded from those two files, the rest of DeepLabCut
stubbed) runs on the same outputs: its time, and whether its ``poses`` equal posecfg's.
Nothing of DeepLabCut is copied into the repository.
"""
import argparse
import importlib.util
import json
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from posecfg.codecs import PartAffinityFieldPredictor, SequentialGenerator  # noqa: E402

# B, individuals, keypoints, cells (448 px crop at stride 8: 57; DeepLabCut's default graph:
# every pair of keypoints)
CASES = [(8, 3, 4, 57, 0.0), (8, 3, 12, 57, 0.0), (8, 10, 12, 57, 0.0), (8, 3, 12, 57, 0.3),
         (8, 10, 12, 57, 0.3)]  # last: noise std on the maps (many spurious peaks and links)


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


def dlc_module(src: Path, name: str, path: Path = None, **attrs):
    """Register module ``name`` in ``sys.modules``: DeepLabCut's source file ``src/path`` or,
    without a path, a stub holding ``attrs`` (parent packages are stubbed too)."""
    parts = name.split('.')
    for i in range(1, len(parts)):
        parent = '.'.join(parts[:i])
        if parent not in sys.modules:
            stub = types.ModuleType(parent)
            stub.__path__ = []
            sys.modules[parent] = stub
    if path is None:
        mod = types.ModuleType(name)
        mod.__dict__.update(attrs)
        sys.modules[name] = mod
        return mod
    spec = importlib.util.spec_from_file_location(name, src / path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    setattr(sys.modules['.'.join(parts[:-1])], parts[-1], mod)
    return mod


class _Registry:
    def register_module(self, cls):
        return cls


def load_dlc_predictor(src: Path):
    """DeepLabCut's PartAffinityFieldPredictor class from its source files."""
    if 'tqdm' not in sys.modules:
        try:
            import tqdm  # noqa: F401
        except ImportError:
            dlc_module(src, 'tqdm', tqdm=lambda x=None, **kw: x)
    dlc_module(src, 'deeplabcut.core.inferenceutils', Path('deeplabcut/core/inferenceutils.py'))
    predictors = 'deeplabcut.pose_estimation_pytorch.models.predictors'
    dlc_module(src, f'{predictors}.base', PREDICTORS=_Registry(), BasePredictor=torch.nn.Module)
    return dlc_module(src, f'{predictors}.paf_predictor',
                      Path(predictors.replace('.', '/')) / 'paf_predictor.py'
                      ).PartAffinityFieldPredictor


def load_dlc_paf_generator(src: Path):
    """DeepLabCut's PartAffinityFieldGenerator class from its source file."""
    class BaseGenerator(torch.nn.Module):
        def __init__(self, label_keypoint_key='keypoints'):
            super().__init__()
            self.label_keypoint_key = label_keypoint_key

    generators = 'deeplabcut.pose_estimation_pytorch.models.target_generators'
    dlc_module(src, f'{generators}.base', TARGET_GENERATORS=_Registry(),
               BaseGenerator=BaseGenerator)
    return dlc_module(src, f'{generators}.pafs_targets',
                      Path(generators.replace('.', '/')) / 'pafs_targets.py'
                      ).PartAffinityFieldGenerator


def timed(fn, repeats):
    result = fn()
    start = time.perf_counter()
    for _ in range(repeats):
        result = fn()
    return result, (time.perf_counter() - start) / repeats


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--dlc-source', type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dlc_cls = load_dlc_predictor(args.dlc_source) if args.dlc_source else None
    rng = np.random.default_rng(0)
    for batch, animals, k, cells, noise in CASES:
        graph, outputs = maps_for(batch, animals, k, cells, 8, rng)
        if noise:
            gen = torch.Generator().manual_seed(0)
            outputs = {name: value + noise * torch.randn(value.shape, generator=gen)
                       for name, value in outputs.items()}
        pred = PartAffinityFieldPredictor(num_animals=animals, num_multibodyparts=k,
                                          graph=graph, apply_sigmoid=False, stride=8)
        result, total = timed(lambda: pred.predict_poses(outputs), args.repeats)
        _, assembly = timed(lambda: [pred.assembler.assemble(p['coordinates'][0],
                                                             p['confidence'], p['costs'])
                                     for p in result['preds']], args.repeats)
        row = dict(batch=batch, individuals=animals, keypoints=k, edges=len(graph),
                   cells=cells, noise=noise, ms_per_image=round(total / batch * 1000, 2),
                   assembly_ms_per_image=round(assembly / batch * 1000, 2),
                   found_per_image=float(result['found'].sum(1).mean()))
        if dlc_cls is not None:
            dlc = dlc_cls(num_animals=animals, num_multibodyparts=k, num_uniquebodyparts=0,
                          graph=graph, edges_to_keep=list(range(len(graph))),
                          locref_stdev=7.2801, nms_radius=5, sigma=1.0, min_affinity=0.05,
                          apply_sigmoid=False)
            theirs, dlc_time = timed(lambda: dlc(8, outputs)['poses'].numpy(), args.repeats)
            row.update(dlc_ms_per_image=round(dlc_time / batch * 1000, 2),
                       speedup=round(dlc_time / total, 2),
                       same_poses=bool(np.array_equal(theirs, result['poses'],
                                                      equal_nan=True)),
                       max_abs_difference=float(np.nanmax(np.abs(theirs - result['poses']))))
        print(json.dumps(row))


if __name__ == '__main__':
    main()
