"""Lightning Pose's output files, checked against their text as Lightning Pose 2.4.3 writes them
(pandas DataFrame.to_csv of the frames built in utils/predictions.py and metrics.py)."""
import datetime
import json
import os

import numpy as np
import pytest

from posecfg.config.options import parse_options
from posecfg.evaluation.functional.lp_metrics import pixel_error, temporal_norm
from posecfg.interop.lp.config import load_lp_config
from posecfg.interop.lp.outputs import (LPOutputError, metric_path, read_predictions,
                                        write_metric, write_predictions)
from posecfg.interop.lp.run_folder import (
    checkpoint_name, default_run_dir, find_checkpoint, lp_hparams, saved_config,
    tb_version_dir, write_config, write_hparams, write_train_completed, write_train_progress)
from posecfg.interop.lp.yaml_io import load_yaml_with_lines
from tests.conftest import shared_path

KPS = np.array([[[10.5, 20.25], [np.nan, 3.0]], [[1.5, 8.25], [3.0, 4.0]]])


def test_predictions_csv_for_labelled_images(tmp_path):
    path = write_predictions(str(tmp_path / 'predictions.csv'),
                             np.array([[[1.5, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.25, 8.0]]]),
                             np.array([[0.9, 0.5], [1.0, 0.125]]), ['nose', 'tail'], 'heatmap',
                             index=['labeled-data/a.png', 'labeled-data/b.png'],
                             sets=['train', 'test'])
    assert open(path).read() == (
        'scorer,heatmap_tracker,heatmap_tracker,heatmap_tracker,heatmap_tracker,'
        'heatmap_tracker,heatmap_tracker,set\n'
        'bodyparts,nose,nose,nose,tail,tail,tail,\n'
        'coords,x,y,likelihood,x,y,likelihood,\n'
        'labeled-data/a.png,1.5,2.0,0.9,3.0,4.0,0.5,train\n'
        'labeled-data/b.png,5.0,6.0,1.0,7.25,8.0,0.125,test\n')
    back = read_predictions(path)
    assert back.keypoint_names == ('nose', 'tail') and back.scorer == 'heatmap_tracker'
    assert back.index == ('labeled-data/a.png', 'labeled-data/b.png')
    assert list(back.sets) == ['train', 'test'] and not back.is_video
    assert back.keypoints[1, 1].tolist() == [7.25, 8.0] and back.likelihood[1, 1] == 0.125


def test_video_predictions_csv(tmp_path):
    path = write_predictions(str(tmp_path / 'video_preds' / 'test_vid.csv'),
                             np.array([[[1.0, 2.0]], [[3.0, 4.0]]], dtype=np.float32),
                             np.zeros((2, 1)), ['nose'], 'regression')
    assert open(path).read() == ('scorer,regression_tracker,regression_tracker,'
                                 'regression_tracker\nbodyparts,nose,nose,nose\n'
                                 'coords,x,y,likelihood\n0,1.0,2.0,0.0\n1,3.0,4.0,0.0\n')
    assert read_predictions(path).is_video


def test_float32_predictions_are_written_as_lightning_pose_writes_them(tmp_path):
    # LP stores float32 network outputs in a float64 array before to_csv
    value = np.float32(123.456)
    path = write_predictions(str(tmp_path / 'v.csv'), np.full((1, 1, 2), value),
                             np.full((1, 1), np.float32(0.7)), ['a'], 'heatmap')
    row = open(path).read().splitlines()[3]
    assert row == f'0,{float(value)!r},{float(value)!r},{float(np.float32(0.7))!r}'
    assert row == '0,123.45600128173828,123.45600128173828,0.699999988079071'


