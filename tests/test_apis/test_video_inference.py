"""Video inference (posecfg.apis.video_inference): a tiny BottomUp model (random weights saved in
posecfg's checkpoint layout) over short synthetic videos and the first frames of a real one.

DeepLabCut layout facts the outputs are checked against (DeepLabCut 3.0.x,
deeplabcut/pose_estimation_pytorch/apis/videos.py):
- file names: ``output_prefix = video.stem + dlc_scorer`` (l. 550), ``<prefix>.h5`` (l. 726),
  ``<prefix>_meta.pickle`` (l. 595), ``.csv`` = the h5 path with suffix ``.csv`` (l. 761);
- columns ``MultiIndex.from_product([[dlc_scorer], bodyparts, ["x", "y", "likelihood"]],
  names=["scorer", "bodyparts", "coords"])`` (l. 735-743), rows ``range(n_frames)`` (l. 748);
- ``df.to_hdf(output_h5, key="df_with_missing", format="table", mode="w")`` (l. 759);
- ``_meta.pickle`` = ``{"data": {...}}`` with the keys of ``_generate_metadata`` (l. 863-881).
Labeled video name: ``filepath.replace(".h5", f"{s}_p{int(100 * pcutoff)}_labeled.mp4")``,
``s = ""`` for single-animal projects (deeplabcut/utils/make_labeled_video.py l. 787-792).
"""
import io
import json

import cv2
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from posecfg.apis.inference import init_model
from posecfg.apis.video import VideoOpenError, keypoint_colors
from posecfg.apis.video_inference import infer_video, load_detections, load_video_model
from posecfg.interop.dlc.outputs import read_video_metadata

REPO = __import__('pathlib').Path(__file__).resolve().parents[2]
INFO = REPO / 'configs/_base_/datasets/synthetic_animal.py'
K = 14
NAMES = ['nose', 'left_ear', 'right_ear', 'neck', 'tail_base', 'tail_tip', 'left_front_knee',
         'right_front_knee', 'left_front_paw', 'right_front_paw', 'left_back_knee',
         'right_back_knee', 'left_back_paw', 'right_back_paw']  # INFO's keypoints, in order
DLC_META_KEYS = {'start', 'stop', 'run_duration', 'Scorer', 'pytorch-config', 'fps',
                 'batch_size', 'frame_dimensions', 'nframes', 'iteration (active-learning)',
                 'training set fraction', 'cropping', 'cropping_parameters', 'individuals',
                 'bodyparts', 'unique_bodyparts'}

CONFIG = '''
model = dict(type='BottomUp',
             backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8,
                           num_stages=1, strides=(1,), dilations=(1,), out_indices=(0,)),
             heads=dict(bodypart=dict(type='HeatmapHead', in_channels={channels},
                                      out_channels=14, codec=dict(type='ArgmaxHeatmap'))),
             test_cfg=dict(flip_test=False))
test_pipeline = [dict(type='LoadImageFromFile'),
                 dict(type='Resize', width={w}, height={h}, keep_ratio=False),
                 dict(type='ToTensor'),
                 dict(type='NormalizeTensor', mean=[0.485, 0.456, 0.406],
                      std=[0.229, 0.224, 0.225]),
                 dict(type='Collect', keys=['img'], meta_keys=['image_file', 'image_id'])]
data = dict(test=dict(type='TopDownCocoDataset', ann_file='unused.json', img_prefix='',
                      data_cfg=dict(image_size=[{w}, {h}], heatmap_size=[{w}, {h}],
                                    num_output_channels=14, num_joints=14,
                                    dataset_channel=[list(range(14))],
                                    inference_channel=list(range(14))),
                      dataset_info='{info}', data_mode='bottomup', pipeline=test_pipeline))
runtime = dict(threads=1, autocast=None, channels_last=False)
'''


def tiny_model(tmp_path, name='tiny_bu', size=(64, 48), channels=8, epoch=3):
    """A BottomUp config (.py) with a model input of ``size`` = (w, h) and a checkpoint of its
    random weights ({'state_dict', 'meta'}, posecfg's layout)."""
    config = tmp_path / f'{name}.py'
    config.write_text(CONFIG.format(w=size[0], h=size[1], channels=channels, info=INFO))
    torch.manual_seed(0)
    model = init_model(str(config))
    checkpoint = tmp_path / f'{name}.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {'epoch': epoch}}, checkpoint)
    return config, checkpoint


