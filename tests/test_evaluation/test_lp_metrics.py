"""Lightning Pose's numbers (posecfg.evaluation.functional.lp_metrics) against hand-computed values
and against the formulas of Lightning Pose 2.4.3 written out here."""
import math

import numpy as np
import pytest
import torch

from posecfg.evaluation.functional.lp_metrics import (
    KeypointPCA, LPPCAError, NaNPCAFit, check_mirrored_column_matches, choose_num_components,
    empirical_epsilon, fit_keypoint_pca, fit_nan_pca, format_multiview, format_singleview,
    lp_pca_training_keypoints, masked_covariance, pixel_error, temporal_norm)


def test_pixel_error_nan_where_unlabelled():
    true = np.array([[[0.0, 0.0], [np.nan, np.nan], [1.0, 1.0]]])
    pred = np.array([[[3.0, 4.0], [5.0, 5.0], [1.0, 1.0]]])
    err = pixel_error(true, pred)
    assert err.dtype == np.float64
    assert err[0, 0] == 5.0 and np.isnan(err[0, 1]) and err[0, 2] == 0.0


def test_temporal_norm_first_row_nan_float32():
    pred = np.array([[[0, 0]], [[3, 4]], [[3, 4]], [[6, 8]]], dtype=np.float64)
    norm = temporal_norm(pred)
    assert norm.dtype == np.float32 and norm.shape == (4, 1)
    assert np.isnan(norm[0, 0]) and norm[1:, 0].tolist() == [5.0, 0.0, 5.0]
    assert np.array_equal(temporal_norm(pred.reshape(4, 2))[1:], norm[1:])  # (T, 2K) input


def test_masked_covariance_by_hand():
    data = np.array([[1, 2], [3, np.nan], [5, 10], [np.nan, 4]], dtype=float)
    mean, cov = masked_covariance(data)
    assert np.allclose(mean, [3, 16 / 3])
    # var0 over rows 0-2: (4 + 0 + 4) / 2; var1 over rows 0, 2, 3: (100 + 196 + 16) / 9 / 2
    # cov01 over rows 0, 2 (both present): ((-2)(-10/3) + (2)(14/3)) / 1
    assert np.allclose(cov, [[4, 16], [16, 52 / 3]])
    assert np.allclose(cov, np.ma.cov(np.ma.masked_invalid(data), rowvar=False).data)


def test_masked_covariance_matches_numpy_ma_on_random_data():
    rng = np.random.default_rng(3)
    data = rng.normal(size=(40, 6)) @ rng.normal(size=(6, 6))
    data[rng.random(data.shape) < 0.2] = np.nan
    mean, cov = masked_covariance(data)
    assert np.allclose(mean, np.nanmean(data, axis=0))
    assert np.allclose(cov, np.ma.cov(np.ma.masked_invalid(data), rowvar=False).data)
    fit = fit_nan_pca(data)
    # rows of components are eigenvectors of the covariance, by descending eigenvalue; pairwise
    # deletion can make the covariance indefinite: negative eigenvalues are reported as 0
    eigenvalues = np.linalg.eigvalsh(cov)[::-1]
    assert eigenvalues[-1] < 0
    assert np.allclose(cov @ fit.components.T, fit.components.T * eigenvalues)
    assert np.allclose(fit.explained_variance, np.clip(eigenvalues, 0, None))
    assert np.allclose(fit.components @ fit.components.T, np.eye(6))


@pytest.mark.parametrize('slope, axis', [(2.0, [1, 2]), (-2.0, [-1, 2])])
def test_fit_nan_pca_line_and_sign_rule(slope, axis):
    t = np.arange(5.0)
    fit = fit_nan_pca(np.stack([t, slope * t], axis=1))
    # var(t) = 2.5, so the line's variance is 2.5 * (1 + 4) = 12.5; the largest-magnitude entry
    # of each component is made positive (scikit-learn's svd_flip, v-based)
    assert np.allclose(fit.explained_variance, [12.5, 0.0])
    assert np.allclose(fit.explained_variance_ratio, [1.0, 0.0])
    assert np.allclose(fit.components[0], np.array(axis) / math.sqrt(5))
    assert np.allclose(fit.mean, [2.0, 2 * slope])


def make_fit(variances):
    variances = np.asarray(variances, dtype=float)
    return NaNPCAFit(np.zeros(len(variances)), np.eye(len(variances)), variances,
                     variances / variances.sum(), 10)


