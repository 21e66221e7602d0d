"""Lightning Pose's numbers in numpy: pixel error, temporal norm, NaN-aware PCA and its errors.

These back Lightning Pose's evaluation files (``predictions_pixel_error.csv``,
``*_temporal_norm.csv``, ``*_pca_singleview_error.csv``, ``*_pca_multiview_error.csv``) and the
unsupervised losses (the torch losses reuse :class:`KeypointPCA`'s arrays). Units are pixels;
keypoint arrays are (frames, K, 2) with NaN for a missing keypoint.

Facts from Lightning Pose 2.4.3 (``lightning_pose/metrics.py``, ``lightning_pose/utils/pca.py``,
``lightning_pose/losses/losses.py``):

- pixel error (``metrics.py::pixel_error``, l. 47): ``np.linalg.norm(true - pred, axis=2)`` in
  float64, NaN where the label is missing;
- temporal norm (``metrics.py::temporal_norm``, l. 62 through ``TemporalLoss.compute_loss``,
  ``losses.py`` l. 651): float32 ``‖x_t − x_{t−1}‖₂`` per keypoint, with a NaN first row;
- ``NaNPCA`` (``pca.py`` l. 331-608): column means with ``np.nanmean``; covariance from
  ``np.ma.cov(np.ma.masked_invalid(X), rowvar=False)`` (each entry over the rows where both
  columns are present, divided by that count − 1); ``np.linalg.eigh``, eigenvalues in
  descending order, negative ones clipped to 0; each component's sign flipped so that its
  largest-magnitude entry is positive (scikit-learn's ``svd_flip(u_based_decision=False)``);
  explained variance ratio = eigenvalue / sum;
- components kept (``ComponentChooser``, l. 639-738): an int is a count (an error above the
  number of dimensions), a float in [0, 1] the smallest count whose cumulative explained
  variance ratio is >= it (1.0: all); ``pca_multiview`` always keeps 3 (l. 219-229);
- too few rows is ``ValueError("cannot fit PCA with {rows} samples < {dims} observation
  dimensions")`` (``KeypointPCA._check_data``, l. 192-203; paninski-lab/lightning-pose#169);
- reprojection (l. 266-309): ``((x − μ) Vₖᵀ) Vₖ + μ``; error per keypoint = ‖x − reprojection‖₂
  over its (x, y) pair;
- singleview rows are frames, columns the ``columns_for_singleview_pca`` keypoints' x, y
  (optionally centred per frame by their mean or median, ``centering_method``); multiview rows
  are (frame, keypoint) pairs, frame-major, columns x, y of each view in
  ``mirrored_column_matches`` order (``format_multiview_data_for_pca``, l. 759-792);
- the empirical epsilon (``EmpiricalEpsilon``, l. 611-636, and ``PCALoss``, ``losses.py``
  l. 426-521): ``np.nanpercentile`` of the training labels' reprojection errors at
  ``empirical_epsilon_percentile`` (0-100 scale; default 99 since paninski-lab/lightning-pose#381
  fixed #380's 0.99) times ``empirical_epsilon_multiplier`` (default 1).

posecfg computes the PCA errors in float64 (Lightning Pose: float32 torch), so they agree to
float32 rounding; pixel error is bit-identical, temporal norm is float32 like Lightning Pose's.
Failures that make Lightning Pose's PCA losses NaN (paninski-lab/lightning-pose#317: a column
never labelled in training, two columns never labelled together, no finite training error for
the epsilon) are :class:`LPPCAError` here, naming the keypoints.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

import numpy as np

PCA_SINGLEVIEW = 'pca_singleview'
PCA_MULTIVIEW = 'pca_multiview'
#: ``pca_multiview`` keeps this many components whatever ``components_to_keep`` says (x, y, z)
MULTIVIEW_COMPONENTS = 3
CENTERING_METHODS = (None, 'mean', 'median')


class LPPCAError(ValueError):
    """PCA that cannot be fitted or used; the message says what to change."""


class LPPCAFitError(LPPCAError):
    """Valid settings, but the training labels cannot fit the PCA (too few frames or labels,
    no variation): the data, not the config, is short. Bad settings stay :class:`LPPCAError`."""


def pixel_error(keypoints_true: np.ndarray, keypoints_pred: np.ndarray) -> np.ndarray:
    """Euclidean distance per keypoint.

    Args:
        keypoints_true: (N, K, 2) labels, NaN where missing.
        keypoints_pred: (N, K, 2) predictions.

    Returns:
        (N, K) float64 pixels, NaN where the label is missing.
    """
    true = np.asarray(keypoints_true, dtype=np.float64)
    pred = np.asarray(keypoints_pred, dtype=np.float64)
    if true.shape != pred.shape or true.ndim != 3 or true.shape[-1] != 2:
        raise ValueError(f'pixel_error: labels {true.shape} and predictions {pred.shape} must '
                         'both be (N, K, 2)')
    return np.linalg.norm(true - pred, axis=2)


def temporal_norm(keypoints_pred: np.ndarray) -> np.ndarray:
    """‖x_t − x_{t−1}‖₂ per keypoint, computed in float32 as Lightning Pose does.

    Args:
        keypoints_pred: (T, K, 2) or (T, 2K) predictions of consecutive frames.

    Returns:
        (T, K) float32 pixels; row 0 is NaN (no previous frame).
    """
    pred = np.asarray(keypoints_pred, dtype=np.float32)
    pred = pred.reshape(pred.shape[0], -1, 2)
    out = np.full(pred.shape[:2], np.nan, dtype=np.float32)
    out[1:] = np.linalg.norm(np.diff(pred, axis=0), axis=2)
    return out


# ----------------------------------------------------------------------------------- NaN PCA

@dataclass(frozen=True)
class NaNPCAFit:
    """A PCA fitted on data with missing entries (Lightning Pose's ``NaNPCA``).

    Attributes:
        mean: (D,) column means over present entries.
        components: (D, D) principal axes as rows, by descending explained variance.
        explained_variance: (D,) eigenvalues of the masked covariance, clipped at 0.
        explained_variance_ratio: (D,) ``explained_variance / explained_variance.sum()``.
        n_samples: rows fitted (including rows with missing entries).
    """
    mean: np.ndarray
    components: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray
    n_samples: int


def masked_covariance(data: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Column means and covariance of ``data`` (N, D) with NaN entries left out.

    Covariance entry (i, j) sums over the rows where columns i and j are both present and
    divides by that count − 1 (``np.ma.cov``'s rule).

    Returns:
        mean (D,), covariance (D, D), float64.
    """
    data = np.asarray(data, dtype=np.float64)
    present = ~np.isnan(data)
    counts = present.sum(axis=0)
    mean = np.where(counts > 0, np.nansum(data, axis=0) / np.maximum(counts, 1), np.nan)
    centred = np.where(present, data - mean, 0.0)
    pair_counts = present.T.astype(np.float64) @ present.astype(np.float64)
    with np.errstate(divide='ignore', invalid='ignore'):
        cov = (centred.T @ centred) / (pair_counts - 1.0)
    return mean, cov


def fit_nan_pca(data: np.ndarray, names: Optional[Sequence[str]] = None) -> NaNPCAFit:
    """Fit Lightning Pose's NaN-aware PCA on ``data`` (N, D) (module docstring for the rule).

    Args:
        data: rows to fit, NaN for missing entries.
        names: (D,) a name per column for error messages (default ``column i``).

    Raises:
        LPPCAFitError: a column without any value, or two columns present together in fewer than
            two rows (their covariance is undefined; Lightning Pose's losses turn NaN).
    """
    data = np.asarray(data, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError(f'fit_nan_pca: data must be (N, D), got {data.shape}')
    names = list(names) if names is not None else [f'column {i}' for i in range(data.shape[1])]
    present = ~np.isnan(data)
    pair_counts = present.T.astype(np.int64) @ present.astype(np.int64)
    empty = np.flatnonzero(np.diag(pair_counts) == 0)
    if len(empty):
        raise LPPCAFitError(
            f'cannot fit PCA: {", ".join(names[i] for i in empty[:6])} never labelled in the '
            f'{len(data)} fitting rows; leave such keypoints out of the PCA columns')
    i, j = np.unravel_index(np.argmin(pair_counts), pair_counts.shape)
    if pair_counts[i, j] < 2:
        raise LPPCAFitError(
            f'cannot fit PCA: {names[i]} and {names[j]} are labelled together in '
            f'{pair_counts[i, j]} of the {len(data)} fitting rows; their covariance needs at '
            'least 2. Label more frames or leave one of them out of the PCA columns')
    mean, cov = masked_covariance(data)
    eigenvalues, eigenvectors = np.linalg.eigh(cov)
    eigenvalues = eigenvalues[::-1].copy()
    components = eigenvectors[:, ::-1].T.copy()
    eigenvalues[eigenvalues < 0.0] = 0.0
    biggest = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(len(components)), biggest])
    components *= signs[:, None]
    total = eigenvalues.sum()
    if not total > 0:
        raise LPPCAFitError(f'cannot fit PCA: the {len(data)} fitting rows do not vary')
    return NaNPCAFit(mean=mean, components=components, explained_variance=eigenvalues,
                     explained_variance_ratio=eigenvalues / total, n_samples=len(data))