def write_video(path, frames, fps=10.0):
    """RGB frames → a lossless FFV1 AVI (exact pixels back)."""
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'FFV1'), fps, (w, h))
    assert writer.isOpened()
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def dot_at(t):
    """Top-left (x, y) of frame t's 2x2 white block: even coordinates, moving right/down."""
    return 10 + 4 * t, 20 + 2 * t


def dot_video(path, n=20, size=(128, 96)):
    frames = []
    for t in range(n):
        frame = np.zeros((size[1], size[0], 3), np.uint8)
        x, y = dot_at(t)
        frame[y:y + 2, x:x + 2] = 255
        frames.append(frame)
    return write_video(path, frames)


def noise_video(path, n=40, size=(64, 48), seed=0):
    rng = np.random.default_rng(seed)
    return write_video(path, [rng.integers(0, 256, (size[1], size[0], 3), np.uint8)
                              for _ in range(n)])


class TupleIdentity(nn.Module):
    """A backbone whose one feature map is the normalized image itself."""

    def forward(self, x):
        return (x,)


def image_sum_model(tmp_path, size=(64, 48)):
    """A model with a known output: heatmap k = (k + 1) · (sum of the normalized input's
    channels), decoded by argmax at full input resolution, so every keypoint lands on the
    brightest input pixel, keypoint k with score (k + 1) · S (S: that pixel's channel sum)."""
    config, checkpoint = tiny_model(tmp_path, 'image_sum', size=size, channels=3)
    vm = load_video_model(str(config), str(checkpoint), runtime=dict(fold_bn=False))
    vm.model.backbone = TupleIdentity()
    head = vm.model.bodypart
    with torch.no_grad():
        head.final_layer.weight.copy_(torch.arange(1., K + 1).view(K, 1, 1, 1).expand(K, 3, 1, 1))
        head.final_layer.bias.zero_()
    return vm


def test_dlc_h5_csv_and_metadata_in_deeplabcuts_layout(tmp_path):
    config, checkpoint = tiny_model(tmp_path)
    video = dot_video(tmp_path / 'mouse.avi')
    vm = load_video_model(str(config), str(checkpoint))
    result = infer_video(vm, video, fmt='dlc', out_dir=tmp_path / 'out', save_csv=True,
                         progress=False, log=io.StringIO())
    scorer = 'DLC_Resnet_tinybuposecfgshuffle1_snapshot_3'  # the documented default
    prefix = tmp_path / 'out' / f'mouse{scorer}'
    assert sorted(result.written) == sorted([prefix.with_suffix('.h5'),
                                             prefix.with_suffix('.csv'),
                                             tmp_path / 'out' / f'mouse{scorer}_meta.pickle'])
    with pd.HDFStore(prefix.with_suffix('.h5'), mode='r') as store:
        assert store.keys() == ['/df_with_missing']
        assert store.get_storer('df_with_missing').is_table
        df = store['df_with_missing']
    expected_columns = pd.MultiIndex.from_product([[scorer], NAMES, ['x', 'y', 'likelihood']],
                                                  names=['scorer', 'bodyparts', 'coords'])
    assert df.columns.equals(expected_columns)
    assert list(df.index) == list(range(20)) and df.dtypes.eq(np.float64).all()
    np.testing.assert_allclose(df.to_numpy().reshape(20, K, 3), result.values[:, 0], rtol=1e-6)
    csv = pd.read_csv(prefix.with_suffix('.csv'), header=[0, 1, 2], index_col=0)
    assert csv.columns.equals(expected_columns)
    np.testing.assert_allclose(csv.to_numpy(), df.to_numpy(), rtol=1e-6)
    meta = read_video_metadata(tmp_path / 'out' / f'mouse{scorer}_meta.pickle')
    assert set(meta) == DLC_META_KEYS
    assert meta['Scorer'] == scorer and meta['frame_dimensions'] == (128, 96)
    assert meta['nframes'] == 20 and meta['fps'] == pytest.approx(10.0)
    assert meta['bodyparts'] == NAMES and meta['cropping_parameters'] == [0, 128, 0, 96]


