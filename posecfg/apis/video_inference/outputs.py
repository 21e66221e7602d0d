"""The files video inference writes, in each tool's own layout, all written atomically.

``values``: (T, N, K, 3) float32 x, y (original video pixels), score per video frame; rows of
frames that did not decode (and instances a frame does not have) are NaN.

- ``dlc``: DeepLabCut 3's ``<video stem><scorer>.h5`` (key ``df_with_missing``, table format,
  rows ``0..T-1``, columns ``scorer/bodyparts/coords`` for one instance or
  ``scorer/individuals/bodyparts/coords`` for several; ``.csv`` beside it on request) and
  ``<video stem><scorer>_meta.pickle`` (plain values only), as
  ``deeplabcut/pose_estimation_pytorch/apis/videos.py`` ``analyze_videos`` (l. 550, 595) and
  ``create_df_from_prediction`` (l. 712-762) write them; see
  :mod:`posecfg.interop.dlc.outputs`. Labeled video: ``<video stem><scorer>_p<100·pcutoff>
  _labeled.mp4`` (``deeplabcut/utils/make_labeled_video.py`` l. 792, single-animal).
  A model of a DeepLabCut multi-animal project (its config tests on a ``DLCProjectDataset``)
  writes, per frame, the assembled individuals under the project's ``individuals`` (as many
  rows as it has, in the model's order: by identity with an identity head), ``-1`` for the
  individuals a frame does not have (DeepLabCut's ``PadOutputs(pad_value=-1)``; frames that
  did not decode stay NaN) and the unique bodyparts under ``single``. With several
  individuals (an ``individuals`` level) the per-frame assembled individuals go beside it,
  ready for tracking (:mod:`.assemblies`): ``<video stem><scorer>_assemblies.pickle`` in
  DeepLabCut's layout (plain dicts and arrays only: no pickle of arbitrary objects),
  ``_assemblies.npz`` (with each individual's PAF affinity) and, on request
  (``full_pickle``), DeepLabCut's ``_full.pickle``, which its ``convert_detections2tracklets``
  also opens (off by default: its two small arrays per bodypart and frame take about a minute
  per hour of video to pickle, measured on this 2-core Xeon), and the
  labeled video is named as DeepLabCut names a multi-animal project's:
  ``<video stem><scorer>_<bp|id>_p<100·pcutoff>_labeled.mp4`` (``_id`` with
  ``color_by='individual'``, make_labeled_video.py l. 787-792).
- ``lp``: Lightning Pose's ``video_preds/<video stem>.csv`` (:mod:`posecfg.interop.lp.outputs`;
  the first instance), its metric files ``<video stem>_temporal_norm.csv`` and, when the
  config's ``LPPredictionsHook`` has ``pca_metrics``, ``<video stem>_pca_singleview_error.csv``
  / ``_pca_multiview_error.csv`` (:mod:`posecfg.interop.lp.metric_files`), and
  ``video_preds/labeled_videos/<video stem>_labeled.mp4``.
- ``coco``: ``<video stem>_keypoints.json``, a COCO keypoint results list: one record per
  instance of each decoded frame, ``image_id`` = frame index, ``category_id`` 1,
  ``keypoints`` [x, y, score] × K, ``score`` = box score × mean keypoint score, ``bbox``
  xywh (the detection box, or the keypoints' extent). Labeled video
  ``<video stem>_keypoints_labeled.mp4``.

DeepLabCut scorer names (``DLC_<Net>_<Task><date>shuffle<k>_snapshot_<epoch>``,
:func:`posecfg.interop.dlc.outputs.scorer_name`): a config translated from a DeepLabCut shuffle
carries its scorer as the top-level key ``dlc_scorer``; any other config gets posecfg's default
``DLC_<backbone type>_<config stem>posecfgshuffle1_snapshot_<checkpoint epoch>`` (the epoch from
the checkpoint's ``meta``, 0 if it has none), e.g. ``DLC_Resnet_mymodelposecfgshuffle1_snapshot_
20``.
"""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from posecfg.files import write_atomically

__all__ = ['FORMATS', 'OutputPaths', 'output_paths', 'dlc_scorer', 'shuffle_scorer',
           'write_outputs', 'dlc_multi_animal']

FORMATS = ('dlc', 'lp', 'coco')


class OutputPaths(dict):
    """``predictions`` (the file whose presence means "analysed"), ``csv``, ``meta``,
    ``labeled`` → Path (only those of the format)."""

    @property
    def predictions(self) -> Path:
        return self['predictions']


