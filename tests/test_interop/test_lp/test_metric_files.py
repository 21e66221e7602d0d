"""The metric files Lightning Pose writes next to predictions (metrics.py::compute_metrics_single):
which ones, and their values, checked by hand on a tiny pose set built so that each PCA's
subspace is known exactly.

Training poses (keypoints a, b, c): a = (t, u), b = a + (5, 10), c = (t + 100, v) with t, u, v
varying independently. So the singleview PCA of a, b (components_to_keep=2) is the plane
"b − a = (5, 10)", and the multiview PCA of the matched pair a (view 0) / c (view 1) is the 3-D
space "x_c − x_a = 100": a pose off them by an offset e has the reprojection error |e|/2 on
each of the two keypoints involved.
"""
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from posecfg.interop.lp.metric_files import (fit_metric_pcas, metric_values,
                                             pca_metric_settings, video_metric_files,
                                             write_metric_files)

NAMES = ['a', 'b', 'c']
T = [0.0, 1.0, 2.0, 3.0, 4.0, 2.5]
U = [0.0, 2.0, 1.0, 4.0, 3.0, 0.5]
V = [5.0, 1.0, 4.0, 0.0, 2.0, 3.0]
SETTINGS = dict(columns_for_singleview_pca=[0, 1], mirrored_column_matches=[[0], [2]],
                components_to_keep=2, centering_method=None)
#: 3 predicted frames; errors by construction (module docstring)
PREDS = np.array([
    [[2, 3], [9, 13], [103, 7]],     # b − a = (7, 10): x off by 2 → 1, 1; x_c − x_a = 101 → ½, ½
    [[1, 1], [6, 11], [101, 9]],     # on both subspaces → 0
    [[4, 0], [9, 13], [104, 0]],     # b − a = (5, 13): y off by 3 → 1.5, 1.5; multiview 0
], dtype=np.float64)
PCA_SINGLEVIEW = [[1, 1, np.nan], [0, 0, np.nan], [1.5, 1.5, np.nan]]
PCA_MULTIVIEW = [[0.5, np.nan, 0.5], [0, np.nan, 0], [0, np.nan, 0]]


def training_poses(rows=range(6)):
    return np.array([[[T[i], U[i]], [T[i] + 5, U[i] + 10], [T[i] + 100, V[i]]] for i in rows])


def read(path):
    return pd.read_csv(path, index_col=0)


def test_labelled_frames_get_pixel_and_pca_errors(tmp_path):
    pcas = fit_metric_pcas(training_poses(range(5)), SETTINGS, NAMES)
    labels = PREDS + [3.0, 4.0]
    labels[1, 2] = np.nan
    values = metric_values(PREDS, labels, pcas)
    assert list(values) == ['pixel_error', 'pca_singleview', 'pca_multiview']
    np.testing.assert_allclose(values['pca_singleview'], PCA_SINGLEVIEW, atol=1e-9)
    np.testing.assert_allclose(values['pca_multiview'], PCA_MULTIVIEW, atol=1e-9)
    preds = str(tmp_path / 'predictions.csv')
    index = ['labeled-data/x.png', 'labeled-data/y.png', 'labeled-data/z.png']
    written = write_metric_files(preds, values, NAMES, index, ['train', 'validation', 'test'])
    assert [p.rsplit('/', 1)[1] for p in written] == [
        'predictions_pixel_error.csv', 'predictions_pca_singleview_error.csv',
        'predictions_pca_multiview_error.csv']
    assert open(written[0]).read() == (',a,b,c,set\nlabeled-data/x.png,5.0,5.0,5.0,train\n'
                                       'labeled-data/y.png,5.0,5.0,,validation\n'
                                       'labeled-data/z.png,5.0,5.0,5.0,test\n')
    single = read(written[1])
    assert list(single.columns) == ['a', 'b', 'c', 'set'] and list(single.index) == index
    assert single['c'].isna().all() and list(single['set']) == ['train', 'validation', 'test']
    np.testing.assert_allclose(single[NAMES].to_numpy(), PCA_SINGLEVIEW, atol=1e-9)


def test_video_gets_temporal_norm_and_pca_errors(tmp_path):
    pcas = fit_metric_pcas(training_poses(), SETTINGS, NAMES)
    values = metric_values(PREDS, pcas=pcas)
    assert list(values) == ['temporal_norm', 'pca_singleview', 'pca_multiview']
    video = str(tmp_path / 'video_preds' / 'test_vid.csv')
    written = write_metric_files(video, values, NAMES, [0, 1, 2])
    assert [p.rsplit('/', 1)[1] for p in written] == [
        'test_vid_temporal_norm.csv', 'test_vid_pca_singleview_error.csv',
        'test_vid_pca_multiview_error.csv']
    norm = open(written[0]).read().splitlines()
    assert norm[:2] == [',a,b,c', '0,,,']
    # frame 0 → 1: a moves (−1, −2), b (−3, −2), c (−2, 2); float32 as Lightning Pose's
    assert norm[1 + 1] == '1,' + ','.join(repr(float(np.float32(math.sqrt(s))))
                                          for s in (5, 13, 8))
    multi = read(written[2])
    assert list(multi.columns) == NAMES and list(multi.index) == [0, 1, 2]
    np.testing.assert_allclose(multi.to_numpy(), PCA_MULTIVIEW, atol=1e-9)


