"""posecfg's side of the Lightning Pose benchmarks: the config as ``tools/train.py`` builds it."""
import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, 'reference'))
sys.path.insert(0, os.path.dirname(HERE))
from _lp_common import LP_CONFIG  # noqa: E402

from posecfg.config.cli import prefer_passive_openmp  # noqa: E402

prefer_passive_openmp()  # as the tools do, before torch loads


def load_lp_config(overrides, threads=None, work_dir=None):
    """Lightning Pose's example config.yaml with ``overrides`` (its key names) as the posecfg
    Config ``tools/train.py`` would build; ``threads`` sets ``runtime.threads`` (instead of
    posecfg's ``'auto'`` probe, so both tools get the same count); ``work_dir`` is the run
    folder (``tools/train.py --work-dir``)."""
    from posecfg.config.cli import flag_override
    from posecfg.interop.dialects import detect_dialect, load_dialect_config
    extra = [flag_override('--threads', 'runtime.threads', threads)] if threads else []
    if work_dir:
        extra.append(flag_override('--work-dir', 'work_dir', work_dir))
    return load_dialect_config(detect_dialect(LP_CONFIG), LP_CONFIG, overrides, extra)


def best_checkpoint(run_dir):
    """The run folder's best checkpoint (``tb_logs/<model>/version_N/checkpoints/*-best.ckpt``,
    Lightning Pose's layout)."""
    found = sorted(glob.glob(os.path.join(run_dir, 'tb_logs', '*', 'version_*', 'checkpoints',
                                          '*.ckpt')))
    best = [p for p in found if p.endswith('-best.ckpt')] or found
    if not best:
        raise FileNotFoundError(f'{run_dir}: no tb_logs/*/version_*/checkpoints/*.ckpt')
    return best[-1]
