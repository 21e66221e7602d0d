"""Train a pose model from a config.

    python tools/train.py CONFIG [--work-dir DIR] [--resume-from CKPT] [--no-validate]
                          [--seed N] [--deterministic] [--cfg-options KEY=VALUE ...]
                          [--launcher none|pytorch|slurm]

One process trains on one CPU or GPU; ``tools/dist_train.sh CONFIG N`` starts N processes with
torchrun (``--launcher pytorch``), ``tools/slurm_train.sh`` with srun (``--launcher slurm``).
Flags are overrides of config keys (``--work-dir`` sets ``work_dir``, ``--resume-from`` sets
``resume_from``, …) and show as such in ``print_config.py --explain``.

Installed as ``posecfg-train`` and ``python -m posecfg.tools.train``;
``tools/train.py`` of a checkout runs the same code. CONFIG may also name a zoo config from
any folder (see ``posecfg.zoo``).
"""
import argparse

from posecfg.config.cli import (add_config_arguments, add_launcher_arguments,
                                cli_main, flag_override, load_config,
                                choose_openmp_waiting)
from posecfg.zoo import resolve_config_path

choose_openmp_waiting()  # before torch loads


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(parser)
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: work_dir of the config, else ./work_dirs/<config name>)')
    parser.add_argument('--resume-from', help='checkpoint to resume training from')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate checkpoints during training')
    parser.add_argument('--seed', type=int, help='random seed')
    parser.add_argument('--deterministic', action='store_true',
                        help='deterministic algorithms (slower)')
    add_launcher_arguments(parser)
    args = parser.parse_args(argv)
    args.config = resolve_config_path(args.config)  # a zoo config from any folder
    return args


def flag_overrides(args):
    overrides = []
    if args.work_dir:
        overrides.append(flag_override('--work-dir', 'work_dir', args.work_dir))
    if args.resume_from:
        overrides.append(flag_override('--resume-from', 'resume_from', args.resume_from))
    if args.seed is not None:
        overrides.append(flag_override('--seed', 'seed', args.seed))
    if args.deterministic:
        overrides.append(flag_override('--deterministic', 'deterministic', True))
    return overrides


@cli_main
def main():
    args = parse_args()
    cfg = load_config(args, flag_overrides(args))
    # torch and mmengine load only past the config
    from posecfg.engine import build_runner
    runner = build_runner(cfg, launcher=args.launcher, validate=not args.no_validate)
    runner.train()
    return 0


if __name__ == '__main__':
    main()
