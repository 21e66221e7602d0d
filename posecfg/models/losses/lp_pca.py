"""Lightning Pose's keypoint PCA (the subspace of its Pose PCA and multi-view PCA losses), fitted
on training labels that may hold NaN.

Facts from the lightning-pose 2.4.3 wheel (``lightning_pose/utils/pca.py``):

- data: singleview rows are frames, columns ``(x, y)`` of ``columns_for_singleview_pca`` (all
  keypoints when None, l. 141-163), optionally centred on each frame's mean or median keypoint
  (``centering_method``, l. 150-159); multiview rows are (frame, matched keypoint) pairs,
  columns ``(x_view0, y_view0, x_view1, y_view1, ...)`` from ``mirrored_column_matches`` (one list
  of keypoint indices per view; ``format_multiview_data_for_pca``, l. 759-792);
- NaN-aware fit (``NaNPCA._fit_full``, l. 393-508): ``mean = nanmean`` per column, covariance
  ``np.ma.cov(np.ma.masked_invalid(X), rowvar=False)`` (each pair of columns over the rows where
  both are labelled, divided by that count - 1), eigenvectors of it sorted by decreasing
  eigenvalue, negative eigenvalues clipped to 0, signs by sklearn's ``svd_flip``
  (``u_based_decision=False``: each component's largest-magnitude entry positive), explained
  variance ratio ``eigenvalue / sum of eigenvalues``;
- components kept (``ComponentChooser``, l. 639-738): an int is a count (at most the number of
  components); a float in [0, 1] the smallest count whose cumulative explained variance ratio
  reaches it (1.0: all); ``pca_multiview`` always keeps 3 (l. 219-229);
- reprojection (l. 266-309): ``(x - mean) @ Vᵀ @ V + mean`` with V the kept components (rows);
  the error of a keypoint is the Euclidean norm of its (dx, dy) in pixels;
- empirical epsilon (l. 259-264, ``EmpiricalEpsilon`` l. 611-636): ``np.nanpercentile`` of the
  training labels' per-keypoint reprojection errors at ``empirical_epsilon_percentile`` — a
  percentile on the **0-100** scale. A row with any NaN reprojects to NaN in every coordinate
  (plain matrix products), so only complete rows count.

Pitfalls turned into clear errors here:

- lightning-pose#169 ("cannot fit PCA with 0 samples < 40 observation dimensions"): the message
  names how many rows are labelled, how many are complete, and which columns are NaN how often;
- lightning-pose#161: a PCA loss without its columns (an empty ``columns_for_singleview_pca``,
  ``pca_multiview`` without ``mirrored_column_matches``) is refused, naming the key;
- lightning-pose#317 (PCA loss NaN): with no complete row the empirical epsilon is NaN in
  Lightning Pose and so is every loss value after it; here it is an error asking for complete
  rows or an explicit ``epsilon``;
- lightning-pose#380: ``PCALoss``'s default ``empirical_epsilon_percentile`` was 0.99 while
  ``np.nanpercentile`` takes 0-100, so epsilon was the 0.99th percentile (almost every
  prediction penalised); fixed in lightning-pose#381 (default 99.0, ``losses/losses.py:436`` of
  the 2.4.3 wheel). Here the percentile must lie in [0, 100] and a value in (0, 1] warns that it
  is read on the 0-100 scale.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import List, Optional, Sequence, Union

import numpy as np
import torch

SINGLEVIEW, MULTIVIEW = 'pca_singleview', 'pca_multiview'
#: pca_multiview keeps 3 components: every view is a projection of (x, y, z) (utils/pca.py:221)
MULTIVIEW_COMPONENTS = 3


@dataclass(frozen=True)
class LPPCA:
    """A fitted keypoint PCA.

    Attributes:
        kind: ``'pca_singleview'`` or ``'pca_multiview'``.
        mean: (D,) float64 column means (pixels).
        components: (D, D) float64 eigenvectors as rows, by decreasing explained variance.
        explained_variance_ratio: (D,) float64.
        n_kept: how many leading components span the subspace.
        epsilon: the empirical epsilon (pixels): the ``percentile`` of the complete training rows'
            per-keypoint reprojection errors (NaN when no row is complete).
        percentile: the percentile (0-100) used for ``epsilon``.
        columns: singleview keypoint indices (None: all); multiview: None.
        mirrored_column_matches: multiview keypoint indices per view; singleview: None.
        centering_method: None, ``'mean'`` or ``'median'`` (singleview).
        num_rows: rows of the fitted data; num_complete_rows: rows with every column labelled.
    """
    kind: str
    mean: np.ndarray
    components: np.ndarray
    explained_variance_ratio: np.ndarray
    n_kept: int
    epsilon: float
    percentile: float
    columns: Optional[tuple]
    mirrored_column_matches: Optional[tuple]
    centering_method: Optional[str]
    num_rows: int
    num_complete_rows: int

    @property
    def kept(self) -> np.ndarray:
        """(n_kept, D) the subspace's basis (rows)."""
        return self.components[:self.n_kept]

    def format(self, keypoints: torch.Tensor) -> torch.Tensor:
        """Keypoints (N, K, 2) pixels (numpy or torch) → rows (M, D) of this PCA's data."""
        return format_pca_rows(torch.as_tensor(keypoints), self.columns,
                               self.mirrored_column_matches, self.centering_method)


