"""Command-line plumbing shared by ``tools/train.py``, ``tools/test.py`` and
``tools/print_config.py``: one ``--cfg-options`` grammar, one way to report config errors."""
from __future__ import annotations

import argparse
import functools
import os
import sys
import warnings
from typing import Callable, Sequence

from .config import Config, ConfigWarning
from .errors import ConfigError
from .openmp import choose_openmp_waiting  # noqa: F401  (the tools' entry point)
from .options import Override, parse_options

OPTIONS_HELP = (
    'override config keys: KEY=VALUE sets an existing key (or a constructor argument of the '
    "dict's type), +KEY=VALUE adds a key, ~KEY deletes one. Dotted keys index lists by number "
    '(data.train.pipeline.1.flip_prob=0.0) or by item type; values are Python-like: 1, 0.5, inf, '
    'None, True, [(train,1),(val,1)], {type:ResNet,depth:18}; quoted values are strings, kept '
    'exactly. --options is an alias.')


def add_config_arguments(parser: argparse.ArgumentParser):
    parser.add_argument('config', help='config file (.py, .json or .yaml); or a DeepLabCut '
                        "shuffle's pytorch_config.yaml, a DeepLabCut project config.yaml (with "
                        '--shuffle) or a Lightning Pose config.yaml')
    parser.add_argument('--cfg-options', '--options', dest='cfg_options', nargs='+',
                        action='extend', default=[], metavar='KEY=VALUE', help=OPTIONS_HELP +
                        " For a DeepLabCut or Lightning Pose file, KEY is in that tool's names.")
    parser.add_argument('--shuffle', type=int, default=None,
                        help='with a DeepLabCut project config.yaml: the shuffle to use')
    parser.add_argument('--trainset-index', type=int, default=0,
                        help='with a DeepLabCut project config.yaml: the TrainingFraction index')


def add_launcher_arguments(parser: argparse.ArgumentParser):
    """``--launcher`` (how the processes were started) and the ``--local_rank`` that
    ``torch.distributed.launch`` passes; also exports it as ``LOCAL_RANK``."""
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='how the processes were started')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)


def load_config(args: argparse.Namespace, extra: Sequence[Override] = ()) -> Config:
    """The config named on the command line with its ``--cfg-options`` and then ``extra``
    overrides (made from a tool's own flags, such as ``--work-dir``)."""
    if getattr(args, 'local_rank', None) is not None:
        os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    from posecfg.interop.dialects import detect_dialect, load_dialect_config
    dialect = detect_dialect(args.config)
    if dialect is not None:  # a DeepLabCut or Lightning Pose file, translated in memory
        return load_dialect_config(dialect, args.config, args.cfg_options, extra,
                                   shuffle=getattr(args, 'shuffle', None),
                                   trainset_index=getattr(args, 'trainset_index', 0))
    if getattr(args, 'shuffle', None) is not None:
        raise ConfigError(f'--shuffle is for a DeepLabCut project config.yaml; {args.config} is '
                          f'a posecfg config')
    overrides = parse_options(args.cfg_options) + list(extra)
    return Config.fromfile(args.config, overrides)


def flag_override(flag: str, key: str, value) -> Override:
    """An override coming from a tool's own flag (``--work-dir W`` → ``work_dir='W'``)."""
    return Override('add', tuple(key.split('.')), value, f'{key}={value!r}', flag)


def _format_warning(message, category, filename, lineno, line=None):
    if issubclass(category, ConfigWarning):
        return f'warning: {message}\n'
    return f'{filename}:{lineno}: {category.__name__}: {message}\n'


def cli_main(main: Callable[[], int]) -> Callable[[], None]:
    """Run ``main``; errors in what the user gave print their message (no traceback) and exit
    with status 2: config errors, and any exception class that sets ``user_error = True`` (a
    checkpoint of another model, ``posecfg.engine.weights.CheckpointMismatchError``)."""

    @functools.wraps(main)
    def wrapper():
        warnings.formatwarning = _format_warning
        try:
            code = main()
        except Exception as e:
            if not isinstance(e, ConfigError) and not getattr(e, 'user_error', False):
                raise
            print(f'error: {e}', file=sys.stderr)
            sys.exit(2)
        finally:
            joined = _leave_process_group()
        if joined:
            _exit_rank(code or 0)
        sys.exit(code or 0)

    return wrapper


def _leave_process_group() -> bool:
    """Destroy the distributed process group a tool joined (tools/dist_*.sh); returns whether
    there was one."""
    dist = sys.modules.get('torch.distributed')  # a tool that never imported it never joined
    if dist is not None and dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
        return True
    return False


def _exit_rank(code: int) -> None:
    """End a distributed rank whose work is done and written without the interpreter's
    teardown: even after the process group was destroyed, a rank of tools/dist_test.sh
    sometimes aborted there ('terminate called without an active exception', exit -6, a
    C++ thread of torch.distributed destroyed joinable), failing a launch whose results were
    complete. Output streams and logging handlers are flushed first; the runner closed its
    visualizer (TensorBoard) in its ``after_run`` hook; dataloader workers end when their
    parent does."""
    import logging
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be written anyway
            pass
    logging.shutdown()
    os._exit(code)
