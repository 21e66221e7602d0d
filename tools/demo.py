#!/usr/bin/env python
"""posecfg's main job, end to end, on data it makes itself (``make demo``):

1. generate the synthetic animal dataset (rendered quadrupeds with known keypoints, JPEG images,
   COCO-format annotations and a detection file),
2. train the demo config with ``tools/train.py``,
3. test the best checkpoint with ``tools/test.py`` on held-out images (detected boxes, OKS-NMS,
   COCO keypoint AP), writing the predictions,
4. draw the predictions on held-out images into ``WORK_DIR/predictions.jpg``,
5. print the AP next to that of a chance-level predictor (the mean training pose placed in every
   box) so "better than chance" is a number.

    python tools/demo.py [--work-dir work_dirs/demo] [--config CONFIG] [--cfg-options ...]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from posecfg.config.cli import choose_openmp_waiting  # noqa: E402

choose_openmp_waiting()  # before torch loads; inherited by the train/test processes

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_CONFIG = os.path.join(REPO, 'configs', 'animal', '2d_kpt_sview_rgb_img', 'topdown_heatmap',
                           'synthetic_animal', 'res18_synthetic_animal_128x128.py')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--config', default=DEMO_CONFIG)
    parser.add_argument('--num-train', type=int, default=1000, help='training images to render')
    parser.add_argument('--num-val', type=int, default=200, help='held-out images to render')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='more overrides for training and testing (see train.py)')
    return parser.parse_args(argv)


def step(title):
    print(f'\n=== {title}', flush=True)


def run(*args):
    """Run a posecfg tool, showing its output; stop the demo if it fails."""
    command = [sys.executable, *args]
    print('$ ' + ' '.join(os.path.relpath(a, REPO) if os.path.isabs(a) and a.startswith(REPO)
                          else a for a in args), flush=True)
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if _worth_showing(line):
            print('   ' + line.rstrip(), flush=True)
    if process.wait() != 0:
        print(''.join(lines[-40:]), file=sys.stderr)
        sys.exit(f'demo: {os.path.basename(args[0])} failed (exit {process.returncode})')
    return ''.join(lines)


def _worth_showing(line):
    if line.startswith('error:') or line.startswith('warning:'):
        return True
    return ' - mmengine - ' in line and any(
        key in line for key in ('Epoch(train)', 'Epoch(val', 'Epoch(test)', 'best', 'wrote',
                                'ERROR'))


def last_metrics(log):
    found = re.findall(r'\bAP: ([0-9.]+)\s+AP \.5: ([0-9.]+)\s+AP \.75: ([0-9.]+)', log)
    return tuple(float(v) for v in found[-1]) if found else None


def main():
    args = parse_args()
    start = time.time()
    work_dir = os.path.abspath(args.work_dir)
    data_dir = os.path.join(work_dir, 'data')

    step('1/5 generating the synthetic dataset')
    from posecfg.datasets.synthetic import generate_dataset
    summary = generate_dataset(data_dir, num_train=args.num_train, num_val=args.num_val,
                               seed=args.seed)
    print(summary)

    overrides = [f'data_root={data_dir}', f'work_dir={work_dir}'] + args.cfg_options
    step('2/5 training')
    run(os.path.join(REPO, 'tools', 'train.py'), args.config, '--cfg-options', *overrides)
    best = sorted(f for f in os.listdir(work_dir) if f.startswith('best_') and f.endswith('.pth'))
    checkpoint = os.path.join(work_dir, best[-1] if best else 'latest.pth')

    step('3/5 testing the best checkpoint on the held-out images (detected boxes)')
    predictions = os.path.join(work_dir, 'predictions.json')
    log = run(os.path.join(REPO, 'tools', 'test.py'), args.config, checkpoint,
              '--out', predictions, '--cfg-options', *overrides)
    metrics = last_metrics(log)

    step('4/5 drawing predictions on held-out images')
    picture = os.path.join(work_dir, 'predictions.jpg')
    draw_predictions(args.config, overrides, checkpoint, data_dir, picture)
    print(f'wrote {picture}')

    step('5/5 result')
    chance = mean_pose_ap(data_dir)
    print(f'test AP {metrics[0]:.3f} (AP .5 {metrics[1]:.3f}, AP .75 {metrics[2]:.3f}) on '
          f'{args.num_val} held-out images; a chance-level predictor (the mean training pose in '
          f'every ground-truth box) scores AP {chance:.3f}')
    print(f'checkpoint {checkpoint}\npredictions {predictions}\npicture {picture}\n'
          f'total time {(time.time() - start) / 60:.1f} min')
    if metrics[0] <= 2 * chance + 0.05:
        sys.exit('demo: the model is not clearly better than chance')
    return 0


def draw_predictions(config, overrides, checkpoint, data_dir, out, count=8):
    """Predictions on the first ``count`` held-out images, in their ground-truth boxes."""
    import cv2

    from posecfg.apis import draw_pose, inference_topdown, init_model, tile
    from posecfg.engine.checkpoint import write_atomically
    model = init_model(config, checkpoint, cfg_options=overrides)
    val = json.load(open(os.path.join(data_dir, 'annotations', 'val.json')))
    meta = model.dataset_meta
    colors = meta.keypoint_colors[:, ::-1]  # RGB → OpenCV's BGR
    panels = []
    for image in val['images'][:count]:
        path = os.path.join(data_dir, 'images', 'val', image['file_name'])
        boxes = [a['bbox'] for a in val['annotations'] if a['image_id'] == image['id']
                 and a['num_keypoints'] > 0]
        canvas = cv2.imread(path)
        for pose in inference_topdown(model, path, boxes):
            canvas = draw_pose(canvas, pose['keypoints'], pose['keypoint_scores'],
                               meta.skeleton, colors)
        panels.append(cv2.resize(canvas, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST))
    ok, encoded = cv2.imencode('.jpg', tile(panels, columns=4), [cv2.IMWRITE_JPEG_QUALITY, 90])
    write_atomically(encoded.tobytes(), out)


def mean_pose_ap(data_dir):
    """COCO AP of placing the mean training pose (relative to the box) in every val GT box."""
    import contextlib
    import io

    import numpy as np
    from xtcocotools.coco import COCO
    from xtcocotools.cocoeval import COCOeval

    from posecfg.datasets.synthetic import load_keypoint_meta
    train = json.load(open(os.path.join(data_dir, 'annotations', 'train.json')))
    rel, counts = 0, 0
    for ann in train['annotations']:
        kp = np.array(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
        x, y, w, h = ann['bbox']
        seen = kp[:, 2] > 0
        rel = rel + np.where(seen[:, None], (kp[:, :2] - [x, y]) / [w, h], 0)
        counts = counts + seen
    mean = rel / np.maximum(counts, 1)[:, None]
    ann_file = os.path.join(data_dir, 'annotations', 'val.json')
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(ann_file)
        results = []
        for ann in gt.dataset['annotations']:
            x, y, w, h = ann['bbox']
            pts = mean * [w, h] + [x, y]
            kps = np.concatenate([pts, np.ones((len(pts), 1))], axis=1).ravel().tolist()
            results.append(dict(image_id=ann['image_id'], category_id=1, keypoints=kps, score=1.0))
        dt = gt.loadRes(results)
        sigmas = np.array(load_keypoint_meta().sigmas)
        evaluator = COCOeval(gt, dt, 'keypoints', sigmas, use_area=True)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return float(evaluator.stats[0])


if __name__ == '__main__':
    sys.exit(main())
