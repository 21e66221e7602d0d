"""The DeepLabCut openfield sample project as both sides of benchmarks/run_dlc.sh use it
(standard library only: imported by posecfg's and by DeepLabCut's environment).

The shared project (read-only) has placeholder ``project_path`` and ``video_sets``; a copy gets
them filled in as DeepLabCut's ``load_demo_data`` does (deeplabcut/create_project/demo_data.py:
``project_path`` = the folder, the video key ``<project>/videos/m4s1.mp4``). Images and the video
are symlinked, config and label files copied.
"""
import glob
import os
import shutil
import time

from _common import emit, machine, stats, versions

SHARED = os.environ.get('POSECFG_SHARED_DATA', os.path.join(
    os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'shared', 'data'))
# (run_dlc.sh passes POSECFG_SHARED_DATA; the default is the checkout's ../shared/data)
OPENFIELD = os.path.join(SHARED, 'dlc-openfield-Pranav-2018-10-30')
VIDEO = os.path.join(OPENFIELD, 'videos', 'm3v1mp4.mp4')
# one shuffle per network, the same split (seed 1) for all; shuffle 3 (resnet_50 again) is
# trained for a wall-clock budget
SHUFFLES = {'resnet_50': 1, 'hrnet_w32': 2}
BUDGET_SHUFFLE = 3
ALL_SHUFFLES = [('resnet_50', 1), ('hrnet_w32', 2), ('resnet_50', BUDGET_SHUFFLE)]
# evaluate/video benchmarks test this snapshot of shuffle 1 (a copy of the initialisation)
EVAL_SNAPSHOT = 'snapshot-000.pt'
PLACEHOLDER = 'WILL BE AUTOMATICALLY UPDATED BY DEMO CODE'


def copy_project(dst, src=OPENFIELD):
    """Copy the project to ``dst`` (must not exist) and fill in its paths; returns config.yaml."""
    def copy(s, d):
        if s.endswith(('.png', '.mp4')):
            os.symlink(os.path.abspath(s), d)
        else:
            shutil.copy2(s, d)
            os.chmod(d, 0o644)
    shutil.copytree(src, dst, copy_function=copy)
    config = os.path.join(dst, 'config.yaml')
    with open(config) as f:
        text = f.read()
    if PLACEHOLDER not in text:
        raise ValueError(f'{config}: expected the placeholder {PLACEHOLDER!r} of the sample')
    text = text.replace(f'project_path: {PLACEHOLDER}', f'project_path: {os.path.abspath(dst)}')
    text = text.replace(f'  {PLACEHOLDER}:', f'  {os.path.abspath(dst)}/videos/m4s1.mp4:')
    with open(config, 'w') as f:
        f.write(text)
    return config


def shuffle_folder(project, shuffle):
    """dlc-models-pytorch/iteration-0/<Task><date>-trainset95shuffle<K>."""
    pattern = os.path.join(project, 'dlc-models-pytorch', 'iteration-0',
                           f'*-trainset*shuffle{shuffle}')
    found = glob.glob(pattern)
    if len(found) != 1:
        raise FileNotFoundError(f'expected one shuffle folder {pattern}, found {found}')
    return found[0]


def pytorch_config(project, shuffle):
    return os.path.join(shuffle_folder(project, shuffle), 'train', 'pytorch_config.yaml')


def use_initialisation(project, shuffle):
    """Start shuffle's training from the shared initialisation; for shuffle 1 also place it as
    the snapshot the evaluate/video benchmarks test."""
    init = init_snapshot(project, shuffle)
    set_resume_training_from(pytorch_config(project, shuffle), init)
    if shuffle == SHUFFLES['resnet_50']:
        shutil.copyfile(init, os.path.join(shuffle_folder(project, shuffle), 'train',
                                           EVAL_SNAPSHOT))


def evaluation_rmse(project, shuffle):
    """(test RMSE, train RMSE) in pixels: the last row of ``shuffle`` in DeepLabCut's
    evaluation-results-pytorch/iteration-0/CombinedEvaluation-results.csv (columns
    ``test rmse``/``train rmse``: deeplabcut/pose_estimation_pytorch/apis/evaluation.py:557-591
    of 3.0.2), which both tools write."""
    import pandas as pd
    path = os.path.join(project, 'evaluation-results-pytorch', 'iteration-0',
                        'CombinedEvaluation-results.csv')
    table = pd.read_csv(path)
    rows = table[table['Shuffle number'] == shuffle]
    if rows.empty:
        raise ValueError(f'{path}: no row for shuffle {shuffle}')
    return float(rows['test rmse'].iloc[-1]), float(rows['train rmse'].iloc[-1])


def init_snapshot(project, shuffle):
    """The random initialisation both sides start from (written by the reference's prepare)."""
    return os.path.join(project, 'init', f'init-shuffle{shuffle}.pt')


def set_resume_training_from(pytorch_config_yaml, snapshot):
    """Point ``resume_training_from`` (the file's last top-level key) at ``snapshot``."""
    with open(pytorch_config_yaml) as f:
        lines = f.read().splitlines()
    hits = [i for i, line in enumerate(lines) if line.startswith('resume_training_from:')]
    if len(hits) != 1:
        raise ValueError(f'{pytorch_config_yaml}: expected one resume_training_from line')
    lines[hits[0]] = f'resume_training_from: {snapshot}'
    with open(pytorch_config_yaml, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def timed_evaluation(bench, project, threads, evaluate):
    """Run ``evaluate(config.yaml, shuffle)`` (a tool's evaluate_network on shuffle 1's
    EVAL_SNAPSHOT: all 116 labelled images, train and test) and emit images/s of the whole call
    (config, model and snapshot loading, inference, result files) and the RMSEs it wrote."""
    shuffle = SHUFFLES['resnet_50']
    t0 = time.perf_counter()
    evaluate(os.path.join(project, 'config.yaml'), shuffle)
    seconds = time.perf_counter() - t0
    images = 116
    emit({'bench': bench, 'unit': 'images/s', 'images': images,
          'images_per_s': stats([images / seconds]), 'seconds': round(seconds, 2),
          'rmse_test_train': evaluation_rmse(project, shuffle), 'threads': threads,
          'versions': versions(), 'machine': machine()})


def add_measurement_arguments(parser):
    """The options both sides' dlc_bench.py take (one meaning on both sides)."""
    parser.add_argument('--net', default='resnet_50', choices=sorted(SHUFFLES))
    parser.add_argument('--threads', type=int, default=2, help='torch threads (both sides)')
    parser.add_argument('--warmup', type=int, default=1,
                        help='train: untimed iterations after the first')
    parser.add_argument('--iters', type=int, default=3, help='train: timed iterations')
    parser.add_argument('--seconds', type=float, default=300, help='budget: training seconds')
    return parser
