"""Multi-animal video outputs: the per-frame assemblies files (posecfg.apis.video_inference.
assemblies) and the labeled video coloured by individual, both the same numbers as the ``.h5``.

DeepLabCut facts checked against (DeepLabCut 3.0.x):
- ``_assemblies.pickle``: ``{frame: (n, K, 4) x, y, likelihood, identity (-1 without an
  identity head), 'single': {frame: (U, 3)}}``, rows padded with -1 dropped
  (pose_estimation_pytorch/apis/videos.py ``_generate_assemblies_file``, l. 765-825);
- labeled video of a multi-animal project: ``<h5 stem>_id_p<100·pcutoff>_labeled.mp4`` with
  ``color_by='individual'`` (utils/make_labeled_video.py l. 787-792), every point of
  individual n in ``colormap(linspace(0, 1, n_individuals))[n]`` (l. 145-149, 197-201).
"""
import io
import pickle

import cv2
import numpy as np
import pandas as pd
import pytest

from posecfg.apis.video import keypoint_colors
from posecfg.apis.video_inference import infer_video, load_video_model
from posecfg.apis.video_inference.assemblies import (assembled_rows, read_assemblies,
                                                     write_assemblies)
from posecfg.interop.dlc.safe_pickle import UnsafePickleError, load_pickle

from .test_video_inference import K, dot_video, tiny_model


def test_rows_pickle_and_table_round_trip_with_padding_and_lost_frames(tmp_path):
    t_count, n, k = 4, 3, 2
    values = np.full((t_count, n, k, 3), np.nan)
    values[:, :2] = np.arange(t_count * 2 * k * 3, dtype=float).reshape(t_count, 2, k, 3)
    values[1, 1] = -1.0  # DeepLabCut's padding: individual 1 absent in frame 1
    values[:, 2] = -1.0  # slot 2 never found
    values[3] = np.nan  # frame 3 did not decode
    decoded = np.array([True, True, True, False])
    extras = {0: dict(affinity=np.array([0.9, 0.4]), identity=np.array([[1, 1], [0, 2]])),
              1: dict(affinity=np.array([0.7]), identity=np.array([[0, 0]]))}
    unique = np.arange(t_count * 3, dtype=float).reshape(t_count, 1, 3)
    written = write_assemblies(tmp_path / 'v_assemblies.pickle', tmp_path / 'v_assemblies.npz',
                               values, decoded, ['a', 'b'], ['m1', 'm2', 'm3'], extras,
                               unique, ['u'])
    data = read_assemblies(written[0])
    assert load_pickle(written[0]).keys() == data.keys() == {'single', 0, 1, 2}
    assert [data[t].shape for t in (0, 1, 2)] == [(2, k, 4), (1, k, 4), (2, k, 4)]
    np.testing.assert_array_equal(data[0][..., :3], values[0, :2])
    np.testing.assert_array_equal(data[1][..., :3], values[1, :1])
    np.testing.assert_array_equal(data[0][..., 3], [[1, 1], [0, 2]])
    np.testing.assert_array_equal(data[2][..., 3], -1)  # no extras for frame 2
    assert sorted(data['single']) == [0, 1, 2]
    np.testing.assert_array_equal(data['single'][2], unique[2])
    table = read_assemblies(written[1])
    np.testing.assert_array_equal(table['frame'], [0, 0, 1, 2, 2])
    np.testing.assert_array_equal(table['individual'], [0, 1, 0, 0, 1])
    np.testing.assert_array_equal(table['keypoints'], values[table['frame'],
                                                             table['individual']])
    np.testing.assert_array_equal(table['affinity'][:3], [0.9, 0.4, 0.7])
    assert np.isnan(table['affinity'][3:]).all()
    assert table['bodyparts'].tolist() == ['a', 'b'] and table['unique_bodyparts'].tolist() \
        == ['u'] and table['individuals'].tolist() == ['m1', 'm2', 'm3']
    np.testing.assert_array_equal(table['unique_frame'], [0, 1, 2])
    np.testing.assert_array_equal(table['decoded'], decoded)
    # a pickle naming anything but numpy's rebuilders is refused, and nothing runs
    evil = tmp_path / 'evil_assemblies.pickle'
    evil.write_bytes(pickle.dumps({'single': {}, 0: pd.Series([1.0])}))
    with pytest.raises(UnsafePickleError, match='pandas'):
        read_assemblies(evil)


