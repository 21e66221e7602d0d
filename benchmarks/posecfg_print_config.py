"""posecfg: cold-process time of ``tools/print_config.py CONFIG`` (load the _base_ chain, resolve,
print the Python text), each repeat a fresh process, as the reference times mmengine's
``Config.fromfile(CONFIG).pretty_text``.

    .venv/bin/python benchmarks/posecfg_print_config.py [CONFIG] [--repeats 10] [--warmup 1]

Prints one JSON line: wall seconds per process (min/median/max), timed from spawn to exit in
this process; ``--warmup`` untimed runs first, so "cold" means a cold interpreter, not a cold
disk.
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, 'reference'))
from _common import emit, machine, stats  # noqa: E402

SEED_CONFIG = 'configs/body/2d_kpt_sview_rgb_img/topdown_heatmap/coco/res50_coco_256x192.py'


def run_once(python, config):
    start = time.perf_counter()
    proc = subprocess.run([python, os.path.join(REPO, 'tools', 'print_config.py'), config],
                          capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f'print_config.py failed with code {proc.returncode} on {config}')
    return wall, len(proc.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('config', nargs='?', default=os.path.join(REPO, SEED_CONFIG))
    ap.add_argument('--repeats', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=1)
    ap.add_argument('--python', default=sys.executable)
    args = ap.parse_args()
    config = os.path.abspath(args.config)
    for _ in range(args.warmup):
        run_once(args.python, config)
    walls, chars = [], 0
    for _ in range(args.repeats):
        wall, chars = run_once(args.python, config)
        walls.append(wall)
    emit({
        'bench': 'posecfg_print_config',
        'what': 'cold process: tools/print_config.py CONFIG',
        'unit': 's',
        'wall_s': stats(walls),
        'chars': chars,
        'repeats': args.repeats,
        'config': os.path.relpath(config, REPO),
        'machine': machine(),
    })


if __name__ == '__main__':
    main()
