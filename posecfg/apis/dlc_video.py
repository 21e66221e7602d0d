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
(cropping, dynamic cropping, tracking, ...) are not accepted or, where DeepLabCut's signature
has them, refused when not at their defaults, so a call relying on them fails loudly instead
of silently doing something else.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Union

import numpy as np

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
                         trainingsetindex: int = 0, filtered: bool = False,
                         fastmode: bool = True, save_frames: bool = False,
                         keypoints_only: bool = False,
                         Frames2plot: Optional[Sequence[int]] = None,  # noqa: N803 (DLC's)
                         displayedbodyparts: Union[str, Sequence[str]] = 'all',
                         displayedindividuals: Union[str, Sequence[str]] = 'all',
                         codec: str = 'mp4v', outputframerate: Optional[float] = None,
                         destfolder: Optional[PathLike] = None, draw_skeleton: bool = False,
                         trailpoints: int = 0, displaycropped: bool = False,
                         color_by: str = 'bodypart', modelprefix: str = '',
                         init_weights: str = '', track_method: str = '',
                         superanimal_name: str = '', pcutoff: Optional[float] = None,
                         skeleton: Optional[Sequence[Sequence[str]]] = None,
                         skeleton_color: Optional[str] = None, dotsize: Optional[int] = None,
                         colormap: Optional[str] = None, alphavalue: float = 0.5,
                         overwrite: bool = False,
                         confidence_to_alpha: Union[bool, Callable[[float], float]] = False,
                         plot_bboxes: bool = True, bboxes_pcutoff: Optional[float] = None,
                         max_workers: Optional[int] = None, *,
                         checkpoint: Optional[PathLike] = None,
                         cfg_options: Sequence[str] = ()) -> List[Optional[str]]:
    """Draw the predictions of :func:`analyze_videos` (the ``.h5`` of the same scorer) on each
    video, with DeepLabCut's arguments in its order and defaults. Returns the labeled videos
    written (None where an existing one was kept; DeepLabCut returns True for both).

    What is drawn (:mod:`posecfg.apis.video.writer`): points with likelihood > ``pcutoff``
    as discs of radius ``dotsize`` in ``colormap``, coloured by ``color_by`` (``'bodypart'``
    or ``'individual'``), the unique bodyparts too; with ``draw_skeleton`` the dataset's
    skeleton (or ``skeleton``, pairs of bodypart names) per individual in ``skeleton_color``
    (a matplotlib colour). ``pcutoff``, ``dotsize``, ``colormap`` and ``skeleton_color``
    default to the DeepLabCut project config.yaml's, as DeepLabCut draws with those, else to
    0.6, 8, ``'rainbow'`` and ``'white'`` (DeepLabCut's argument defaults); unlike DeepLabCut,
    which ignores ``dotsize``, ``colormap`` and ``skeleton_color`` arguments for a project,
    posecfg draws with the values given. A multi-animal ``.h5`` gives DeepLabCut's
    ``<prefix>_bp_p60_labeled.mp4`` / ``_id_`` names.

    DeepLabCut's options, as it does them:
        filtered: draw ``<video><scorer>_filtered.h5`` (DeepLabCut's ``filterpredictions``
            writes it) into ``<video><scorer>_filtered[_bp|_id]_p60_labeled.mp4``.
        keypoints_only: the points on black frames of the video's size (DeepLabCut sizes
            its matplotlib canvas to the largest x and y of the data instead).
        save_frames: also each labeled frame as ``temp-<video stem>/file<t>.png`` in the
            video's folder (``keypoints_only`` then off, as DeepLabCut).
        Frames2plot: only these frame indices are written (DeepLabCut honours it only with
            ``fastmode=False``; posecfg always does). Indices outside the video are an error.
        displayedbodyparts / displayedindividuals: ``'all'`` or names (a single name may be
            a string); the others are not drawn. Colours stay those of all bodyparts, and of
            the individuals shown (``'single'`` names the unique bodyparts), as DeepLabCut's.
            A name not in the predictions is an error (DeepLabCut drops it silently).
        codec: the four-character fourcc of the MP4 (default ``mp4v``).
        outputframerate: frames per second of the labeled video (default the video's).
        trailpoints: each point's positions in that many previous frames, as dots.
        confidence_to_alpha: True (opacity ``clip((p - pcutoff) / (1 - pcutoff), 0, 1)``,
            ``p`` when ``pcutoff`` is 0), False, or a function likelihood → opacity.

    Accepted with no effect (posecfg draws every video with OpenCV, one after another, and
    never crops, tracks or detects boxes into the ``.h5``): ``fastmode`` (either value),
    ``displaycropped``, ``alphavalue`` (DeepLabCut uses it only for matplotlib drawing),
    ``plot_bboxes``, ``bboxes_pcutoff``, ``max_workers``. Values posecfg cannot honour are
    a ValueError: ``modelprefix``, ``init_weights``, ``track_method``,
    ``superanimal_name`` (the weights are the config's snapshot or ``checkpoint=``).
    """
    from posecfg.apis.inference import _test_dataset_meta
    from posecfg.engine.checkpoint import load_checkpoint_file
    from posecfg.interop.dlc.outputs import read_predictions
    from .video import write_labeled_video
    from .video_inference import dlc_scorer, output_paths
    _refuse_unsupported(modelprefix=(modelprefix, ''),
                        init_weights=(init_weights, ''), track_method=(track_method, ''),
                        superanimal_name=(superanimal_name, ''))
    cfg, checkpoint = load_config_and_checkpoint(config, shuffle, trainingsetindex, checkpoint,
                                                 cfg_options)
    saved = load_checkpoint_file(checkpoint)
    scorer = dlc_scorer(cfg, dict(saved.get('meta') or saved.get('metadata') or {}),
                        checkpoint=checkpoint)
    given = dict(pcutoff=pcutoff, dotsize=dotsize, colormap=colormap,
                 skeleton_color=skeleton_color)
    style = {**_project_style(config), **{k: v for k, v in given.items() if v is not None}}
    pcutoff = float(style['pcutoff'])
    if isinstance(confidence_to_alpha, bool):
        confidence_to_alpha = _confidence_to_alpha(pcutoff) if confidence_to_alpha else None
    link_rgb = _color_rgb(style['skeleton_color'])
    written = []
    for video in _videos(videos, video_extensions):
        h5 = output_paths(video, 'dlc', destfolder, scorer, pcutoff).predictions
        prefix = h5.stem
        if filtered:
            h5 = h5.with_name(f'{prefix}_filtered.h5')
        if not h5.exists():
            raise FileNotFoundError(
                f'{video}: no {"filtered " if filtered else ""}predictions {h5}; run '
                + ("DeepLabCut's filterpredictions on the .h5 first" if filtered else
                   'analyze_videos first (with the same shuffle/checkpoint)'))
        data = read_predictions(h5)
        labeled = output_paths(video, 'dlc', destfolder, scorer, pcutoff,
                               multi_animal=data['individuals'] is not None,
                               color_by=color_by)['labeled']
        # DeepLabCut names it after the .h5 drawn: <prefix>_filtered[_bp|_id]_p60_labeled.mp4
        labeled = labeled.with_name(h5.stem + labeled.name[len(prefix):])
        points, unique = _displayed(data, h5, displayedbodyparts, displayedindividuals)
        if not draw_skeleton:
            links = ()
        elif skeleton is not None:
            links = _skeleton_indices(skeleton, data['bodyparts'], h5)
        else:
            links = _test_dataset_meta(cfg).skeleton.tolist()
        written.append(write_labeled_video(
            video, points[..., :2], points[..., 2], labeled, overwrite=overwrite,
            unique=unique, colormap=style['colormap'], pcutoff=pcutoff,
            dotsize=style['dotsize'],
            skeleton=links, skeleton_color=link_rgb, color_by=color_by, fourcc=codec,
            fps=outputframerate, trailpoints=trailpoints,
            confidence_to_alpha=confidence_to_alpha, frames=Frames2plot,
            keypoints_only=keypoints_only and not save_frames,
            frames_dir=Path(video).parent / f'temp-{Path(video).stem}' if save_frames else None))
    return written


