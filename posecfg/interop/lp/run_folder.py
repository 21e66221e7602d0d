"""A Lightning Pose run folder: its layout and the small files in it, as Lightning Pose 2.4.3
writes them.

``litpose train`` (``cli/commands/train.py:72-80``) trains into ``outputs/<YYYY-MM-DD>/<HH-MM-SS>/``
(or ``--output_dir``), which then holds (``train.py``):

- ``config.yaml``: the composed config, interpolations unresolved (``OmegaConf.save(cfg,
  resolve=False)``, l. 355), after Lightning Pose added ``creation_datetime`` (ISO time, last
  top-level key) and ``model.lightning_pose_version`` (last key of ``model``) (l. 295-297) and
  raised ``training.num_gpus`` to at least 1 (``data/factory.py:262``); step-mode runs also get
  ``training.lr_scheduler_params.multisteplr.milestones`` in epochs (l. 325-333). Hydra's
  ``hydra`` section is not in it (``hydra.compose`` drops it);
- a copy of each labels CSV under its file name (l. 357-371);
- ``train_status.json``: ``{"status": ..., "progress": {"completed", "total", "timestamp"}}``
  (``callbacks.py::JSONTrainingProgressTracker``, l. 535-633), status ``TRAINING`` while
  completed < total, then ``EVALUATING``, indented by 4; after evaluation ``COMPLETED``,
  rewritten without indentation (``train.py:117-126``). Progress counts epochs (or steps in
  step mode);
- ``tb_logs/<model_name>/version_<n>/``: TensorBoard events, ``hparams.yaml`` and
  ``checkpoints/epoch=<E>-step=<S>-best.ckpt`` (``ModelCheckpoint(filename='{epoch}-{step}-best',
  monitor='val_supervised_loss')``, ``callbacks.py:690-696``; E is the 0-based epoch, S the
  optimizer steps done) and, with ``ckpt_every_n_epochs``, ``epoch=<E>-step=<S>.ckpt``;
  ``version_<n>`` is the next free number;
- ``predictions.csv`` and its metric files, ``video_preds/<video>.csv`` (+ metrics) and
  ``video_preds/labeled_videos/<video>_labeled.mp4`` (:mod:`.outputs`).
"""
from __future__ import annotations

import copy
import datetime
import json
import os
import re
import time
from typing import Any, Dict, List, Optional

from posecfg.files import write_atomically

from .yaml_io import dump_yaml

TB_LOGS = 'tb_logs'
CHECKPOINTS = 'checkpoints'
STATUS_FILE = 'train_status.json'
CONFIG_FILE = 'config.yaml'
HPARAMS_FILE = 'hparams.yaml'
VIDEO_PREDS = 'video_preds'
LABELED_VIDEOS = os.path.join('video_preds', 'labeled_videos')
TRAINING, EVALUATING, COMPLETED = 'TRAINING', 'EVALUATING', 'COMPLETED'
_CKPT = re.compile(r'^epoch=(\d+)-step=(\d+)(-best)?(-v\d+)?\.ckpt$')


def default_run_dir(now: Optional[datetime.datetime] = None, root: str = 'outputs') -> str:
    """``outputs/<YYYY-MM-DD>/<HH-MM-SS>`` (local time), as ``litpose train`` chooses it."""
    now = now or datetime.datetime.now()
    return os.path.join(root, now.strftime('%Y-%m-%d'), now.strftime('%H-%M-%S'))


def tb_version_dir(run_dir: str, model_name: str) -> str:
    """``tb_logs/<model_name>/version_<n>`` with n one above the highest existing version
    (Lightning's ``TensorBoardLogger``), 0 in a new run folder."""
    root = os.path.join(run_dir, TB_LOGS, model_name)
    versions = []
    if os.path.isdir(root):
        for name in os.listdir(root):
            match = re.fullmatch(r'version_(\d+)', name)
            if match and os.path.isdir(os.path.join(root, name)):
                versions.append(int(match.group(1)))
    return os.path.join(root, f'version_{max(versions) + 1 if versions else 0}')


