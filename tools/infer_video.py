#!/usr/bin/env python
"""Predict keypoints in videos with a trained model; write each tool's own files.

    python tools/infer_video.py CONFIG CHECKPOINT VIDEO_OR_DIR [...] [--out-dir DIR]
        [--format dlc|lp|coco] [--batch-size 8] [--save-csv] [--save-video]
        [--pcutoff 0.6] [--colormap rainbow] [--dotsize 8]
        [--color-by bodypart|individual] [--trail-points N] [--detections FILE]
        [--max-instances N] [--overwrite] [--device cpu] [--cfg-options KEY=VALUE ...]

CONFIG: a posecfg config (BottomUp whole-image models, TopDown models), or a DeepLabCut /
Lightning Pose config file (translated by posecfg.interop.dialects; ``--shuffle`` for a DLC
project config.yaml). Output format by default: the config's tool (DeepLabCut ``.h5`` for a DLC
file, Lightning Pose ``video_preds/<video>.csv`` for an LP file), else ``coco`` JSON for
top-down and DeepLabCut ``.h5`` for BottomUp models. With several individuals (a DeepLabCut
multi-animal project's model, or ``--max-instances`` > 1) the DeepLabCut format also writes the
per-frame assembled individuals for tracking (``<video><scorer>_assemblies.pickle``,
DeepLabCut's layout, and ``_assemblies.npz``; with ``--dlc-full-pickle`` DeepLabCut's
``_full.pickle`` too, which its convert_detections2tracklets also opens; see
posecfg.apis.video_inference.assemblies), and
``--color-by individual`` colours each individual in the labeled video (DeepLabCut's
``color_by``; default ``bodypart``, DeepLabCut's). Files go next to each video unless
``--out-dir``; existing outputs are kept (the video is skipped) unless ``--overwrite``.

Top-down models take boxes from ``--detections`` (COCO detection results with ``image_id`` =
frame index, or ``{"<frame>": [[x, y, w, h, score], ...]}``; with several videos, a folder
holding ``<video stem>.json`` per video), else the whole frame is the box.

Exit status: 0 when every video was analysed (or kept), 1 when one could not be read (the
others are still analysed), 2 for errors in the arguments or the config.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from posecfg.config.cli import (add_config_arguments, cli_main, load_config,  # noqa: E402
                                choose_openmp_waiting)

choose_openmp_waiting()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_config_arguments(parser)
    parser.add_argument('checkpoint', help="the trained weights (.pth, a DeepLabCut .pt "
                        "snapshot), or a train folder / 'auto' (the config's work_dir): its "
                        'best snapshot, as DeepLabCut picks it')
    parser.add_argument('videos', nargs='+', help='video files or folders of videos')
    parser.add_argument('--out-dir', default=None, help='output folder (default: each '
                        "video's folder)")
    parser.add_argument('--format', choices=['dlc', 'lp', 'coco'], default=None,
                        help='output files (default: from the config, see above)')
    parser.add_argument('--batch-size', type=int, default=None,
                        help="frames per batch (default 8; a Lightning Pose config's "
                             'dali.base.predict.sequence_length, or its '
                             'dali.context.predict.sequence_length - 4 for context models, '
                             'when it sets them)')
    parser.add_argument('--save-csv', action='store_true',
                        help="DeepLabCut format: write the .csv beside the .h5")
    parser.add_argument('--save-video', action='store_true', help='write a labeled video')
    parser.add_argument('--pcutoff', type=float, default=None,
                        help='labeled video: points with a score <= this are hidden (default '
                             '0.6 as DeepLabCut; 0.9 for the lp format, as Lightning Pose)')
    parser.add_argument('--colormap', default=None,
                        help='labeled video: matplotlib colormap (default rainbow; cool for lp)')
    parser.add_argument('--dotsize', type=float, default=None,
                        help='labeled video: dot radius in pixels (default 8; 4 for lp)')
    parser.add_argument('--color-by', choices=['bodypart', 'individual'], default='bodypart',
                        help="labeled video: a colour per bodypart (DeepLabCut's default) or "
                             'per individual (multi-animal models)')
    parser.add_argument('--trail-points', type=int, default=0,
                        help="labeled video: also each point's positions in the N previous "
                             "frames (DeepLabCut's trailpoints; default 0)")
    parser.add_argument('--dlc-full-pickle', action='store_true',
                        help="several individuals: also write DeepLabCut's _full.pickle "
                             '(about a minute per hour of video)')
    parser.add_argument('--detections', default=None,
                        help='top-down models: per-frame boxes (file, or folder of '
                             '<video stem>.json)')
    parser.add_argument('--max-instances', type=int, default=None,
                        help='instances kept per frame (default 1 for whole-image models)')
    parser.add_argument('--overwrite', action='store_true', help='replace existing outputs')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--no-progress', action='store_true', help='no progress lines')
    return parser.parse_args(argv)


#: labeled-video defaults per format: DeepLabCut create_labeled_video (pcutoff 0.6, dotsize 8,
#: rainbow); Lightning Pose eval.confidence_thresh_for_vid 0.9, dotsize 4, eval.colormap cool
VIDEO_DEFAULTS = {'lp': dict(pcutoff=0.9, dotsize=4, colormap='cool'),
                  'dlc': dict(pcutoff=0.6, dotsize=8, colormap='rainbow'),
                  'coco': dict(pcutoff=0.6, dotsize=8, colormap='rainbow')}


def detections_for(spec, video, several):
    from posecfg.apis.video_inference import load_detections
    if spec is None:
        return None
    if os.path.isdir(spec):
        path = os.path.join(spec, os.path.splitext(os.path.basename(video))[0] + '.json')
        if not os.path.isfile(path):
            raise FileNotFoundError(f'{video}: no detection file {path}')
        return load_detections(path)
    if several:
        raise ValueError('--detections FILE with several videos: give a folder of '
                         '<video stem>.json files instead')
    return load_detections(spec)


def resolve_checkpoint(spec, cfg):
    """A checkpoint file, or the one :func:`find_checkpoint` picks in a folder (``auto``: the
    config's ``work_dir``)."""
    from posecfg.apis.video_inference.snapshots import find_checkpoint
    from posecfg.config import ConfigError
    folder = cfg.get('work_dir') if spec == 'auto' else spec
    if folder and os.path.isdir(folder):
        found = find_checkpoint(folder)
        if found is None:
            raise ConfigError(f'{folder}: no checkpoint in this folder (snapshot-best-NNN.pt, '
                              'snapshot-NNN.pt, best_*.pth, latest.pth, epoch_N.pth)')
        print(f'using checkpoint {found}')
        return found
    if spec == 'auto':
        raise ConfigError(f"checkpoint 'auto': the config has no work_dir folder ({folder!r})")
    return spec


def main(argv=None):
    args = parse_args(argv)
    from posecfg.apis.video import VideoDecodeError, VideoOpenError
    from posecfg.apis.video_inference import (collect_videos, default_format, infer_video,
                                              load_video_model)
    if args.batch_size is not None and args.batch_size < 1:
        raise SystemExit('error: --batch-size must be >= 1')
    cfg = load_config(args)
    if args.batch_size is None:
        from posecfg.apis.lp_video import config_video_batch_size
        args.batch_size = config_video_batch_size(cfg)
    vm = load_video_model(cfg, resolve_checkpoint(args.checkpoint, cfg), device=args.device)
    fmt = args.format or default_format(vm, args.config)
    if fmt == 'lp' and vm.kind == 'topdown':
        raise SystemExit('error: --format lp is for whole-image models (Lightning Pose has no '
                         'top-down models)')
    style = dict(VIDEO_DEFAULTS[fmt])
    for key in ('pcutoff', 'dotsize', 'colormap'):
        if getattr(args, key) is not None:
            style[key] = getattr(args, key)
    videos = collect_videos(args.videos)
    failed = []
    for video in videos:
        try:
            result = infer_video(
                vm, video, fmt=fmt, out_dir=args.out_dir, batch_size=args.batch_size,
                save_csv=args.save_csv, save_video=args.save_video, overwrite=args.overwrite,
                detections=detections_for(args.detections, video, len(videos) > 1),
                max_instances=args.max_instances, progress=not args.no_progress,
                color_by=args.color_by, full_pickle=args.dlc_full_pickle,
                trailpoints=args.trail_points, **style)
        except (VideoOpenError, VideoDecodeError) as e:
            print(f'error: {e}', file=sys.stderr)
            failed.append(str(video))
            continue
        if not result.skipped:
            for path in result.written:
                print(f'wrote {path}')
    if failed:
        print(f'error: {len(failed)} of {len(videos)} videos could not be read: '
              f'{", ".join(failed)}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    cli_main(main)()
