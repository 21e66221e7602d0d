"""Lightning Pose 2.4.3's unsupervised losses (``losses.pca_singleview``, ``losses.pca_multiview``,
``losses.temporal``) as registered losses on predicted keypoints of unlabeled frames.

Facts from the lightning-pose 2.4.3 wheel (``lightning_pose/losses/losses.py``):

- every loss is multiplied by ``1 / (2 · exp(log_weight))`` (l. 89-100; :func:`lp_loss_weight`);
  Lightning Pose's loss factory applies the weight and the annealed
  ``total_unsupervised_importance`` (``losses/factory.py:261-277``); these losses include the
  weight, the annealing factor is applied by whoever sums the losses (see
  :class:`~posecfg.engine.hooks.anneal_weight.AnnealWeightHook`);
- elementwise values are made epsilon-insensitive, ``relu(value - epsilon)`` (l. 123-134), then
  averaged (l. 136-146);
- PCA (l. 426-573): the value per keypoint is its reprojection error (pixels) off the subspace
  fitted on the training labels (:func:`~posecfg.models.losses.lp_pca.fit_lp_pca`); ``epsilon``
  is given, or the empirical epsilon times ``empirical_epsilon_multiplier`` (l. 505-521);
- temporal (l. 576-703): the value per keypoint and consecutive frame pair is
  ``‖p_t+1 - p_t‖`` (pixels, l. 651-672); pairs where either frame's confidence is below
  ``prob_threshold`` are set to 0 and still counted in the mean (l. 620-649); ``epsilon`` is a
  scalar or one value per keypoint (l. 608-618).

Where Lightning Pose would return NaN these return a finite value: keypoints that are not finite
(a frame the model could not place) are left out (counted as 0 in the temporal mean, as a
low-confidence pair), and a batch with nothing to average gives 0 with the graph kept.

Unsupervised losses have no target: ``forward(keypoints, [confidences])``. The registry test
knows them by ``unsupervised_loss = True``: it moves a prediction off the example's zero-loss
point (a pose on the fitted subspace, a still sequence) and checks the loss is 0 there and grows.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from posecfg.registry import MODELS

from .lp_losses import lp_loss_weight
from .lp_pca import LPPCA, fit_lp_pca, format_pca_rows, reprojection_error, safe_norm


def _zero(keypoints: Tensor) -> Tensor:
    """A 0 that keeps the graph (so a step with nothing to average still backpropagates)."""
    return keypoints.nan_to_num().sum() * 0.0


def _example_poses(num_frames: int = 40, num_keypoints: int = 4, seed: int = 0) -> np.ndarray:
    """(N, K, 2) poses of a 2-parameter family (translation along a line, stretch) plus noise:
    a small labelled set whose PCA has a clear low-dimensional subspace."""
    rng = np.random.default_rng(seed)
    base = np.array([[10.0, 20.0], [30.0, 25.0], [50.0, 20.0], [30.0, 45.0]])[:num_keypoints]
    shift = rng.uniform(-10, 10, (num_frames, 1, 1)) * np.array([1.0, 0.5])
    stretch = rng.uniform(0.8, 1.2, (num_frames, 1, 1))
    poses = 30 + (base - 30) * stretch + shift + rng.normal(0, 0.3, (num_frames, num_keypoints, 2))
    return poses.round(3)


def load_labels(labels, label_rows: Optional[Sequence[int]] = None):
    """``labels`` → ((N, K, 2) float64 with NaN, keypoint names or None, description).

    ``labels``: a Lightning Pose labels CSV (path), a list of them (a multi-view project: one
    CSV per view, the same frames row by row; the views' keypoints concatenated view after
    view, as ``MultiviewHeatmapDataset.fusion`` gives them, ``data/datasets.py:1141-1186``), or
    an (N, K, 2) array (NaN unlabelled).
    ``label_rows``: the rows to use (Lightning Pose fits on the training split only).
    """
    def is_path(value):
        return isinstance(value, (str, bytes)) or hasattr(value, '__fspath__')

    if is_path(labels) or (isinstance(labels, (list, tuple)) and labels and
                           all(is_path(f) for f in labels)):
        from posecfg.interop.lp.labels import read_lp_labels
        files = [labels] if is_path(labels) else list(labels)
        reads = [read_lp_labels(str(f), key='labels') for f in files]
        if len({r.num_images for r in reads}) != 1:
            raise ValueError(f'labels: the views\' CSVs {files} have different numbers of rows '
                             f'{[r.num_images for r in reads]}; each row must be one frame')
        keypoints = np.concatenate([r.keypoints for r in reads], axis=1)
        names = tuple(n for r in reads for n in r.keypoint_names)
        source = ', '.join(str(f) for f in files)
    else:
        keypoints, names, source = np.asarray(labels, np.float64), None, 'the given labels'
    if label_rows is not None:
        rows = np.asarray(label_rows, np.int64)
        if rows.size and (rows.min() < -len(keypoints) or rows.max() >= len(keypoints)):
            raise IndexError(f'label_rows {rows.tolist()} out of range for {len(keypoints)} '
                             f'rows of {source}')
        keypoints = keypoints[rows]
        source = f'{source} (rows {len(rows)} of the training split)'
    return keypoints, names, source


class _LPPCALoss(nn.Module):
    """Base of the PCA losses: ``weight · mean of relu(reprojection error - epsilon)`` over the
    keypoints of the frames' rows (pixels). See :func:`fit_lp_pca` for the subspace."""

    kind = ''
    loss_name = ''
    unsupervised_loss = True

    def __init__(self, labels=None, log_weight: float = 0.0,
                 components_to_keep: Union[int, float, None] = 0.95,
                 empirical_epsilon_percentile: float = 99.0, epsilon: Optional[float] = None,
                 empirical_epsilon_multiplier: float = 1.0, label_rows=None,
                 pca: Optional[LPPCA] = None, **fit_args):
        super().__init__()
        if pca is None:
            if labels is None:
                raise ValueError(f'{type(self).__name__} fits its PCA on the training labels: '
                                 f'give labels= (a labels CSV or an (N, K, 2) array) or pca=')
            keypoints, names, source = load_labels(labels, label_rows)
            pca = fit_lp_pca(keypoints, components_to_keep=components_to_keep,
                             empirical_epsilon_percentile=empirical_epsilon_percentile,
                             keypoint_names=names, source=source, **fit_args)
        if pca.kind != self.kind:
            raise ValueError(f'{type(self).__name__} needs a {self.kind} PCA, got {pca.kind}')
        self.pca = pca
        self.log_weight = float(log_weight)
        self.weight = lp_loss_weight(self.log_weight)
        if epsilon is not None:
            self.epsilon = float(epsilon)
        else:
            if math.isnan(pca.epsilon):
                raise ValueError(
                    f'{type(self).__name__}: the empirical epsilon needs training rows with every '
                    f'PCA column labelled, and none of the {pca.num_rows} rows is complete; '
                    f'Lightning Pose would make epsilon and every loss value NaN '
                    f'(lightning-pose#317). Give epsilon= (pixels) or use columns that are '
                    f'labelled together in some frames.')
            self.epsilon = pca.epsilon * float(empirical_epsilon_multiplier)
        self.register_buffer('mean', torch.as_tensor(pca.mean, dtype=torch.float32),
                             persistent=False)
        self.register_buffer('kept', torch.as_tensor(pca.kept, dtype=torch.float32),
                             persistent=False)

    def rows(self, keypoints: Tensor) -> Tensor:
        return format_pca_rows(keypoints, self.pca.columns, self.pca.mirrored_column_matches,
                               self.pca.centering_method)

    def forward(self, keypoints: Tensor, confidences: Optional[Tensor] = None) -> Tensor:
        """keypoints (N, K, 2) pixels (or (S, T, K, 2) sequences; the frame the labels were in)
        → 0-dim tensor. ``confidences`` is accepted and unused (as in Lightning Pose)."""
        keypoints = keypoints.reshape(-1, *keypoints.shape[-2:]).float()
        rows = self.rows(keypoints)
        if rows.shape[-1] != self.mean.shape[0]:
            raise ValueError(f'{type(self).__name__}: rows of {rows.shape[-1]} dimensions; the '
                             f'PCA was fitted on {self.mean.shape[0]}')
        finite = torch.isfinite(rows).all(dim=1)
        if not finite.any():
            return _zero(keypoints)
        errors = reprojection_error(rows[finite], self.mean, self.kept)
        return self.weight * F.relu(errors - self.epsilon).mean()

    def extra_repr(self) -> str:
        return (f'{self.pca.kind}, {self.pca.n_kept} of {len(self.pca.mean)} components, '
                f'epsilon={self.epsilon:.3f} px, weight={self.weight:.3g}')


