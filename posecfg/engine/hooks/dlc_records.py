"""What DeepLabCut 3 records about an epoch, gathered from posecfg's runner for the snapshot and
``learning_stats.csv`` hooks.

DeepLabCut (runners/train.py:273-319, DLC 3.0.1) keeps, per epoch,

- the mean of every loss term over the epoch's batches (``np.nanmean`` of float32 values),
  named ``{mode}.{term}`` (``train.total_loss``, ``train.bodypart:heatmap``, ...);
- the evaluation metrics, named ``metrics/test.{metric}`` (train.py:492), kept from the last
  evaluation on epochs without one.

posecfg's loss terms are the model's ``log_vars`` (``loss`` = the total, ``loss_kpt``, ...):
terms whose name contains ``loss`` (mmengine's rule for what is summed into the total), renamed
by ``loss_names`` (default ``{'loss': 'total_loss'}``, DeepLabCut's name of the total). Metrics
are named ``metric_prefix + metric_names.get(name, name)`` from the names posecfg's evaluator
returns (``metric_names={'rmse': 'test.rmse'}`` gives DeepLabCut's ``metrics/test.rmse``).
"""
from __future__ import annotations

import numbers
from typing import Dict, List, Mapping, Optional

import numpy as np

#: posecfg's name of the summed loss → DeepLabCut's
DEFAULT_LOSS_NAMES = {'loss': 'total_loss'}


class EpochLosses:
    """Means over an epoch's iterations of the loss terms in the model's ``log_vars``: every
    name containing ``loss`` and every name ``loss_names`` maps (a head's ``heatmap`` and
    ``locref`` terms, which DeepLabCut logs as ``<head>_heatmap``, ``<head>_locref``)."""

    def __init__(self, loss_names: Optional[Mapping[str, str]] = None):
        self.loss_names = dict(DEFAULT_LOSS_NAMES if loss_names is None else loss_names)
        self._values: Dict[str, List[float]] = {}

    def reset(self) -> None:
        self._values = {}

    def add(self, outputs: Optional[Mapping]) -> None:
        for name, value in (outputs or {}).items():
            if 'loss' not in name and name not in self.loss_names:
                continue
            value = float(value.detach().float().mean()) if hasattr(value, 'detach') \
                else float(value)
            self._values.setdefault(self.loss_names.get(name, name), []).append(value)

    def means(self, mode: str = 'train') -> Dict[str, float]:
        """``{f'{mode}.{term}': mean}``; NaN where every value was NaN (as DeepLabCut)."""
        out = {}
        for name, values in self._values.items():
            array = np.asarray(values, dtype=np.float32)
            out[f'{mode}.{name}'] = float(np.nanmean(array)) if (~np.isnan(array)).any() \
                else float('nan')
        return out


def dlc_metrics(metrics: Optional[Mapping], metric_names: Optional[Mapping[str, str]] = None,
                metric_prefix: str = 'metrics/') -> Dict[str, float]:
    """posecfg evaluator results → DeepLabCut's metric names; a value that is not a number is
    logged as 0.0, as DeepLabCut does (train.py:303-307)."""
    names = dict(metric_names or {})
    out = {}
    for name, value in (metrics or {}).items():
        if isinstance(value, np.ndarray) and value.size == 1:
            value = value.item()
        number = float(value) if isinstance(value, numbers.Real) and \
            not isinstance(value, bool) else 0.0
        out[metric_prefix + names.get(name, name)] = number
    return out


def finished_epoch_validates(runner) -> bool:
    """Whether the validation loop runs after the training epoch that just ended (called from
    ``after_train_epoch``, when ``runner.train_loop._epoch`` is not yet incremented): the
    condition of mmengine's and posecfg's epoch loops."""
    loop = runner.train_loop
    epoch = loop._epoch + 1
    return (runner.val_loop is not None and epoch >= loop.val_begin
            and (epoch % loop.val_interval == 0 or epoch == loop.max_epochs))
