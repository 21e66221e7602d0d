"""What both sides of the Lightning Pose benchmarks share (run with posecfg's python and with
benchmarks/.lp-ref-env/bin/python): the project copy, the config overrides, the clip.

Imports neither posecfg nor Lightning Pose. Both sides read the same ``config.yaml``
(``/work/shared/data/lp-configs/config_mirror-mouse-example.yaml``) with the same overrides in
Lightning Pose's key names: posecfg translates them through its LP dialect
(``posecfg.interop.lp``), Lightning Pose merges them with OmegaConf as ``litpose --overrides``
does.
"""
import os
import shutil
import tempfile

from _common import make_clip

SHARED = os.environ.get('POSECFG_SHARED_DATA', '/work/shared/data')
LP_PROJECT = os.path.join(SHARED, 'lp-mirror-mouse')
LP_CONFIG = os.path.join(SHARED, 'lp-configs', 'config_mirror-mouse-example.yaml')
LP_VIDEO = os.path.join(LP_PROJECT, 'videos', 'test_vid.mp4')


def project_copy(root=None):
    """A writable copy of the mirror-mouse project (the shared one is read-only) in ``root`` or
    a new temporary folder; returns its path."""
    root = root or tempfile.mkdtemp(prefix='lpbench-')
    dest = os.path.join(root, 'mirror-mouse')
    if not os.path.isdir(dest):
        shutil.copytree(LP_PROJECT, dest)
        for dirpath, dirnames, filenames in os.walk(dest):  # the source is read-only
            os.chmod(dirpath, 0o755)
            for name in filenames:
                os.chmod(os.path.join(dirpath, name), 0o644)
    return dest


def supervised_overrides(data_dir, backbone='resnet18', size=256, batch_size=16, extra=()):
    """The overrides (Lightning Pose key=value strings) of the supervised benchmarks: the
    project copy, a backbone trained from scratch (no download here), no unsupervised loss,
    the whole network trained from the first step (``unfreezing_epoch=0``; the example's 20
    epochs of frozen backbone would time a head-only step), one image size and batch size."""
    return [f'data.data_dir={data_dir}', f'data.video_dir={data_dir}/videos',
            f'model.backbone={backbone}', 'model.backbone_pretrained=false',
            'model.losses_to_use=[]', 'training.unfreezing_epoch=0',
            f'data.image_resize_dims.width={size}', f'data.image_resize_dims.height={size}',
            f'training.train_batch_size={batch_size}', *extra]


def decode_rate(video):
    """Decode-only frames/s of ``video`` with OpenCV (the reader both tools use here) and the
    frame count: the limit of any video prediction on this machine."""
    import time

    import cv2
    capture = cv2.VideoCapture(video)
    start, n = time.perf_counter(), 0
    while capture.grab():
        capture.retrieve()
        n += 1
    seconds = time.perf_counter() - start
    capture.release()
    return n / seconds, n


class StepTimer:
    """Wall-clock and process CPU times (all threads of this process; dataloader workers are
    other processes) of training steps, ``warmup`` untimed then ``steps`` timed; ``tick()``
    after each step returns True once the last timed step is done. On shared cores the CPU
    time is the steadier number: it leaves out the time spent waiting for a core."""

    def __init__(self, warmup, steps):
        self.warmup, self.steps = warmup, steps
        self.ticks, self.cpu_ticks = [], []

    def tick(self):
        import time
        self.ticks.append(time.perf_counter())
        self.cpu_ticks.append(time.process_time())
        return len(self.ticks) >= self.warmup + self.steps

    def step_seconds(self, cpu=False):
        ticks = self.cpu_ticks if cpu else self.ticks
        timed = ticks[self.warmup - 1:] if self.warmup else None
        if not timed or len(timed) < 2:
            raise RuntimeError(f'{len(ticks)} steps recorded; need warm-up '
                               f'{self.warmup} >= 1 and {self.steps} timed')
        return [b - a for a, b in zip(timed, timed[1:])]


class Done(Exception):
    """Raised from a training callback/hook once the timed steps are done (stops training)."""


def budget_overrides(data_dir, backbone='resnet18', size=256, batch_size=16):
    """:func:`supervised_overrides` for a wall-clock-budget run: validation every epoch (the
    best checkpoint is chosen on it, as both tools do), ``min_epochs=1`` so that the budget can
    stop it (``max_epochs`` stays the example's 300: what posecfg's ``compile='auto'`` judges
    the run's length by), no video prediction after training."""
    return supervised_overrides(data_dir, backbone, size, batch_size, [
        'training.min_epochs=1',
        'training.check_val_every_n_epoch=1', 'eval.predict_vids_after_training=false',
        'eval.save_vids_after_training=false'])