def dlc_scorer(cfg, checkpoint_meta: Optional[dict] = None, config_path=None,
               checkpoint=None) -> str:
    """The DeepLabCut scorer name of a model (see the module docstring); for a snapshot
    ``checkpoint`` of a translated DeepLabCut shuffle, DeepLabCut's own name for it."""
    from posecfg.interop.dlc.outputs import scorer_name
    given = cfg.get('dlc_scorer') or (checkpoint and shuffle_scorer(cfg, checkpoint))
    if given:
        return str(given)
    backbone = str(cfg.to_dict()['model'].get('backbone', {}).get('type', 'posecfg'))
    stem = Path(config_path or getattr(cfg, 'filename', None) or 'config').stem
    task = re.sub(r'[^A-Za-z0-9]', '', stem) or 'config'
    epoch = int((checkpoint_meta or {}).get('epoch', 0) or 0)
    return scorer_name(task=task, date='posecfg', shuffle=1, net_type=backbone.lower(),
                       epoch=epoch)


def shuffle_scorer(cfg, checkpoint) -> Optional[str]:
    """DeepLabCut's scorer for a snapshot of a translated DeepLabCut shuffle
    (``DLC_<Net>_<Task><date>shuffle<k>_snapshot_<epoch or best-epoch>``, the name its
    ``analyze_videos`` and ``evaluate_network`` give), or None for other configs."""
    from posecfg.interop.dlc.outputs import scorer_name
    from posecfg.interop.dlc.project import read_project
    from posecfg.interop.dlc.snapshots import parse_snapshot
    test = cfg.to_dict().get('data', {}).get('test', {})
    snapshot = parse_snapshot(checkpoint)
    from posecfg.engine.hooks.dlc_evaluation import configured_net_type
    hooks = [h for h in cfg.get('custom_hooks') or [] if h.get('type') == 'DLCEvaluationHook']
    net_type = configured_net_type(hooks[0].get('net_type'), cfg) if hooks else None
    if test.get('type') != 'DLCProjectDataset' or snapshot is None or not net_type:
        return None
    project = read_project(test['project_config'])
    return scorer_name(project.task, project.date, int(test.get('shuffle', 1)),
                       net_type, snapshot.epoch, snapshot.best)


def output_paths(video, fmt: str, out_dir=None, scorer: str = '', pcutoff: float = 0.6,
                 save_csv: bool = False, multi_animal: bool = False,
                 color_by: str = 'bodypart', full_pickle: bool = False) -> OutputPaths:
    """Where ``fmt``'s files of ``video`` go (``out_dir`` default: the video's folder);
    ``multi_animal``: DeepLabCut predictions with an ``individuals`` level (the assemblies
    files, ``_full.pickle`` with ``full_pickle``, the labeled video's ``_bp``/``_id`` by
    ``color_by``)."""
    video = Path(video)
    folder = Path(out_dir) if out_dir is not None else video.parent
    stem = video.stem
    if fmt == 'dlc':
        prefix = f'{stem}{scorer}'
        if color_by not in ('bodypart', 'individual'):
            raise ValueError(f"color_by must be 'bodypart' or 'individual' (DeepLabCut's "
                             f'choices), got {color_by!r}')
        by = {'bodypart': '_bp', 'individual': '_id'}[color_by] if multi_animal else ''
        paths = OutputPaths(predictions=folder / f'{prefix}.h5',
                            meta=folder / f'{prefix}_meta.pickle',
                            labeled=folder / f'{prefix}{by}_p{int(100 * pcutoff)}_labeled.mp4')
        if save_csv:
            paths['csv'] = folder / f'{prefix}.csv'
        if multi_animal:
            paths['assemblies'] = folder / f'{prefix}_assemblies.pickle'
            paths['assemblies_table'] = folder / f'{prefix}_assemblies.npz'
            if full_pickle:
                paths['full'] = folder / f'{prefix}_full.pickle'
        return paths
    if fmt == 'lp':
        preds = folder / 'video_preds'
        return OutputPaths(predictions=preds / f'{stem}.csv',
                           labeled=preds / 'labeled_videos' / f'{stem}_labeled.mp4')
    if fmt == 'coco':
        return OutputPaths(predictions=folder / f'{stem}_keypoints.json',
                           labeled=folder / f'{stem}_keypoints_labeled.mp4')
    raise ValueError(f'output format must be one of {", ".join(FORMATS)}, got {fmt!r}')