@pytest.mark.parametrize('keep, expected', [
    (0.5, 1), (0.6, 2), (0.75, 2), (0.8, 3), (1.0, 3), (0.0, 1), (None, 3), (1, 1), (2, 2),
    (3, 3)])
def test_choose_num_components(keep, expected):
    # explained variance ratios 0.5, 0.25, 0.25: cumulative 0.5, 0.75, 1.0
    assert choose_num_components(make_fit([2, 1, 1]), keep) == expected


@pytest.mark.parametrize('keep', [4, 0, 1.5, -0.1, True])
def test_choose_num_components_refuses(keep):
    with pytest.raises(LPPCAError):
        choose_num_components(make_fit([2, 1, 1]), keep)


def test_singleview_pca_by_hand():
    # keypoint 0 moves along x, keypoint 1 along y, by the same t: rows (t, 0, 0, t)
    t = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0])
    train = np.zeros((6, 3, 2))
    train[:, 0, 0] = t
    train[:, 1, 1] = t
    train[:, 2] = 50.0                                   # keypoint 2 is not in the PCA
    pca = fit_keypoint_pca('pca_singleview', train, components_to_keep=0.99, columns=[0, 1])
    assert pca.n_components == 1 and pca.epsilon == pytest.approx(0.0, abs=1e-9)
    assert np.allclose(pca.kept_components, [[1, 0, 0, 1]] / np.sqrt(2))
    assert pca.discarded_components.shape == (3, 4)
    # mean (0.5, 0, 0, 0.5); prediction (1, 3), (0, 1) centred is (0.5, 3, 0, 0.5), whose part
    # along (1, 0, 0, 1)/sqrt2 is (0.5, 0, 0, 0.5): reprojection (1, 0, 0, 1), left-over (0, 3, 0, 0)
    pred = np.array([[[1.0, 3.0], [0.0, 1.0], [7.0, 7.0]]])
    assert pca.reproject(pca.format(pred)) == pytest.approx(np.array([[1.0, 0.0, 0.0, 1.0]]))
    errors = pca.keypoint_errors(pred)
    assert errors[0, :2] == pytest.approx([3.0, 0.0]) and np.isnan(errors[0, 2])


def test_format_singleview_centering():
    kps = np.array([[[0.0, 0.0], [2.0, 4.0], [10.0, 10.0]]])
    assert format_singleview(kps, [0, 1], 'mean').tolist() == [[-1, -2, 1, 2]]
    assert format_singleview(kps, None, 'median').tolist() == [[-2, -4, 0, 0, 8, 6]]
    with pytest.raises(LPPCAError, match='centering_method'):
        format_singleview(kps, None, 'middle')


def lp_format_multiview(kps, matches):
    """Lightning Pose 2.4.3 utils/pca.py::format_multiview_data_for_pca, written out."""
    data = torch.tensor(kps)
    views = [data[:, np.array(m), :].permute(2, 0, 1).reshape(2, -1) for m in matches]
    return torch.cat(views, dim=0).T.numpy()


def test_format_multiview_matches_lp_rule():
    kps = np.random.default_rng(0).normal(size=(3, 5, 2))
    matches = [[0, 1], [3, 4]]
    rows = format_multiview(kps, matches)
    assert rows.shape == (6, 4)
    assert np.array_equal(rows, lp_format_multiview(kps, matches))
    assert rows[1].tolist() == [*kps[0, 1], *kps[0, 4]]   # frame 0, second matched keypoint


def test_multiview_pca_by_hand():
    # views: keypoint 0 (view 0) = (a, b), keypoint 1 (view 1) = (c, a + b - c + 5): the rows
    # span 3 dimensions, the discarded axis is n = (1, 1, -1, -1) / 2 (x0 + y0 - x1 - y1 = -5)
    rng = np.random.default_rng(1)
    a, b, c = rng.normal(scale=20, size=(3, 40))
    train = np.full((40, 3, 2), 9.0)
    train[:, 0] = np.stack([a, b], 1)
    train[:, 1] = np.stack([c, a + b - c + 5], 1)
    pca = fit_keypoint_pca('pca_multiview', train, mirrored_column_matches=[[0], [1]],
                           components_to_keep=0.5)           # ignored: multiview keeps 3
    assert pca.n_components == 3
    assert np.allclose(np.abs(pca.discarded_components[0]), 0.5)
    pred = np.array([[[10.0, 20.0], [30.0, 19.0], [0.0, 0.0]]])
    # x0 + y0 - x1 - y1 = 10 + 20 - 30 - 19 = -19 -> offset (-19 + 5) / 2 = -7 along n;
    # each view's (x, y) part of n has norm 1/sqrt(2): error 7 / sqrt(2) per view
    errors = pca.keypoint_errors(pred)
    assert errors[0, :2] == pytest.approx([7 / math.sqrt(2)] * 2)
    assert np.isnan(errors[0, 2])
    assert pca.epsilon == pytest.approx(0.0, abs=1e-6)       # the labels lie in the subspace