class Budget:
    """Wall-clock training budget: the clock starts at the first training step; ``over()``
    (asked at the end of each epoch) tells when it is spent. Epochs are never cut, so a run
    overshoots by less than one epoch; the seconds actually trained are reported."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.start = self.end = None

    def started(self):
        import time
        if self.start is None:
            self.start = time.perf_counter()

    def over(self):
        import time
        self.end = time.perf_counter()
        return self.end - self.start >= self.seconds

    def trained(self):
        return None if self.end is None else self.end - self.start


def lp_state_to_posecfg(state):
    """Lightning Pose ``HeatmapTracker`` (ResNet backbone) weights in posecfg's key layout:
    LP keeps torchvision's ResNet without avgpool/fc as an ``nn.Sequential`` (``backbone.0`` =
    conv1, ``.1`` = bn1, ``.4``-``.7`` = layer1-4) and its head as ``head.upsampling_layers``;
    posecfg names them ``backbone.conv1`` ... ``bodypart.upsampling_layers``."""
    names = {'0': 'conv1', '1': 'bn1', '4': 'layer1', '5': 'layer2', '6': 'layer3', '7': 'layer4'}
    out = {}
    for key, value in state.items():
        parts = key.split('.')
        if parts[0] == 'backbone' and parts[1] in names:
            key = '.'.join(['backbone', names[parts[1]]] + parts[2:])
        elif parts[0] == 'head':
            key = '.'.join(['bodypart'] + parts[1:])
        else:
            raise KeyError(f'Lightning Pose weight {key!r}: no posecfg counterpart known')
        out[key] = value
    return out


def pixel_errors(run_dir):
    """Mean pixel error per split ('train', 'validation', 'test') from the run folder's
    ``predictions_pixel_error.csv`` (Lightning Pose's layout: index column, one column per
    keypoint, a ``set`` column), NaN entries (unlabelled keypoints) left out."""
    import csv

    path = os.path.join(run_dir, 'predictions_pixel_error.csv')
    sums = {}
    with open(path, newline='') as f:
        rows = csv.reader(f)
        header = next(rows)
        split_col = header.index('set')
        for row in rows:
            values = [float(v) for i, v in enumerate(row) if 0 < i != split_col and v]
            values = [v for v in values if v == v]  # NaN: keypoint not labelled
            total, count = sums.get(row[split_col], (0.0, 0))
            sums[row[split_col]] = (total + sum(values), count + len(values))
    return {split: total / count for split, (total, count) in sums.items() if count}


def time_processes(cmd, repeats, env=None):
    """Wall seconds, spawn to exit, of ``repeats`` fresh processes running ``cmd``, and the CPU
    seconds (user + system) each used: on shared cores the wall time includes waiting for a
    core, the CPU time does not. A failing run raises with the end of its output."""
    import resource
    import subprocess
    import time
    seconds, cpu = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True,
                              env=dict(os.environ, **(env or {})))
        seconds.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode:
            raise RuntimeError(f'{" ".join(cmd)} exited with {done.returncode}:\n'
                               f'{(done.stdout + done.stderr)[-3000:]}')
    return seconds, cpu


def bench_video(frames, folder):
    """(path, frame count) of the video benchmark's input: test_vid.mp4 itself (``frames`` 0)
    or its first ``frames`` frames re-encoded into ``folder`` (made once)."""
    if not frames:
        import cv2
        capture = cv2.VideoCapture(LP_VIDEO)
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        capture.release()
        return LP_VIDEO, count
    path = os.path.join(folder, f'clip_{frames}.mp4')
    if not os.path.isfile(path):
        os.makedirs(folder, exist_ok=True)
        make_clip(LP_VIDEO, frames, path)
    return path, frames


def threads_value(text):
    """``--threads``: a positive integer, or ``'auto'`` (posecfg's runtime.threads default; the
    reference scripts refuse it through :func:`fixed_threads`)."""
    if text == 'auto':
        return text
    value = int(text)
    if value < 1:
        raise ValueError(f'--threads must be a positive integer or auto, got {text!r}')
    return value


def fixed_threads(threads):
    """``threads`` for a reference script: Lightning Pose has no thread probe."""
    if threads == 'auto':
        raise SystemExit("--threads auto is posecfg's runtime.threads default; Lightning Pose "
                         "takes a number (torch's default is the CPU count)")
    return threads


def add_run_arguments(ap, steps=False, budget=False):
    """The command-line arguments both sides of a benchmark share (same names, same defaults)."""
    ap.add_argument('--backbone', default='resnet18')
    ap.add_argument('--size', type=int, default=256, help='image_resize_dims (square)')
    ap.add_argument('--batch-size', type=int, default=16)
    ap.add_argument('--threads', type=threads_value, default=2,
                    help="torch's intra-op threads; posecfg's side also takes 'auto' (its "
                         "runtime.threads default: a probe picks the count)")
    ap.add_argument('--data-dir', default=None, help='a copy of the project (default: a new '
                    'temporary copy)')
    if steps:
        ap.add_argument('--warmup', type=int, default=2)
        ap.add_argument('--steps', type=int, default=3)
    if budget:
        ap.add_argument('--budget', type=float, required=True, help='seconds of training')
        ap.add_argument('--out', required=True, help='the model / run folder to write')
        ap.add_argument('--train-frames', default=None, help='training.train_frames')