@MODELS.register_module()
class LPPCASingleviewLoss(_LPPCALoss):
    """Lightning Pose's Pose PCA loss (``losses.pca_singleview``).

    Args:
        labels: the training labels to fit the PCA on: a Lightning Pose labels CSV, or an
            (N, K, 2) array with NaN where unlabelled, in the pixel frame of the keypoints the
            loss will be given.
        label_rows: rows of ``labels`` to use (the training split); None: all.
        log_weight: weight ``1 / (2 exp(log_weight))``.
        components_to_keep: int count, or float explained-variance fraction (default 0.95,
            ``losses/losses.py:435``), None: all.
        empirical_epsilon_percentile: 0-100 (default 99, ``losses/losses.py:436``).
        epsilon: pixels; None: the empirical epsilon × ``empirical_epsilon_multiplier``.
        columns_for_singleview_pca: keypoint indices (None: all).
        centering_method: None, ``'mean'``, ``'median'``.
        pca: an already fitted :class:`LPPCA` instead of ``labels``.
    """

    kind = 'pca_singleview'
    loss_name = 'pca_singleview'
    example_args = dict(labels=_example_poses().tolist(), log_weight=0.0, components_to_keep=2,
                        epsilon=0.0, columns_for_singleview_pca=[0, 1, 2, 3])

    def __init__(self, labels=None, log_weight: float = 0.0,
                 components_to_keep: Union[int, float, None] = 0.95,
                 empirical_epsilon_percentile: float = 99.0, epsilon: Optional[float] = None,
                 empirical_epsilon_multiplier: float = 1.0,
                 columns_for_singleview_pca: Optional[Sequence[int]] = None,
                 centering_method: Optional[str] = None, label_rows=None,
                 pca: Optional[LPPCA] = None):
        super().__init__(labels, log_weight, components_to_keep, empirical_epsilon_percentile,
                         epsilon, empirical_epsilon_multiplier, label_rows, pca,
                         columns=columns_for_singleview_pca, centering_method=centering_method)

    @staticmethod
    def example_inputs():
        """(prediction, zero-loss point): poses (3, 4, 2) on the example's fitted subspace."""
        return (_subspace_poses(LPPCASingleviewLoss),) * 2


