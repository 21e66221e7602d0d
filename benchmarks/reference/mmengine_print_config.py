"""Reference: cold-process time of ``mmengine.Config.fromfile(path).pretty_text`` (what printing a
config costs with mmengine), each repeat a fresh Python process.

    benchmarks/.ref-env/bin/python benchmarks/reference/mmengine_print_config.py \
        [CONFIG] [--repeats 10] [--warmup 1] [--python PATH]

CONFIG defaults to posecfg's seed config
configs/body/2d_kpt_sview_rgb_img/topdown_heatmap/coco/res50_coco_256x192.py (relative to the
repository root). Each repeat runs

    PYTHON -c "from mmengine.config import Config; print(Config.fromfile(CONFIG).pretty_text)"

(plus internal timers) as a new process with stdout captured, and times it from spawn to exit
with ``time.perf_counter`` in this (parent) process. ``--python`` picks the interpreter: any with
mmengine installed (default: this one, i.e. the reference env; posecfg's .venv pins the same
mmengine 0.10.7). ``--warmup`` untimed runs first, so the OS file cache is warm for every timed
run: "cold" means a cold interpreter, not a cold disk.

Prints one JSON line: wall seconds per process (min/median/max) and the child's own split:
interpreter start to ``import mmengine.config`` done, ``Config.fromfile``, ``.pretty_text``.
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import emit, machine, stats  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED_CONFIG = 'configs/body/2d_kpt_sview_rgb_img/topdown_heatmap/coco/res50_coco_256x192.py'

CHILD = r'''
import time
t0 = time.perf_counter()
import json, sys, warnings
warnings.filterwarnings('ignore')
from mmengine.config import Config
import mmengine
t1 = time.perf_counter()
cfg = Config.fromfile(sys.argv[1])
t2 = time.perf_counter()
text = cfg.pretty_text
t3 = time.perf_counter()
sys.stdout.write(text)
sys.stdout.write('\n')
print(json.dumps({'import_s': t1 - t0, 'fromfile_s': t2 - t1, 'pretty_text_s': t3 - t2,
                  'chars': len(text), 'mmengine': mmengine.__version__}))
'''


def run_once(python, config):
    t0 = time.perf_counter()
    proc = subprocess.run([python, '-c', CHILD, config], capture_output=True, text=True,
                          cwd=os.path.dirname(config) or '.')
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f'child failed with code {proc.returncode} on {config}')
    inner = json.loads(proc.stdout.rstrip('\n').rsplit('\n', 1)[-1])
    return wall, inner


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('config', nargs='?', default=os.path.join(REPO, SEED_CONFIG))
    ap.add_argument('--repeats', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=1)
    ap.add_argument('--python', default=sys.executable)
    args = ap.parse_args()

    config = os.path.abspath(args.config)
    if not os.path.isfile(config):
        raise SystemExit(f'no config file at {config}')
    for _ in range(args.warmup):
        run_once(args.python, config)
    walls, inner = [], []
    for _ in range(args.repeats):
        w, i = run_once(args.python, config)
        walls.append(w)
        inner.append(i)

    # Bare interpreter start-up, for scale (same interpreter, `-c pass`).
    bare = []
    for _ in range(max(3, args.repeats // 2)):
        t0 = time.perf_counter()
        subprocess.run([args.python, '-c', 'pass'], check=True)
        bare.append(time.perf_counter() - t0)

    emit({
        'bench': 'mmengine_print_config',
        'what': 'cold process: Config.fromfile(config).pretty_text, printed',
        'unit': 's',
        'wall_s': stats(walls),
        'import_s': stats([i['import_s'] for i in inner]),
        'fromfile_s': stats([i['fromfile_s'] for i in inner]),
        'pretty_text_s': stats([i['pretty_text_s'] for i in inner]),
        'python_startup_s': stats(bare),
        'chars': inner[-1]['chars'],
        'repeats': args.repeats,
        'warmup': args.warmup,
        'config': os.path.relpath(config, REPO) if config.startswith(REPO + os.sep) else config,
        'python': args.python,
        'versions': {'mmengine': inner[-1]['mmengine'], 'python': sys.version.split()[0]},
        'machine': machine(),
    })


if __name__ == '__main__':
    main()
