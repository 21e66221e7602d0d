"""``pca_multiview`` across the views of a Lightning Pose multi-view project (one CSV per view),
against hand-computed values, and the head joining the views of unlabeled sequences.

Facts (lightning-pose 2.4.3): ``losses/factory.py:153-176`` a flat ``mirrored_column_matches``
[i, …] stands for ``v·K + i`` in view v; ``data/datasets.py:1141-1186`` the labels the PCA is
fitted on are the views' keypoints concatenated view after view; ``utils/pca.py:759-792`` rows
are (frame, keypoint) pairs holding (x, y) of each view; ``losses/losses.py:426-573`` the loss is
``weight · mean(relu(‖x − reprojection‖ − ε))``; ``models/heatmap_tracker.py:107-131`` and
``data/utils.py:196-235`` unlabeled multi-view frames give (seq, V·K) keypoints, each view's
augmentation undone on its own keypoints.
"""
import math

import numpy as np
import pytest
import torch

from posecfg.datasets.unlabeled_multiview_video import multiview_sequence_collate
from posecfg.interop.lp.multiview import expand_mirrored_column_matches
from posecfg.registry import MODELS
from tests.test_datasets.lp_two_view_rig import (VIEWS, mirror_mouse_labels, view_keypoints,
                                                 write_two_view_rig)

pytestmark = pytest.mark.usefixtures('one_thread')


def test_pca_multiview_on_two_view_csvs_matches_a_hand_computed_value(tmp_path):
    rig = write_two_view_rig(tmp_path / 'rig', rows=range(30))
    csvs = [str(rig / f'CollectedData_{v}.csv') for v in VIEWS]
    train = list(range(0, 30, 2))
    matches = expand_mirrored_column_matches([0, 1, 2, 3, 6], 2, 7)
    assert matches == [[0, 1, 2, 3, 6], [7, 8, 9, 10, 13]]
    loss = MODELS.build(dict(type='LPPCAMultiviewLoss', labels=csvs, label_rows=train,
                             mirrored_column_matches=matches, epsilon=2.0, log_weight=1.0))
    # the oracle: training labels of both views, rows (frame, keypoint) = (x0, y0, x1, y1)
    labels = mirror_mouse_labels().iloc[:30]
    both = np.concatenate([view_keypoints(labels, v) for v in VIEWS], axis=1)  # (30, 14, 2)
    rows = np.concatenate([both[train][:, m] for m in matches], axis=2).reshape(-1, 4)
    mean = np.nanmean(rows, axis=0)
    cov = np.ma.cov(np.ma.masked_invalid(rows), rowvar=False).filled(np.nan)
    values, vectors = np.linalg.eigh(cov)
    kept = vectors[:, np.argsort(values)[::-1][:3]].T
    np.testing.assert_allclose(loss.mean.numpy(), mean, rtol=1e-6)
    # predictions: the labels of frames 1 and 3, the top view's nose moved by (30, -40) px
    pred = both[[1, 3]].copy()
    pred[0, 6] += [30.0, -40.0]
    pred_rows = np.concatenate([pred[:, m] for m in matches], axis=2).reshape(-1, 4)
    complete = np.isfinite(pred_rows).all(1)
    diff = pred_rows[complete] - ((pred_rows[complete] - mean) @ kept.T @ kept + mean)
    errors = np.linalg.norm(diff.reshape(-1, 2, 2), axis=-1)
    weight = 1 / (2 * math.exp(1.0))
    expected = weight * np.maximum(errors - 2.0, 0).mean()
    value = loss(torch.as_tensor(pred, dtype=torch.float32))
    assert float(value) == pytest.approx(expected, rel=1e-4)
    assert float(value) > 0


class Recorder(torch.nn.Module):
    """An unsupervised loss that keeps what it is given."""

    def forward(self, keypoints, scores):
        self.keypoints, self.scores = keypoints.detach(), scores.detach()
        return keypoints.sum() * 0


class MapRecorder(Recorder):
    """An unsupervised loss on heatmaps (as ``temporal_heatmap_*``) that keeps them."""

    unsupervised_input = 'heatmaps'


def test_head_joins_the_views_of_unlabeled_sequences():
    """U = 2 samples of V = 2 views, S = 3 frames: the loss sees (2, 3, 2·K, 2) keypoints (and a
    heatmap loss (2, 3, 2·K, h, w) maps), frame
    s of sample u holding view 0's then view 1's keypoints, each view's augmentation undone with
    its own warp and resized back with its own map."""
    from posecfg.apis.video.geometry import ResizeMap
    from posecfg.datasets.unlabeled_video import undo_warp
    torch.manual_seed(0)
    k, s, views = 3, 3, 2
    head = MODELS.build(dict(type='LPHeatmapHead', in_channels=16, out_channels=k,
                             downsample_factor=2))
    head.unsupervised_losses['record'] = Recorder()
    head.unsupervised_losses['maps'] = MapRecorder()
    sizes = {0: (40, 20), 1: (40, 30)}  # each view's video (w, h); inputs 32 x 16
    samples = []
    for u in range(2):
        metas = []
        for v in range(views):
            warp = np.array([[1.0, 0, 2.0 * (v + 1)], [0, 1.0, -1.0 * u]], np.float32)
            metas.append(dict(warp_mat=warp, start=3 * u, view=v,
                              resize=ResizeMap(source_size=sizes[v], input_size=(32, 16))))
        samples.append(dict(img=torch.zeros(views, s, 3, 16, 32, dtype=torch.uint8),
                            img_metas=dict(views=metas)))
    batch = multiview_sequence_collate(samples)
    feats = torch.randn(2 * views * s, 16, 1, 1)
    batch['img'] = torch.zeros(2 * views * s, 3, 16, 32)
    head.loss_unlabeled(feats, batch)
    got = head.unsupervised_losses['record'].keypoints
    assert got.shape == (2, s, views * k, 2)
    # the oracle, sequence by sequence: (u, v) is sequence u·V + v of the collated batch
    outputs = head(feats)
    codec = head.codec.sized((32, 16), outputs.shape[:1:-1])
    decoded, scores = codec.decode_torch(outputs, differentiable=True)
    decoded = decoded.reshape(2 * views, s, k, 2)
    for u in range(2):
        for v in range(views):
            meta = samples[u]['img_metas']['views'][v]
            seq = undo_warp(decoded[u * views + v][None],
                            torch.as_tensor(meta['warp_mat'])[None, None])[0]
            seq = seq * torch.tensor(meta['resize'].scale) + torch.tensor(meta['resize'].offset)
            torch.testing.assert_close(got[u, :, v * k:(v + 1) * k], seq.detach(),
                                       rtol=1e-5, atol=1e-4)
            torch.testing.assert_close(
                head.unsupervised_losses['record'].scores[u, :, v * k:(v + 1) * k],
                scores.reshape(2 * views, s, k)[u * views + v].detach())
            # heatmaps joined alike, as the model outputs them (Lightning Pose's
            # (batch, V·K, h, w), heatmap_tracker.py:118-127)
            torch.testing.assert_close(
                head.unsupervised_losses['maps'].keypoints[u, :, v * k:(v + 1) * k],
                outputs.reshape(2 * views, s, k, *outputs.shape[-2:])[u * views + v].detach())
