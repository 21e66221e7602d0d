"""Lightning Pose's context model (``model.model_type: heatmap_mhcrnn``) from the mirror-mouse
config.yaml: the translation, and a tiny model that trains an epoch on labelled 5-frame windows
and unlabeled sequences (temporal loss) and predicts the labelled frames and the video.

Facts (lightning-pose 2.4.3): ``models/heatmap_tracker_mhcrnn.py:97-103`` the context head,
``data/datasets.py:301-336`` labelled frames read with their neighbouring image files,
``data/factory.py:297-301`` an unlabeled context batch of ``ceil(max(bs - 4, 0) / gpus + 4)``
frames, ``models/base.py:360-386`` of which the first and last two only give context,
``utils/predictions.py:147-185`` a video's first two frames take frame 2's prediction and the
last two frame N-3's, ``utils/predictions.py:611`` the scorer ``<model_type>_tracker``.
"""
import math
import shutil
import warnings

import cv2
import numpy as np
import pandas as pd
import pytest
import yaml

from posecfg.config.cli import flag_override
from posecfg.interop.lp.to_config import load_as_config
from tests.conftest import shared_path
from tests.test_interop.test_lp.videos import copy_first_frames

pytestmark = pytest.mark.usefixtures('one_thread')

MIRROR = 'config_mirror-mouse-example.yaml'
ROWS = 12  # labelled frames kept: img01 … img12 of the CSV
VIDEO_FRAMES = 8
TINY = ['model.model_type=heatmap_mhcrnn', 'model.backbone=resnet18',
        'model.backbone_pretrained=False', 'data.columns_for_singleview_pca=[0,1,2,3,4,5]',
        'data.image_resize_dims.height=128', 'data.image_resize_dims.width=128',
        'training.train_prob=0.5', 'training.val_prob=0.1', 'training.train_batch_size=3',
        'training.val_batch_size=8', 'training.test_batch_size=12', 'training.num_workers=0',
        'training.check_val_every_n_epoch=1', 'training.min_epochs=1', 'training.max_epochs=1',
        'training.unfreezing_epoch=0', 'training.imgaug=dlc', 'dali.context.train.batch_size=8',
        'callbacks.anneal_weight.init_val=1.0', 'losses.temporal.epsilon=0.0',
        'losses.temporal.prob_threshold=0.0']


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    """(config.yaml, project folder): the mirror-mouse project with its first 12 labelled rows
    (and their neighbouring frames img00 … img14) and its video cut to 8 frames."""
    root = tmp_path_factory.mktemp('lpmhcrnn')
    source = shared_path('lp-mirror-mouse')
    data = root / 'mirror-mouse'
    (data / 'labeled-data').mkdir(parents=True)
    for i in range(ROWS + 3):
        shutil.copy(source / 'labeled-data' / f'img{i:02d}.png', data / 'labeled-data')
    lines = (source / 'CollectedData.csv').read_text().splitlines(keepends=True)
    (data / 'CollectedData.csv').write_text(''.join(lines[:3 + ROWS]))
    (data / 'videos').mkdir()
    copy_first_frames(source / 'videos' / 'test_vid.mp4', data / 'videos' / 'test_vid.mp4',
                      VIDEO_FRAMES)
    config = root / 'config.yaml'
    shutil.copy(shared_path('lp-configs', MIRROR), config)
    return config, data


def load(project, *options, extra=()):
    config, data = project
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return load_as_config(str(config), [f'data.data_dir={data}',
                                            f'data.video_dir={data}/videos', *options],
                              list(extra))


def test_translation(project, tmp_path):
    cfg = load(project, 'model.model_type=heatmap_mhcrnn', 'model.losses_to_use=[temporal]',
               'dali.context.train.batch_size=16', 'training.num_gpus=2')
    head = cfg['model']['heads']['bodypart']
    assert head['type'] == 'LPHeatmapMHCRNNHead'
    assert head['downsample_factor'] == 2 and list(head['unsupervised_losses']) == ['temporal']
    for split in ('train', 'val'):
        pipeline = cfg['data'][split]['pipeline']
        assert [s['type'] for s in pipeline] == ['ContextFrames', 'Collect']
        assert pipeline[0]['context'] == 2
        assert pipeline[0]['transforms'][0]['type'] == 'LoadImageFromFile'
    # a sequence of ceil(max(16 - 4, 0) / 2 + 4) = 10 frames predicts its 6 centre frames
    unlabeled = cfg['data']['unlabeled']
    assert (unlabeled['sequence_length'], unlabeled['context']) == (6, 2)
    _, events = cfg.provenance.history(cfg.path_of('data.unlabeled.sequence_length'))
    assert events[-1].note == 'dali.context.train.batch_size'
    # print_config.py's .py form loads back to the same config
    from posecfg.config import Config
    from posecfg.interop.lp.to_config import format_config
    text, _ = format_config(cfg, 'py')
    (tmp_path / 'mhcrnn.py').write_text(text)
    assert Config.fromfile(str(tmp_path / 'mhcrnn.py')).to_dict() == cfg.to_dict()
    # Lightning Pose's context model has downsample_factor 2 only
    from posecfg.config.errors import ConfigError
    with pytest.raises(ConfigError, match='downsample_factor'):
        load(project, 'model.model_type=heatmap_mhcrnn', 'data.downsample_factor=3')


