"""Lightning Pose's heatmap temporal losses (``temporal_heatmap_mse`` / ``temporal_heatmap_kl``)
against values computed by hand, and the heads handing them their heatmaps.

Oracle (lightning_pose/losses/losses.py:706-855, ``TemporalHeatmapLoss``): per consecutive pair
and keypoint, MSE = mean over pixels of (p_t - p_t+1)² (``F.mse_loss``), KL = kornia
``kl_div_loss_2d(p_t + 1e-10, p_t+1 + 1e-10)`` = Σ q log(q / p) with q the second frame; pairs
with a confidence below ``prob_threshold`` in either frame set to 0 (still counted), then
``relu(v - ε)``, mean, times ``1 / (2 exp(log_weight))``.
"""
import math

import pytest
import torch

from posecfg.models.heads.lp_heads import LPHeatmapHead
from posecfg.models.heads.lp_mhcrnn_head import LPHeatmapMHCRNNHead
from posecfg.models.losses import LPTemporalHeatmapKLLoss, LPTemporalHeatmapMSELoss
from posecfg.registry import MODELS

pytestmark = pytest.mark.usefixtures('one_thread')

# two frames, one keypoint, 2×2 maps
FLAT = [0.25, 0.25, 0.25, 0.25]
PEAKED = [0.7, 0.1, 0.1, 0.1]


def maps(*frames):
    """(T, 1, 2, 2) maps from flat lists of 4 probabilities per frame."""
    return torch.tensor(frames, dtype=torch.float32).reshape(len(frames), 1, 2, 2)


def test_mse_by_hand():
    # (0.45² + 3 · 0.15²) / 4 = 0.27 / 4 = 0.0675, times 1/2 (log_weight 0)
    loss = LPTemporalHeatmapMSELoss(log_weight=0.0)
    assert float(loss(maps(FLAT, PEAKED))) == pytest.approx(0.5 * 0.0675, rel=1e-6)
    # log_weight 1: weight 1 / (2e)
    loss = LPTemporalHeatmapMSELoss(log_weight=1.0)
    assert float(loss(maps(FLAT, PEAKED))) == pytest.approx(0.0675 / (2 * math.e), rel=1e-6)


def test_kl_by_hand_is_kl_of_the_later_frame_from_the_earlier():
    # KL(PEAKED ‖ FLAT) = 0.7 ln(0.7/0.25) + 3 · 0.1 ln(0.1/0.25)
    want = 0.7 * math.log(2.8) + 0.3 * math.log(0.4)
    got = LPTemporalHeatmapKLLoss(log_weight=0.0)(maps(FLAT, PEAKED))
    assert float(got) == pytest.approx(0.5 * want, rel=1e-5)
    # the other order is a different number: KL(FLAT ‖ PEAKED)
    other = 0.25 * math.log(0.25 / 0.7) + 0.75 * math.log(2.5)
    assert float(LPTemporalHeatmapKLLoss()(maps(PEAKED, FLAT))) == pytest.approx(0.5 * other,
                                                                                   rel=1e-5)


def test_low_confidence_pairs_are_zeroed_and_still_counted():
    # 3 frames FLAT, PEAKED, PEAKED: pair 0 costs 0.0675, pair 1 costs 0
    sequence = maps(FLAT, PEAKED, PEAKED)
    loss = LPTemporalHeatmapMSELoss(prob_threshold=0.5)
    confident = torch.tensor([[0.9], [0.9], [0.9]])
    assert float(loss(sequence, confident)) == pytest.approx(0.5 * 0.0675 / 2, rel=1e-6)
    # frame 0 below the threshold: pair 0 set to 0, the mean still over 2 pairs
    unsure = torch.tensor([[0.1], [0.9], [0.9]])
    assert float(loss(sequence, unsure)) == 0.0
    # no confidences: nothing is left out
    assert float(loss(sequence)) == pytest.approx(0.5 * 0.0675 / 2, rel=1e-6)


@pytest.mark.parametrize('loss_type', [LPTemporalHeatmapMSELoss, LPTemporalHeatmapKLLoss])
def test_a_nan_map_leaves_its_pairs_out_with_a_finite_gradient(loss_type):
    # 3 frames FLAT, PEAKED, PEAKED; one NaN pixel in frame 0 leaves pair 0 out (counted as 0)
    sequence = maps(FLAT, PEAKED, PEAKED)
    sequence[0, 0, 0, 0] = float('nan')
    sequence.requires_grad_(True)
    loss = loss_type()(sequence)
    assert loss.item() == 0.0  # pair 1 costs 0 too
    loss.backward()
    assert torch.isfinite(sequence.grad).all()