def _refuse_unsupported(**given) -> None:
    """ValueError naming each argument whose value (first) is not its only honoured one."""
    bad = [f'{name}={value!r}' for name, (value, default) in given.items() if value != default]
    if bad:
        raise ValueError(f'create_labeled_video: posecfg cannot honour {", ".join(bad)} '
                         '(no model prefixes, SuperAnimal weights or tracking); leave them at their defaults, pass the weights as '
                         'checkpoint=')


def _confidence_to_alpha(pcutoff: float) -> Callable[[float], float]:
    """DeepLabCut's ``confidence_to_alpha=True`` (make_labeled_video.py
    ``_get_default_conf_to_alpha``): likelihood → opacity."""
    if pcutoff == 0:
        return lambda p: p
    return lambda p: float(np.clip((p - pcutoff) / (1 - pcutoff), 0, 1))


def _color_rgb(color) -> tuple:
    """A matplotlib colour (``'white'``, ``'#ff0000'``, (r, g, b) in 0..1) → RGB uint8, as
    DeepLabCut converts ``skeleton_color``."""
    import matplotlib.colors as mcolors
    try:
        rgba = mcolors.to_rgba(color)
    except ValueError:
        raise ValueError(f'skeleton_color {color!r} is not a matplotlib colour (e.g. '
                         "'white', 'black', '#ff8800')") from None
    return tuple(int(c) for c in (np.array(rgba[:3]) * 255).astype(np.uint8))