def write_outputs(fmt: str, paths: OutputPaths, values: np.ndarray, vm, result,
                  scorer: str = '', batch_size: int = 1, boxes: Optional[Dict] = None,
                  start: Optional[float] = None, unique: Optional[Dict] = None,
                  assembly: Optional[Dict] = None,
                  metric_pcas: Optional[Dict] = None) -> List[Path]:
    """Write ``values`` (T, N, K, 3) in ``fmt`` to ``paths``; returns the files written.
    ``paths.predictions`` is written last, so that it exists only beside a complete output
    (a rerun skips a video whose predictions file exists).

    ``result``: the :class:`~posecfg.apis.video.VideoPredictions` (frame count, video info,
    decoded frames); ``boxes``: frame → (N, 5) boxes of a top-down model (COCO ``bbox``);
    ``unique``: frame → (U, 3) DeepLabCut unique bodyparts (``dlc`` only); ``assembly``:
    frame → the rows' affinities and identities (the assemblies files, ``dlc`` only);
    ``metric_pcas``: ``lp`` only, :func:`~posecfg.interop.lp.metric_files.video_metric_pcas`
    (None: fitted here).
    """
    names = vm.keypoint_names
    if fmt == 'dlc':
        return _write_dlc(paths, values, names, scorer, vm, result, batch_size, start, unique,
                          assembly)
    if fmt == 'lp':
        from posecfg.interop.lp.metric_files import video_metric_files
        from posecfg.interop.lp.outputs import write_predictions
        model_type = lp_model_type(vm)
        first = values[:, 0]
        metrics = video_metric_files(vm.cfg, str(paths.predictions), first[..., :2], names,
                                     pcas=metric_pcas)
        write_predictions(str(paths.predictions), first[..., :2], first[..., 2], names,
                          model_type)
        return [paths.predictions, *map(Path, metrics)]
    if fmt == 'coco':
        records = coco_records(values, result.decoded, boxes)
        write_atomically(json.dumps(records, allow_nan=False), paths.predictions)
        return [paths.predictions]
    raise ValueError(f'output format must be one of {", ".join(FORMATS)}, got {fmt!r}')


def _write_dlc(paths, values, names, scorer, vm, result, batch_size, start, unique=None,
               assembly=None):
    from posecfg.interop.dlc.outputs import (predictions_frame, write_predictions,
                                             write_video_metadata)
    from .assemblies import write_assemblies
    n = values.shape[1]
    project = dlc_project_of(vm)
    multi = project is not None and project.multi_animal
    individuals = list(_individuals(vm, n)) if dlc_multi_animal(vm, n) else None
    unique_names = list(project.unique_bodyparts) if multi else []
    unique_values = None
    if unique_names:
        unique_values = np.full((len(values), len(unique_names), 3), np.nan)
        for t, rows in (unique or {}).items():
            unique_values[t] = rows
    if multi:
        # DeepLabCut pads a frame's poses to its individuals with -1 (data/postprocessor.py
        # PadOutputs(pad_value=-1)); frames that did not decode stay NaN
        values = np.array(values, np.float64)
        absent = np.isnan(values).all(axis=(2, 3)) & np.asarray(result.decoded)[:, None]
        values[absent] = -1.0
    df = predictions_frame(values, scorer, names, individuals=individuals,
                           unique_predictions=unique_values, unique_bodyparts=unique_names)
    side = []  # before the .h5, whose presence means a complete output
    if 'assemblies' in paths:  # the same numbers as the .h5, per frame and individual
        graph, edges = paf_graph(vm.cfg)
        side = write_assemblies(paths['assemblies'], paths['assemblies_table'], values,
                                result.decoded, names, individuals or ['animal'],
                                assembly, unique_values, unique_names, paths.get('full'),
                                graph, edges)
    info = result.info
    pose_config = dict(vm.cfg.get('dlc_pose_config') or {})
    pose_config.setdefault('metadata', dict(bodyparts=list(names),
                                            individuals=individuals or ['animal'],
                                            unique_bodyparts=unique_names))
    stop = time.time()
    write_video_metadata(paths['meta'], scorer=scorer, pose_config=pose_config, fps=info.fps,
                         batch_size=batch_size, frame_dimensions=(info.width, info.height),
                         nframes=len(values), iteration=int(vm.cfg.get('dlc_iteration', 0)),
                         train_fraction=float(vm.cfg.get('dlc_train_fraction', 0.0) or 0.0),
                         start=start if start is not None else stop - result.seconds,
                         stop=stop)
    written = write_predictions(df, paths.predictions, csv='csv' in paths)
    return [*written, *side, paths['meta']]


def lp_model_type(vm) -> str:
    """Lightning Pose's ``model.model_type`` (the CSV scorer is ``<model_type>_tracker``): the
    config's ``lp_model_type`` when a translated LP config carries it, else ``regression`` for a
    model whose first head is an ``LPRegressionHead``, ``heatmap_mhcrnn`` for an
    ``LPHeatmapMHCRNNHead`` and ``heatmap`` otherwise."""
    given = vm.cfg.get('lp_model_type')
    if given:
        return str(given)
    heads = getattr(vm.model, 'heads', {})
    first = type(next(iter(heads.values()), None)).__name__
    return {'LPRegressionHead': 'regression',
            'LPHeatmapMHCRNNHead': 'heatmap_mhcrnn'}.get(first, 'heatmap')