def test_rows_without_extras_keep_every_present_slot():
    values = np.zeros((1, 2, 3, 3))
    rows = assembled_rows(values, [True])
    assert rows['keypoints'].shape == (2, 3, 3) and (rows['identity'] == -1).all()
    assert np.isnan(rows['affinity']).all()


def assemblies_as_deeplabcut_rebuilds_them(full, num_bodyparts):
    """DeepLabCut's ``_generate_assemblies_file`` (videos.py l. 765-825) on a ``_full.pickle``
    dict without identity scores: per frame the bodyparts' (N, 2) coordinates and (N, 1)
    confidences stacked to (N, K, 3) plus an identity column of -1, rows that are all < 0
    dropped (NaN rows are kept, as DeepLabCut keeps them)."""
    out = {}
    width = full['metadata']['key_str_width']
    for t in range(full['metadata']['nframes']):
        frame = full['frame' + str(t).zfill(width)]
        coordinates = np.stack(frame['coordinates'][0][:num_bodyparts])  # (K, N, 2)
        scores = np.stack(frame['confidence'][:num_bodyparts])  # (K, N, 1)
        preds = np.concatenate([coordinates, scores, -np.ones_like(scores)], -1)
        preds = preds.transpose(1, 0, 2)
        out[t] = preds[~np.all(preds < 0, axis=(1, 2))]
    return out


def two_animals(individual_affinities=(0.6, 0.8)):
    """A stand-in for a multi-animal model's 'predict': two individuals per frame, the first
    given scoring lower (so the .h5 puts it second), frame 2 with none; positions move by a
    fraction of a pixel per frame; individual 1's last keypoint under the cutoff."""
    def predict(data):
        outputs = []
        for meta in data['img_metas']:
            t = int(meta['image_id'])
            if t == 2:
                outputs.append(dict(keypoints=np.zeros((0, K, 2), np.float32),
                                    keypoint_scores=np.zeros((0, K), np.float32),
                                    individual_affinities=np.zeros(0, np.float32),
                                    identity_scores=np.zeros((0, K, 3), np.float32)))
                continue
            x = 6 + 8 * np.arange(K) + 0.3 * t
            keypoints = np.stack([np.stack([x, np.full(K, 20.6)], -1),
                                  np.stack([x, np.full(K, 60.4)], -1)]).astype(np.float32)
            scores = np.stack([np.full(K, 0.7), np.full(K, 0.9)]).astype(np.float32)
            scores[1, K - 1] = 0.3
            identity = np.zeros((2, K, 3), np.float32)
            identity[0, :, 2] = identity[1, :, 1] = 1  # ids 2 and 1
            outputs.append(dict(keypoints=keypoints, keypoint_scores=scores,
                                individual_affinities=np.asarray(individual_affinities,
                                                                 np.float32),
                                identity_scores=identity))
        return outputs
    return predict


def test_multi_animal_video_labeled_by_individual_and_assemblies_match_the_h5(tmp_path):
    config, checkpoint = tiny_model(tmp_path)
    video = dot_video(tmp_path / 'pair.avi', n=4)
    vm = load_video_model(str(config), str(checkpoint), cfg_options=[
        "+individuals=['mus1','mus2','mus3']"])
    vm.predict = two_animals()
    result = infer_video(vm, video, fmt='dlc', out_dir=tmp_path / 'out', max_instances=3,
                         save_video=True, color_by='individual', pcutoff=0.6, dotsize=2,
                         full_pickle=True, progress=False, log=io.StringIO())
    names = {p.name.replace(result.paths.predictions.stem, '') for p in result.written}
    assert names == {'.h5', '_meta.pickle', '_assemblies.pickle', '_assemblies.npz',
                     '_full.pickle', '_id_p60_labeled.mp4'}
    df = pd.read_hdf(result.paths.predictions, key='df_with_missing')
    h5 = df.to_numpy().reshape(4, 3, K, 3)
    # the .h5: the higher-scoring individual first, frame 2 and slot 3 empty
    np.testing.assert_allclose(h5[0, 0, :, 1], 60.4, rtol=1e-6)
    assert np.isnan(h5[2]).all() and np.isnan(h5[:, 2]).all()

    data = read_assemblies(result.paths['assemblies'])
    assert sorted(k for k in data if k != 'single') == [0, 1, 2, 3]
    assert data[2].shape == (0, K, 4)
    for t in (0, 1, 3):
        np.testing.assert_array_equal(data[t][..., :3], h5[t, :2])  # the same numbers
        np.testing.assert_array_equal(data[t][..., 3], [[1] * K, [2] * K])  # ids follow rows
    table = read_assemblies(result.paths['assemblies_table'])
    np.testing.assert_array_equal(table['keypoints'], h5[table['frame'], table['individual']])
    np.testing.assert_allclose(table['affinity'], [0.8, 0.6] * 3, rtol=1e-6)
    # DeepLabCut rebuilds the same assemblies (but its identity column) from _full.pickle
    full = load_pickle(result.paths['full'])
    assert full['metadata']['nframes'] == 4 and full['metadata']['key_str_width'] == 1
    assert full['metadata']['all_joints_names'] == vm.keypoint_names
    rebuilt = assemblies_as_deeplabcut_rebuilds_them(full, K)
    for t in range(4):  # without a DeepLabCut project absent slots are NaN, not -1
        found = ~np.isnan(rebuilt[t][..., :3]).all(axis=(1, 2))
        np.testing.assert_array_equal(rebuilt[t][found][..., :3], data[t][..., :3])

    # the labeled video: each visible point, at the .h5's numbers, in its individual's colour
    colors = keypoint_colors('rainbow', 3).astype(int)  # three individuals, none 'single'
    capture = cv2.VideoCapture(str(result.paths['labeled']))
    for t in range(4):
        ok, frame = capture.read()
        assert ok, t
        frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB).astype(int)
        for j in range(2):
            for k in range(K):
                x, y, score = h5[t, j, k]
                if np.isnan(x):
                    continue
                pixel = frame[int(round(y)), int(round(x))]
                if score > 0.6:
                    assert np.abs(pixel - colors[j]).max() < 40, (t, j, k, pixel)  # mp4v
                else:
                    assert pixel.max() < 40, (t, j, k, pixel)  # hidden: the black frame
    assert not capture.read()[0]


