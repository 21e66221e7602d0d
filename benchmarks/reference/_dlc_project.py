"""The DeepLabCut projects both sides of benchmarks/run_dlc.sh use (standard library only:
imported by posecfg's and by DeepLabCut's environment): the openfield sample (single animal) and
the synthetic multi-animal project (``--dataset multianimal``).

The shared projects (read-only) have placeholder ``project_path`` and ``video_sets``; a copy gets
them filled in as DeepLabCut's ``load_demo_data`` does (deeplabcut/create_project/demo_data.py:
``project_path`` = the folder, the video key ``<project>/videos/<video>``). Images and the video
are symlinked, config and label files copied. Later commands know the dataset from the copy's
``config.yaml`` (``multianimalproject: true``).
"""
import glob
import os
import shutil
import time
from collections import namedtuple

from _common import emit, machine, stats, versions

SHARED = os.environ.get('POSECFG_SHARED_DATA', os.path.join(
    os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'shared', 'data'))
# (run_dlc.sh passes POSECFG_SHARED_DATA; the default is the checkout's ../shared/data)

#: folder: under SHARED; shuffles: net -> shuffle (one per network, the same split, seed 1);
#: shuffle 3 (``budget_net`` again) is trained for a wall-clock budget; images: labelled images
#: evaluated (train and test); video_key: the video_sets key a copy gets (openfield: DeepLabCut's
#: demo; the synthetic project's labeled-data folder is ``cat``)
Dataset = namedtuple('Dataset', 'folder shuffles budget_net images video video_key')
DATASETS = {
    'openfield': Dataset('dlc-openfield-Pranav-2018-10-30', {'resnet_50': 1, 'hrnet_w32': 2},
                         'resnet_50', 116, 'm3v1mp4.mp4', 'm4s1.mp4'),
    'multianimal': Dataset('dlc-synthetic-multianimal', {'resnet_50': 1, 'dekr_w32': 2},
                           'resnet_50', 25, 'video.mp4', 'cat.mp4'),
}
OPENFIELD = os.path.join(SHARED, DATASETS['openfield'].folder)
VIDEO = os.path.join(OPENFIELD, 'videos', DATASETS['openfield'].video)
SHUFFLES = DATASETS['openfield'].shuffles
BUDGET_SHUFFLE = 3
ALL_NETS = sorted({net for d in DATASETS.values() for net in d.shuffles})
# evaluate/video benchmarks test this snapshot of shuffle 1 (a copy of the initialisation)
EVAL_SNAPSHOT = 'snapshot-000.pt'


def all_shuffles(dataset):
    """[(net, shuffle)] of ``dataset``: its networks, then the budget shuffle."""
    d = DATASETS[dataset]
    return sorted(d.shuffles.items(), key=lambda kv: kv[1]) + [(d.budget_net, BUDGET_SHUFFLE)]


ALL_SHUFFLES = all_shuffles('openfield')


def dataset_of(project):
    """The DATASETS key of a copied project (from its config.yaml)."""
    with open(os.path.join(project, 'config.yaml')) as f:
        multi = any(line.replace(' ', '') == 'multianimalproject:true'
                    for line in f.read().splitlines())
    return 'multianimal' if multi else 'openfield'


def copy_project(dst, dataset='openfield'):
    """Copy ``dataset``'s project to ``dst`` (must not exist) and fill in its paths (the
    ``project_path`` line, the first ``video_sets`` key); returns config.yaml."""
    d = DATASETS[dataset]
    src = os.path.join(SHARED, d.folder)

    def copy(s, t):
        if s.endswith(('.png', '.mp4')):
            os.symlink(os.path.abspath(s), t)
        else:
            shutil.copy2(s, t)
            os.chmod(t, 0o644)
    shutil.copytree(src, dst, copy_function=copy)
    config = os.path.join(dst, 'config.yaml')
    with open(config) as f:
        lines = f.read().splitlines()
    found = set()
    for i, line in enumerate(lines):
        if line.startswith('project_path:'):
            lines[i] = f'project_path: {os.path.abspath(dst)}'
            found.add('project_path')
        elif (lines[i - 1].startswith('video_sets:') and line.startswith('  ')
              and line.rstrip().endswith(':')):
            lines[i] = f'  {os.path.abspath(dst)}/videos/{d.video_key}:'
            found.add('video_sets')
    if found != {'project_path', 'video_sets'}:
        raise ValueError(f'{config}: expected a project_path line and a video_sets key, found '
                         f'{sorted(found)}')
    with open(config, 'w') as f:
        f.write('\n'.join(lines) + '\n')
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
    """Start shuffle's training from the shared initialisation; for a network's shuffle (not the
    budget's) also place it as the snapshot the evaluate/video benchmarks test."""
    init = init_snapshot(project, shuffle)
    set_resume_training_from(pytorch_config(project, shuffle), init)
    if shuffle != BUDGET_SHUFFLE:
        shutil.copyfile(init, os.path.join(shuffle_folder(project, shuffle), 'train',
                                           EVAL_SNAPSHOT))


