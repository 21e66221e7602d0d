"""Combine the JSON lines of posecfg's and a reference's benchmark runs into the ratio table.

    python benchmarks/compare.py RESULTS.jsonl

Each line of RESULTS.jsonl is one benchmark's output (its last stdout line) with a ``side`` key
('posecfg' or 'reference') and a ``pair`` key added by run_all.sh (MMPose: pipeline, train,
infer, print_config), run_lp.sh (Lightning Pose: lp_train_resnet18, lp_train_resnet50, lp_load,
lp_video, lp_error) or run_dlc.sh (DeepLabCut: dlc_train_<net>, dlc_evaluate, dlc_video,
dlc_budget; multi-animal: dlc_ma_train_<net>, dlc_ma_evaluate_<net>). Runs of a pair alternate A B A B, so slow phases of a shared machine hit both
sides; each side's repeats are pooled. Ratios are reference time / posecfg time, i.e. how many
times faster posecfg is (for errors: reference error / posecfg error); min/median/max of the ratio pair the sides' max/median/min and
median/median and min/max throughputs.
"""
import json
import statistics
import sys
from collections import defaultdict

PAIRS = {  # pair: (result key, unit, title, lower is better)
    'pipeline': ('samples_per_s', 'samples/s', '(a) train pipeline, 1 core', False),
    'train': ('images_per_s', 'images/s', '(b) training R50 256x192 b16', False),
    'infer': ('images_per_s', 'images/s', '(c) inference R50 + flip, b32', False),
    'print_config': ('wall_s', 's', '(d) print_config, cold process', True),
    'lp_train_resnet18': ('steps_per_s', 'steps/s', '(a) LP train resnet18 256 b16', False),
    'lp_train_resnet50': ('steps_per_s', 'steps/s', '(a) LP train resnet50 256 b16', False),
    'lp_load': ('wall_s', 's', '(b) LP load to 1st prediction', True),
    'lp_video': ('frames_per_s', 'frames/s', '(c) LP video prediction r18', False),
    'lp_error': ('test_pixel_error', 'px', '(d) LP test error, same budget', True),
    'dlc_train_resnet_50': ('images_per_s', 'images/s', '(a) DLC train resnet_50 448 b8', False),
    'dlc_train_hrnet_w32': ('images_per_s', 'images/s', '(a) DLC train hrnet_w32 448 b8', False),
    'dlc_evaluate': ('images_per_s', 'images/s', '(b) DLC evaluate, 116 images', False),
    'dlc_video': ('frames_per_s', 'frames/s', '(c) DLC analyze_videos resnet_50', False),
    'dlc_budget': ('rmse_test', 'px', '(d) DLC test RMSE after budget', True),
    'dlc_ma_budget': ('map_test', 'mAP', '(g) DLC multi-animal test mAP, budget', False),
    'dlc_ma_train_resnet_50': ('images_per_s', 'images/s', '(e) DLC multi-animal train r50+PAF',
                               False),
    'dlc_ma_train_dekr_w32': ('images_per_s', 'images/s', '(e) DLC multi-animal train dekr_w32',
                              False),
    'dlc_ma_evaluate_resnet_50': ('images_per_s', 'images/s', '(f) DLC multi-animal eval r50+PAF',
                                  False),
    'dlc_ma_evaluate_dekr_w32': ('images_per_s', 'images/s', '(f) DLC multi-animal eval dekr_w32',
                                 False),
}

#: posecfg-only measurements (the reference cannot run them): pair: (key, unit, title, why)
ONE_SIDED = {
    'lp_semi_resnet18': ('steps_per_s', 'steps/s', '(e) LP semi-supervised r18 256 b16',
                         'cannot run (Lightning Pose 2.4.3 needs a GPU and DALI)'),
}


def pooled(runs, key):
    values = []
    for run in runs:
        value = run[key]
        values += value['all'] if isinstance(value, dict) else [value]
    return values


