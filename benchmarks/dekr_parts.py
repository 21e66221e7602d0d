"""Time of posecfg's DEKR parts on DeepLabCut's default sizes (448 px crops at stride 4: 112 ×
112 cells): DEKRGenerator targets per training batch, DEKRPredictor per image (centre peaks,
offsets → poses, pose NMS) on perfect outputs (the generator's targets, so every individual is
found), and the DEKR head (dekr_w32's: 480 input channels, 15 offset channels per keypoint)
forward + backward per training batch, with the keypoints' offset branches grouped (posecfg's
``DEKROffset``) and as DeepLabCut's loop over keypoints (``grouped = False``, the same
function), interleaved so that both see the same load.

    python benchmarks/dekr_parts.py [--repeats 3] [--threads 1] [--no-head] [--bf16]
        [--case I]  (only CASES[I])

``--bf16``: the head under CPU bf16 autocast, as posecfg trains on CPUs with native bf16.

Prints one JSON line per case.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import posecfg.engine.registration  # noqa: E402,F401
from posecfg.registry import KEYPOINT_CODECS, MODELS  # noqa: E402

# B, individuals, keypoints, cells
CASES = [(8, 3, 4, 112), (8, 5, 12, 112)]  # the first: DeepLabCut's default crop


def timed(fn, repeats):
    """ms per call over ``repeats`` calls after one warm-up call (0: one call, no warm-up)."""
    if not repeats:
        start = time.perf_counter()
        out = fn()
        return (time.perf_counter() - start) * 1000, out
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        out = fn()
    return (time.perf_counter() - start) / repeats * 1000, out


def head_cfg(k):
    return dict(
        type='DEKRHead',
        predictor=dict(type='DEKRPredictor', num_animals=3, apply_sigmoid=False,
                       use_heatmap=False, clip_scores=True),
        target_generator=dict(type='DEKRGenerator', num_joints=k, pos_dist_thresh=17),
        criterion=dict(heatmap=dict(type='DEKRHeatmapLoss', weight=1),
                       offset=dict(type='DEKROffsetLoss', weight=0.03)),
        heatmap_config=dict(channels=[480, 32, k + 1], num_blocks=1, dilation_rate=1,
                            final_conv_kernel=1),
        offset_config=dict(channels=[480, 15 * k, k], num_offset_per_kpt=15, num_blocks=2,
                           dilation_rate=1, final_conv_kernel=1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--no-head', action='store_true')
    parser.add_argument('--bf16', action='store_true')
    parser.add_argument('--case', type=int, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    for batch, animals, k, cells in (CASES if args.case is None else [CASES[args.case]]):
        size = cells * 4
        gen = KEYPOINT_CODECS.build(dict(type='DEKRGenerator', num_joints=k,
                                         pos_dist_thresh=17)).at(4, (cells, cells))
        centres = rng.uniform(40, size - 40, (batch, animals, 1, 2))
        points = list((centres + rng.uniform(-30, 30, (batch, animals, k, 2))).astype(
            np.float32))
        visible = [np.ones((animals, k), np.float32)] * batch
        areas = [np.full(animals, 80 * 80, np.float32)] * batch
        gen_ms, t = timed(lambda: gen.encode_batch(points, visible, areas), args.repeats)
        outputs = dict(heatmap=torch.from_numpy(t['heatmaps']),
                       offset=torch.from_numpy(t['offset_maps']))
        pred = KEYPOINT_CODECS.build(dict(type='DEKRPredictor', num_animals=animals,
                                          apply_sigmoid=False, use_heatmap=False)).at(4)
        pred_ms, found = timed(lambda: pred.predict(outputs), args.repeats)
        line = dict(batch=batch, individuals=animals, keypoints=k, cells=cells,
                    generator_ms_per_batch=round(gen_ms, 1),
                    predictor_ms_per_image=round(pred_ms / batch, 2),
                    found_per_image=float(found['kept'].sum(1).float().mean()))
        if not args.no_head:
            head = MODELS.build(head_cfg(k))
            x = torch.randn(batch, 480, cells, cells)

            def step():
                with torch.autocast('cpu', torch.bfloat16, enabled=args.bf16):
                    out = head(x)
                (out['heatmap'].float().sum() + out['offset'].float().sum()).backward()
            times = {True: [], False: []}
            for grouped in (True, False) * (1 + args.repeats):  # the first round warms up
                head.offset_head.grouped = grouped
                times[grouped].append(timed(step, 0)[0])
            for grouped, name in ((True, 'grouped'), (False, 'keypoint_loop')):
                line[f'head_{name}_fwd_bwd_ms_per_batch'] = round(
                    float(np.median(times[grouped][1:])), 1)
            line['head_speedup'] = round(line['head_keypoint_loop_fwd_bwd_ms_per_batch']
                                         / line['head_grouped_fwd_bwd_ms_per_batch'], 2)
            line['bf16'] = args.bf16
        print(json.dumps(line))


if __name__ == '__main__':
    main()