def checkpoint_name(epoch: int, step: int, best: bool = True) -> str:
    """``epoch=<E>-step=<S>-best.ckpt`` (best by validation loss) or ``epoch=<E>-step=<S>.ckpt``
    (``ckpt_every_n_epochs``)."""
    return f'epoch={int(epoch)}-step={int(step)}{"-best" if best else ""}.ckpt'


def find_checkpoint(run_dir: str, model_name: str) -> Optional[str]:
    """The checkpoint Lightning Pose loads from a run folder (``utils/io.py::
    ckpt_path_from_base_path``, l. 38-146): in the highest ``version_<n>``, the ``-best``
    checkpoint (the one with most steps if several), else the one with most steps."""
    root = os.path.join(run_dir, TB_LOGS, model_name)
    if not os.path.isdir(root):
        return None
    versions = sorted((int(m.group(1)), name) for name in os.listdir(root)
                      for m in [re.fullmatch(r'version_(\d+)', name)] if m)
    for _, version in reversed(versions):
        folder = os.path.join(root, version, CHECKPOINTS)
        names = [n for n in os.listdir(folder) if n.endswith('.ckpt')] \
            if os.path.isdir(folder) else []
        if not names:
            continue
        parsed = [(n, _CKPT.match(n)) for n in names]
        best = [(int(m.group(2)), n) for n, m in parsed if m and m.group(3)]
        if best:
            return os.path.join(folder, max(best)[1])
        stepped = [(int(m.group(2)), n) for n, m in parsed if m]
        if stepped:
            return os.path.join(folder, max(stepped)[1])
        if len(names) == 1:
            return os.path.join(folder, names[0])
        raise ValueError(f'{folder}: several checkpoints, none marked -best and none named '
                         f'epoch=E-step=S.ckpt: {sorted(names)}')
    return None


# ---------------------------------------------------------------------------- config.yaml

def saved_config(raw: Dict[str, Any], *, lightning_pose_version: str,
                 creation_datetime: Optional[str] = None,
                 milestones: Optional[List[int]] = None) -> Dict[str, Any]:
    """The config tree Lightning Pose saves into the run folder (module docstring).

    Args:
        raw: the config as written plus overrides, interpolations unresolved
            (:attr:`posecfg.interop.lp.config.LPConfig.raw`).
        lightning_pose_version: the value of ``model.lightning_pose_version``.
        creation_datetime: ISO time (default: now).
        milestones: step mode: the milestones in epochs Lightning Pose adds.
    """
    tree = copy.deepcopy(raw)
    tree.pop('hydra', None)
    training = tree.get('training')
    if isinstance(training, dict) and isinstance(training.get('num_gpus'), int):
        training['num_gpus'] = max(training['num_gpus'], 1)
    if milestones is not None:
        multisteplr = tree['training']['lr_scheduler_params']['multisteplr']
        multisteplr['milestones'] = list(milestones)
    tree.pop('creation_datetime', None)
    tree['creation_datetime'] = creation_datetime or datetime.datetime.now().isoformat()
    model = tree.setdefault('model', {})
    model.pop('lightning_pose_version', None)
    model['lightning_pose_version'] = lightning_pose_version
    return tree


def write_config(run_dir: str, tree: Dict[str, Any]) -> str:
    """Write ``config.yaml`` (:func:`saved_config`'s tree) as ``OmegaConf.save`` does."""

    path = os.path.join(run_dir, CONFIG_FILE)
    write_atomically(dump_yaml(tree), path)
    return path


# --------------------------------------------------------------------------- hparams.yaml

#: keys of the model's ``save_hyperparameters()`` in order: the base tracker's ``__init__``
#: signature, then the keyword arguments ``models/factory.py::get_model`` passes beyond it
#: (l. 258-301); ``loss_factory*`` are ignored by the trackers
_HPARAM_KEYS = {
    'heatmap': ('num_keypoints', 'num_targets', 'backbone', 'downsample_factor', 'pretrained',
                'torch_seed', 'optimizer', 'optimizer_params', 'lr_scheduler',
                'lr_scheduler_params', 'image_size', 'backbone_checkpoint'),
    'heatmap_mhcrnn': ('num_keypoints', 'num_targets', 'backbone', 'pretrained',
                       'downsample_factor', 'torch_seed', 'optimizer', 'optimizer_params',
                       'lr_scheduler', 'lr_scheduler_params', 'image_size',
                       'backbone_checkpoint'),
    'regression': ('num_keypoints', 'backbone', 'pretrained', 'torch_seed', 'optimizer',
                   'optimizer_params', 'lr_scheduler', 'lr_scheduler_params', 'image_size'),
}


