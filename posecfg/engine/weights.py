"""Putting a checkpoint's weights into the model: every key and shape must match.

mmengine loads ``load_from``/``resume_from``/test checkpoints with ``strict=False`` and only
warns, so a ResNet-18 checkpoint evaluated on a ResNet-50 config printed an AP for a mostly random
model. Here a missing, unexpected or differently shaped tensor is a
:class:`CheckpointMismatchError` that counts and lists them. The one documented exception is the
config key ``load_partial=True`` with ``load_from`` (fine-tuning from another model): the tensors
whose name and shape match are loaded and a summary says what was and was not.

A checkpoint in DeepLabCut's ``PoseModel`` key layout (``backbone.model.…``, ``heads.<name>.…``:
a DeepLabCut 3 snapshot, or one posecfg's ``DLCSnapshotHook`` wrote) is first renamed to the
model's keys (:mod:`posecfg.models.dlc_keys`).
"""
from __future__ import annotations

import contextlib
import logging
from collections import OrderedDict

import torch.nn as nn
from mmengine.logging import print_log

from posecfg.models.dlc_keys import from_dlc_state_dict, is_dlc_layout
from posecfg.models.utils.pretrained import (LoadReport, PretrainedLoadError, _log_report,
                                             _problems, extract_state_dict, match_state_dict)

#: config key that allows a partial ``load_from``
PARTIAL_KEY = 'load_partial'


class CheckpointMismatchError(PretrainedLoadError):
    """A checkpoint's tensors do not fit the model's (names or shapes)."""

    user_error = True  # the tools print it without a traceback (posecfg.config.cli.cli_main)


def load_model_weights(model: nn.Module, checkpoint, path: str, *, partial: bool = False,
                       purpose: str = 'load_from') -> LoadReport:
    """Load ``checkpoint`` (a dict with ``state_dict``, or a state dict) into ``model``.

    Args:
        path: the checkpoint's file, named in messages.
        partial: load what fits and log a summary instead of failing on a mismatch.
        purpose: the config key or tool argument the checkpoint came from (``load_from``,
            ``resume_from``, ``the checkpoint to test``), named in the error.

    Returns:
        which tensors were loaded, missing, unexpected or of another shape.
    """
    state_dict = extract_state_dict(checkpoint, path)
    if is_dlc_layout(state_dict):  # a DeepLabCut PoseModel's keys (a DeepLabCut snapshot)
        state_dict = from_dlc_state_dict(state_dict, model)
    report = match_state_dict(model, state_dict)
    report.spec, report.path = purpose, path
    problems = report.missing or report.unexpected or report.mismatched
    total = len(model.state_dict())
    if problems and not partial:
        hint = (f'; to start training from the tensors that fit (fine-tuning), set '
                f'{PARTIAL_KEY}=True' if purpose == 'load_from' else '')
        raise CheckpointMismatchError(
            f'{purpose} {path} does not fit the model of this config ({len(report.loaded)} of '
            f'{total} model tensors match): {_problems(report)}. Is it a checkpoint of another '
            f'architecture or number of keypoints?{hint}')
    if partial and all(k.endswith('num_batches_tracked') for k in report.loaded):
        raise CheckpointMismatchError(f'{purpose} {path}: no tensor fits the model of this '
                                      f'config ({_problems(report)})')
    model.load_state_dict(OrderedDict((k, state_dict[k]) for k in report.loaded), strict=False)
    if problems:
        _log_report(report, type(model).__name__, total, 'current')
    else:
        print_log(f'loaded all {total} tensors of {type(model).__name__} from {path}',
                  logger='current', level=logging.INFO)
    return report


@contextlib.contextmanager
def skipped_initialisers():
    """Within it, ``torch.nn.init``'s initialisers (``kaiming_uniform_``, ``normal_``,
    ``zeros_``, ...) leave their tensor as it is: a model built here has uninitialised
    weights. Only for a model whose every weight a checkpoint replaces before it runs (a test
    run's: :func:`load_model_weights` refuses a checkpoint that does not fit it exactly);
    initialising HRNet-W32's 29M weights only to overwrite them took ~0.2 s."""
    saved = {name: getattr(nn.init, name) for name in dir(nn.init)
             if name.endswith('_') and not name.startswith('_')
             and callable(getattr(nn.init, name))}
    for name in saved:
        setattr(nn.init, name, _left_as_is)
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(nn.init, name, function)


def _left_as_is(tensor, *args, **kwargs):
    return tensor