def format_pca_rows(keypoints: torch.Tensor, columns: Optional[Sequence[int]] = None,
                    mirrored_column_matches: Optional[Sequence[Sequence[int]]] = None,
                    centering_method: Optional[str] = None) -> torch.Tensor:
    """Keypoints (N, K, 2) → PCA rows.

    Singleview (``mirrored_column_matches`` None): (N, 2C), ``(x, y)`` of ``columns`` (all K
    when None) per frame, centred per frame when ``centering_method`` is ``'mean'`` or
    ``'median'`` (the median of an even count averages the middle two, as ``Tensor.quantile``).
    Multiview: (N · C, 2V), row ``n · C + c`` = ``(x, y)`` of matched keypoint c in every view v.
    """
    if keypoints.dim() != 3 or keypoints.shape[-1] != 2:
        raise ValueError(f'PCA keypoints must be (N, K, 2), got {tuple(keypoints.shape)}')
    if mirrored_column_matches is not None:
        views = [keypoints[:, list(cols), :] for cols in mirrored_column_matches]  # V × (N, C, 2)
        stacked = torch.stack(views, dim=2)  # (N, C, V, 2)
        return stacked.reshape(-1, 2 * len(views))
    if columns is not None:
        keypoints = keypoints[:, list(columns), :]
    if centering_method == 'mean':
        keypoints = keypoints - keypoints.mean(dim=1, keepdim=True)
    elif centering_method == 'median':
        keypoints = keypoints - keypoints.quantile(0.5, dim=1, keepdim=True)
    elif centering_method is not None:
        raise ValueError(f"centering_method must be None, 'mean' or 'median', got "
                         f'{centering_method!r}')
    return keypoints.reshape(keypoints.shape[0], -1)


def reprojection_error(rows: torch.Tensor, mean: torch.Tensor, kept: torch.Tensor) -> torch.Tensor:
    """Rows (M, D) → per-keypoint reprojection error (M, D / 2) pixels: the norm of each
    ``(dx, dy)`` of ``rows - ((rows - mean) Vᵀ V + mean)`` (utils/pca.py:266-309)."""
    centred = rows - mean
    residual = centred - (centred @ kept.T) @ kept
    return safe_norm(residual.reshape(rows.shape[0], -1, 2))


def safe_norm(pairs: torch.Tensor) -> torch.Tensor:
    """(..., 2) → (...) Euclidean norms, exact, with gradient 0 (not NaN) at a zero vector (a
    pose exactly on the subspace, a keypoint that did not move)."""
    squared = pairs.square().sum(-1)
    positive = squared > 0
    return torch.where(positive, torch.where(positive, squared, 1.0).sqrt(), 0.0)


