"""What writing the multi-animal tracking files costs beside the ``.h5`` (issue 15 item 5).

    .venv/bin/python benchmarks/video_assemblies.py [--minutes 60] [--fps 30]
        [--individuals 3] [--bodyparts 12] [--unique 1] [--rounds 2]

Stand-in predictions of ``minutes`` of video (random rows, every 7th frame one individual
absent, DeepLabCut's -1 padding) are written, each timed on its own, in the same run:
- ``.h5``: DeepLabCut's predictions table (``posecfg.interop.dlc.outputs``), the reference;
- ``assemblies``: ``_assemblies.pickle`` + ``_assemblies.npz``
  (``posecfg.apis.video_inference.assemblies``, written by default for multi-animal models);
- ``_full.pickle``: DeepLabCut's per-frame layout (``--dlc-full-pickle``).
Times are wall-clock seconds (best of the rounds) and their ratio to the ``.h5``'s.
"""
import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import numpy as np  # noqa: E402

from posecfg.apis.video_inference.assemblies import dlc_full_data, write_assemblies  # noqa
from posecfg.interop.dlc.outputs import predictions_frame, write_predictions  # noqa: E402
from posecfg.interop.dlc.safe_pickle import dump_pickle  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--minutes', type=float, default=60)
    parser.add_argument('--fps', type=float, default=30)
    parser.add_argument('--individuals', type=int, default=3)
    parser.add_argument('--bodyparts', type=int, default=12)
    parser.add_argument('--unique', type=int, default=1)
    parser.add_argument('--rounds', type=int, default=2)
    args = parser.parse_args()
    t_count, n, k, u = (int(args.minutes * 60 * args.fps), args.individuals, args.bodyparts,
                        args.unique)
    rng = np.random.default_rng(0)
    values = rng.random((t_count, n, k, 3)) * 500
    values[::7, n - 1] = -1.0
    unique = rng.random((t_count, u, 3))
    decoded = np.ones(t_count, bool)
    extras = {t: dict(affinity=rng.random(n), identity=np.full((n, k), -1))
              for t in range(t_count)}
    names = [f'bp{i}' for i in range(k)]
    inds = [f'animal{i}' for i in range(n)]
    unames = [f'u{i}' for i in range(u)]
    folder = tempfile.mkdtemp(prefix='assemblies_bench_')

    def h5():
        df = predictions_frame(values, 'DLC_bench', names, individuals=inds,
                               unique_predictions=unique, unique_bodyparts=unames)
        write_predictions(df, os.path.join(folder, 'v.h5'))

    def assemblies():
        write_assemblies(os.path.join(folder, 'v_assemblies.pickle'),
                         os.path.join(folder, 'v_assemblies.npz'), values, decoded, names,
                         inds, extras, unique, unames)

    def full():
        dump_pickle(dlc_full_data(values, unique, names, unames), os.path.join(folder,
                                                                                'v_full.pickle'))

    best = {}
    for _ in range(args.rounds):
        for name, fn in (('.h5', h5), ('assemblies (.pickle + .npz)', assemblies),
                         ('_full.pickle', full)):
            start = time.perf_counter()
            fn()
            best[name] = min(best.get(name, float('inf')), time.perf_counter() - start)
    sizes = {f: os.path.getsize(os.path.join(folder, f)) / 1e6 for f in sorted(os.listdir(folder))}
    print(f'{t_count} frames ({args.minutes:g} min at {args.fps:g} frames/s), {n} individuals, '
          f'{k} bodyparts, {u} unique; best of {args.rounds}')
    for name, seconds in best.items():
        print(f'  {name:30s} {seconds:7.1f} s  {seconds / best[".h5"]:5.1f}x the .h5')
    print('  sizes MB: ' + ', '.join(f'{f} {s:.0f}' for f, s in sizes.items()))
    for f in os.listdir(folder):
        os.remove(os.path.join(folder, f))
    os.rmdir(folder)


if __name__ == '__main__':
    main()
