"""tools/infer_video.py: a tiny BottomUp model (random weights) over synthetic videos, through
the command line (one real subprocess for exit codes and messages; the rest call ``main``)."""
import importlib.util
import os
import subprocess
import sys

import cv2
import numpy as np
import pandas as pd
import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(REPO, 'tools', 'infer_video.py')
INFO = os.path.join(REPO, 'configs/_base_/datasets/synthetic_animal.py')
K = 14

CONFIG = f'''
model = dict(type='BottomUp',
             backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8,
                           num_stages=1, strides=(1,), dilations=(1,), out_indices=(0,)),
             heads=dict(bodypart=dict(type='HeatmapHead', in_channels=8, out_channels=14,
                                      codec=dict(type='ArgmaxHeatmap'))),
             test_cfg=dict(flip_test=False))
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='ToTensor'),
                 dict(type='NormalizeTensor', mean=[0.485, 0.456, 0.406],
                      std=[0.229, 0.224, 0.225]),
                 dict(type='Collect', keys=['img'], meta_keys=['image_file', 'image_id'])]
data = dict(test=dict(type='TopDownCocoDataset', ann_file='unused.json', img_prefix='',
                      data_cfg=dict(image_size=[64, 48], heatmap_size=[16, 12],
                                    num_output_channels=14, num_joints=14,
                                    dataset_channel=[list(range(14))],
                                    inference_channel=list(range(14))),
                      dataset_info='{INFO}', data_mode='bottomup', pipeline=test_pipeline))
runtime = dict(threads=1, autocast=None, channels_last=False)
'''


def load_tool():
    spec = importlib.util.spec_from_file_location('infer_video_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def setup(tmp_path, n=6):
    config = tmp_path / 'tiny.py'
    config.write_text(CONFIG)
    sys.path.insert(0, REPO)
    from posecfg.apis.inference import init_model
    torch.manual_seed(0)
    model = init_model(str(config))
    work = tmp_path / 'work'
    work.mkdir()
    checkpoint = work / 'epoch_2.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {'epoch': 2}}, checkpoint)
    videos = tmp_path / 'videos'
    videos.mkdir()
    rng = np.random.default_rng(0)
    for name in ('a', 'b'):
        writer = cv2.VideoWriter(str(videos / f'{name}.avi'), cv2.VideoWriter_fourcc(*'FFV1'),
                                 10.0, (64, 48))
        for _ in range(n):
            writer.write(rng.integers(0, 256, (48, 64, 3), np.uint8))
        writer.release()
    return config, checkpoint, videos


def test_folder_of_videos_to_dlc_h5_and_csv_then_kept_then_overwritten(tmp_path, capsys):
    config, checkpoint, videos = setup(tmp_path)
    tool = load_tool()
    out = tmp_path / 'out'
    assert tool.main([str(config), str(checkpoint), str(videos), '--out-dir', str(out),
                      '--save-csv', '--no-progress']) == 0
    scorer = 'DLC_Resnet_tinyposecfgshuffle1_snapshot_2'
    for name in ('a', 'b'):
        df = pd.read_hdf(out / f'{name}{scorer}.h5', key='df_with_missing')
        assert df.shape == (6, 3 * K) and df.columns.names == ['scorer', 'bodyparts', 'coords']
        assert (out / f'{name}{scorer}.csv').exists()
    printed = capsys.readouterr().out
    assert f'wrote {out / f"a{scorer}.h5"}' in printed
    before = (out / f'a{scorer}.h5').stat().st_mtime_ns
    assert tool.main([str(config), str(checkpoint), str(videos / 'a.avi'), '--out-dir',
                      str(out), '--no-progress']) == 0
    assert 'output exists, kept' in capsys.readouterr().err
    assert (out / f'a{scorer}.h5').stat().st_mtime_ns == before
    assert tool.main([str(config), str(checkpoint), str(videos / 'a.avi'), '--out-dir',
                      str(out), '--no-progress', '--overwrite']) == 0
    assert (out / f'a{scorer}.h5').stat().st_mtime_ns != before
    # the first run's .csv would disagree with the new .h5: overwriting without --save-csv
    # removes it, and says so
    assert not (out / f'a{scorer}.csv').exists() and (out / f'b{scorer}.csv').exists()
    assert f'removed {out / f"a{scorer}.csv"} of the earlier run' in capsys.readouterr().err


def test_lp_format_labeled_video_and_checkpoint_found_in_the_train_folder(tmp_path, capsys):
    config, checkpoint, videos = setup(tmp_path)
    tool = load_tool()
    assert tool.main([str(config), str(checkpoint.parent), str(videos / 'b.avi'), '--format',
                      'lp', '--out-dir', str(tmp_path / 'lp'), '--save-video',
                      '--no-progress']) == 0
    assert f'using checkpoint {checkpoint}' in capsys.readouterr().out
    from posecfg.interop.lp.outputs import read_predictions
    preds = read_predictions(str(tmp_path / 'lp' / 'video_preds' / 'b.csv'))
    assert preds.keypoints.shape == (6, K, 2) and preds.scorer == 'heatmap_tracker'
    labeled = tmp_path / 'lp' / 'video_preds' / 'labeled_videos' / 'b_labeled.mp4'
    capture = cv2.VideoCapture(str(labeled))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 6


def test_command_line_exit_codes_and_messages(tmp_path):
    config, checkpoint, videos = setup(tmp_path, n=3)
    bad = tmp_path / 'broken.mp4'
    bad.write_bytes(b'\x00' * 64)
    result = subprocess.run([sys.executable, TOOL, str(config), str(checkpoint),
                             str(videos / 'a.avi'), str(bad), str(tmp_path / 'missing.avi'),
                             '--out-dir', str(tmp_path / 'o'), '--no-progress'],
                            capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, PYTHONPATH=REPO))
    assert result.returncode == 1, result.stderr
    assert f'error: cannot open video {bad}: not a video container' in result.stderr
    assert f'{tmp_path / "missing.avi"}: no such file' in result.stderr
    assert 'error: 2 of 3 videos could not be read' in result.stderr
    assert 'Traceback' not in result.stderr
    assert len(list((tmp_path / 'o').glob('a*.h5'))) == 1  # the readable one was analysed