def test_metric_files(tmp_path):
    preds = str(tmp_path / 'predictions.csv')
    errors = pixel_error(KPS, KPS + np.array([3.0, 4.0]))
    path = write_metric(preds, 'pixel_error', errors, ['nose', 'tail'], ['a.png', 'b.png'],
                        sets=['train', 'validation'])
    assert path == str(tmp_path / 'predictions_pixel_error.csv')
    assert open(path).read() == ',nose,tail,set\na.png,5.0,,train\nb.png,5.0,5.0,validation\n'
    video = str(tmp_path / 'video_preds' / 'test_vid.csv')
    norm = temporal_norm(KPS)
    path = write_metric(video, 'temporal_norm', norm, ['nose', 'tail'], [0, 1])
    assert path.endswith('video_preds/test_vid_temporal_norm.csv')
    assert open(path).read() == ',nose,tail\n0,,\n1,15.0,\n'   # (-9, -12) -> 15
    assert metric_path(video, 'pca_singleview').endswith('test_vid_pca_singleview_error.csv')
    assert metric_path(preds, 'pca_multiview').endswith('predictions_pca_multiview_error.csv')
    with pytest.raises(LPOutputError, match='metric must be one of'):
        metric_path(preds, 'oks')


def test_bad_arrays_are_refused(tmp_path):
    with pytest.raises(LPOutputError, match=r'must be \(N, 2, 2\) and \(N, 2\)'):
        write_predictions(str(tmp_path / 'p.csv'), KPS, np.zeros((2, 3)), ['a', 'b'], 'heatmap')
    with pytest.raises(LPOutputError, match="set values \\['val'\\]"):
        write_predictions(str(tmp_path / 'p.csv'), KPS, np.zeros((2, 2)), ['a', 'b'], 'heatmap',
                          index=['x', 'y'], sets=['train', 'val'])
    assert not os.path.exists(tmp_path / 'p.csv')


# ------------------------------------------------------------------------------ run folder

def test_layout_names(tmp_path):
    now = datetime.datetime(2024, 3, 5, 7, 8, 9)
    assert default_run_dir(now) == 'outputs/2024-03-05/07-08-09'
    assert checkpoint_name(3, 20) == 'epoch=3-step=20-best.ckpt'
    assert checkpoint_name(9, 50, best=False) == 'epoch=9-step=50.ckpt'
    run = str(tmp_path)
    assert tb_version_dir(run, 'm') == os.path.join(run, 'tb_logs', 'm', 'version_0')
    os.makedirs(os.path.join(run, 'tb_logs', 'm', 'version_0', 'checkpoints'))
    os.makedirs(os.path.join(run, 'tb_logs', 'm', 'version_3'))
    assert tb_version_dir(run, 'm').endswith('version_4')


def test_find_checkpoint_follows_lightning_pose(tmp_path):
    folder = tmp_path / 'tb_logs' / 'm' / 'version_0' / 'checkpoints'
    folder.mkdir(parents=True)
    for name in ('epoch=9-step=50.ckpt', 'epoch=4-step=25-best.ckpt', 'epoch=19-step=100.ckpt'):
        (folder / name).write_bytes(b'')
    assert find_checkpoint(str(tmp_path), 'm').endswith('epoch=4-step=25-best.ckpt')
    (folder / 'epoch=4-step=25-best.ckpt').unlink()
    assert find_checkpoint(str(tmp_path), 'm').endswith('epoch=19-step=100.ckpt')
    assert find_checkpoint(str(tmp_path), 'other') is None


def test_saved_config_is_what_lightning_pose_saves(tmp_path):
    cfg = load_lp_config(str(shared_path('lp-configs', 'config_mirror-mouse-example.yaml')),
                         parse_options(['data.data_dir=/proj', 'training.num_gpus=0']))
    tree = saved_config(cfg.raw, lightning_pose_version='2.4.3',
                        creation_datetime='2024-03-05T07:08:09.123456')
    path = write_config(str(tmp_path), tree)
    text = open(path).read()
    data, _ = load_yaml_with_lines(text)
    assert list(data) == ['data', 'training', 'model', 'dali', 'losses', 'eval', 'callbacks',
                          'creation_datetime']
    assert list(data['model'])[-1] == 'lightning_pose_version'
    assert data['training']['num_gpus'] == 1                      # max(num_gpus, 1)
    assert "\n  video_dir: ${data.data_dir}/videos\n" in text      # unresolved
    assert "\n    learning_rate: 0.001\n" in text                 # 1e-3 as a float
    assert "\n  losses_to_use:\n  - pca_singleview\n" in text
    assert "\n  mirrored_column_matches:\n  - - 0\n    - 1\n" in text
    assert "creation_datetime: '2024-03-05T07:08:09.123456'\n" in text
    assert "  lightning_pose_version: 2.4.3\n" in text
    default = load_lp_config(str(shared_path('lp-configs', 'config_default.yaml')), check=False)
    assert 'hydra' not in saved_config(default.raw, lightning_pose_version='2.4.3')