def test_context_model_trains_and_predicts(project, tmp_path, monkeypatch):
    """One epoch: labelled windows (B, 5, 3, 128, 128) and unlabeled sequences of 8 frames
    (4 predicted); predictions.csv for every labelled row and video_preds/test_vid.csv for every
    video frame, with Lightning Pose's rule at the video's edges. The video is read in windows
    of dali.context.predict.sequence_length = 7 frames (3 centre frames per batch: 3 batches
    for 8 frames), and the rows are those of one window per frame all the same."""
    import torch
    from mmengine.hooks import Hook

    import posecfg.apis.video_inference as video_inference
    from posecfg.engine import build_runner
    config, data = project
    run = tmp_path / 'run'
    cfg = load(project, *TINY, 'model.losses_to_use=[temporal]',
               'dali.context.predict.sequence_length=7',
               extra=[flag_override('--work-dir', 'work_dir', str(run))])
    batch_sizes, infer_video = [], video_inference.infer_video

    def recording(*args, **kwargs):
        batch_sizes.append(kwargs['batch_size'])
        return infer_video(*args, **kwargs)

    monkeypatch.setattr(video_inference, 'infer_video', recording)
    runner = build_runner(cfg)
    steps, shapes = [], []

    class Recorder(Hook):
        def before_train_iter(self, runner, batch_idx, data_batch=None):
            shapes.append((tuple(data_batch['img'].shape),
                           tuple(data_batch['unlabeled']['img'].shape)))

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            steps.append({k: float(torch.as_tensor(v).detach()) for k, v in outputs.items()})

    runner.register_hook(Recorder(), 'LOW')
    runner.train()
    # split (6, 1, 5): 6 training frames in batches of 3 (2 batches); 8 video frames in
    # sequences of 4 centres read with 2 context frames on each side (2 sequences): an epoch of
    # max(2, 2) steps
    assert len(steps) == 2
    assert shapes[0] == ((3, 5, 3, 128, 128), (8, 3, 128, 128))
    for step in steps:
        assert {'heatmap_mse_loss', 'unlabeled_temporal_loss'} <= set(step)
        assert all(math.isfinite(v) for v in step.values())
        # epsilon 0 and no confidence threshold (an untrained model's is ~0.002): every move
        assert step['unlabeled_temporal_loss'] > 0
    labels = pd.read_csv(data / 'CollectedData.csv', header=[0, 1, 2], index_col=0)
    preds = pd.read_csv(run / 'predictions.csv', header=[0, 1, 2], index_col=0)
    assert list(preds.index) == list(labels.index)
    assert set(preds.columns.get_level_values(0)) == {'heatmap_mhcrnn_tracker', 'set'}
    assert np.isfinite(preds.iloc[:, :-1].to_numpy(float)).all()
    table = pd.read_csv(run / 'video_preds' / 'test_vid.csv', header=[0, 1, 2], index_col=0)
    assert list(table.index) == list(range(VIDEO_FRAMES))
    assert set(table.columns.get_level_values(0)) == {'heatmap_mhcrnn_tracker'}
    values = table.to_numpy(float)
    assert np.isfinite(values).all()
    # LP: rows 0, 1 = row 2; rows N-2, N-1 = row N-3; the frames between differ (the video moves)
    np.testing.assert_array_equal(values[0], values[2])
    np.testing.assert_array_equal(values[1], values[2])
    np.testing.assert_array_equal(values[-1], values[-3])
    np.testing.assert_array_equal(values[-2], values[-3])
    assert not np.array_equal(values[2], values[3])
    assert (run / 'video_preds' / 'labeled_videos' / 'test_vid_labeled.mp4').stat().st_size > 0
    assert batch_sizes == [7 - 4]
    # the same numbers from Lightning Pose's windows built here: frame t (2 <= t <= N-3) from
    # frames t-2 … t+2, the edges copied (utils/predictions.py:147-185)
    np.testing.assert_allclose(values, lp_video_rows(run, data / 'videos' / 'test_vid.mp4'),
                               atol=1e-2)
    saved = yaml.safe_load((run / 'config.yaml').read_text())
    assert saved['model']['model_type'] == 'heatmap_mhcrnn'


def lp_video_rows(run, video):
    """(N, 3K) x, y, likelihood per frame of ``video`` by Lightning Pose's windowing, with the
    run's best checkpoint (through posecfg's model and test pipeline on each frame)."""
    from posecfg.apis.dlc_video import load_config_and_checkpoint
    from posecfg.apis.video_inference import load_video_model
    from posecfg.apis.video_inference.predictors import BottomUpFramePredictor
    from posecfg.transforms.collate import pose_collate
    checkpoint = next((run / 'tb_logs').rglob('*-best.ckpt'))
    cfg, checkpoint = load_config_and_checkpoint(run / 'config.yaml', checkpoint=checkpoint)
    # the video path's own runtime (BatchNorms folded, bf16 where native): the windowing is
    # what is compared, not two roundings of the same network
    vm = load_video_model(cfg, checkpoint)
    frame_steps = BottomUpFramePredictor(vm, 1, str(video))  # each frame alone: its record
    capture, frames = cv2.VideoCapture(str(video)), []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        frames.append(frame_steps.pipeline(frame_steps.record(rgb, len(frames))))
    capture.release()
    n = len(frames)
    rows = {}
    for t in range(2, n - 2):
        batch = pose_collate(frames[t - 2:t + 3])
        batch['img'] = batch['img'][None]
        batch['img_metas'] = batch['img_metas'][2:3]
        (out,) = vm.predict(batch)
        rows[t] = np.concatenate([out['keypoints'][0], out['keypoint_scores'][0][:, None]],
                                 axis=1).reshape(-1)
    rows.update({0: rows[2], 1: rows[2], n - 2: rows[n - 3], n - 1: rows[n - 3]})
    return np.stack([rows[t] for t in range(n)])