def test_coordinates_are_original_video_pixels_for_a_model_of_another_input_size(tmp_path):
    # video 128x96, model input 64x48: the 2x2 block at (x, y), (x + 1, y + 1) (x, y even)
    # becomes input pixel (x / 2, y / 2) (cv2's linear resize samples input pixel i at
    # source (i + 0.5) * 2 - 0.5 = x + 0.5: the block's mean, neighbours stay black), which
    # lies at original x / 2 * 2 + (2 - 1) / 2 = x + 0.5: the block's centre
    vm = image_sum_model(tmp_path)
    video = dot_video(tmp_path / 'dot.avi')
    result = infer_video(vm, video, fmt='lp', out_dir=tmp_path, progress=False,
                         log=io.StringIO())
    from posecfg.interop.lp.outputs import read_predictions
    lp = read_predictions(str(tmp_path / 'video_preds' / 'dot.csv'))
    assert lp.keypoint_names == tuple(NAMES) and lp.index == tuple(range(20))
    expected = np.array([[x + 0.5, y + 0.5] for x, y in map(dot_at, range(20))])
    np.testing.assert_allclose(lp.keypoints, np.repeat(expected[:, None], K, 1), atol=1e-4)
    # scores: (k + 1) · S with S the white pixel's normalised channel sum
    white = sum((1 - m) / s for m, s in zip([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]))
    np.testing.assert_allclose(lp.likelihood, np.tile(np.arange(1, K + 1) * white, (20, 1)),
                               rtol=1e-4)
    assert result.values.shape == (20, 1, K, 3)


def test_existing_output_kept_unless_overwrite(tmp_path):
    config, checkpoint = tiny_model(tmp_path)
    video = noise_video(tmp_path / 'v.avi', n=6)
    vm = load_video_model(str(config), str(checkpoint))
    out = tmp_path / 'coco'
    first = infer_video(vm, video, fmt='coco', out_dir=out, progress=False, log=io.StringIO())
    path = first.written[0]
    path.write_text('[]')  # a file the user has: must survive a second run
    log = io.StringIO()
    again = infer_video(vm, video, fmt='coco', out_dir=out, progress=False, log=log)
    assert again.skipped and again.written == [] and path.read_text() == '[]'
    assert 'kept' in log.getvalue() and str(path) in log.getvalue()
    replaced = infer_video(vm, video, fmt='coco', out_dir=out, overwrite=True, progress=False,
                           log=io.StringIO())
    records = json.loads(path.read_text())
    assert not replaced.skipped and len(records) == 6
    assert [r['image_id'] for r in records] == list(range(6))
    assert all(len(r['keypoints']) == 3 * K and r['category_id'] == 1 for r in records)
    assert not list(out.glob('.*'))  # no temporary file left behind


def test_truncated_video_gives_decodable_frames_and_says_what_was_lost(tmp_path):
    config, checkpoint = tiny_model(tmp_path)
    video = noise_video(tmp_path / 'cut.avi', n=40)
    data = video.read_bytes()
    video.write_bytes(data[:int(len(data) * 0.6)])
    vm = load_video_model(str(config), str(checkpoint))
    log = io.StringIO()
    result = infer_video(vm, video, fmt='dlc', out_dir=tmp_path, progress=False, log=log)
    decoded = result.report.decoded
    assert 5 < decoded < 40 and result.report.lost_ranges == [(decoded, 39)]
    df = pd.read_hdf(result.written[0], key='df_with_missing')
    assert len(df) == 40  # one row per frame of the video, aligned with frame numbers
    assert np.isfinite(df.iloc[:decoded].to_numpy()).all()
    assert np.isnan(df.iloc[decoded:].to_numpy()).all()
    message = log.getvalue()
    assert str(video) in message and f'{40 - decoded} of 40 frames' in message
    assert f'lost frames {decoded}-39' in message


def test_unopenable_video_names_file_and_reason(tmp_path):
    config, checkpoint = tiny_model(tmp_path)
    vm = load_video_model(str(config), str(checkpoint))
    bad = tmp_path / 'notes.mp4'
    bad.write_text('not a video')
    with pytest.raises(VideoOpenError, match='notes.mp4: not a video container'):
        infer_video(vm, bad, progress=False, log=io.StringIO())
    assert not list(tmp_path.glob('notes*.h5'))


