"""A Lightning Pose checkpoint (``model.checkpoint``) loaded into a posecfg Lightning Pose model.

Lightning Pose 2.4.3 (``models/factory.py:303-321``): ``model.checkpoint`` is a ``.ckpt`` file,
or a folder searched recursively for one (``glob('<dir>/**/*.ckpt')[0]``); its
``['state_dict']`` is loaded with ``strict=False`` and, when that raises (a tensor of another
shape, e.g. another number of keypoints), only the keys containing ``backbone``.

The Lightning ``state_dict`` of a tracker (``models/heatmap_tracker.py``,
``models/regression_tracker.py``) holds:

- ``backbone.<i>.…``: the trunk, an ``nn.Sequential`` of torchvision children (ResNet ``0``
  conv1, ``1`` bn1, ``4``-``7`` layer1-4; EfficientNet ``0`` features) — renamed by each
  backbone's ``convert_pretrained`` (``ResNet``/``EfficientNet`` know Lightning Pose's layout);
- ``head.…``: ``upsampling_layers.<i>.{weight,bias}`` (heatmap) or ``linear_layer.*``
  (regression) — posecfg's ``LPHeatmapHead`` / ``LPRegressionHead`` use the same names, under
  the estimator's head name (``bodypart``);
- ``loss_factory*``, ``rmse_loss``: loss modules (the PCA losses' buffers); posecfg's losses
  are fitted from the labels, so these are not loaded.

posecfg differs in being strict: the file is read with ``torch.load(weights_only=True)``
(:func:`~posecfg.models.utils.read_checkpoint`: tensors and plain containers only, a clear
refusal otherwise); a backbone that does not fit, or keys of no known part, are errors; a head
that does not fit (another keypoint count or model type) is left as initialised, as in Lightning
Pose, with a warning naming its tensors.
"""
from __future__ import annotations

import glob
import os
import warnings
from collections import OrderedDict
from typing import Dict, List

from torch import nn

from posecfg.config.config import ConfigWarning

#: state-dict prefixes of Lightning Pose's loss modules (not model weights)
LOSS_PREFIXES = ('loss_factory', 'rmse_loss')


class LPCheckpointError(ValueError):
    """A Lightning Pose checkpoint that does not fit the model, naming what is wrong."""


def find_lp_checkpoint(path: str) -> str:
    """``path`` itself when it is a ``.ckpt`` file, else the first ``*.ckpt`` below the folder
    (sorted, so the choice is reproducible; Lightning Pose takes glob's first)."""
    path = os.path.expanduser(str(path))
    if path.endswith('.ckpt'):
        if not os.path.isfile(path):
            raise LPCheckpointError(f'model.checkpoint: {path} does not exist')
        return path
    found = sorted(glob.glob(os.path.join(path, '**', '*.ckpt'), recursive=True))
    if not found:
        raise LPCheckpointError(f'model.checkpoint: no .ckpt file in {path} or below it')
    return found[0]


def read_lp_state_dict(path: str) -> 'OrderedDict':
    """The tensors of a Lightning checkpoint's ``state_dict``, read safely."""
    from posecfg.models.utils import read_checkpoint
    from posecfg.models.utils.pretrained import extract_state_dict
    return extract_state_dict(read_checkpoint(path), path)


def load_lp_checkpoint(model: nn.Module, path: str, head: str = 'bodypart') -> Dict[str, List]:
    """Load Lightning Pose checkpoint ``path`` (a ``.ckpt`` or a folder) into a posecfg
    estimator with ``backbone`` and head ``head`` (module docstring). Returns
    ``{'loaded': [...], 'skipped': [...]}`` (posecfg key names)."""
    from posecfg.models.utils.pretrained import match_state_dict
    file = find_lp_checkpoint(path)
    state = read_lp_state_dict(file)
    parts = {'backbone': OrderedDict(), 'head': OrderedDict()}
    unknown = []
    for key, value in state.items():
        first, _, rest = key.partition('.')
        if first in parts:
            parts[first][rest] = value
        elif not key.startswith(LOSS_PREFIXES):
            unknown.append(key)
    if unknown:
        raise LPCheckpointError(f'{file}: keys of no Lightning Pose model part (backbone.*, '
                                f'head.*, loss_factory*): {", ".join(unknown[:8])}')
    backbone = model.backbone
    convert = getattr(backbone, 'convert_pretrained', None)
    weights = convert(parts['backbone'])[0] if callable(convert) else parts['backbone']
    report = match_state_dict(backbone, weights)
    if report.missing or report.unexpected or report.mismatched or not report.loaded:
        raise LPCheckpointError(
            f'{file}: its backbone does not fit model.backbone ({type(backbone).__name__}): '
            f'missing {report.missing[:4]}, unexpected {report.unexpected[:4]}, other shapes '
            f'{report.mismatched[:4]} (is model.backbone the one the checkpoint was trained '
            f'with?)')
    loaded = {f'backbone.{k}': weights[k] for k in report.loaded}
    skipped = []
    head_module = getattr(model, head)
    head_report = match_state_dict(head_module, parts['head'])
    if head_report.missing or head_report.unexpected or head_report.mismatched:
        # Lightning Pose's fallback (models/factory.py:314-319): the backbone alone
        skipped = [f'head.{k}' for k in parts['head']]
        warnings.warn(
            f'{file}: its head does not fit this model (other shapes '
            f'{head_report.mismatched[:4]}, missing {head_report.missing[:4]}, unexpected '
            f'{head_report.unexpected[:4]}): only the backbone is loaded, the head is left as '
            f'initialised (as Lightning Pose does)', ConfigWarning, stacklevel=2)
    else:
        loaded.update({f'{head}.{k}': parts['head'][k] for k in head_report.loaded})
    model.load_state_dict(loaded, strict=False)
    return {'loaded': sorted(loaded), 'skipped': skipped}
