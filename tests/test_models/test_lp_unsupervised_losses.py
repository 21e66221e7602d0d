"""Lightning Pose 2.4.3's PCA and temporal losses and its NaN-aware keypoint PCA.

Oracles are written out here from the 2.4.3 wheel:

- weight ``1 / (2 exp(log_weight))`` (losses/losses.py:89-100);
- NaNPCA (utils/pca.py:393-508): nanmean; covariance of each column pair over the rows where
  both are labelled, centred on each column's own nanmean, divided by (co-labelled rows - 1)
  (``np.ma.cov``); eigenvectors by decreasing eigenvalue;
- ComponentChooser (utils/pca.py:699-719): first count whose cumulative ratio >= the fraction;
- reprojection error per keypoint ‖x - ((x - μ)VᵀV + μ)‖ (utils/pca.py:266-309), epsilon the
  ``np.nanpercentile`` (0-100) of the labels' errors (l. 611-636), loss
  ``mean relu(err - ε)`` (losses/losses.py:123-146, 548-573);
- multiview rows: (frame, matched keypoint) → (x_v0, y_v0, x_v1, y_v1) (utils/pca.py:759-792);
- temporal: ``mean relu(‖p_t+1 - p_t‖ - ε)`` over (T-1, K), pairs with a confidence below
  ``prob_threshold`` set to 0 before (losses/losses.py:608-703).
"""
import math
import warnings

import numpy as np
import pytest
import torch

from posecfg.models.losses import (LPPCAMultiviewLoss, LPPCASingleviewLoss, LPTemporalLoss,
                                   fit_lp_pca)
from posecfg.registry import MODELS
from tests.conftest import shared_path

MIRROR_COLUMNS = [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14]  # config_mirror-mouse-example
MIRROR_MATCHES = [[0, 1, 2, 3, 4, 5, 6], [8, 9, 10, 11, 12, 13, 14]]


def poses(n=50, k=5, seed=0, noise=0.5):
    rng = np.random.default_rng(seed)
    base = rng.uniform(0, 100, (k, 2))
    shift = rng.uniform(-20, 20, (n, 1, 2))
    stretch = rng.uniform(0.7, 1.3, (n, 1, 1))
    return base * stretch + shift + rng.normal(0, noise, (n, k, 2))


def masked_cov(x):
    """Pairwise-complete covariance, written out (what np.ma.cov computes)."""
    d = x.shape[1]
    mean = np.array([np.nanmean(x[:, j]) for j in range(d)])
    cov = np.zeros((d, d))
    for i in range(d):
        for j in range(d):
            both = ~np.isnan(x[:, i]) & ~np.isnan(x[:, j])
            cov[i, j] = ((x[both, i] - mean[i]) * (x[both, j] - mean[j])).sum() / (both.sum() - 1)
    return mean, cov


def lp_weight(log_weight):
    return 1 / (2 * math.exp(log_weight))


# ------------------------------------------------------------------------------- the PCA fit
def test_fit_matches_the_written_out_nan_pca():
    kp = poses()
    kp[3, 1] = np.nan
    kp[7, [0, 4]] = np.nan
    pca = fit_lp_pca(kp, columns=[0, 1, 3, 4], components_to_keep=0.9)
    x = kp[:, [0, 1, 3, 4]].reshape(len(kp), -1)
    mean, cov = masked_cov(x)
    values, vectors = np.linalg.eigh(cov)
    values, vectors = values[::-1], vectors[:, ::-1]
    # a pairwise-complete covariance need not be positive semi-definite: LP clips negative
    # eigenvalues to 0 (utils/pca.py:441-445)
    values = np.maximum(values, 0)
    assert (values == 0).any()
    ratio = values / values.sum()
    kept = int(np.argmax(np.cumsum(ratio) >= 0.9)) + 1
    np.testing.assert_allclose(pca.mean, mean, rtol=1e-10)
    np.testing.assert_allclose(pca.explained_variance_ratio, ratio, rtol=1e-8, atol=1e-12)
    assert pca.n_kept == kept
    # the subspace (its projector) is the same whatever the eigenvectors' signs
    np.testing.assert_allclose(pca.kept.T @ pca.kept, vectors[:, :kept] @ vectors[:, :kept].T,
                               atol=1e-8)
    # sklearn's svd_flip: every component's largest-magnitude entry is positive
    rows = np.arange(len(pca.components))
    assert (pca.components[rows, np.abs(pca.components).argmax(1)] > 0).all()
    # epsilon: 99th percentile of the complete rows' per-keypoint reprojection errors
    complete = ~np.isnan(x).any(1)
    v = vectors[:, :kept]
    resid = (x[complete] - mean) - (x[complete] - mean) @ v @ v.T
    errors = np.linalg.norm(resid.reshape(-1, 4, 2), axis=2)
    assert pca.epsilon == pytest.approx(np.percentile(errors, 99), rel=1e-8)
    assert (pca.num_rows, pca.num_complete_rows) == (50, 48)