def choose_num_components(fit: NaNPCAFit, components_to_keep: Union[int, float, None]) -> int:
    """How many components ``components_to_keep`` keeps (Lightning Pose's ``ComponentChooser``).

    An int (not a float: YAML ``1`` keeps one component, ``1.0`` all) is a count; a float in
    [0, 1] is the smallest count reaching that cumulative explained variance ratio; None keeps
    all.
    """
    num = len(fit.explained_variance)
    if components_to_keep is None:
        return num
    if isinstance(components_to_keep, (bool, np.bool_)):
        raise LPPCAError(f'components_to_keep must be an int or a float, got {components_to_keep}')
    if isinstance(components_to_keep, (int, np.integer)):
        if not 1 <= components_to_keep <= num:
            raise LPPCAError(f'components_to_keep={components_to_keep} must be between 1 and the '
                             f'{num} observation dimensions')
        return int(components_to_keep)
    threshold = float(components_to_keep)
    if not 0.0 <= threshold <= 1.0:
        raise LPPCAError(f'components_to_keep={components_to_keep}: a float is a fraction of '
                         'explained variance, between 0.0 and 1.0')
    if threshold == 1.0:
        return num
    reached = np.flatnonzero(np.cumsum(fit.explained_variance_ratio) >= threshold)
    if not len(reached):
        # cumulative sums can stop a rounding error short of a threshold just under 1
        return num
    return int(reached[0]) + 1