def test_labeled_video_draws_the_csv_numbers_above_the_cutoff(tmp_path):
    vm = image_sum_model(tmp_path)
    video = dot_video(tmp_path / 'dot.avi', n=8)
    white = sum((1 - m) / s for m, s in zip([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]))
    # keypoint k scores (k + 1)·white: a cutoff of 10.5·white hides keypoints 0..9, shows
    # 10..13; all sit on the dot, the last drawn (13) on top
    result = infer_video(vm, video, fmt='dlc', out_dir=tmp_path / 'out', save_csv=True,
                         save_video=True, pcutoff=10.5 * white, dotsize=3, colormap='rainbow',
                         progress=False, log=io.StringIO())
    labeled = [p for p in result.written if p.name.endswith('_labeled.mp4')]
    assert len(labeled) == 1 and labeled[0].name.endswith(f'_p{int(100 * 10.5 * white)}'
                                                           '_labeled.mp4')
    csv = [p for p in result.written if p.suffix == '.csv'][0]
    points = pd.read_csv(csv, header=[0, 1, 2], index_col=0).to_numpy().reshape(-1, K, 3)
    capture = cv2.VideoCapture(str(labeled[0]))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    assert len(frames) == 8 == int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    top = keypoint_colors('rainbow', K)[K - 1].astype(int)
    for t, frame in enumerate(frames):
        x, y = np.round(points[t, K - 1, :2]).astype(int)
        centre = frame[y - 1:y + 2, x - 1:x + 2].reshape(-1, 3).mean(0)
        assert np.abs(centre - top).max() < 40, (t, centre, top)  # mp4v is lossy
    # a cutoff above every score draws nothing: the labeled frames are the video's
    hidden = infer_video(vm, video, fmt='coco', out_dir=tmp_path / 'none', save_video=True,
                         pcutoff=100 * white, progress=False, log=io.StringIO())
    capture = cv2.VideoCapture(str(hidden.paths['labeled']))
    ok, frame = capture.read()
    x, y = dot_at(0)
    assert ok and frame[y:y + 2, x:x + 2].min() > 180  # the white dot, not a colour


def test_first_frames_of_a_real_video(tmp_path, shared_path):
    source = shared_path('dlc-openfield-Pranav-2018-10-30', 'videos', 'm3v1mp4.mp4')
    capture = cv2.VideoCapture(str(source))
    frames = []
    for _ in range(6):
        ok, frame = capture.read()
        assert ok
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    clip = write_video(tmp_path / 'm3v1_first6.avi', frames, fps=30.0)
    config, checkpoint = tiny_model(tmp_path)
    vm = load_video_model(str(config), str(checkpoint))
    result = infer_video(vm, clip, fmt='dlc', out_dir=tmp_path, progress=False,
                         log=io.StringIO())
    h, w = frames[0].shape[:2]
    xy = result.values[:, 0, :, :2]
    assert result.values.shape == (6, 1, K, 3) and np.isfinite(result.values).all()
    assert (xy[..., 0] >= -0.5).all() and (xy[..., 0] <= w - 0.5).all()
    assert (xy[..., 1] >= -0.5).all() and (xy[..., 1] <= h - 0.5).all()
    assert read_video_metadata(result.written[-1])['frame_dimensions'] == (w, h)


def test_detection_files(tmp_path):
    coco = tmp_path / 'dets.json'
    coco.write_text(json.dumps([{'image_id': 3, 'bbox': [1, 2, 3, 4], 'score': 0.5},
                                {'image_id': 3, 'bbox': [5, 6, 7, 8]}]))
    boxes = load_detections(coco)
    np.testing.assert_array_equal(boxes[3], [[1, 2, 3, 4, 0.5], [5, 6, 7, 8, 1]])
    per_frame = tmp_path / 'frames.json'
    per_frame.write_text(json.dumps({'0': [[1, 2, 3, 4, 0.9]]}))
    np.testing.assert_allclose(load_detections(per_frame)[0], [[1, 2, 3, 4, 0.9]])
    per_frame.write_text(json.dumps({'0': [[1, 2, 3]]}))
    with pytest.raises(ValueError, match='frame 0 box 0 has 3 values'):
        load_detections(per_frame)