def test_which_pca_files_follow_the_config_keys():
    class Cfg(dict):
        def get(self, key, default=None):
            return super().get(key, default)
    assert pca_metric_settings(Cfg()) is None
    assert pca_metric_settings(Cfg({'data.columns_for_singleview_pca': []})) is None
    only_single = pca_metric_settings(Cfg({'data.columns_for_singleview_pca': [0, 1]}))
    assert only_single['components_to_keep'] == 0.99
    assert list(fit_metric_pcas(training_poses(), only_single, NAMES)) == ['pca_singleview']
    # both PCAs use losses.pca_singleview's components_to_keep (metrics.py); multiview keeps 3
    both = pca_metric_settings(Cfg({'data.mirrored_column_matches': [[0], [2]],
                                    'losses.pca_singleview.components_to_keep': 2,
                                    'losses.pca_multiview.components_to_keep': 1}))
    pcas = fit_metric_pcas(training_poses(), both, NAMES)
    assert list(pcas) == ['pca_multiview'] and pcas['pca_multiview'].n_components == 3
    with pytest.raises(ValueError, match="unknown keys \\['epsilon'\\]"):
        fit_metric_pcas(training_poses(), dict(SETTINGS, epsilon=3), NAMES)


def test_a_pca_that_cannot_be_fitted_is_left_out_with_a_warning():
    said = []
    pcas = fit_metric_pcas(training_poses(range(3)), SETTINGS, NAMES, warn=said.append)
    # 3 frames < 4 singleview dimensions; multiview rows: 3 < 4 as well
    assert pcas == {}
    assert len(said) == 2 and said[0].startswith('pca_singleview error file not written: '
                                                 'cannot fit PCA with 3 samples < 4')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        fit_metric_pcas(training_poses(range(3)), SETTINGS, NAMES)
    assert len(caught) == 2


def test_training_frames_without_a_complete_pose_still_give_error_files():
    """The error files need no empirical epsilon (NaN in Lightning Pose when no training frame
    has every PCA keypoint): pairs labelled together are enough for the NaN-aware fit."""
    rng = np.random.default_rng(0)
    poses = rng.normal(size=(9, 3, 2)) * 10
    for frame, missing in enumerate([0, 1, 2] * 3):
        poses[frame, missing] = np.nan       # every frame lacks one keypoint
    pcas = fit_metric_pcas(poses, dict(columns_for_singleview_pca=[0, 1, 2],
                                       components_to_keep=3), NAMES)
    errors = metric_values(rng.normal(size=(2, 3, 2)), pcas=pcas)['pca_singleview']
    assert errors.shape == (2, 3) and np.isfinite(errors).all() and (errors > 0).all()


def test_video_files_from_the_configs_hook(tmp_path):
    """A translated Lightning Pose config carries the PCA settings and the labels in its
    LPPredictionsHook; the video files fit on that dataset's training split."""
    poses = training_poses().reshape(6, -1)
    columns = pd.MultiIndex.from_product([['me'], NAMES, ['x', 'y']])
    pd.DataFrame(poses, columns=columns,
                 index=[f'labeled-data/{i}.png' for i in range(6)]).to_csv(
                     tmp_path / 'CollectedData.csv')
    dataset = dict(type='LPProjectDataset', data_dir=str(tmp_path), csv_file='CollectedData.csv',
                   train_prob=0.95, val_prob=0.05, train_frames=1, rng_seed_data_pt=0)
    cfg = dict(custom_hooks=[dict(type='LPPredictionsHook', dataset=dataset,
                                  pca_metrics=SETTINGS)])
    video = str(tmp_path / 'video_preds' / 'v.csv')
    written = video_metric_files(cfg, video, PREDS, NAMES)
    assert len(written) == 3
    np.testing.assert_allclose(read(written[1]).to_numpy(), PCA_SINGLEVIEW, atol=1e-9)
    # no hook (any posecfg config): the temporal norm only
    assert [p.rsplit('/', 1)[1] for p in video_metric_files({}, video, PREDS, NAMES)] == \
        ['v_temporal_norm.csv']


@pytest.mark.parametrize('settings, key', [
    (dict(columns_for_singleview_pca=[0, 1, 9]), 'columns_for_singleview_pca'),
    (dict(columns_for_singleview_pca=[0, 0]), 'columns_for_singleview_pca'),
    (dict(columns_for_singleview_pca=[0, 1], centering_method='mode'), 'centering_method'),
    (dict(columns_for_singleview_pca=[0, 1], components_to_keep=9), 'components_to_keep'),
    (dict(mirrored_column_matches=[[0], [9]]), 'mirrored_column_matches'),
])
def test_bad_pca_settings_are_errors_not_warnings(settings, key):
    """Only a PCA the labels cannot fit is left out with a warning; bad settings stop."""
    said = []
    with pytest.raises(ValueError, match=key):
        fit_metric_pcas(training_poses(), settings, NAMES, warn=said.append)
    assert said == []


def test_video_pcas_read_the_training_split_as_the_dataset_does(tmp_path):
    """The hook's dataset config gives the labels and split of LPProjectDataset itself (one
    reader: its defaults, its checks), without reading images."""
    from posecfg.datasets.lp_project import lp_training_keypoints
    from posecfg.interop.lp.split import lp_split
    columns = pd.MultiIndex.from_product([['me'], NAMES, ['x', 'y']])
    pd.DataFrame(training_poses().reshape(6, -1), columns=columns,
                 index=[f'labeled-data/{i}.png' for i in range(6)]).to_csv(
                     tmp_path / 'CollectedData.csv')
    train = lp_training_keypoints(dict(type='LPProjectDataset', data_dir=str(tmp_path),
                                       train_prob=0.5))
    np.testing.assert_array_equal(train, training_poses()[lp_split(6, 0.5, 0.05, 1, 0).train])
    with pytest.raises(FileNotFoundError, match='LPProjectDataset: data_dir .* is not a folder'):
        lp_training_keypoints(dict(type='LPProjectDataset', data_dir=str(tmp_path / 'gone')))