def main(path):
    by = defaultdict(list)
    for line in open(path):
        line = line.strip()
        if line:
            record = json.loads(line)
            by[(record['pair'], record['side'])].append(record)
    lines = []
    for pair, (key, unit, title, lower_better) in PAIRS.items():
        ours, ref = by.get((pair, 'posecfg')), by.get((pair, 'reference'))
        if ours and not ref and pair.startswith('dlc_ma_'):  # e.g. --nets run on one side only
            lines.append(f'{title:34s} posecfg {statistics.median(pooled(ours, key)):8.2f} {unit}'
                         ', reference: not run')
            continue
        if not ours or not ref:
            continue
        a, b = pooled(ours, key), pooled(ref, key)
        if lower_better:  # times, errors: ratio = reference / posecfg
            ratio = (min(b) / max(a), statistics.median(b) / statistics.median(a),
                     max(b) / min(a))
        else:  # throughputs: ratio = posecfg / reference
            ratio = (min(a) / max(b), statistics.median(a) / statistics.median(b),
                     max(a) / min(b))
        lines.append(f'{title:34s} posecfg {statistics.median(a):8.2f} {unit}, reference '
                     f'{statistics.median(b):8.2f} {unit}, ratio {ratio[1]:.2f} '
                     f'(min {ratio[0]:.2f}, max {ratio[2]:.2f}; {len(a)}+{len(b)} repeats)')
        extra = []
        if pair == 'pipeline':
            floor = pooled(ours, 'floor_samples_per_s')
            half = pooled(ours, 'floor_half_decode_samples_per_s')
            extra.append(f'floor (imread + 1 warp) {statistics.median(floor):.0f} samples/s, '
                         f'with 1/2-size decode {statistics.median(half):.0f}; posecfg reaches '
                         f'{statistics.median(a) / statistics.median(floor):.0%} of the floor, '
                         f'the reference {statistics.median(b) / statistics.median(floor):.0%}')
        if pair in ('train', 'infer'):
            ours_g = statistics.median(r['achieved_gflops_per_s_median'] for r in ours)
            ref_g = statistics.median(r['achieved_gflops_per_s_median'] for r in ref
                                      if r.get('achieved_gflops_per_s_median'))
            prepare = max(r.get('prepare_seconds', 0) for r in ours)
            extra.append(f'achieved {ours_g:.0f} GFLOP/s (reference {ref_g:.0f}); posecfg '
                         f'compiled once in {prepare:.0f} s before timing')
        if pair == 'lp_load' and all('cpu_s' in r for r in ours + ref):
            a_cpu, b_cpu = pooled(ours, 'cpu_s'), pooled(ref, 'cpu_s')
            extra.append(f'CPU seconds (user+sys): posecfg {statistics.median(a_cpu):.1f}, '
                         f'reference {statistics.median(b_cpu):.1f}, ratio '
                         f'{statistics.median(b_cpu) / statistics.median(a_cpu):.2f}')
        if pair.startswith('lp_train') or pair == 'lp_video':
            cpu_key = 'cpu_s_per_step' if pair.startswith('lp_train') else 'cpu_ms_per_frame'
            if all(cpu_key in r for r in ours + ref):
                a_cpu, b_cpu = pooled(ours, cpu_key), pooled(ref, cpu_key)
                extra.append(f'process CPU {cpu_key}: posecfg {statistics.median(a_cpu):.1f}, '
                             f'reference {statistics.median(b_cpu):.1f}, ratio '
                             f'{statistics.median(b_cpu) / statistics.median(a_cpu):.2f}')
        if pair == 'lp_video':
            extra.append('decode-only (OpenCV) frames/s: posecfg env '
                         f'{statistics.median(pooled(ours, "decode_frames_per_s")):.0f}, '
                         'reference env '
                         f'{statistics.median(pooled(ref, "decode_frames_per_s")):.0f}; '
                         f'{ours[0]["frames"]} frames')
        if pair == 'lp_error':
            extra.append('trained s: posecfg ' + ', '.join(f'{r["trained_s"]:.0f}' for r in ours)
                         + '; reference ' + ', '.join(f'{r["trained_s"]:.0f}' for r in ref)
                         + '; steps: posecfg ' + ', '.join(str(r.get('steps')) for r in ours)
                         + '; reference ' + ', '.join(str(r.get('steps')) for r in ref))
        if pair.startswith('lp_'):
            loads = [x for r in ours + ref for x in (r['machine']['loadavg_start'][0],
                                                     r['machine']['loadavg_end'][0])]
            extra.append(f'1-min load average during the runs {min(loads):.1f}-{max(loads):.1f}')
        if pair == 'dlc_video':
            decode = pooled(ours, 'decode_only_frames_per_s')
            extra.append(f'decode-only (OpenCV) of the same {ours[0]["frames"]}-frame clip: '
                         f'{statistics.median(decode):.0f} frames/s')
        if pair.startswith('dlc_'):
            loads = [x for r in ours + ref for x in (r['machine']['loadavg_start'][0],
                                                     r['machine']['loadavg_end'][0])]
            extra.append(f'1-min load average during the runs {min(loads):.1f}-{max(loads):.1f}')
        if pair.startswith('dlc_ma_evaluate'):
            extra.append('test mAP (the same weights on both sides): posecfg '
                         f'{ours[-1]["map_test_train"][0]}, reference {ref[-1]["map_test_train"][0]}')
        if pair in ('dlc_budget', 'dlc_ma_budget'):
            for side, runs in (('posecfg', ours), ('reference', ref)):
                r = runs[-1]
                extra.append(f'{side}: {r["iterations"]} iterations in {r["trained_s"]:.0f} s '
                             f'(budget {r["budget_s"]:.0f} s, epoch {r["epochs_started"]}), '
                             f'train RMSE {r["rmse_train"]:.2f} px'
                             + (f', test mAP {r["map_test"]:.3f}' if r.get('map_test') is not None
                                else ''))
        lines += [f'{"":34s} {e}' for e in extra]
    for pair, (key, unit, title, reason) in ONE_SIDED.items():
        ours = by.get((pair, 'posecfg'))
        if ours:
            values = pooled(ours, key)
            cpu = pooled(ours, 'cpu_s_per_step')
            loads = [x for r in ours for x in (r['machine']['loadavg_start'][0],
                                               r['machine']['loadavg_end'][0])]
            lines.append(f'{title:34s} posecfg {statistics.median(values):8.3f} {unit} '
                         f'(min {min(values):.3f}, max {max(values):.3f}; {len(values)} '
                         f'steps), reference: {reason}')
            lines.append(f'{"":34s} process CPU cpu_s_per_step: posecfg '
                         f'{statistics.median(cpu):.1f}; 1-min load average during the runs '
                         f'{min(loads):.1f}-{max(loads):.1f}')
    print('\n'.join(lines))


if __name__ == '__main__':
    main(sys.argv[1])
