"""Decode-only frames/s of the real sample videos with each video reader option: the limit the
video inference benchmark (issue 14) is measured against.

    .venv/bin/python benchmarks/video_decode.py [--rounds 3] [--videos A.mp4 B.mp4 ...]
        [--json OUT.jsonl]

Options timed (each reads the whole video, frames RGB uint8; nothing else is done with them):
- ``source opencv`` / ``source pyav``: the bare frame source in this thread
  (``posecfg.apis.video.open_video``: decode + colour conversion into one buffer).
- ``reader …``: ``VideoReader`` as inference uses it: the decoder thread, batches of 32 into the
  bounded queue, the consumer taking them; with resizing to 256x256 (a model input size), and
  with Lightning Pose's 5-frame context windows.
- ``run_video`` with a stand-in model that sleeps as long per frame as decoding takes: the wall
  time relative to decoding alone shows how well decoding overlaps prediction (1.00 fully,
  2.00 not at all).

Rounds alternate the options so that a busy phase of the shared machine hits all of them;
``frames/s`` is wall-clock throughput (median and best over the rounds), ``cpu ms/frame`` the
process CPU time per frame (all threads: what decoding costs the cores the model also needs).
PyAV rows appear where PyAV is installed (``pip install av``); it is not a posecfg requirement.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

SHARED = os.environ.get('POSECFG_SHARED_DATA',
                        os.path.join(os.path.dirname(os.path.dirname(HERE)), 'shared', 'data'))
DEFAULT_VIDEOS = [
    os.path.join(SHARED, 'dlc-openfield-Pranav-2018-10-30', 'videos', 'm3v1mp4.mp4'),
    os.path.join(SHARED, 'lp-mirror-mouse', 'videos', 'test_vid.mp4'),
]
if not os.path.exists(DEFAULT_VIDEOS[0]):  # a worktree beside the main checkout
    DEFAULT_VIDEOS = [p.replace(SHARED, '/work/shared/data') for p in DEFAULT_VIDEOS]


def cpu_model():
    try:
        out = subprocess.run(['lscpu'], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or 'unknown'
    fields = dict(line.split(':', 1) for line in out.splitlines() if ':' in line)
    return ' '.join(fields.get('Model name', 'unknown').split())


def read_source(path, backend):
    import numpy as np

    from posecfg.apis.video import open_video
    source = open_video(path, backend)
    out = np.empty((source.info.height, source.info.width, 3), np.uint8)
    frames = 0
    while source.read(out) is not None:
        frames += 1
    source.close()
    return frames


def read_reader(path, backend, **kwargs):
    from posecfg.apis.video import VideoReader
    frames = 0
    with VideoReader(path, batch_size=32, backend=backend, **kwargs) as reader:
        for batch in reader:
            frames += len(batch)
    return frames


def read_overlapped(path, backend, model_ms):
    """run_video with a stand-in model that sleeps ``model_ms`` per frame (no CPU): with the
    decoder overlapping, the whole takes max(decode, model), not their sum."""
    from posecfg.apis.video import VideoReader, run_video

    def model(batch):
        time.sleep(model_ms / 1000 * len(batch))
        return [[0.0]] * len(batch)
    result = run_video(VideoReader(path, batch_size=32, backend=backend), model, progress=False)
    return int(result.decoded.sum())


def options():
    from posecfg.apis.video import available_backends
    rows = []
    for backend in available_backends():
        rows.append((f'source {backend}', read_source, dict(backend=backend)))
    for backend in available_backends():
        rows.append((f'reader {backend} b32', read_reader, dict(backend=backend)))
    rows.append(('reader opencv b32 resize 256x256', read_reader,
                 dict(backend='opencv', resize=(256, 256))))
    rows.append(('reader opencv b32 context 2', read_reader, dict(backend='opencv', context=2)))
    return rows


def overlap(path, rounds, decode_fps):
    """Wall time of run_video with a model as slow as decoding, relative to decoding alone:
    1.0 is full overlap, 2.0 none."""
    model_ms = 1000 / decode_fps
    times = []
    for _ in range(rounds):
        frames, wall, _ = time_once(read_overlapped, path, dict(backend='opencv',
                                                                 model_ms=model_ms))
        times.append(wall * decode_fps / frames)
    return model_ms, statistics.median(times)


def time_once(fn, path, kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    frames = fn(path, **kwargs)
    return frames, time.perf_counter() - wall, time.process_time() - cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--videos', nargs='+', default=DEFAULT_VIDEOS)
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--json', help='append one JSON line per (video, option) to this file')
    args = ap.parse_args()

    import cv2
    print(f'CPU: {cpu_model()} ({os.cpu_count()} logical CPUs); OpenCV {cv2.__version__}', end='')
    try:
        import av
        print(f', PyAV {av.__version__}', end='')
    except ImportError:
        print(', PyAV not installed', end='')
    print(f'; load average at start {os.getloadavg()[0]:.2f}')
    rows = options()
    results = []
    for path in args.videos:
        from posecfg.apis.video import open_video
        with open_video(path) as source:
            info = source.info
        print(f'\n{os.path.basename(path)}: {info.width}x{info.height}, {info.codec}, '
              f'{info.frame_count} frames at {info.fps:.2f} fps')
        for name, fn, kwargs in rows:  # warm-up: file cache, libraries
            fn(path, **kwargs)
            break
        runs = {name: [] for name, _, _ in rows}
        for _ in range(args.rounds):
            for name, fn, kwargs in rows:
                runs[name].append(time_once(fn, path, kwargs))
        for name, _, _ in rows:
            frames = runs[name][0][0]
            rates = [f / w for f, w, _ in runs[name]]
            cpu_ms = [1000 * c / f for f, _, c in runs[name]]
            print(f'  {name:34s} {statistics.median(rates):7.1f} frames/s (best '
                  f'{max(rates):7.1f}), cpu {statistics.median(cpu_ms):5.2f} ms/frame, '
                  f'{frames} frames')
            results.append(dict(video=os.path.basename(path), option=name, frames=frames,
                                fps_median=statistics.median(rates), fps_best=max(rates),
                                cpu_ms_per_frame=statistics.median(cpu_ms)))
        decode_fps = next(r['fps_median'] for r in results
                          if r['video'] == os.path.basename(path)
                          and r['option'] == 'reader opencv b32')
        model_ms, ratio = overlap(path, args.rounds, decode_fps)
        print(f'  run_video, model sleeping {model_ms:.1f} ms/frame (as long as decoding): '
              f'{ratio:.2f}x the decode-only time (1.00 = fully overlapped, 2.00 = serial)')
        results.append(dict(video=os.path.basename(path), option='overlap', ratio=ratio))
    print(f'\nload average at end {os.getloadavg()[0]:.2f}')
    if args.json:
        with open(args.json, 'a') as f:
            for r in results:
                f.write(json.dumps(dict(r, cpu=cpu_model())) + '\n')


if __name__ == '__main__':
    main()