def lp_hparams(cfg, num_targets: Optional[int] = None,
               milestones: Optional[List[int]] = None) -> Dict[str, Any]:
    """The model hyperparameters Lightning saves to ``hparams.yaml`` for a Lightning Pose model.

    Values as ``get_model`` computes them: optimizer and scheduler settings merged over
    Lightning Pose's defaults (``models/base.py:64-156``: ``{learning_rate: 0.001}``,
    ``{milestones: [150, 200, 250], gamma: 0.5}``), ``pretrained`` from
    ``model.backbone_pretrained``, ``torch_seed`` from ``training.rng_seed_model_pt``,
    ``image_size`` the resize height; heatmap models get ``num_targets`` (2 K, from the dataset)
    and mhcrnn models None.

    Args:
        cfg: a loaded :class:`~posecfg.interop.lp.config.LPConfig`.
        num_targets: heatmap models: 2 × keypoints of the labels CSV.
        milestones: step mode: the milestones in epochs (``train.py:325-333`` adds them to the
            config before building the model).
    """
    model_type = cfg.get('model.model_type')
    if model_type not in _HPARAM_KEYS:
        raise ValueError(f'hparams.yaml layout known for {", ".join(_HPARAM_KEYS)} models, not '
                         f'{model_type}')
    scheduler = cfg.get('training.lr_scheduler')
    scheduler_params = {'milestones': [150, 200, 250], 'gamma': 0.5}
    scheduler_params.update(cfg.get(f'training.lr_scheduler_params.{scheduler}', None) or {})
    if milestones is not None:
        scheduler_params['milestones'] = list(milestones)
    optimizer_params = {'learning_rate': 1e-3}
    optimizer_params.update(cfg.get('training.optimizer_params', None) or {})
    values = {
        'num_keypoints': cfg.get('data.num_keypoints'),
        'num_targets': num_targets if model_type == 'heatmap' else None,
        'backbone': cfg.get('model.backbone'),
        'downsample_factor': cfg.get('data.downsample_factor'),
        'pretrained': cfg.get('model.backbone_pretrained'),
        'torch_seed': cfg.get('training.rng_seed_model_pt'),
        'optimizer': cfg.get('training.optimizer'),
        'optimizer_params': optimizer_params,
        'lr_scheduler': scheduler,
        'lr_scheduler_params': scheduler_params,
        'image_size': cfg.get('data.image_resize_dims.height'),
        'backbone_checkpoint': cfg.get('model.backbone_checkpoint'),
    }
    return {key: values[key] for key in _HPARAM_KEYS[model_type]}


def write_hparams(version_dir: str, hparams: Dict[str, Any]) -> str:

    path = os.path.join(version_dir, HPARAMS_FILE)
    write_atomically(dump_yaml(hparams), path)
    return path


# ---------------------------------------------------------------------- train_status.json

def write_train_progress(run_dir: str, completed: int, total: int,
                         timestamp: Optional[float] = None) -> str:
    """Record training progress as Lightning Pose's progress callback does: merged into the
    existing file, status TRAINING while ``completed < total``, else EVALUATING, indent 4."""
    path = os.path.join(run_dir, STATUS_FILE)
    contents = _read_status(path)
    contents.update({
        'status': TRAINING if completed < total else EVALUATING,
        'progress': {'completed': int(completed), 'total': int(total),
                     'timestamp': time.time() if timestamp is None else timestamp},
    })
    return _write_status(path, json.dumps(contents, indent=4))


def write_train_completed(run_dir: str) -> str:
    """Mark the run COMPLETED as ``train.py:117-126`` does (no indentation)."""
    path = os.path.join(run_dir, STATUS_FILE)
    contents = _read_status(path)
    contents['status'] = COMPLETED
    return _write_status(path, json.dumps(contents))


def _read_status(path: str) -> dict:
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def _write_status(path: str, text: str) -> str:

    write_atomically(text, path)
    return path