@MODELS.register_module()
class LPPCAMultiviewLoss(_LPPCALoss):
    """Lightning Pose's multi-view PCA loss (``losses.pca_multiview``) for mirrored (one-image)
    and multi-view (one CSV per view: ``labels`` the list of CSVs, indices into the V·K
    concatenated keypoints) projects: each matched keypoint's ``(x, y)`` in every view lie near a
    3-dimensional subspace.

    Args:
        mirrored_column_matches: one list of keypoint indices per view (keypoint i of each list
            is the same body part).
        Others as :class:`LPPCASingleviewLoss` (``components_to_keep`` is ignored: 3 are kept).
    """

    kind = 'pca_multiview'
    loss_name = 'pca_multiview'
    example_args = dict(labels=_example_poses(num_keypoints=4).tolist(), log_weight=0.0,
                        epsilon=0.0, components_to_keep=3,
                        mirrored_column_matches=[[0, 1], [2, 3]])

    def __init__(self, labels=None, mirrored_column_matches: Optional[Sequence] = None,
                 log_weight: float = 0.0, components_to_keep: Union[int, float, None] = 3,
                 empirical_epsilon_percentile: float = 99.0, epsilon: Optional[float] = None,
                 empirical_epsilon_multiplier: float = 1.0, label_rows=None,
                 pca: Optional[LPPCA] = None):
        if pca is None and not mirrored_column_matches:
            raise ValueError('LPPCAMultiviewLoss needs mirrored_column_matches (one list of '
                             'keypoint indices per view; losses/losses.py:483-485, '
                             'lightning-pose#161)')
        super().__init__(labels, log_weight, components_to_keep, empirical_epsilon_percentile,
                         epsilon, empirical_epsilon_multiplier, label_rows, pca,
                         mirrored_column_matches=mirrored_column_matches)

    @staticmethod
    def example_inputs():
        """(prediction, zero-loss point): poses (3, 4, 2) on the example's fitted subspace."""
        return (_subspace_poses(LPPCAMultiviewLoss),) * 2


def _subspace_poses(cls) -> Tensor:
    """(3, 4, 2) poses whose PCA rows lie exactly on the subspace of ``cls``'s example."""
    loss = cls(**cls.example_args)
    rows = loss.rows(torch.as_tensor(_example_poses(3, seed=1), dtype=torch.float32))
    on = (rows - loss.mean) @ loss.kept.T @ loss.kept + loss.mean
    if loss.pca.mirrored_column_matches is None:
        return on.reshape(3, 4, 2)
    # rows (N · C, 2V) back to keypoints: row n · C + c holds matched keypoint c of every view
    poses = torch.zeros(3, 4, 2)
    views = on.reshape(3, -1, len(loss.pca.mirrored_column_matches), 2)  # (N, C, V, 2)
    for v, cols in enumerate(loss.pca.mirrored_column_matches):
        poses[:, list(cols)] = views[:, :, v]
    return poses