# ------------------------------------------------------------------------- keypoint PCA

@dataclass(frozen=True)
class KeypointPCA:
    """A PCA of keypoint coordinates as Lightning Pose's losses and metrics use it.

    The arrays are what the torch losses need (``mean``, ``kept_components``,
    ``discarded_components``, ``epsilon``); :meth:`format` maps (T, K, 2) keypoints to the
    fitted rows.

    Attributes:
        kind: ``'pca_singleview'`` or ``'pca_multiview'``.
        num_keypoints: K of the keypoint arrays it takes.
        columns: singleview: the keypoint indices used; multiview: None.
        mirrored_column_matches: multiview: one list of keypoint indices per view; else None.
        centering_method: singleview: None, 'mean' or 'median'.
        fit: the NaN-aware PCA of the training rows.
        n_components: components kept.
        epsilon: the empirical epsilon (percentile × multiplier of the training rows'
            reprojection errors), pixels.
    """
    kind: str
    num_keypoints: int
    columns: Optional[Tuple[int, ...]]
    mirrored_column_matches: Optional[Tuple[Tuple[int, ...], ...]]
    centering_method: Optional[str]
    fit: NaNPCAFit
    n_components: int
    epsilon: float

    @property
    def mean(self) -> np.ndarray:
        return self.fit.mean

    @property
    def kept_components(self) -> np.ndarray:
        """(n_components, D)."""
        return self.fit.components[:self.n_components]

    @property
    def discarded_components(self) -> np.ndarray:
        """(D − n_components, D)."""
        return self.fit.components[self.n_components:]

    def format(self, keypoints: np.ndarray) -> np.ndarray:
        """(T, K, 2) keypoints → the rows this PCA works on (see :func:`format_singleview`,
        :func:`format_multiview`)."""
        if self.kind == PCA_MULTIVIEW:
            return format_multiview(keypoints, self.mirrored_column_matches)
        return format_singleview(keypoints, self.columns, self.centering_method)

    def reproject(self, rows: np.ndarray) -> np.ndarray:
        """Rows (R, D) projected onto the kept components and back: ((x − μ) Vₖᵀ) Vₖ + μ."""
        kept = self.kept_components
        return (np.asarray(rows, dtype=np.float64) - self.mean) @ kept.T @ kept + self.mean

    def row_errors(self, rows: np.ndarray) -> np.ndarray:
        """(R, D/2) reprojection error of each (x, y) pair of the rows, pixels."""
        rows = np.asarray(rows, dtype=np.float64)
        diff = rows - self.reproject(rows)
        return np.linalg.norm(diff.reshape(len(rows), -1, 2), axis=2)

    def keypoint_errors(self, keypoints: np.ndarray) -> np.ndarray:
        """(T, K) reprojection error per frame and keypoint, NaN for keypoints outside the PCA
        (Lightning Pose's ``pca_{singleview,multiview}_reprojection_error``, metrics.py
        l. 92-184)."""
        keypoints = _as_keypoints(keypoints, self.num_keypoints)
        errors = self.row_errors(self.format(keypoints))
        out = np.full(keypoints.shape[:2], np.nan)
        if self.kind == PCA_MULTIVIEW:
            per_view = errors.reshape(len(keypoints), -1, len(self.mirrored_column_matches))
            for view, cols in enumerate(self.mirrored_column_matches):
                out[:, list(cols)] = per_view[:, :, view]
        else:
            out[:, list(self.columns)] = errors
        return out


