"""Lightning Pose's post-training video predictions, driven by its config's ``eval`` section.

    from posecfg.apis.lp_video import predict_eval_videos
    predict_eval_videos('config.yaml', model_dir='outputs/2024-01-01/12-00-00')

Lightning Pose (``scripts/train_hydra.py`` / ``train.py``, after training) predicts every video
of ``eval.test_videos_directory`` when ``eval.predict_vids_after_training`` is true, writing
``<model_dir>/video_preds/<video stem>.csv``, and with ``eval.save_vids_after_training`` a
labeled video ``video_preds/labeled_videos/<video stem>_labeled.mp4`` drawn in
``eval.colormap`` hiding points at or below ``eval.confidence_thresh_for_vid`` (seed 001 and the
sample ``config_default.yaml``: defaults true, ``${data.video_dir}``, false, ``cool``, 0.90).

Frames per batch: Lightning Pose's video reader reads ``dali.base.predict.sequence_length``
frames per batch, and for context models (``heatmap_mhcrnn``) windows of
``dali.context.predict.sequence_length`` frames advancing by that minus 4, each predicting its
centre frames with 2 frames of context on each side (``data/video/dali.py:585-612``,
``data/video/opencv.py``; ``litpose predict --batch_size`` sets both keys,
``cli/commands/predict.py:217-219``). posecfg's video reader does the same with a batch of
``sequence_length`` frames (base) or ``sequence_length - 4`` centre frames plus their 4 context
frames (context; :func:`video_batch_size`). The keys set how many frames one forward pass
holds (memory and speed); the predictions do not depend on them: every frame sees the same
window t-2 … t+2, and the video's first and last frames follow Lightning Pose's edge rule
whatever the batching (:mod:`~posecfg.apis.video_inference.context_edges`).

The config goes through :func:`posecfg.interop.dialects.load_dialect_config` (a clear error
until posecfg has the Lightning Pose translator); the weights are ``checkpoint=`` or the best
checkpoint under ``model_dir`` (:func:`~posecfg.apis.video_inference.snapshots.find_checkpoint`).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, List, Optional, Sequence

from posecfg.config.errors import ConfigError

__all__ = ['predict_eval_videos', 'eval_settings', 'video_batch_size', 'config_video_batch_size']

#: frames of context on each side a context model's window holds (t-2 … t+2)
CONTEXT_FRAMES = 2

EVAL_DEFAULTS = dict(predict_vids_after_training=True, test_videos_directory=None,
                     save_vids_after_training=False, colormap='cool',
                     confidence_thresh_for_vid=0.9)


def _resolve(value: Any, tree: dict, path) -> Any:
    """``${a.b}`` references of a string (OmegaConf's plain interpolation) from ``tree``."""
    if not isinstance(value, str):
        return value

    def lookup(match):
        node = tree
        for key in match[1].split('.'):
            if not isinstance(node, dict) or key not in node:
                raise ConfigError(f'{path}: eval.test_videos_directory refers to ${{{match[1]}}}, '
                                  'which the config does not have')
            node = node[key]
        return str(node)
    return re.sub(r'\$\{([A-Za-z0-9_.]+)\}', lookup, value)


def eval_settings(config) -> dict:
    """The ``eval`` keys of a Lightning Pose ``config.yaml`` with Lightning Pose's defaults,
    ``test_videos_directory`` resolved."""
    import yaml
    with open(config, encoding='utf-8') as f:
        tree = yaml.safe_load(f) or {}
    settings = dict(EVAL_DEFAULTS, **(tree.get('eval') or {}))
    settings['test_videos_directory'] = _resolve(settings['test_videos_directory'], tree, config)
    return settings


def video_batch_size(config, where=None, default: Optional[int] = None) -> int:
    """Centre frames per batch for predicting videos with a Lightning Pose config (a
    ``config.yaml`` path, or its tree as a mapping; ``where`` names it in errors), module
    docstring: ``dali.base.predict.sequence_length``, or for ``heatmap_mhcrnn``
    ``dali.context.predict.sequence_length - 4`` (its windows hold 4 context frames more).
    ``default``: returned when the key is absent (None: the key is required); a present key
    must be valid either way."""
    if isinstance(config, dict):
        tree = config
    else:
        import yaml
        with open(config, encoding='utf-8') as f:
            tree = yaml.safe_load(f) or {}
        where = where or config
    config = where or 'the Lightning Pose config'
    context = (tree.get('model') or {}).get('model_type') == 'heatmap_mhcrnn'
    key = f'dali.{"context" if context else "base"}.predict.sequence_length'
    node = tree
    for part in key.split('.'):
        node = node.get(part) if isinstance(node, dict) else None
    if node is None and default is not None:
        return default
    least = 2 * CONTEXT_FRAMES + 1 if context else 1
    if isinstance(node, bool) or not isinstance(node, int) or node < least:
        need = ('an integer > 4: the frames of a window, 4 of them context (Lightning Pose: '
                'data/video/dali.py:525-528)' if context else 'an integer >= 1 (frames per batch)')
        raise ConfigError(f'{config}: {key} is {node!r}; video prediction needs {need}')
    return node - 2 * CONTEXT_FRAMES if context else node


def config_video_batch_size(cfg, default: int = 8) -> int:
    """Frames per batch for a translated config's video predictions: Lightning Pose's
    (:func:`video_batch_size`, with the run's overrides) when ``cfg`` comes from a Lightning
    Pose file (its ``LPRunFolderHook`` holds the tree) that sets the ``dali`` key, else
    ``default`` (Lightning Pose requires the key only with
    ``eval.predict_vids_after_training``)."""
    hook = next((h for h in cfg.get('custom_hooks') or [] if isinstance(h, dict) and
                 h.get('type') == 'LPRunFolderHook'), None)
    if hook is None:
        return default
    return video_batch_size(hook['lp_config'], where=str(getattr(cfg, 'filename', '') or
                                                          'the Lightning Pose config'),
                            default=default)


def predict_eval_videos(config, model_dir, checkpoint: Optional[str] = None,
                        cfg_options: Sequence[str] = (), overwrite: bool = False,
                        batch_size: Optional[int] = None, progress: bool = True) -> List[Path]:
    """Predict the ``eval.test_videos_directory`` videos into ``model_dir/video_preds`` (see
    the module docstring); returns the files written (nothing when
    ``eval.predict_vids_after_training`` is false). ``batch_size``: centre frames per batch;
    None: the config's (:func:`video_batch_size`)."""
    from .dlc_video import load_config_and_checkpoint
    from .video_inference import collect_videos, infer_video, load_video_model
    from .video_inference.snapshots import find_checkpoint
    settings = eval_settings(config)
    if not settings['predict_vids_after_training']:
        return []
    directory = settings['test_videos_directory']
    if not directory or not Path(directory).is_dir():
        raise ConfigError(f'{config}: eval.test_videos_directory {directory!r} is not a folder '
                          '(set it, or eval.predict_vids_after_training=false)')
    if batch_size is None:
        batch_size = video_batch_size(config)
    checkpoint = checkpoint or find_checkpoint(model_dir)
    if checkpoint is None:
        raise ConfigError(f'{model_dir}: no checkpoint found (epoch=E-step=S-best.ckpt); pass '
                          'checkpoint=')
    cfg, checkpoint = load_config_and_checkpoint(config, checkpoint=checkpoint,
                                                 cfg_options=cfg_options)
    vm = load_video_model(cfg, checkpoint)
    from posecfg.interop.lp.metric_files import video_metric_pcas
    pcas = video_metric_pcas(vm.cfg, vm.keypoint_names)  # once, and before any frame is read
    written = []
    for video in collect_videos([directory]):
        result = infer_video(vm, video, fmt='lp', out_dir=model_dir, batch_size=batch_size,
                             save_video=bool(settings['save_vids_after_training']),
                             pcutoff=float(settings['confidence_thresh_for_vid']),
                             colormap=str(settings['colormap']), dotsize=4,
                             overwrite=overwrite, progress=progress, metric_pcas=pcas)
        written.extend(result.written)
    return written