def with_unique(predict):
    """``predict`` plus one unique bodypart (a DeepLabCut unique-bodypart head's outputs)."""
    def wrapped(data):
        outputs = predict(data)
        for o in outputs:
            o.update(unique_keypoints=np.array([[[100.5, 40.2]]], np.float32),
                     unique_keypoint_scores=np.array([[0.95]], np.float32))
        return outputs
    return wrapped


def frame_at(path, t=0):
    capture = cv2.VideoCapture(str(path))
    for _ in range(t + 1):
        ok, frame = capture.read()
    assert ok
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB).astype(int)


def test_unique_bodyparts_drawn_as_the_single_individual_and_by_the_dlc_api(tmp_path,
                                                                         monkeypatch):
    from types import SimpleNamespace

    from posecfg.apis.dlc_video import create_labeled_video
    from posecfg.apis.video_inference import outputs, run
    project = SimpleNamespace(multi_animal=True, individuals=['mus1', 'mus2'],
                              unique_bodyparts=['u1'])
    for module in (outputs, run):  # a model of a multi-animal project with a unique bodypart
        monkeypatch.setattr(module, 'dlc_project_of', lambda vm: project)
    config, checkpoint = tiny_model(tmp_path)
    video = dot_video(tmp_path / 'pair.avi', n=2)
    vm = load_video_model(str(config), str(checkpoint))
    vm.predict = with_unique(two_animals())
    result = infer_video(vm, video, fmt='dlc', save_video=True, color_by='individual',
                         dotsize=2, full_pickle=True, progress=False, log=io.StringIO())
    df = pd.read_hdf(result.paths.predictions, key='df_with_missing')
    assert list(df.columns.get_level_values('individuals').unique()) == ['mus1', 'mus2',
                                                                         'single']
    single = df.xs('single', level='individuals', axis=1).to_numpy()
    np.testing.assert_allclose(single, [[100.5, 40.2, 0.95]] * 2, rtol=1e-6)
    data = read_assemblies(result.paths['assemblies'])
    np.testing.assert_array_equal(data['single'][1], single[1:])
    # a project's absent individuals are -1 (DeepLabCut's padding): DeepLabCut's rebuild from
    # _full.pickle gives the assemblies written (identity -1), unique bodyparts after the others
    full = load_pickle(result.paths['full'])
    assert full['metadata']['all_joints_names'] == vm.keypoint_names + ['u1']
    rebuilt = assemblies_as_deeplabcut_rebuilds_them(full, K)
    for t in range(2):
        np.testing.assert_array_equal(rebuilt[t][..., :3], data[t][..., :3])  # no id scores
        np.testing.assert_array_equal(full[f'frame{t}']['coordinates'][0][K],
                                      single[t:t + 1, :2])
    # 'individual': two individuals and 'single' → three colours, the unique point the last
    by_id = keypoint_colors('rainbow', 3).astype(int)
    frame = frame_at(result.paths['labeled'])
    assert np.abs(frame[40, 100] - by_id[2]).max() < 40
    assert np.abs(frame[60, 6] - by_id[0]).max() < 40
    # DeepLabCut's API from the .h5: 'bodypart' colours over the K + 1 bodypart names
    written = create_labeled_video(config, [video], color_by='bodypart', dotsize=2,
                                   checkpoint=checkpoint)
    assert written[0].endswith('_bp_p60_labeled.mp4')
    by_part = keypoint_colors('rainbow', K + 1).astype(int)
    frame = frame_at(written[0])
    assert np.abs(frame[40, 100] - by_part[K]).max() < 40
    assert np.abs(frame[60, 6] - by_part[0]).max() < 40
    assert np.abs(frame[60, 6 + 8 * 5] - by_part[5]).max() < 40