@pytest.mark.parametrize('keep,want', [(2, 2), (1.0, 10), (None, 10), (0.0, 1)])
def test_components_to_keep(keep, want):
    assert fit_lp_pca(poses(), components_to_keep=keep).n_kept == want


@pytest.mark.parametrize('keep,match', [(11, 'between 1 and 10'), (1.5, r'\[0, 1\]'),
                                        (True, 'int or a float')])
def test_bad_components_to_keep(keep, match):
    with pytest.raises(ValueError, match=match):
        fit_lp_pca(poses(), components_to_keep=keep)


def test_centering_on_the_median_keypoint():
    kp = poses(k=4)
    pca = fit_lp_pca(kp, centering_method='median', components_to_keep=None)
    centred = kp - np.median(kp, axis=1, keepdims=True)  # even K: mean of the middle two
    np.testing.assert_allclose(pca.mean, centred.reshape(len(kp), -1).mean(0), atol=1e-10)


def test_percentile_scale_is_0_to_100():
    """#380: np.nanpercentile takes 0-100; LP's old default 0.99 meant the 0.99th percentile."""
    with pytest.raises(ValueError, match=r'\[0, 100\]'):
        fit_lp_pca(poses(), empirical_epsilon_percentile=101)
    with pytest.warns(UserWarning, match='#380'):
        low = fit_lp_pca(poses(), components_to_keep=2, empirical_epsilon_percentile=0.99)
    high = fit_lp_pca(poses(), components_to_keep=2, empirical_epsilon_percentile=99)
    assert low.epsilon < high.epsilon


def test_multiview_rows_and_three_components():
    kp = poses(n=30, k=4)
    pca = fit_lp_pca(kp, mirrored_column_matches=[[0, 1], [2, 3]], components_to_keep=3)
    assert pca.kind == 'pca_multiview' and pca.n_kept == 3
    # rows: frame n, matched keypoint c → (x, y) of view 0 then view 1
    rows = np.array([[*kp[n, c], *kp[n, c + 2]] for n in range(30) for c in range(2)])
    np.testing.assert_allclose(pca.mean, rows.mean(0))
    np.testing.assert_allclose(pca.format(torch.as_tensor(kp)).numpy(), rows)
    with pytest.warns(UserWarning, match='keeps 3'):
        fit_lp_pca(kp, mirrored_column_matches=[[0, 1], [2, 3]], components_to_keep=0.99)


# ------------------------------------------------------------------------------ pitfalls
def test_too_few_rows_names_complete_rows_and_nan_columns():
    """#169 on the real mirror-mouse labels: 10 frames cannot span 28 dimensions."""
    from posecfg.interop.lp.labels import read_lp_labels
    csv = shared_path('lp-mirror-mouse', 'CollectedData.csv')
    labels = read_lp_labels(str(csv))
    with pytest.raises(ValueError) as err:
        fit_lp_pca(labels.keypoints[:10], columns=MIRROR_COLUMNS, components_to_keep=0.99,
                   keypoint_names=labels.keypoint_names, source=str(csv))
    message = str(err.value)
    complete = int(np.isfinite(labels.keypoints[:10, MIRROR_COLUMNS]).all((1, 2)).sum())
    assert 'cannot fit PCA with 10 samples < 28 observation dimensions' in message
    assert f'{complete} have every column labelled' in message
    assert 'tailBase_top (' in message and str(csv) in message


def test_no_columns_is_refused():
    """#161: a PCA loss needs its columns."""
    with pytest.raises(ValueError, match='#161'):
        fit_lp_pca(poses(), columns=[])
    with pytest.raises(ValueError, match='mirrored_column_matches'):
        LPPCAMultiviewLoss(labels=poses())
    with pytest.raises(ValueError, match=r'\[0, 4\]'):
        fit_lp_pca(poses(), columns=[0, 5])


def test_no_complete_row_needs_an_explicit_epsilon_and_never_gives_nan():
    """#317: LP's empirical epsilon is NaN without a complete row, and so is every loss."""
    kp = poses(n=40, k=3)
    kp[np.arange(40), np.arange(40) % 3] = np.nan  # every frame misses one keypoint
    with pytest.raises(ValueError, match='#317'):
        LPPCASingleviewLoss(labels=kp, components_to_keep=2)
    loss = LPPCASingleviewLoss(labels=kp, components_to_keep=2, epsilon=1.0)
    pred = torch.tensor(poses(n=4, k=3, seed=3), dtype=torch.float32, requires_grad=True)
    value = loss(pred)
    assert torch.isfinite(value)
    # frames with a NaN prediction are left out, never NaN
    with_nan = pred.detach().clone()
    with_nan[0, 0] = float('nan')
    assert torch.isfinite(loss(with_nan))
    assert loss(torch.full((2, 3, 2), float('nan'))) == 0
    value.backward()
    assert torch.isfinite(pred.grad).all()