def evaluation_row(project, shuffle):
    """The last row of ``shuffle`` in DeepLabCut's
    evaluation-results-pytorch/iteration-0/CombinedEvaluation-results.csv (columns
    ``test rmse``, ``train rmse``, ``test mAP``, ...: deeplabcut/pose_estimation_pytorch/apis/
    evaluation.py:557-591 of 3.0.2), which both tools write, as a dict."""
    import pandas as pd
    path = os.path.join(project, 'evaluation-results-pytorch', 'iteration-0',
                        'CombinedEvaluation-results.csv')
    table = pd.read_csv(path)
    rows = table[table['Shuffle number'] == shuffle]
    if rows.empty:
        raise ValueError(f'{path}: no row for shuffle {shuffle}')
    return {k: float(v) for k, v in rows.iloc[-1].items() if k.startswith(('test ', 'train '))}


def evaluation_rmse(project, shuffle):
    """(test RMSE, train RMSE) in pixels (:func:`evaluation_row`)."""
    row = evaluation_row(project, shuffle)
    return row['test rmse'], row['train rmse']


def shuffle_of(project, net):
    """The shuffle of ``net`` in a copied project (its dataset's table)."""
    shuffles = DATASETS[dataset_of(project)].shuffles
    if net not in shuffles:
        raise ValueError(f'{project}: no {net} shuffle; this dataset has {sorted(shuffles)}')
    return shuffles[net]


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


def timed_evaluation(bench, project, threads, evaluate, net='resnet_50'):
    """Run ``evaluate(config.yaml, shuffle)`` (a tool's evaluate_network on shuffle 1's
    EVAL_SNAPSHOT, or ``net``'s shuffle: all labelled images, train and test) and emit images/s
    of the whole call (config, model and snapshot loading, inference and, multi-animal,
    assembly, result files; the tools' modules imported before) and the errors it wrote."""
    shuffle = shuffle_of(project, net)
    # module imports are not evaluation: PyTables (pandas imports it at the first read_hdf) and
    # scipy.optimize (linear_sum_assignment, for assembling individuals; posecfg imports it at
    # the first assembly, ~0.7 s) before the clock on both sides, as DeepLabCut's engine is
    # (``import deeplabcut`` imports both) and posecfg's (its dlc_bench.py imports
    # posecfg.engine first)
    import scipy.optimize  # noqa: F401
    import tables  # noqa: F401
    t0 = time.perf_counter()
    evaluate(os.path.join(project, 'config.yaml'), shuffle)
    seconds = time.perf_counter() - t0
    dataset = dataset_of(project)
    images = DATASETS[dataset].images
    row = evaluation_row(project, shuffle)
    emit({'bench': bench, 'dataset': dataset, 'net': net, 'unit': 'images/s', 'images': images,
          'images_per_s': stats([images / seconds]), 'seconds': round(seconds, 2),
          'rmse_test_train': (row['test rmse'], row['train rmse']),
          'map_test_train': (row.get('test mAP'), row.get('train mAP')), 'threads': threads,
          'versions': versions(), 'machine': machine()})


def add_measurement_arguments(parser):
    """The options both sides' dlc_bench.py take (one meaning on both sides)."""
    parser.add_argument('--net', default='resnet_50', choices=ALL_NETS)
    parser.add_argument('--dataset', default='openfield', choices=sorted(DATASETS),
                        help='prepare: the project copied (later commands read it from the copy)')
    parser.add_argument('--threads', type=int, default=2, help='torch threads (both sides)')
    parser.add_argument('--warmup', type=int, default=1,
                        help='train: untimed iterations after the first')
    parser.add_argument('--iters', type=int, default=3, help='train: timed iterations')
    parser.add_argument('--seconds', type=float, default=300, help='budget: training seconds')
    return parser
