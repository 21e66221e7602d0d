"""Test a trained pose model: evaluate a checkpoint on the config's test set.

    python tools/test.py CONFIG [CHECKPOINT] [--eval mAP ...] [--out predictions.json]
                         [--work-dir DIR] [--cfg-options KEY=VALUE ...]
                         [--launcher none|pytorch|slurm]

CHECKPOINT defaults to the config's ``load_from``; for a DeepLabCut shuffle's pytorch_config.yaml
(or project config.yaml with --shuffle), to the snapshot DeepLabCut's ``evaluate_network`` would
use (:func:`posecfg.interop.dlc.to_config.evaluation_checkpoint`); for the config.yaml of a
Lightning Pose run folder, to its best checkpoint, and the results go into that model directory
(``image_preds/<labels CSV>/predictions.csv``, as ``litpose predict``) unless ``--work-dir``.
``--eval`` picks metrics by the names of the config's ``evaluation.metric`` (default: those);
``--out`` writes every prediction to a JSON file. ``tools/dist_test.sh`` runs it on N processes.

Installed as ``posecfg-test`` and ``python -m posecfg.tools.test``;
``tools/test.py`` of a checkout runs the same code. CONFIG may also name a zoo config from
any folder (see ``posecfg.zoo``).
"""
import argparse
import os
import sys

from posecfg.config.cli import (add_config_arguments, add_launcher_arguments,
                                cli_main, flag_override, load_config,
                                choose_openmp_waiting)
from posecfg.zoo import resolve_config_path

choose_openmp_waiting()  # before torch loads


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(parser)
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help="checkpoint file (default: the config's load_from)")
    parser.add_argument('--eval', nargs='+', metavar='METRIC',
                        help="metrics, e.g. mAP, or PCK AUC EPE (default: evaluation.metric)")
    parser.add_argument('--out', help='write the predictions to this JSON file')
    parser.add_argument('--work-dir', help='where the test log goes')
    add_launcher_arguments(parser)
    args = parser.parse_args(argv)
    args.config = resolve_config_path(args.config)  # a zoo config from any folder
    return args


def _dialect_checkpoint(config, cfg):
    """The snapshot DeepLabCut would evaluate for a shuffle, the checkpoint Lightning Pose
    would for a run folder's config.yaml; None for others."""
    from posecfg.interop.dialects import detect_dialect
    dialect = detect_dialect(config)
    if dialect in ('dlc', 'dlc_project'):
        from posecfg.interop.dlc.to_config import evaluation_checkpoint
        return evaluation_checkpoint(cfg)
    if dialect == 'lp':
        from posecfg.interop.lp.to_config import evaluation_checkpoint
        return evaluation_checkpoint(cfg)
    return None


def _dialect_work_dir(config, cfg, checkpoint):
    """Where the tool's own evaluation writes: a Lightning Pose model directory; None for
    others (the config's work_dir)."""
    from posecfg.interop.dialects import detect_dialect
    if detect_dialect(config) == 'lp':
        from posecfg.interop.lp.to_config import model_dir
        return model_dir(cfg, checkpoint)
    return None


@cli_main
def main():
    args = parse_args()
    overrides = []
    if args.eval:
        overrides.append(flag_override('--eval', 'evaluation.metric', args.eval))
    if args.work_dir:
        overrides.append(flag_override('--work-dir', 'work_dir', args.work_dir))
    cfg = load_config(args, overrides)
    if args.checkpoint is None:
        args.checkpoint = cfg.get('load_from') or _dialect_checkpoint(args.config, cfg)
        if not args.checkpoint:
            print(f'error: no CHECKPOINT given and {args.config} sets no load_from: name the '
                  f'checkpoint to test (tools/test.py CONFIG CHECKPOINT)', file=sys.stderr)
            return 2
    if not os.path.isfile(args.checkpoint):
        print(f'error: checkpoint {args.checkpoint} does not exist', file=sys.stderr)
        return 2
    from posecfg.engine import build_runner
    work_dir = (None if args.work_dir else _dialect_work_dir(args.config, cfg,
                                                             args.checkpoint)) \
        or cfg.get('work_dir') or os.path.join(os.path.dirname(
            os.path.abspath(args.checkpoint)), 'test')
    runner = build_runner(cfg, work_dir=work_dir, launcher=args.launcher, test=True,
                          checkpoint=args.checkpoint, out=args.out)
    runner.test()
    return 0


if __name__ == '__main__':
    main()