# -------------------------------------------------------------------------------- losses
def test_singleview_loss_value():
    kp = poses(k=4)
    loss = MODELS.build(dict(type='LPPCASingleviewLoss', labels=kp.tolist(), log_weight=1.0,
                             components_to_keep=2, empirical_epsilon_multiplier=0.5))
    mean, cov = masked_cov(kp.reshape(len(kp), -1))
    v = np.linalg.eigh(cov)[1][:, ::-1][:, :2]
    pred = poses(n=6, k=4, seed=5, noise=3)
    resid = (pred.reshape(6, -1) - mean) - (pred.reshape(6, -1) - mean) @ v @ v.T
    errors = np.linalg.norm(resid.reshape(6, 4, 2), axis=2)
    labels_resid = (kp.reshape(len(kp), -1) - mean) @ (np.eye(8) - v @ v.T)
    epsilon = np.percentile(np.linalg.norm(labels_resid.reshape(-1, 4, 2), axis=2), 99) * 0.5
    want = lp_weight(1.0) * np.maximum(errors - epsilon, 0).mean()
    assert loss.epsilon == pytest.approx(epsilon, rel=1e-6)
    assert float(loss(torch.as_tensor(pred, dtype=torch.float32))) == pytest.approx(want, rel=1e-4)


def test_singleview_loss_on_the_mirror_mouse_labels():
    csv = str(shared_path('lp-mirror-mouse', 'CollectedData.csv'))
    loss = LPPCASingleviewLoss(labels=csv, columns_for_singleview_pca=MIRROR_COLUMNS,
                               components_to_keep=0.99, log_weight=0.0)
    assert loss.pca.num_complete_rows == 71 and loss.epsilon > 0
    from posecfg.interop.lp.labels import read_lp_labels
    kp = read_lp_labels(csv).keypoints
    complete = np.isfinite(kp[:, MIRROR_COLUMNS]).all((1, 2))
    # the labels themselves: at most 1% of their keypoints lie beyond epsilon
    value = float(loss(torch.as_tensor(kp[complete], dtype=torch.float32)))
    assert 0 <= value < 0.05 * loss.epsilon
    moved = kp[complete].copy()
    moved[:, 0] += 40.0  # one paw 40 px off in every frame
    assert float(loss(torch.as_tensor(moved, dtype=torch.float32))) > 10 * value
    multiview = LPPCAMultiviewLoss(labels=csv, mirrored_column_matches=MIRROR_MATCHES)
    assert multiview.pca.n_kept == 3 and math.isfinite(multiview.epsilon)


def test_label_rows_select_the_training_split():
    kp = poses()
    whole = LPPCASingleviewLoss(labels=kp[:20], components_to_keep=2)
    split = LPPCASingleviewLoss(labels=kp, label_rows=list(range(20)), components_to_keep=2)
    np.testing.assert_allclose(whole.pca.mean, split.pca.mean)


def test_temporal_loss_value():
    rng = np.random.default_rng(0)
    kp = rng.uniform(0, 50, (7, 3, 2))
    conf = rng.uniform(0, 1, (7, 3))
    eps = [1.0, 5.0, 20.0]
    loss = MODELS.build(dict(type='LPTemporalLoss', log_weight=-0.5, epsilon=eps,
                             prob_threshold=0.3))
    want = np.zeros((6, 3))
    for t in range(6):
        for k in range(3):
            if conf[t, k] >= 0.3 and conf[t + 1, k] >= 0.3:
                move = math.hypot(*(kp[t + 1, k] - kp[t, k]))
                want[t, k] = max(move - eps[k], 0.0)
    got = loss(torch.as_tensor(kp, dtype=torch.float32), torch.as_tensor(conf))
    assert float(got) == pytest.approx(lp_weight(-0.5) * want.mean(), rel=1e-5)
    # two sequences at once: the mean of both (equal lengths)
    both = loss(torch.as_tensor(np.stack([kp, kp[::-1]]), dtype=torch.float32),
                torch.as_tensor(np.stack([conf, conf[::-1]])))
    assert float(both) == pytest.approx(float(got), rel=1e-5)


def test_temporal_loss_edge_cases():
    loss = LPTemporalLoss(epsilon=0.0)
    still = torch.ones(5, 2, 2, requires_grad=True)
    value = loss(still)
    value.backward()
    assert value == 0 and torch.isfinite(still.grad).all()  # norm at 0: gradient 0, not NaN
    moving = torch.zeros(4, 1, 2)
    moving[:, 0, 0] = torch.tensor([0.0, 3.0, 3.0, float('nan')])
    assert float(loss(moving)) == pytest.approx(0.5 * 3.0 / 3)  # NaN pair counted as 0
    with pytest.raises(ValueError, match='at least 2 frames'):
        loss(torch.zeros(1, 2, 2))
    with pytest.raises(ValueError, match='2 epsilon values for 3'):
        LPTemporalLoss(epsilon=[1.0, 2.0])(torch.zeros(3, 3, 2))