def test_topdown_boxes_from_a_detection_file_into_coco_json(tmp_path):
    config = REPO / ('configs/animal/2d_kpt_sview_rgb_img/topdown_heatmap/synthetic_animal/'
                     'res18_synthetic_animal_128x128.py')
    torch.manual_seed(0)
    model = init_model(str(config))
    checkpoint = tmp_path / 'td.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {'epoch': 1}}, checkpoint)
    vm = load_video_model(str(config), str(checkpoint), runtime=dict(threads=1))
    assert vm.kind == 'topdown'
    video = dot_video(tmp_path / 'td.avi', n=4)
    boxes = {0: np.array([[10, 10, 50, 40, 0.9], [60, 20, 40, 40, 0.8]], np.float32),
             2: np.array([[0, 0, 30, 30, 0.5]], np.float32)}
    result = infer_video(vm, video, fmt='coco', out_dir=tmp_path, detections=boxes,
                         progress=False, log=io.StringIO())
    records = json.loads(result.written[0].read_text())
    assert [(r['image_id'], r['bbox']) for r in records] == [
        (0, [10, 10, 50, 40]), (0, [60, 20, 40, 40]), (2, [0, 0, 30, 30])]
    assert result.values.shape == (4, 2, K, 3)
    assert np.isnan(result.values[1]).all() and np.isnan(result.values[2, 1]).all()
    for r in records:  # keypoints lie in the box's crop (1.25x padded, 1:1 aspect ratio)
        x, y, w, h = r['bbox']
        side = 1.25 * max(w, h)
        kp = np.array(r['keypoints']).reshape(K, 3)
        assert (np.abs(kp[:, 0] - (x + w / 2)) <= side / 2 + 1).all()
        assert (np.abs(kp[:, 1] - (y + h / 2)) <= side / 2 + 1).all()
        scores = kp[:, 2]
        box_score = {10: 0.9, 60: 0.8, 0: 0.5}[x]
        assert r['score'] == pytest.approx(box_score * scores.mean(), rel=1e-3, abs=1e-6)


def test_coco_records_write_a_missing_keypoint_as_zeros():
    from posecfg.apis.video_inference.outputs import coco_records
    values = np.full((1, 2, 3, 3), np.nan)
    values[0, 0] = [[10, 20, 0.8], [np.nan, np.nan, 0.0], [30, 40, 0.6]]  # as DLCRNet's assembly
    records = coco_records(values, np.array([True]))
    assert len(records) == 1  # the all-NaN instance is left out
    assert records[0]['keypoints'] == [10, 20, 0.8, 0, 0, 0, 30, 40, 0.6]
    assert records[0]['bbox'] == [10, 20, 20, 20]
    json.dumps(records, allow_nan=False)  # valid JSON


def test_dlc_style_api_with_a_py_config(tmp_path):
    from posecfg.apis.dlc_video import analyze_videos, create_labeled_video
    config, checkpoint = tiny_model(tmp_path)
    work = tmp_path / 'train'
    work.mkdir()
    # the best snapshot of the train folder is found by itself (DeepLabCut's names)
    state = torch.load(checkpoint, weights_only=True)['state_dict']
    torch.save({'metadata': {'epoch': 7}, 'model': state}, work / 'snapshot-005.pt')
    torch.save({'metadata': {'epoch': 4}, 'model': state}, work / 'snapshot-best-004.pt')
    videos = tmp_path / 'videos'
    videos.mkdir()
    noise_video(videos / 'a.avi', n=5)
    scorer = analyze_videos(config, [videos], save_as_csv=True, progress=False,
                            cfg_options=[f'+work_dir={work}'])
    assert scorer == 'DLC_Resnet_tinybuposecfgshuffle1_snapshot_4'
    assert (videos / f'a{scorer}.h5').exists() and (videos / f'a{scorer}.csv').exists()
    written = create_labeled_video(config, [videos / 'a.avi'], pcutoff=0.0,
                                   cfg_options=[f'+work_dir={work}'])
    assert written == [str(videos / f'a{scorer}_p0_labeled.mp4')]
    assert create_labeled_video(config, [videos / 'a.avi'], pcutoff=0.0,
                                cfg_options=[f'+work_dir={work}']) == [None]  # kept