def format_singleview(keypoints: np.ndarray, columns: Optional[Sequence[int]] = None,
                      centering_method: Optional[str] = None) -> np.ndarray:
    """(T, K, 2) → (T, 2C) rows x0, y0, x1, y1, … of the keypoints ``columns`` (all when None),
    each frame optionally centred on the mean or median of those keypoints (a frame with a
    missing one becomes all NaN, as in Lightning Pose's torch code)."""
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if columns is not None:
        keypoints = keypoints[:, list(columns)]
    if centering_method == 'mean':
        keypoints = keypoints - keypoints.mean(axis=1, keepdims=True)
    elif centering_method == 'median':
        keypoints = keypoints - np.quantile(keypoints, 0.5, axis=1, keepdims=True)
    elif centering_method is not None:
        raise LPPCAError(f"centering_method must be null, 'mean' or 'median', got "
                         f'{centering_method!r}')
    return keypoints.reshape(len(keypoints), -1)


def format_multiview(keypoints: np.ndarray,
                     mirrored_column_matches: Sequence[Sequence[int]]) -> np.ndarray:
    """(T, K, 2) → (T·P, 2V) rows: one per (frame, matched keypoint p), frame-major, with the
    x, y of that keypoint in each of the V views (``mirrored_column_matches[v][p]``)."""
    keypoints = np.asarray(keypoints, dtype=np.float64)
    views = [keypoints[:, list(cols)] for cols in mirrored_column_matches]  # V × (T, P, 2)
    return np.concatenate(views, axis=2).reshape(-1, 2 * len(views))


def empirical_epsilon(errors: np.ndarray, percentile: float = 99.0,
                      multiplier: float = 1.0) -> float:
    """``np.nanpercentile(errors, percentile) * multiplier`` (percentile on the 0-100 scale).

    Raises:
        LPPCAFitError: no finite error to take a percentile of (the loss would be NaN).
    """
    if not 0.0 <= percentile <= 100.0:
        raise LPPCAError(f'empirical_epsilon_percentile={percentile} must be between 0 and 100 '
                         '(a percentile, not a fraction: 99 for the 99th)')
    values = np.asarray(errors, dtype=np.float64).ravel()
    if not np.isfinite(values).any():
        raise LPPCAFitError('cannot compute the empirical epsilon: no training frame has all '
                            'its PCA keypoints labelled, so every reprojection error is NaN; '
                            'set epsilon explicitly or label those keypoints in more frames')
    return float(np.nanpercentile(values, percentile)) * float(multiplier)