def test_hparams_yaml(tmp_path):
    cfg = load_lp_config(str(shared_path('lp-configs', 'config_mirror-mouse-example.yaml')),
                         parse_options(['data.data_dir=/proj', 'model.backbone=resnet18',
                                        '+model.backbone_pretrained=False']))
    path = write_hparams(str(tmp_path), lp_hparams(cfg, num_targets=34))
    assert open(path).read() == (
        'num_keypoints: 17\nnum_targets: 34\nbackbone: resnet18\ndownsample_factor: 2\n'
        'pretrained: false\ntorch_seed: 44\noptimizer: Adam\noptimizer_params:\n'
        '  learning_rate: 0.001\nlr_scheduler: multisteplr\nlr_scheduler_params:\n'
        '  milestones:\n  - 150\n  - 200\n  - 250\n  gamma: 0.5\nimage_size: 256\n'
        'backbone_checkpoint: null\n')
    regression = load_lp_config(
        str(shared_path('lp-configs', 'config_mirror-mouse-example.yaml')),
        parse_options(['data.data_dir=/proj', 'model.model_type=regression']))
    assert list(lp_hparams(regression)) == [
        'num_keypoints', 'backbone', 'pretrained', 'torch_seed', 'optimizer', 'optimizer_params',
        'lr_scheduler', 'lr_scheduler_params', 'image_size']


def test_train_status_json(tmp_path):
    run = str(tmp_path)
    path = write_train_progress(run, 0, 1, timestamp=1.5)
    assert open(path).read() == ('{\n    "status": "TRAINING",\n    "progress": {\n'
                                 '        "completed": 0,\n        "total": 1,\n'
                                 '        "timestamp": 1.5\n    }\n}')
    write_train_progress(run, 2, 2, timestamp=2.5)
    assert json.load(open(path))['status'] == 'EVALUATING'
    write_train_completed(run)
    assert open(path).read() == ('{"status": "COMPLETED", "progress": {"completed": 2, '
                                 '"total": 2, "timestamp": 2.5}}')


def test_mirror_mouse_evaluation_files_end_to_end(tmp_path):
    """predictions.csv and its metric files for the mirror-mouse project, computed from the
    re-read predictions file as Lightning Pose's compute_metrics_single does."""
    from posecfg.interop.lp.project import fit_lp_pca, load_lp_project

    cfg = load_lp_config(str(shared_path('lp-configs', 'config_mirror-mouse-example.yaml')),
                         parse_options([f'data.data_dir={shared_path("lp-mirror-mouse")}']))
    project = load_lp_project(cfg)
    labels = project.labels
    preds = np.where(np.isnan(labels.keypoints), 100.0, labels.keypoints) + [3.0, 4.0]
    path = write_predictions(str(tmp_path / 'predictions.csv'), preds,
                             np.full((90, 17), 0.5), project.keypoint_names, 'heatmap',
                             index=labels.image_names, sets=project.split.set_column())
    back = read_predictions(path)
    errors = pixel_error(labels.keypoints, back.keypoints)
    assert np.nanmax(errors) == pytest.approx(5.0) and np.isnan(errors[0, 4])
    error_file = write_metric(path, 'pixel_error', errors, back.keypoint_names, back.index,
                              back.sets)
    lines = open(error_file).read().splitlines()
    assert lines[0] == ',' + ','.join(project.keypoint_names) + ',set'
    assert lines[1].startswith('labeled-data/img01.png,5.0,5.0,5.0,5.0,,')
    assert lines[1].endswith(',' + project.split.set_column()[0])
    pca = fit_lp_pca(project, 'pca_singleview', units='frame')
    pca_file = write_metric(path, 'pca_singleview', pca.keypoint_errors(back.keypoints),
                            back.keypoint_names, back.index, back.sets)
    assert pca_file.endswith('predictions_pca_singleview_error.csv')
    row = open(pca_file).read().splitlines()[2].split(',')
    assert row[8] == '' and row[16] == '' and row[17] == ''    # obs_top, obsHigh/Low_bot: not in PCA