def test_lightning_pose_eval_settings(shared_path):
    from posecfg.apis.lp_video import eval_settings
    source = shared_path('lp-configs', 'config_default.yaml')
    settings = eval_settings(source)
    # config_default.yaml: test_videos_directory: ${data.video_dir}, colormap cool, 0.90
    import yaml
    tree = yaml.safe_load(source.read_text())
    assert settings['test_videos_directory'] == str(tree['data']['video_dir'])
    assert (settings['colormap'], settings['confidence_thresh_for_vid']) == ('cool', 0.9)


def test_a_failure_mid_video_leaves_earlier_outputs_and_no_temporary_files(tmp_path):
    config, checkpoint = tiny_model(tmp_path)
    video = noise_video(tmp_path / 'v.avi', n=12)
    vm = load_video_model(str(config), str(checkpoint))
    out = tmp_path / 'out'
    first = infer_video(vm, video, fmt='dlc', out_dir=out, save_csv=True, save_video=True,
                        batch_size=4, progress=False, log=io.StringIO())
    before = {p: p.read_bytes() for p in first.written}
    calls = []
    predict = vm.predict

    def failing(batch):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError('out of memory (simulated)')
        return predict(batch)
    vm.predict = failing
    with pytest.raises(RuntimeError, match='simulated'):
        infer_video(vm, video, fmt='dlc', out_dir=out, save_csv=True, save_video=True,
                    batch_size=4, overwrite=True, progress=False, log=io.StringIO())
    assert {p: p.read_bytes() for p in first.written} == before
    assert sorted(out.iterdir()) == sorted(before)  # no temporary file left


def test_several_instances_give_deeplabcuts_multi_animal_columns(tmp_path):
    config, checkpoint = tiny_model(tmp_path)
    video = noise_video(tmp_path / 'pair.avi', n=3)
    vm = load_video_model(str(config), str(checkpoint), cfg_options=[
        "+individuals=['mus1','mus2']"])
    result = infer_video(vm, video, fmt='dlc', out_dir=tmp_path, max_instances=2,
                         progress=False, log=io.StringIO())
    df = pd.read_hdf(result.written[0], key='df_with_missing')
    # videos.py:739-743: multi-animal inserts the individuals level after the scorer
    assert df.columns.names == ['scorer', 'individuals', 'bodyparts', 'coords']
    assert list(df.columns.get_level_values('individuals').unique()) == ['mus1', 'mus2']
    # the single-instance BottomUp head finds one animal: the second individual's columns NaN
    assert np.isfinite(df.xs('mus1', level='individuals', axis=1).to_numpy()).all()
    assert np.isnan(df.xs('mus2', level='individuals', axis=1).to_numpy()).all()


def test_lightning_pose_config_without_dali_predicts_with_the_default_batch():
    """Lightning Pose needs dali.*.predict.sequence_length only to predict videos after
    training: tools/infer_video.py on a supervised config without a dali section uses its
    default; a key that is set must still be valid."""
    from posecfg.apis.lp_video import config_video_batch_size
    from posecfg.config.errors import ConfigError

    def cfg(tree):
        return dict(custom_hooks=[dict(type='LPRunFolderHook', lp_config=tree)])
    assert config_video_batch_size(cfg(dict(model=dict(model_type='heatmap')))) == 8
    assert config_video_batch_size(cfg(dict(model=dict(model_type='heatmap_mhcrnn'),
                                            dali=dict(base={}))), default=3) == 3
    with pytest.raises(ConfigError, match=r'dali\.base\.predict\.sequence_length is 0'):
        config_video_batch_size(cfg(dict(dali=dict(base=dict(predict=dict(sequence_length=0))))))


def test_lightning_pose_video_batch_size(tmp_path, shared_path):
    """dali.base.predict.sequence_length frames per batch; a context model's windows of
    dali.context.predict.sequence_length frames hold 4 context frames (data/video/dali.py:
    585-612), so sequence_length - 4 centre frames; LP refuses windows of 4 or fewer."""
    import yaml

    from posecfg.apis.lp_video import video_batch_size
    from posecfg.config.errors import ConfigError
    tree = yaml.safe_load(shared_path('lp-configs', 'config_default.yaml').read_text())
    path = tmp_path / 'config.yaml'

    def size(model_type, base, context):
        tree['model']['model_type'] = model_type
        tree['dali']['base']['predict']['sequence_length'] = base
        tree['dali']['context']['predict']['sequence_length'] = context
        path.write_text(yaml.safe_dump(tree))
        return video_batch_size(path)

    assert size('heatmap', 96, 50) == 96
    assert size('regression', 7, 50) == 7
    assert size('heatmap_mhcrnn', 96, 50) == 46
    assert size('heatmap_mhcrnn', 1, 5) == 1
    with pytest.raises(ConfigError, match=r'dali\.context\.predict\.sequence_length is 4.*> 4'):
        size('heatmap_mhcrnn', 96, 4)
    with pytest.raises(ConfigError, match=r'dali\.base\.predict\.sequence_length is 0'):
        size('heatmap', 0, 96)


