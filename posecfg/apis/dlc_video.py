"""DeepLabCut's video functions in DeepLabCut's call shape, on posecfg's video inference.

    from posecfg.apis.dlc_video import analyze_videos, create_labeled_video
    scorer = analyze_videos('project/config.yaml', ['videos/m1.mp4'], shuffle=1,
                            save_as_csv=True)
    create_labeled_video('project/config.yaml', ['videos/m1.mp4'], shuffle=1, pcutoff=0.6)

``config``: a DeepLabCut project ``config.yaml`` (with ``shuffle`` / ``trainingsetindex``), a
shuffle's ``pytorch_config.yaml``, a Lightning Pose ``config.yaml`` (each translated through
:func:`posecfg.interop.dialects.load_dialect_config`, which says clearly when this posecfg has
no translator for it yet), or a posecfg ``.py`` config. The weights: ``checkpoint=`` when
given, else the best snapshot of the config's ``work_dir`` (the train folder), as DeepLabCut
picks it (:func:`posecfg.apis.video_inference.snapshots.find_checkpoint`).

Outputs are DeepLabCut's (``<video stem><scorer>.h5``, ``.csv`` with ``save_as_csv``,
``_meta.pickle``, ``<video stem><scorer>_p<pcutoff·100>_labeled.mp4``), next to each video
unless ``destfolder``. Arguments of DeepLabCut's functions that posecfg does not implement
(cropping, dynamic cropping, tracking, filtered data, trails, ...) are not accepted, so a call
relying on them fails loudly instead of silently doing something else.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional, Sequence, Union

from posecfg.config.errors import ConfigError

__all__ = ['analyze_videos', 'create_labeled_video', 'load_config_and_checkpoint']

PathLike = Union[str, Path]


def load_config_and_checkpoint(config: PathLike, shuffle: int = 1, trainingsetindex: int = 0,
                               checkpoint: Optional[PathLike] = None,
                               cfg_options: Sequence[str] = ()):
    """``(cfg, checkpoint path)`` for ``config`` (see the module docstring)."""
    from posecfg.config import Config
    from posecfg.config.options import parse_options
    from posecfg.interop.dialects import detect_dialect, load_dialect_config
    from .video_inference.snapshots import find_checkpoint
    dialect = detect_dialect(config)
    if dialect is not None:
        cfg = load_dialect_config(dialect, config, cfg_options,
                                  shuffle=shuffle if dialect == 'dlc_project' else None,
                                  trainset_index=trainingsetindex)
    else:
        cfg = Config.fromfile(str(config), parse_options(list(cfg_options)))
    if checkpoint is None:
        folder = cfg.get('work_dir')
        checkpoint = find_checkpoint(folder) if folder else None
        if checkpoint is None:
            raise ConfigError(f'{config}: no checkpoint given and none found in the train '
                              f'folder {folder!r} (snapshot-best-NNN.pt, snapshot-NNN.pt, '
                              'best_*.pth, latest.pth or epoch_N.pth); pass checkpoint=')
    return cfg, str(checkpoint)


def _videos(videos, video_extensions) -> List[Path]:
    from .video_inference import VIDEO_EXTENSIONS, collect_videos
    if isinstance(videos, (str, Path)):
        videos = [videos]
    found = collect_videos(videos)
    if video_extensions is not None:
        allowed = [video_extensions] if isinstance(video_extensions, str) else video_extensions
        allowed = tuple('.' + e.lstrip('.').lower() for e in allowed)
        found = [v for v in found if v.suffix.lower() in allowed]
    elif not found:
        raise FileNotFoundError(f'no videos in {videos} ({", ".join(VIDEO_EXTENSIONS)})')
    return found


def analyze_videos(config: PathLike, videos, video_extensions=None, shuffle: int = 1,
                   trainingsetindex: int = 0, save_as_csv: bool = False,
                   device: Optional[str] = None, destfolder: Optional[PathLike] = None,
                   batch_size: Optional[int] = None, overwrite: bool = False,
                   checkpoint: Optional[PathLike] = None, cfg_options: Sequence[str] = (),
                   progress: bool = True, save_full_pickle: bool = False) -> str:
    """Predict every frame of ``videos`` (files or folders); returns the scorer name, as
    DeepLabCut's ``analyze_videos`` does. Videos already analysed (their ``.h5`` exists) are
    kept unless ``overwrite``. A video that cannot be read is reported and the others are
    analysed; then a :class:`~posecfg.apis.video.VideoOpenError` lists the failures.

    ``batch_size`` default 8 (DeepLabCut's default is the project's ``batch_size``, 1).
    Multi-animal models also write the per-frame assemblies (``_assemblies.pickle``,
    ``_assemblies.npz``) and with ``save_full_pickle`` DeepLabCut's ``_full.pickle``
    (:mod:`posecfg.apis.video_inference.assemblies`).
    """
    from .video import VideoDecodeError, VideoOpenError
    from .video_inference import dlc_scorer, infer_video, load_video_model
    cfg, checkpoint = load_config_and_checkpoint(config, shuffle, trainingsetindex, checkpoint,
                                                 cfg_options)
    vm = load_video_model(cfg, checkpoint, device=device or 'cpu')
    scorer = dlc_scorer(vm.cfg, vm.checkpoint_meta, checkpoint=checkpoint)
    failed = []
    for video in _videos(videos, video_extensions):
        try:
            infer_video(vm, video, fmt='dlc', out_dir=destfolder, batch_size=batch_size or 8,
                        save_csv=save_as_csv, overwrite=overwrite, scorer=scorer,
                        progress=progress, full_pickle=save_full_pickle)
        except (VideoOpenError, VideoDecodeError) as e:
            print(f'error: {e}', file=sys.stderr)
            failed.append(str(e))
    if failed:
        raise VideoOpenError(f'{len(failed)} video(s) could not be analysed: '
                             + '; '.join(failed))
    return scorer


def create_labeled_video(config: PathLike, videos, video_extensions=None, shuffle: int = 1,
                         trainingsetindex: int = 0, destfolder: Optional[PathLike] = None,
                         draw_skeleton: bool = False, pcutoff: Optional[float] = None,
                         dotsize: int = 8, colormap: str = 'rainbow',
                         overwrite: bool = False, checkpoint: Optional[PathLike] = None,
                         cfg_options: Sequence[str] = (), color_by: str = 'bodypart'
                         ) -> List[Optional[str]]:
    """Draw the predictions of :func:`analyze_videos` (the ``.h5`` of the same scorer) on each
    video: points with likelihood > ``pcutoff`` (default 0.6, DeepLabCut's) as discs of radius
    ``dotsize`` in ``colormap``, coloured by ``color_by`` (``'bodypart'``, DeepLabCut's
    default, or ``'individual'``), the unique bodyparts too, the dataset's skeleton per
    individual with ``draw_skeleton``. A multi-animal ``.h5`` gives DeepLabCut's
    ``<prefix>_bp_p60_labeled.mp4`` / ``_id_`` names. Returns the labeled videos written
    (None where an existing one was kept)."""
    from posecfg.apis.inference import _test_dataset_meta
    from posecfg.engine.checkpoint import load_checkpoint_file
    from posecfg.interop.dlc.outputs import read_predictions
    from .video import write_labeled_video
    from .video_inference import dlc_scorer, output_paths
    cfg, checkpoint = load_config_and_checkpoint(config, shuffle, trainingsetindex, checkpoint,
                                                 cfg_options)
    saved = load_checkpoint_file(checkpoint)
    scorer = dlc_scorer(cfg, dict(saved.get('meta') or saved.get('metadata') or {}),
                        checkpoint=checkpoint)
    pcutoff = 0.6 if pcutoff is None else float(pcutoff)
    skeleton = _test_dataset_meta(cfg).skeleton.tolist() if draw_skeleton else ()
    written = []
    for video in _videos(videos, video_extensions):
        h5 = output_paths(video, 'dlc', destfolder, scorer, pcutoff).predictions
        if not h5.exists():
            raise FileNotFoundError(f'{video}: no predictions {h5}; run '
                                    'analyze_videos first (with the same shuffle/checkpoint)')
        data = read_predictions(h5)
        paths = output_paths(video, 'dlc', destfolder, scorer, pcutoff,
                             multi_animal=data['individuals'] is not None, color_by=color_by)
        points = data['keypoints']  # (T, N, K, 3)
        written.append(write_labeled_video(
            video, points[..., :2], points[..., 2], paths['labeled'], overwrite=overwrite,
            unique=data['unique_keypoints'], colormap=colormap, pcutoff=pcutoff,
            dotsize=dotsize, skeleton=skeleton, color_by=color_by))
    return written
