"""``DLCLearningStatsHook``: DeepLabCut 3's ``learning_stats.csv``.

The format, from DeepLabCut's ``CSVLogger`` (runners/logger.py:391-505, DLC 3.0.1) and what the
training loop logs to it (runners/train.py:302-317):

- one row per epoch, ``step`` = the epoch (1, 2, ...); what is logged twice for one step (train
  losses, then the evaluation's metrics) is merged into one row;
- columns: ``step``, then every name ever logged, sorted (``losses/train.total_loss``,
  ``metrics/test.rmse``, ...); a value missing in a row is an empty field;
- written with Python's ``csv.writer`` (``str()`` of each float, ``\\r\\n`` line ends), the whole
  file rewritten after every log.

Losses are ``losses/train.{term}`` (epoch means, :class:`~.dlc_records.EpochLosses`) and
metrics ``metrics/...`` (:func:`~.dlc_records.dlc_metrics`). DeepLabCut also logs
``losses/eval.*`` from a loss pass over the test images; posecfg's evaluation computes no
losses, so those columns are absent.

Better than DeepLabCut: the file is rewritten atomically (temporary + rename), and a resumed
run keeps the rows up to the epoch it resumes from and drops later ones (left by the killed run
after its last snapshot), so no epoch appears twice; a fresh run starts a new file.

DeepLabCut key → argument: the train folder → ``out_dir`` (default the work dir);
``log_filename`` (``TrainingRunner``'s, ``learning_stats.csv``) → ``filename``; metric and loss
names as in :class:`~posecfg.engine.hooks.DLCSnapshotHook` (``metric_names``,
``metric_prefix``, ``loss_names``).
"""
from __future__ import annotations

import csv
import io
import os
from typing import Dict, List, Mapping, Optional, Tuple

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.runner import BaseLoop

from posecfg.files import write_atomically
from posecfg.registry import HOOKS

from .dlc_records import EpochLosses, dlc_metrics

Row = Dict[str, Optional[float]]


def read_learning_stats(path: str) -> Tuple[List[int], List[Row]]:
    """(steps, rows) of a ``learning_stats.csv``; empty fields are None. Raises ``ValueError``
    naming the file when it has no ``step`` column or a row's step is not an integer."""
    with open(path, newline='') as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None:
            return [], []
        if 'step' not in reader.fieldnames:
            raise ValueError(f'{path}: no "step" column (columns: {reader.fieldnames}); not a '
                             f'DeepLabCut learning_stats.csv')
        steps, rows = [], []
        for line, record in enumerate(reader, start=2):
            try:
                steps.append(int(record['step']))
            except (TypeError, ValueError):
                raise ValueError(f'{path}, line {line}: step {record["step"]!r} is not an '
                                 f'integer') from None
            row: Row = {}
            for name in reader.fieldnames:
                if name == 'step':
                    continue
                text = (record.get(name) or '').strip()
                row[name] = float(text) if text else None
            rows.append(row)
    return steps, rows


def format_learning_stats(steps: List[int], rows: List[Row]) -> str:
    """The file's text, as DeepLabCut's ``CSVLogger._prepare_logs`` + ``csv.writer``."""
    if not rows:
        return ''
    names = sorted({name for row in rows for name in row})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(['step'] + names)
    for step, row in zip(steps, rows):
        writer.writerow([step] + ['' if row.get(n) is None else row[n] for n in names])
    return out.getvalue()


@HOOKS.register_module()
class DLCLearningStatsHook(Hook):
    """Writes DeepLabCut's ``learning_stats.csv`` (module docstring).

    Args:
        out_dir: folder of the file; default the work dir.
        filename: ``learning_stats.csv``.
        metric_names, metric_prefix, loss_names: as :class:`DLCSnapshotHook`'s.
    """

    priority = 'VERY_LOW'
    example_args = dict(filename='learning_stats.csv')

    def __init__(self, out_dir: Optional[str] = None, filename: str = 'learning_stats.csv',
                 metric_names: Optional[Mapping[str, str]] = None,
                 metric_prefix: str = 'metrics/',
                 loss_names: Optional[Mapping[str, str]] = None):
        self.out_dir, self.filename = out_dir, filename
        self.metric_names, self.metric_prefix = dict(metric_names or {}), metric_prefix
        self._losses = EpochLosses(loss_names)
        self.steps: List[int] = []
        self.rows: List[Row] = []

    @property
    def path(self) -> str:
        return os.path.join(self.out_dir, self.filename)

    def before_run(self, runner) -> None:
        self.out_dir = self.out_dir or runner.work_dir

    def before_train(self, runner) -> None:
        start = runner.train_loop._epoch
        self.steps, self.rows = [], []
        if start > 0 and os.path.isfile(self.path):
            steps, rows = read_learning_stats(self.path)
            kept = [(s, r) for s, r in zip(steps, rows) if s <= start]
            self.steps, self.rows = [s for s, _ in kept], [r for _, r in kept]
            if len(kept) < len(steps):
                runner.logger.info(f'{self.path}: dropped {len(steps) - len(kept)} row(s) after '
                                   f'epoch {start}, the epoch training resumes from')

    def before_train_epoch(self, runner) -> None:
        self._losses.reset()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._losses.add(outputs)

    def after_train_epoch(self, runner) -> None:
        means = self._losses.means('train')
        self._log(runner, runner.train_loop._epoch + 1,
                  {f'losses/{name}': value for name, value in means.items()})

    def after_val_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        if not isinstance(getattr(runner, '_train_loop', None), BaseLoop):
            return  # a validation outside training
        self._log(runner, runner.train_loop._epoch,
                  dlc_metrics(metrics, self.metric_names, self.metric_prefix))

    def _log(self, runner, step: int, values: Row) -> None:
        if self.steps and self.steps[-1] == step:
            self.rows[-1].update(values)
        else:
            self.steps.append(step)
            self.rows.append(dict(values))
        if is_main_process():
            write_atomically(format_learning_stats(self.steps, self.rows), self.path)