def fit_keypoint_pca(kind: str, train_keypoints: np.ndarray, *,
                     components_to_keep: Union[int, float, None] = 0.99,
                     columns: Optional[Sequence[int]] = None,
                     mirrored_column_matches: Optional[Sequence[Sequence[int]]] = None,
                     centering_method: Optional[str] = None,
                     empirical_epsilon_percentile: float = 99.0,
                     empirical_epsilon_multiplier: float = 1.0,
                     keypoint_names: Optional[Sequence[str]] = None,
                     with_epsilon: bool = True) -> KeypointPCA:
    """Fit Lightning Pose's singleview or multiview keypoint PCA on training labels.

    Args:
        kind: ``'pca_singleview'`` or ``'pca_multiview'``.
        train_keypoints: (N, K, 2) training labels, NaN where missing, in the coordinates the
            PCA will be applied in (see :func:`lp_pca_training_keypoints` for Lightning Pose's).
        components_to_keep: singleview: count or variance fraction (:func:`choose_num_components`);
            multiview: ignored (3 kept, as Lightning Pose does).
        columns: singleview keypoint indices (``data.columns_for_singleview_pca``); None = all.
        mirrored_column_matches: multiview: one list of keypoint indices per view.
        centering_method: singleview only: None, 'mean' or 'median'.
        empirical_epsilon_percentile, empirical_epsilon_multiplier: the epsilon rule.
        keypoint_names: (K,) for error messages.
        with_epsilon: False: ``epsilon`` is NaN and not computed (the error files need no
            epsilon, and Lightning Pose writes them when no training frame is complete).
    """
    keypoints = np.asarray(train_keypoints, dtype=np.float64)
    if keypoints.ndim != 3 or keypoints.shape[-1] != 2:
        raise ValueError(f'fit_keypoint_pca: training keypoints must be (N, K, 2), got '
                         f'{keypoints.shape}')
    num_keypoints = keypoints.shape[1]
    names = list(keypoint_names) if keypoint_names is not None else \
        [f'keypoint {k}' for k in range(num_keypoints)]
    if kind == PCA_SINGLEVIEW:
        columns = tuple(range(num_keypoints)) if columns is None else tuple(int(c) for c in columns)
        check_keypoint_indices(columns, num_keypoints, 'data.columns_for_singleview_pca')
        if centering_method not in CENTERING_METHODS:
            raise LPPCAError(f"centering_method must be null, 'mean' or 'median', got "
                             f'{centering_method!r}')
        matches, row_names = None, [f'{names[c]}.{a}' for c in columns for a in 'xy']
    elif kind == PCA_MULTIVIEW:
        matches = check_mirrored_column_matches(mirrored_column_matches, num_keypoints)
        columns, centering_method = None, None
        row_names = [f'view {v}.{a}' for v in range(len(matches)) for a in 'xy']
    else:
        raise LPPCAError(f"PCA kind must be '{PCA_SINGLEVIEW}' or '{PCA_MULTIVIEW}', got {kind!r}")

    rows = (format_multiview(keypoints, matches) if kind == PCA_MULTIVIEW else
            format_singleview(keypoints, columns, centering_method))
    if rows.shape[0] < rows.shape[1]:
        what = ('training frames' if kind == PCA_SINGLEVIEW else
                'rows (training frames × matched keypoints)')
        raise LPPCAFitError(
            f'cannot fit PCA with {rows.shape[0]} samples < {rows.shape[1]} observation '
            f'dimensions: {kind} needs at least {rows.shape[1]} {what}; add labelled frames, '
            'raise training.train_prob / train_frames, or use fewer PCA keypoints')
    fit = fit_nan_pca(rows, row_names)
    if kind == PCA_MULTIVIEW:
        if len(fit.explained_variance) < MULTIVIEW_COMPONENTS:
            raise LPPCAError(f'pca_multiview keeps {MULTIVIEW_COMPONENTS} components and needs at '
                             f'least 2 views; mirrored_column_matches has {len(matches)}')
        n_components = MULTIVIEW_COMPONENTS
    else:
        n_components = choose_num_components(fit, components_to_keep)
    pca = KeypointPCA(kind, num_keypoints, columns, matches, centering_method, fit=fit,
                      n_components=n_components, epsilon=float('nan'))
    if not with_epsilon:
        return pca
    epsilon = empirical_epsilon(pca.row_errors(rows), empirical_epsilon_percentile,
                                empirical_epsilon_multiplier)
    return KeypointPCA(kind, num_keypoints, columns, matches, centering_method, fit=fit,
                       n_components=n_components, epsilon=epsilon)