#: DeepLabCut create_labeled_video's argument defaults, used where the config has no value
STYLE_DEFAULTS = dict(pcutoff=0.6, dotsize=8, colormap='rainbow', skeleton_color='white')


def _project_style(config: PathLike) -> dict:
    """``pcutoff``, ``dotsize``, ``colormap``, ``skeleton_color`` of a DeepLabCut project
    ``config.yaml`` (what DeepLabCut draws with), else :data:`STYLE_DEFAULTS`."""
    import yaml
    style = dict(STYLE_DEFAULTS)
    if Path(config).suffix.lower() in ('.yaml', '.yml'):
        tree = yaml.safe_load(Path(config).read_text()) or {}
        if isinstance(tree, dict):
            style.update({k: tree[k] for k in STYLE_DEFAULTS if tree.get(k) is not None})
    return style


def _names(value, what: str, known: Sequence[str], h5: Path) -> Optional[List[str]]:
    """``'all'`` → None, else the names (one name may be a string), each checked."""
    if isinstance(value, str):
        if value == 'all':
            return None
        value = [value]
    names = list(value)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f'{h5}: {what} {unknown} not in the predictions ({list(known)}); '
                         "give 'all' or some of those")
    return names


def _displayed(data, h5: Path, bodyparts, individuals):
    """The predictions to draw: ``(points (T, N', K, 3), unique (T, U', 3))`` with the
    individuals not displayed left out and the bodyparts not displayed hidden (likelihood NaN,
    their colours kept)."""
    points, unique = data['keypoints'].copy(), data['unique_keypoints'].copy()
    shown = _names(bodyparts, 'displayedbodyparts',
                   data['bodyparts'] + data['unique_bodyparts'], h5)
    if shown is not None:
        points[..., [b not in shown for b in data['bodyparts']], 2] = np.nan
        unique[..., [b not in shown for b in data['unique_bodyparts']], 2] = np.nan
    if data['individuals'] is None:
        if individuals != 'all':
            raise ValueError(f'{h5}: single-animal predictions have no individuals; '
                             f"displayedindividuals must be 'all', got {individuals!r}")
        return points, unique
    known = data['individuals'] + (['single'] if data['unique_bodyparts'] else [])
    chosen = _names(individuals, 'displayedindividuals', known, h5)
    if chosen is not None:
        points = points[:, [i for i, n in enumerate(data['individuals']) if n in chosen]]
        if 'single' not in chosen:
            unique = unique[:, :0]
    return points, unique


def _skeleton_indices(skeleton, bodyparts: Sequence[str], h5: Path) -> List[tuple]:
    """Pairs of bodypart names → pairs of keypoint indices."""
    missing = sorted({n for pair in skeleton for n in pair if n not in bodyparts})
    if missing:
        raise ValueError(f'{h5}: skeleton names {missing} are not bodyparts of the '
                         f'predictions ({list(bodyparts)})')
    return [(bodyparts.index(a), bodyparts.index(b)) for a, b in skeleton]