def test_unknown_color_by_is_refused_before_any_work(tmp_path):
    config, checkpoint = tiny_model(tmp_path)
    vm = load_video_model(str(config), str(checkpoint))
    with pytest.raises(ValueError, match="'bodypart' or 'individual'.*'animal'"):
        infer_video(vm, tmp_path / 'missing.avi', color_by='animal', progress=False,
                    log=io.StringIO())


def test_a_keypoint_missing_from_an_assembly_is_nan_with_likelihood_zero(tmp_path):
    """DeepLabCut 3's analyze_videos writes a keypoint an assembled individual lacks as NaN x,
    y with likelihood 0 (apis/videos.py create_df_from_prediction writes the predictor's
    poses; core/inferenceutils.py Assembly); posecfg's .h5, assemblies and labeled video too
    (the point is not drawn)."""
    config, checkpoint = tiny_model(tmp_path)
    video = dot_video(tmp_path / 'one.avi', n=2)
    vm = load_video_model(str(config), str(checkpoint), cfg_options=[
        "+individuals=['mus1','mus2']"])

    def predict(data):  # DLCRNetHead.decode's output for one individual lacking keypoint 0
        outputs = []
        for _ in data['img_metas']:
            keypoints = np.stack([6 + 8 * np.arange(K), np.full(K, 20.)], -1)[None]
            keypoints[0, 0] = np.nan
            scores = np.full((1, K), 0.9, np.float32)
            scores[0, 0] = 0.0
            outputs.append(dict(keypoints=keypoints.astype(np.float32), keypoint_scores=scores,
                                individual_affinities=np.full(1, 0.5, np.float32)))
        return outputs

    vm.predict = predict
    result = infer_video(vm, video, fmt='dlc', out_dir=tmp_path / 'out', max_instances=2,
                         save_video=True, color_by='individual', pcutoff=-1.0, dotsize=2,
                         progress=False, log=io.StringIO())
    df = pd.read_hdf(result.paths.predictions, key='df_with_missing')
    h5 = df.to_numpy().reshape(2, 2, K, 3)
    assert np.isnan(h5[:, 0, 0, :2]).all() and (h5[:, 0, 0, 2] == 0).all()
    np.testing.assert_allclose(h5[:, 0, 1:, 2], 0.9, rtol=1e-6)
    table = read_assemblies(result.paths['assemblies_table'])
    np.testing.assert_array_equal(table['keypoints'], h5[table['frame'], table['individual']])
    assert result.paths['labeled'].is_file()  # pcutoff -1: only the NaN point is hidden


def test_failing_assemblies_leave_no_h5(tmp_path, monkeypatch):
    """The .h5 is written after the assemblies files: a rerun redoes a video whose assemblies
    failed instead of skipping it for its .h5."""
    import posecfg.apis.video_inference.assemblies as assemblies
    config, checkpoint = tiny_model(tmp_path)
    video = dot_video(tmp_path / 'pair.avi', n=3)
    vm = load_video_model(str(config), str(checkpoint), cfg_options=[
        "+individuals=['mus1','mus2']"])
    vm.predict = two_animals()

    def fail(*args, **kwargs):
        raise OSError('disk full (simulated)')
    monkeypatch.setattr(assemblies, 'write_assemblies', fail)
    with pytest.raises(OSError, match='simulated'):
        infer_video(vm, video, fmt='dlc', out_dir=tmp_path / 'out', max_instances=2,
                    progress=False, log=io.StringIO())
    assert not list((tmp_path / 'out').glob('*.h5'))