def check_keypoint_indices(indices: Sequence[int], num_keypoints: int, key: str):
    """Indices within [0, K) and without repeats; the error names ``key``."""
    bad = [i for i in indices if not 0 <= int(i) < num_keypoints]
    if bad:
        raise LPPCAError(f'{key}: keypoint indices {bad} are out of range; there are '
                         f'{num_keypoints} keypoints (0 to {num_keypoints - 1})')
    repeated = sorted({int(i) for i in indices if list(indices).count(i) > 1})
    if repeated:
        raise LPPCAError(f'{key}: keypoint indices {repeated} appear more than once')


def check_mirrored_column_matches(matches, num_keypoints: int) -> Tuple[Tuple[int, ...], ...]:
    """``data.mirrored_column_matches`` of a mirrored (single-CSV) setup: ≥ 2 equally long lists
    of distinct keypoint indices in [0, K)."""
    key = 'data.mirrored_column_matches'
    if not matches or not all(isinstance(m, (list, tuple)) for m in matches):
        raise LPPCAError(f'{key} must hold one list of keypoint indices per view (a list of '
                         f'lists), got {matches!r}')
    if len(matches) < 2:
        raise LPPCAError(f'{key}: {len(matches)} view; multiview PCA needs at least 2')
    lengths = {len(m) for m in matches}
    if len(lengths) != 1 or 0 in lengths:
        raise LPPCAError(f'{key}: every view must list the same number (> 0) of keypoints, got '
                         f'lengths {[len(m) for m in matches]}')
    flat = [int(i) for m in matches for i in m]
    check_keypoint_indices(flat, num_keypoints, key)
    return tuple(tuple(int(i) for i in m) for m in matches)


def lp_pca_training_keypoints(keypoints: np.ndarray, frame_sizes: np.ndarray,
                              resize_hw: Tuple[int, int],
                              drop_outside: bool = True) -> np.ndarray:
    """Training labels as Lightning Pose fits its PCA on them: in resized-image pixels.

    Lightning Pose 2.4.3 fits the PCA on the keypoints its training loader yields
    (``data/extractor.py``, through ``imgaug`` ``Resize``, whose keypoint rule is
    ``x · W_resize / W_frame`` in float32, imgaug ``augmentables/utils.py::project_coords_``),
    with the heatmap dataset setting keypoints outside the resized image (x or y < 0, x >= W,
    y >= H) to NaN (``data/datasets.py::HeatmapDataset.compute_heatmap``, l. 496-508).
    It then applies that PCA to predictions in original-frame pixels (``model_to_frame_batch``),
    so its PCA losses and error files mix the two scales unless the resize keeps the frame
    size; a runner choosing Lightning Pose's numbers fits on this, one choosing consistent
    units fits on the frame-pixel labels directly.

    Args:
        keypoints: (N, K, 2) labels in frame pixels, NaN where missing.
        frame_sizes: (N, 2) (height, width) of each labelled frame.
        resize_hw: ``(data.image_resize_dims.height, data.image_resize_dims.width)``.
        drop_outside: NaN for keypoints outside the resized image (heatmap models; Lightning
            Pose's regression dataset keeps them).

    Returns:
        (N, K, 2) float32.
    """
    keypoints = np.asarray(keypoints, dtype=np.float32)
    sizes = np.asarray(frame_sizes, dtype=np.float32).reshape(-1, 1, 2)
    height, width = resize_hw
    out = np.empty_like(keypoints)
    out[..., 0] = keypoints[..., 0] / sizes[..., 1] * np.float32(width)
    out[..., 1] = keypoints[..., 1] / sizes[..., 0] * np.float32(height)
    if drop_outside:
        outside = ((out[..., 0] < 0) | (out[..., 1] < 0) | (out[..., 0] >= width)
                   | (out[..., 1] >= height))
        out[outside] = np.nan
    return out


def _as_keypoints(keypoints: np.ndarray, num_keypoints: int) -> np.ndarray:
    keypoints = np.asarray(keypoints, dtype=np.float64)
    keypoints = keypoints.reshape(keypoints.shape[0], -1, 2)
    if keypoints.shape[1] != num_keypoints:
        raise ValueError(f'expected keypoints of {num_keypoints} keypoints, got '
                         f'{keypoints.shape[1]}')
    return keypoints