def test_empirical_epsilon():
    assert empirical_epsilon([0, 1, 2, 3, 4, np.nan], 50) == 2.0
    assert empirical_epsilon(np.arange(101.0), 99, multiplier=2.0) == 198.0
    with pytest.raises(LPPCAError, match='0 and 100'):
        empirical_epsilon([1.0], 0.99 * 1000)
    with pytest.raises(LPPCAError, match='every reprojection error is NaN'):   # lp#317
        empirical_epsilon([np.nan, np.nan], 99)


def test_too_few_frames_is_lp_169_with_advice():
    train = np.random.default_rng(0).normal(size=(5, 4, 2))
    with pytest.raises(LPPCAError, match=r'cannot fit PCA with 5 samples < 8 observation '
                                         r'dimensions: pca_singleview needs at least 8'):
        fit_keypoint_pca('pca_singleview', train)


def test_never_labelled_and_never_together_columns_are_named():
    train = np.random.default_rng(0).normal(size=(30, 3, 2))
    train[:, 2] = np.nan
    with pytest.raises(LPPCAError, match=r'tail.x, tail.y never labelled'):
        fit_keypoint_pca('pca_singleview', train, keypoint_names=['nose', 'ear', 'tail'])
    train[:, 2] = 1.0
    train[:15, 0] = np.nan
    train[15:, 2] = np.nan
    with pytest.raises(LPPCAError, match=r'nose.x and tail.x are labelled together in 0'):
        fit_keypoint_pca('pca_singleview', train, keypoint_names=['nose', 'ear', 'tail'])


@pytest.mark.parametrize('matches, message', [
    ([0, 1], 'list of lists'), ([[0, 1]], 'at least 2'), ([[0, 1], [2]], 'same number'),
    ([[0, 1], [2, 17]], r'indices \[17\] are out of range; there are 17'),
    ([[0, 1], [1, 2]], r'\[1\] appear more than once')])
def test_mirrored_column_matches_checks(matches, message):
    with pytest.raises(LPPCAError, match=message):
        check_mirrored_column_matches(matches, 17)


def test_columns_for_singleview_pca_out_of_range():
    with pytest.raises(LPPCAError, match=r'columns_for_singleview_pca: keypoint indices \[5\]'):
        fit_keypoint_pca('pca_singleview', np.zeros((20, 3, 2)), columns=[0, 5])


def test_lp_pca_training_keypoints_resized_like_imgaug():
    # mirror-mouse frames are 396 wide, 406 high; resized to 256 x 256
    kps = np.array([[[198.0, 203.0], [395.0, 0.0], [np.nan, np.nan], [-1.0, 5.0]]])
    out = lp_pca_training_keypoints(kps, [[406, 396]], (256, 256))
    assert out.dtype == np.float32
    assert out[0, 0].tolist() == [128.0, 128.0]
    assert out[0, 1].tolist() == pytest.approx([395 / 396 * 256, 0.0])
    assert np.isnan(out[0, 2:]).all()                 # missing, and outside the image
    kept = lp_pca_training_keypoints(kps, [[406, 396]], (256, 256), drop_outside=False)
    assert kept[0, 3, 0] == pytest.approx(-256 / 396)


def test_keypoint_pca_is_reusable_data():
    pca = fit_keypoint_pca('pca_singleview', np.random.default_rng(2).normal(size=(30, 3, 2)),
                           components_to_keep=2)
    assert isinstance(pca, KeypointPCA)
    assert pca.kept_components.shape == (2, 6) and pca.discarded_components.shape == (4, 6)
    assert pca.mean.shape == (6,) and pca.epsilon > 0