def fit_lp_pca(keypoints, columns: Optional[Sequence[int]] = None,
               components_to_keep: Union[int, float, None] = 0.95,
               empirical_epsilon_percentile: float = 99.0,
               mirrored_column_matches: Optional[Sequence[Sequence[int]]] = None,
               centering_method: Optional[str] = None,
               keypoint_names: Optional[Sequence[str]] = None,
               source: str = 'the training labels') -> LPPCA:
    """Fit Lightning Pose's NaN-aware keypoint PCA (see the module docstring).

    Args:
        keypoints: (N, K, 2) pixels, NaN where unlabelled (Lightning Pose fits on the training
            split's labels, in the same pixel frame as the predictions the loss will see).
        columns: singleview keypoint indices (``data.columns_for_singleview_pca``; None: all).
        components_to_keep: int count, float explained-variance fraction in [0, 1], None: all
            (ignored for multiview, which keeps 3).
        empirical_epsilon_percentile: 0-100.
        mirrored_column_matches: one list of keypoint indices per view → multiview PCA.
        centering_method: singleview only: None, ``'mean'``, ``'median'``.
        keypoint_names: (K,) names for error messages.
        source: what ``keypoints`` are, for error messages (e.g. the CSV file).

    Raises:
        ValueError: bad columns or options, too few labelled rows (#169), no complete row for
            the empirical epsilon (#317).
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.ndim != 3 or keypoints.shape[-1] != 2:
        raise ValueError(f'fit_lp_pca: keypoints of {source} must be (N, K, 2), got shape '
                         f'{keypoints.shape}')
    num_keypoints = keypoints.shape[1]
    names = list(keypoint_names) if keypoint_names is not None else [
        f'keypoint {i}' for i in range(num_keypoints)]
    if len(names) != num_keypoints:
        raise ValueError(f'fit_lp_pca: {len(names)} keypoint_names for {num_keypoints} keypoints')
    percentile = _check_percentile(empirical_epsilon_percentile)
    if mirrored_column_matches is not None:
        kind = MULTIVIEW
        matches = _check_matches(mirrored_column_matches, num_keypoints)
        if centering_method is not None:
            raise ValueError('centering_method applies to pca_singleview only (utils/pca.py:150)')
        if components_to_keep != MULTIVIEW_COMPONENTS:
            warnings.warn(f'pca_multiview keeps {MULTIVIEW_COMPONENTS} components (x, y, z), not '
                          f'components_to_keep={components_to_keep!r} (as Lightning Pose, '
                          f'utils/pca.py:219-229)', stacklevel=2)
        columns = None
        used = sorted({i for view in matches for i in view})
    else:
        kind = SINGLEVIEW
        matches = None
        if columns is not None:
            columns = _check_indices(columns, num_keypoints, 'columns_for_singleview_pca')
        used = list(columns) if columns is not None else list(range(num_keypoints))
    rows = format_pca_rows(torch.from_numpy(keypoints), columns, matches,
                           centering_method).numpy()
    _check_enough_rows(rows, keypoints, used, names, kind, source)

    mean = np.nanmean(rows, axis=0)
    cov = np.ma.cov(np.ma.masked_invalid(rows), rowvar=False).data
    eigenvalues, eigenvectors = np.linalg.eigh(cov)
    eigenvalues, components = eigenvalues[::-1].copy(), eigenvectors[:, ::-1].T.copy()
    eigenvalues[eigenvalues < 0] = 0.0
    # sklearn's svd_flip(u_based_decision=False): each row's largest-magnitude entry positive
    signs = np.sign(components[np.arange(len(components)), np.abs(components).argmax(1)])
    components *= np.where(signs == 0, 1.0, signs)[:, None]
    total = eigenvalues.sum()
    if not total > 0:
        raise ValueError(f'fit_lp_pca: the {kind} data of {source} have no variance (every '
                         f'labelled pose is the same); a PCA subspace cannot be fitted')
    ratio = eigenvalues / total
    n_kept = (MULTIVIEW_COMPONENTS if kind == MULTIVIEW
              else choose_components(ratio, components_to_keep, min(rows.shape)))
    if n_kept > rows.shape[1]:
        raise ValueError(f'{kind}: cannot keep {n_kept} components of {rows.shape[1]}-dimensional '
                         f'data')

    complete = np.isfinite(rows).all(axis=1)
    if complete.any():
        errors = reprojection_error(torch.from_numpy(rows[complete]), torch.from_numpy(mean),
                                    torch.from_numpy(components[:n_kept])).numpy()
        epsilon = float(np.nanpercentile(errors.ravel(), percentile))
    else:
        epsilon = float('nan')
    return LPPCA(kind=kind, mean=mean, components=components, explained_variance_ratio=ratio,
                 n_kept=int(n_kept), epsilon=epsilon, percentile=percentile,
                 columns=None if columns is None else tuple(columns),
                 mirrored_column_matches=None if matches is None else tuple(map(tuple, matches)),
                 centering_method=centering_method, num_rows=int(rows.shape[0]),
                 num_complete_rows=int(complete.sum()))


def choose_components(ratio: np.ndarray, components_to_keep, max_components: int) -> int:
    """Lightning Pose's ``ComponentChooser`` (utils/pca.py:639-738): components kept for an int
    count, a float explained-variance fraction in [0, 1] (1.0 → all), or None (all)."""
    if components_to_keep is None:
        return len(ratio)
    if isinstance(components_to_keep, bool):
        raise ValueError(f'components_to_keep must be an int or a float, got '
                         f'{components_to_keep!r}')
    if isinstance(components_to_keep, (int, np.integer)):
        if not 1 <= components_to_keep <= max_components:
            raise ValueError(f'components_to_keep was set to {components_to_keep}; it must be '
                             f'between 1 and {max_components} (min(rows, observation '
                             f'dimensions) of the data)')
        return int(components_to_keep)
    value = float(components_to_keep)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f'components_to_keep={value} as a float is a fraction of explained '
                         f'variance and must lie in [0, 1] (an int is a number of components)')
    if value == 1.0:
        return len(ratio)
    cumulative = np.cumsum(ratio)
    return int(np.nonzero(cumulative >= value)[0][0]) + 1


def _check_percentile(percentile) -> float:
    percentile = float(percentile)
    if not 0.0 <= percentile <= 100.0:
        raise ValueError(f'empirical_epsilon_percentile={percentile} must be a percentile in '
                         f'[0, 100] (np.nanpercentile scale)')
    if 0.0 < percentile <= 1.0:
        warnings.warn(f'empirical_epsilon_percentile={percentile} is read on the 0-100 scale '
                      f'(the {percentile}th percentile, nearly the smallest error); Lightning '
                      f'Pose\'s old default 0.99 meant 99 (lightning-pose#380)', stacklevel=3)
    return percentile


def _check_indices(indices, num_keypoints: int, key: str) -> List[int]:
    values = list(indices)
    if not values:
        raise ValueError(f'{key} is empty: a PCA loss needs the keypoints it constrains '
                         f'(lightning-pose#161); list keypoint indices, or leave it null for all')
    bad = [i for i in values if isinstance(i, bool) or not isinstance(i, (int, np.integer))
           or not 0 <= i < num_keypoints]
    if bad:
        raise ValueError(f'{key} holds {bad}: keypoint indices must be ints in '
                         f'[0, {num_keypoints - 1}]')
    if len(set(values)) != len(values):
        raise ValueError(f'{key} lists a keypoint twice: {values}')
    return [int(i) for i in values]


def _check_matches(matches, num_keypoints: int) -> List[List[int]]:
    key = 'mirrored_column_matches'
    matches = [list(m) for m in matches] if matches is not None else []
    if len(matches) < 2:
        raise ValueError(f'{key} must hold one list of keypoint indices per view (at least 2 '
                         f'views), got {matches}')
    if len({len(m) for m in matches}) != 1:
        raise ValueError(f'{key}: views list different numbers of keypoints '
                         f'{[len(m) for m in matches]}; keypoint i of each view must match')
    for view in matches:
        _check_indices(view, num_keypoints, key)
    return matches


def _check_enough_rows(rows: np.ndarray, keypoints: np.ndarray, used: Sequence[int],
                       names: Sequence[str], kind: str, source: str) -> None:
    """At least as many labelled rows as dimensions (utils/pca.py:192-203), and every pair of
    columns labelled together in two rows (else their covariance is undefined)."""
    valid = np.isfinite(rows)
    labelled_rows = int(valid.any(axis=1).sum())
    dims = rows.shape[1]
    together = valid.T.astype(np.int64) @ valid.astype(np.int64)  # (D, D) co-labelled counts
    if labelled_rows >= dims and together.min() >= 2:
        return
    complete = int(valid.all(axis=1).sum())
    missing = np.isnan(keypoints[:, used]).any(-1).sum(0)  # (C,) frames without the keypoint
    nan_columns = ', '.join(f'{names[i]} ({int(n)})' for i, n in zip(used, missing) if n)
    unit = 'frames' if kind == SINGLEVIEW else '(frame, matched keypoint) rows'
    reason = (f'{labelled_rows} samples < {dims} observation dimensions' if labelled_rows < dims
              else 'some pair of columns is labelled together in fewer than 2 rows')
    raise ValueError(
        f'{kind}: cannot fit PCA with {reason} (lightning-pose#169): of {len(rows)} {unit} of '
        f'{source}, {labelled_rows} have a label and {complete} have every column labelled. '
        f'Frames missing each keypoint: {nan_columns or "none"}. Leave keypoints that are often '
        f'unlabelled (occluded or static) out of the PCA columns, or label more frames.')