def test_epsilon_per_keypoint_and_sequences_averaged_together():
    # 2 keypoints: keypoint 0 moves FLAT → PEAKED (0.0675), keypoint 1 PEAKED → FLAT (0.0675)
    one = torch.tensor([[FLAT, PEAKED], [PEAKED, FLAT]]).reshape(2, 2, 2, 2)
    loss = LPTemporalHeatmapMSELoss(epsilon=[0.05, 0.0])
    # relu(0.0675 - 0.05) and relu(0.0675 - 0) over 2 keypoints
    want = 0.5 * ((0.0675 - 0.05) + 0.0675) / 2
    assert float(loss(one)) == pytest.approx(want, rel=1e-5)
    # (S, T, K, h, w): a still second sequence halves the mean
    still = one[:1].expand(2, 2, 2, 2)
    assert float(loss(torch.stack([one, still]))) == pytest.approx(want / 2, rel=1e-5)
    with pytest.raises(ValueError, match='3 epsilon values for 2 keypoints'):
        LPTemporalHeatmapMSELoss(epsilon=[0.1, 0.1, 0.1])(one)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match='at least 2 frames'):
        LPTemporalHeatmapKLLoss()(maps(FLAT))
    with pytest.raises(ValueError, match=r"\(T, K, h, w\)"):
        LPTemporalHeatmapKLLoss()(torch.zeros(3, 2, 2))
    with pytest.raises(ValueError, match='epsilon'):
        LPTemporalHeatmapKLLoss(epsilon=-1.0)


def test_registered_by_lightning_pose_names():
    for name, cls in (('temporal_heatmap_mse', LPTemporalHeatmapMSELoss),
                      ('temporal_heatmap_kl', LPTemporalHeatmapKLLoss)):
        loss = MODELS.build(dict(type=cls.__name__))
        assert loss.loss_name == name and loss.unsupervised_input == 'heatmaps'


# ------------------------------------------------------------------------------- in the heads
def unlabeled_batch(frames: int, sequences: int = 1):
    from posecfg.apis.video.geometry import ResizeMap
    resize = ResizeMap(source_size=(192, 128), input_size=(96, 64))
    return dict(img=torch.zeros(frames * sequences, 3, 64, 96), sequence_length=frames,
                warp_mat=torch.eye(2, 3)[None].repeat(sequences, 1, 1),
                img_metas=[dict(resize=resize)] * (frames * sequences))


def test_heatmap_head_gives_the_loss_its_sequences_of_maps():
    torch.manual_seed(0)
    head = LPHeatmapHead(in_channels=16, out_channels=3, unsupervised_losses=dict(
        temporal_heatmap_mse=dict(type='LPTemporalHeatmapMSELoss'),
        temporal_heatmap_kl=dict(type='LPTemporalHeatmapKLLoss')))
    feats = torch.rand(2 * 4, 16, 2, 3)  # 2 sequences of 4 frames
    losses = head.loss_unlabeled((feats,), unlabeled_batch(4, 2))
    out = head((feats,)).reshape(2, 4, 3, *head((feats,)).shape[-2:])
    diff = (out[:, 1:] - out[:, :-1]).square().flatten(3).mean(-1)  # (2, 3, K)
    torch.testing.assert_close(losses['temporal_heatmap_mse_loss'], 0.5 * diff.mean())
    p, q = out[:, :-1] + 1e-10, out[:, 1:] + 1e-10
    kl = (q * (q.log() - p.log())).flatten(3).sum(-1)
    torch.testing.assert_close(losses['temporal_heatmap_kl_loss'], 0.5 * kl.mean())
    losses['temporal_heatmap_kl_loss'].backward()
    assert head.upsampling_layers[1].weight.grad.abs().sum() > 0


def test_context_head_measures_the_context_head_maps_first():
    """Lightning Pose concatenates [crnn; sf] along the frames (heatmap_tracker_mhcrnn.py:
    333-337): the junction pair is (last context map, first static map)."""
    from tests.test_models.test_lp_mhcrnn import lp_context_windows
    torch.manual_seed(0)
    head = LPHeatmapMHCRNNHead(in_channels=16, out_channels=3, unsupervised_losses=dict(
        temporal_heatmap_mse=dict(type='LPTemporalHeatmapMSELoss')))
    frames = torch.rand(7, 16, 2, 3)  # predicts frames 2…4 with each head
    losses = head.loss_unlabeled((frames,), unlabeled_batch(7))
    out = head((lp_context_windows(frames),))
    run = torch.cat([out['mf'], out['sf']])  # (6, K, h, w)
    want = 0.5 * (run[1:] - run[:-1]).square().flatten(2).mean(-1).mean()
    torch.testing.assert_close(losses['temporal_heatmap_mse_loss'], want)


def test_a_head_without_heatmaps_refuses_heatmap_losses():
    from posecfg.models.heads.lp_heads import unsupervised_loss_values
    losses = torch.nn.ModuleDict(dict(t=LPTemporalHeatmapMSELoss()))
    with pytest.raises(ValueError, match='needs? a heatmap model'):
        unsupervised_loss_values(losses, torch.zeros(1, 3, 2, 2), None)