@MODELS.register_module()
class LPTemporalLoss(nn.Module):
    """Lightning Pose's temporal loss (``losses.temporal``): frame-to-frame moves of each
    keypoint beyond ``epsilon`` pixels.

    The base of the heatmap temporal losses too (:mod:`.lp_temporal_heatmap`): a value per
    consecutive pair of frames and keypoint (:meth:`pair_values`), pairs with a low confidence
    or a non-finite value set to 0, ``relu(value - epsilon)``, the mean, the weight.

    Args:
        log_weight: weight ``1 / (2 exp(log_weight))``.
        epsilon: pixels, a scalar or one value per keypoint.
        prob_threshold: a pair of frames is left out (0) when either frame's confidence of the
            keypoint is below it.
    """

    loss_name = 'temporal'
    unsupervised_loss = True
    example_args = dict(log_weight=0.0, epsilon=0.0, prob_threshold=0.0)
    #: what one keypoint of one frame is: its trailing dimensions
    item_dims, item_shape = 1, '2'

    def __init__(self, log_weight: float = 0.0, epsilon: Union[float, Sequence[float]] = 0.0,
                 prob_threshold: float = 0.0):
        super().__init__()
        self.log_weight = float(log_weight)
        self.weight = lp_loss_weight(self.log_weight)
        epsilon = torch.as_tensor(epsilon, dtype=torch.float32)
        if epsilon.dim() > 1 or (epsilon < 0).any():
            raise ValueError(f'{type(self).__name__}: epsilon must be a value >= 0 or a list of '
                             f'them (one per keypoint), got {epsilon.tolist()}')
        self.register_buffer('epsilon', epsilon, persistent=False)
        self.prob_threshold = float(prob_threshold)

    @staticmethod
    def example_inputs():
        """(prediction, zero-loss point): a still sequence (6 frames, 3 keypoints)."""
        still = torch.tensor([[10.0, 20.0], [30.0, 5.0], [44.0, 40.0]]).expand(6, 3, 2).clone()
        return still, still

    def pair_values(self, first: Tensor, second: Tensor) -> Tensor:
        """Keypoints (S, T-1, K, 2) of frames t and t+1 → (S, T-1, K) moves ``‖p_t+1 - p_t‖``
        (pixels; NaN where a keypoint is not finite, with no NaN in the gradient)."""
        step = second - first
        finite = torch.isfinite(step).all(-1)
        moves = safe_norm(torch.where(finite[..., None], step, 0.0))
        return torch.where(finite, moves, moves.new_tensor(float('nan')))

    def forward(self, predictions: Tensor, confidences: Optional[Tensor] = None) -> Tensor:
        """predictions (T, K, 2) pixels of consecutive frames, or (S, T, K, 2) sequences;
        confidences (T, K) / (S, T, K) or None (no pair left out) → 0-dim tensor."""
        name, frame_dims = type(self).__name__, 2 + self.item_dims
        if predictions.dim() == frame_dims:
            predictions = predictions[None]
            confidences = None if confidences is None else confidences[None]
        if predictions.dim() != frame_dims + 1 or (self.item_shape == '2' and
                                                   predictions.shape[-1] != 2):
            raise ValueError(f'{name}: predictions must be (T, K, {self.item_shape}) or (S, T, '
                             f'K, {self.item_shape}), got {tuple(predictions.shape)}')
        num_frames, num_keypoints = predictions.shape[1:3]
        if num_frames < 2:
            raise ValueError(f'{name} needs sequences of at least 2 frames, got '
                             f'{num_frames} (sequence_length)')
        if self.epsilon.dim() == 1 and len(self.epsilon) != num_keypoints:
            raise ValueError(f'{name}: {len(self.epsilon)} epsilon values for '
                             f'{num_keypoints} keypoints')
        predictions = predictions.float()
        values = self.pair_values(predictions[:, :-1], predictions[:, 1:])  # (S, T-1, K)
        keep = torch.isfinite(values)
        if confidences is not None:
            confident = confidences.reshape(predictions.shape[:3]) >= self.prob_threshold
            keep &= confident[:, 1:] & confident[:, :-1]
        values = torch.where(keep, values, values.new_zeros(()))
        return self.weight * F.relu(values - self.epsilon).mean()
