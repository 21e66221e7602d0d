"""posecfg only (Lightning Pose 2.4.3 cannot run its unsupervised losses without an NVIDIA GPU
and DALI): does learning from unlabeled video help on the mirror-mouse project with few
labelled frames? The same wall-clock budget without and with Lightning Pose's
``pca_singleview`` + ``pca_multiview`` + ``temporal`` losses (issue 13, item 7).

    .venv/bin/python benchmarks/lp_semisupervised.py --budget 600 --out DIR
        [--train-frames 30] [--size 256] [--backbone resnet18] [--threads 2]
        [--video-frames 200] [--variants supervised,semisupervised]

Each variant trains from the same Lightning Pose config.yaml (``_lp_common.budget_overrides``
plus ``training.train_frames``; the semi-supervised one adds ``model.losses_to_use`` and uses
the project's ``videos/`` as unlabeled data, the config's ``dali.base.train.sequence_length``
frames per step, its ``losses.*`` weights and its ``callbacks.anneal_weight``), through
posecfg's engine, from the same seed, for ``--budget`` seconds (whole epochs). Then, per
variant:
- test pixel error (the run's ``predictions_pixel_error.csv``, best checkpoint by val loss);
- PCA reprojection error (pixels) of the test-frame and video predictions, singleview and
  multiview, both measured with ONE PCA per kind fitted on the training labels in frame pixels
  (``posecfg.evaluation.functional.lp_metrics.fit_keypoint_pca``, Lightning Pose's NaN-aware
  PCA and component rules), so the variants are judged by the same yardstick;
- temporal jitter: the mean temporal norm (pixels per frame, Lightning Pose's
  ``temporal_norm``) of the predictions on the first ``--video-frames`` frames of
  ``test_vid.mp4`` (``infer_video``, as ``tools/infer_video.py`` runs it);
- training steps/s (iterations per second inside training iterations; for the
  semi-supervised variant a step is a labelled batch + an unlabeled sequence).
``--train-frames`` defaults to 30: the singleview PCA of the example config has 14 keypoints =
28 dimensions and cannot be fitted on fewer training frames (Lightning Pose's "cannot fit PCA
with 20 samples < 28 observation dimensions", its issue #169). Prints one JSON line per variant.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, 'reference'))
from _common import emit, machine, versions  # noqa: E402
from _lp_common import (LP_CONFIG, bench_video, budget_overrides, pixel_errors,  # noqa: E402
                        project_copy)

from _lp_posecfg import best_checkpoint, train_for_budget  # noqa: E402

SEMI_LOSSES = 'pca_singleview,pca_multiview,temporal'


def fit_pcas(run_dir, data_dir):
    """The singleview and multiview PCA of the example config, fitted on the run's training
    labels (rows of its predictions.csv marked 'train') in frame pixels."""
    import numpy as np
    import pandas as pd
    import yaml

    from posecfg.evaluation.functional.lp_metrics import fit_keypoint_pca
    from posecfg.interop.lp.outputs import read_predictions
    data = yaml.safe_load(open(LP_CONFIG))['data']
    frame = pd.read_csv(os.path.join(data_dir, 'CollectedData.csv'), header=[0, 1, 2],
                        index_col=0)
    labels = frame.to_numpy(dtype=np.float64).reshape(len(frame), -1, 2)
    index = {name: i for i, name in enumerate(frame.index)}
    preds = read_predictions(os.path.join(run_dir, 'predictions.csv'))
    train = [index[name] for name, split in zip(preds.index, preds.sets) if split == 'train']
    return {kind: fit_keypoint_pca(kind, labels[train], components_to_keep=comp, **kwargs)
            for kind, comp, kwargs in (
                ('pca_singleview', 0.99, dict(columns=data['columns_for_singleview_pca'])),
                ('pca_multiview', 3, dict(
                    mirrored_column_matches=data['mirrored_column_matches'])))}


def quality(run_dir, data_dir, video_frames, threads):
    """Test pixel error, PCA errors of test-frame and video predictions, temporal jitter."""
    import numpy as np

    from posecfg.apis.video_inference import infer_video, load_video_model
    from posecfg.evaluation.functional.lp_metrics import temporal_norm
    from posecfg.interop.dialects import detect_dialect, load_dialect_config
    from posecfg.interop.lp.outputs import read_predictions
    pcas = fit_pcas(run_dir, data_dir)
    preds = read_predictions(os.path.join(run_dir, 'predictions.csv'))
    test = preds.keypoints[preds.sets == 'test']
    config = os.path.join(run_dir, 'config.yaml')
    vm = load_video_model(load_dialect_config(detect_dialect(config), config),
                          best_checkpoint(run_dir), runtime=dict(threads=threads))
    video, _ = bench_video(video_frames, os.path.join(run_dir, 'bench-clip'))
    out = os.path.join(run_dir, 'bench-video')
    infer_video(vm, video, fmt='lp', out_dir=out, overwrite=True, progress=False)
    stem = os.path.splitext(os.path.basename(video))[0]
    video_kps = read_predictions(os.path.join(out, 'video_preds', f'{stem}.csv')).keypoints
    result = {'test_pixel_error': pixel_errors(run_dir).get('test'),
              'temporal_norm_px': float(np.nanmean(temporal_norm(video_kps)))}
    for kind, pca in pcas.items():
        result[f'{kind}_error_test_px'] = float(np.nanmean(pca.keypoint_errors(test)))
        result[f'{kind}_error_video_px'] = float(np.nanmean(pca.keypoint_errors(video_kps)))
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--budget', type=float, required=True, help='seconds of training per variant')
    ap.add_argument('--out', required=True, help='folder for the two runs')
    ap.add_argument('--train-frames', type=int, default=30)
    ap.add_argument('--backbone', default='resnet18')
    ap.add_argument('--size', type=int, default=256)
    ap.add_argument('--batch-size', type=int, default=16)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--video-frames', type=int, default=200)
    ap.add_argument('--variants', default='supervised,semisupervised')
    ap.add_argument('--semi-overrides', nargs='*', default=[], metavar='KEY=VALUE',
                    help='more Lightning Pose overrides for the semi-supervised variant, e.g. '
                    'callbacks.anneal_weight.init_val=1.0 (the example anneals the unsupervised '
                    'weight from 0 by 0.01 per epoch: a short budget never sees it)')
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    data_dir = project_copy(out)
    for variant in args.variants.split(','):
        overrides = budget_overrides(data_dir, args.backbone, args.size, args.batch_size) + [
            f'training.train_frames={args.train_frames}']
        if variant == 'semisupervised':
            overrides += [f'model.losses_to_use=[{SEMI_LOSSES}]', *args.semi_overrides]
        elif variant != 'supervised':
            raise SystemExit(f'--variants: supervised or semisupervised, not {variant!r}')
        run_dir = os.path.join(out, variant)
        # no torch.compile: posecfg's compile='auto' judges a run by its configured length
        # (300 epochs; with unlabeled video an epoch is 62 steps here, so it would compile,
        # ~8 minutes on this loaded machine), which a short budget never wins back
        budget, progress = train_for_budget(overrides, args.budget, run_dir, args.threads,
                                            runtime=dict(compile=False))
        emit({
            'bench': 'posecfg_lp_semisupervised', 'variant': variant,
            'losses': SEMI_LOSSES if variant == 'semisupervised' else '',
            'overrides': args.semi_overrides if variant == 'semisupervised' else [],
            **quality(run_dir, data_dir, args.video_frames, args.threads),
            'steps_per_s': progress['steps'] / progress['train_iter_s'],
            'budget_s': args.budget, 'trained_s': budget.trained(), **progress,
            'train_frames': args.train_frames, 'size': args.size, 'backbone': args.backbone,
            'threads': args.threads, 'versions': versions(), 'machine': machine(),
        })


if __name__ == '__main__':
    main()