def test_several_instances_write_assemblies_and_an_id_coloured_video(tmp_path):
    config, checkpoint, videos = setup(tmp_path, n=3)
    tool = load_tool()
    out = tmp_path / 'out'
    assert tool.main([str(config), str(checkpoint), str(videos / 'a.avi'), '--out-dir',
                      str(out), '--max-instances', '2', '--save-video', '--color-by',
                      'individual', '--no-progress']) == 0
    prefix = out / 'aDLC_Resnet_tinyposecfgshuffle1_snapshot_2'
    from posecfg.apis.video_inference.assemblies import read_assemblies
    data = read_assemblies(f'{prefix}_assemblies.pickle')
    # the single-instance head finds one animal per frame: one row each, as in the .h5
    h5 = pd.read_hdf(f'{prefix}.h5', key='df_with_missing').to_numpy().reshape(3, 2, K, 3)
    for t in range(3):
        np.testing.assert_array_equal(data[t][..., :3], h5[t, :1])
    assert read_assemblies(f'{prefix}_assemblies.npz')['frame'].tolist() == [0, 1, 2]
    assert not os.path.exists(f'{prefix}_full.pickle')  # only with --dlc-full-pickle
    assert int(cv2.VideoCapture(f'{prefix}_id_p60_labeled.mp4').get(
        cv2.CAP_PROP_FRAME_COUNT)) == 3


def test_trail_points_reach_the_labeled_video_writer(tmp_path, monkeypatch):
    config, checkpoint, videos = setup(tmp_path, n=3)
    from posecfg.apis import video_inference
    from posecfg.apis.video_inference import run
    made = {}
    real_writer = run.LabeledVideoWriter

    def writer(*args, **kwargs):
        made.update(kwargs)
        return real_writer(*args, **kwargs)
    monkeypatch.setattr(run, 'LabeledVideoWriter', writer)
    assert video_inference.infer_video is run.infer_video
    tool = load_tool()
    assert tool.main([str(config), str(checkpoint), str(videos / 'a.avi'), '--out-dir',
                      str(tmp_path / 'out'), '--save-video', '--trail-points', '2',
                      '--no-progress']) == 0
    assert made['trailpoints'] == 2