def dlc_project_of(vm):
    """The DeepLabCut project a model's config tests on (a ``DLCProjectDataset``: a translated
    shuffle or a DLC-project config), or None."""
    test = (vm.cfg.get('data') or {}).get('test') or {}
    if not isinstance(test, dict) or test.get('type') != 'DLCProjectDataset':
        return None
    from posecfg.interop.dlc.project import read_project
    try:
        return read_project(test['project_config'])
    except (OSError, ValueError, KeyError):
        return None


def paf_graph(cfg):
    """``(graph, edges_to_keep)`` of a model's ``PartAffinityFieldPredictor`` (the first head
    with one), or ``(None, None)``."""
    heads = (cfg.to_dict().get('model') or {}).get('heads') or {}
    for head in heads.values():
        predictor = head.get('predictor') if isinstance(head, dict) else None
        if isinstance(predictor, dict) and predictor.get('graph') is not None:
            return predictor['graph'], predictor.get('edges_to_keep')
    return None, None


def dlc_multi_animal(vm, num_instances: int) -> bool:
    """Whether DeepLabCut predictions of ``num_instances`` rows per frame have an
    ``individuals`` level: several rows, or a model of a multi-animal project."""
    project = dlc_project_of(vm)
    return num_instances != 1 or (project is not None and project.multi_animal)


def default_instances(vm) -> int:
    """Instances per frame a whole-image model keeps by default: a DeepLabCut multi-animal
    project's individuals (DeepLabCut writes ``max_individuals`` rows), else 1."""
    project = dlc_project_of(vm)
    return len(project.individuals) if project is not None and project.multi_animal else 1


def _individuals(vm, n: int):
    """DeepLabCut ``individuals`` names for N instances: the DeepLabCut project's individuals,
    the config's top-level ``individuals`` list, else ``individual0``, ``individual1``, ..."""
    project = dlc_project_of(vm)
    given = list(project.individuals if project is not None and project.multi_animal
                 else vm.cfg.get('individuals') or [])
    if len(given) >= n:
        return given[:n]
    return [f'individual{i}' for i in range(n)]


def coco_records(values: np.ndarray, decoded: np.ndarray, boxes: Optional[Dict] = None
                 ) -> List[dict]:
    """COCO keypoint results (see the module docstring); NaN instances are left out.

    A keypoint missing from an instance (non-finite x or y, e.g. one DLCRNet's assembly did not
    reach) is written as ``0, 0, 0``, COCO's convention for an unlabelled keypoint; JSON has no
    NaN."""
    records = []
    for t in np.flatnonzero(decoded):
        for j, inst in enumerate(values[t]):
            if np.isnan(inst).all():
                continue
            scores = inst[:, 2]
            missing = ~np.isfinite(inst[:, :2]).all(axis=1)
            if boxes is not None and int(t) in boxes and j < len(boxes[int(t)]):
                bbox, box_score = boxes[int(t)][j][:4], float(boxes[int(t)][j][4])
            else:
                low, high = np.nanmin(inst[:, :2], 0), np.nanmax(inst[:, :2], 0)
                bbox, box_score = [*low, *(high - low)], 1.0
            records.append(dict(image_id=int(t), category_id=1,
                                keypoints=[round(float(v), 3) for v in
                                           np.where(missing[:, None], 0.0, inst).reshape(-1)],
                                score=float(box_score * np.nanmean(scores)),
                                bbox=[round(float(v), 3) for v in bbox]))
    return records


def existing(paths: OutputPaths, include_labeled: bool) -> List[Path]:
    """The outputs of ``paths`` that exist already."""
    keys = [k for k in paths if k != 'labeled' or include_labeled]
    return [paths[k] for k in keys if os.path.exists(paths[k])]


def stale_side_files(fmt: str, paths: OutputPaths, every: OutputPaths,
                     metrics: Sequence[str] = ()) -> List[Path]:
    """Files an earlier run may have left beside this video's outputs that this run will not
    rewrite, so that they would disagree with the new predictions: those of ``every`` (the
    :func:`output_paths` of the same video with every option on) that ``paths`` lacks, the
    labeled video aside (DeepLabCut's ``.csv``, ``_full.pickle``, assemblies), and Lightning
    Pose's PCA error files of the PCAs not in ``metrics`` (``'pca_singleview'``,
    ``'pca_multiview'``). Only those that exist."""
    candidates = [every[k] for k in every if k not in paths and k != 'labeled']
    if fmt == 'lp':
        from posecfg.interop.lp.outputs import metric_path
        candidates += [Path(metric_path(str(paths.predictions), kind))
                       for kind in ('pca_singleview', 'pca_multiview') if kind not in metrics]
    return [f for f in candidates if f.exists()]