def test_a_bad_lp_metric_hook_fails_before_any_frame_and_leaves_no_predictions(tmp_path):
    """The PCAs of the metric files are checked and fitted before the video is read: a hook
    whose dataset is not an LPProjectDataset fails at once, with no video_preds/<video>.csv (a
    rerun would skip the video)."""
    config, checkpoint = tiny_model(tmp_path)
    video = noise_video(tmp_path / 'v.avi', n=4)
    vm = load_video_model(str(config), str(checkpoint), cfg_options=[
        '+custom_hooks=[{type: LPPredictionsHook, dataset: {type: CocoDataset}, '
        'pca_metrics: {columns_for_singleview_pca: [0, 1]}}]'])
    calls = []
    predict = vm.predict
    vm.predict = lambda batch: calls.append(1) or predict(batch)
    with pytest.raises(ValueError, match="LPProjectDataset.*'CocoDataset'"):
        infer_video(vm, video, fmt='lp', out_dir=tmp_path, progress=False, log=io.StringIO())
    assert calls == [] and not (tmp_path / 'video_preds').exists()


@pytest.mark.parametrize('fmt, failing', [
    ('lp', 'posecfg.interop.lp.metric_files.write_metric_files'),
    ('dlc', 'posecfg.interop.dlc.outputs.write_video_metadata'),
])
def test_a_failing_side_file_leaves_no_primary_predictions_file(tmp_path, monkeypatch, fmt,
                                                                failing):
    """The predictions file is written last: its presence means a complete output, so a rerun
    that skips existing outputs never skips a video whose side files are missing."""
    config, checkpoint = tiny_model(tmp_path)
    video = noise_video(tmp_path / 'v.avi', n=4)
    vm = load_video_model(str(config), str(checkpoint))

    def fail(*args, **kwargs):
        raise OSError('disk full (simulated)')
    monkeypatch.setattr(failing, fail)
    with pytest.raises(OSError, match='simulated'):
        infer_video(vm, video, fmt=fmt, out_dir=tmp_path / 'out', progress=False,
                    log=io.StringIO())
    monkeypatch.undo()
    result = infer_video(vm, video, fmt=fmt, out_dir=tmp_path / 'out', progress=False,
                         log=io.StringIO())
    assert not result.skipped and result.paths.predictions.exists()


def test_stale_side_files_of_an_earlier_run(tmp_path):
    """What an overwrite removes: the earlier run's files this run will not rewrite."""
    from posecfg.apis.video_inference.outputs import output_paths, stale_side_files
    lp = output_paths(tmp_path / 'v.mp4', 'lp', tmp_path)
    lp.predictions.parent.mkdir(parents=True)
    for suffix in ('.csv', '_temporal_norm.csv', '_pca_singleview_error.csv',
                   '_pca_multiview_error.csv'):
        (lp.predictions.parent / f'v{suffix}').write_text('x')
    assert stale_side_files('lp', lp, lp, ['pca_singleview']) == [
        lp.predictions.parent / 'v_pca_multiview_error.csv']
    assert stale_side_files('lp', lp, lp, ['pca_singleview', 'pca_multiview']) == []
    dlc = output_paths(tmp_path / 'v.mp4', 'dlc', tmp_path, 'DLC_x', multi_animal=True)
    for suffix in ('.h5', '.csv', '_full.pickle', '_assemblies.pickle'):
        (tmp_path / f'vDLC_x{suffix}').write_text('x')
    every = output_paths(tmp_path / 'v.mp4', 'dlc', tmp_path, 'DLC_x', save_csv=True,
                         multi_animal=True, full_pickle=True)
    assert stale_side_files('dlc', dlc, every) == [tmp_path / 'vDLC_x.csv',
                                                   tmp_path / 'vDLC_x_full.pickle']
