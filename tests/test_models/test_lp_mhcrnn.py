"""Lightning Pose 2.4.3's context model (``heatmap_mhcrnn``) in posecfg: the head's two branches,
the choice of the more confident one, windows from runs of frames, the supervised and
unsupervised losses as Lightning Pose combines them, and the rule at a video's edges.

Oracles are Lightning Pose's code paths written out here:
``models/heatmap_tracker_mhcrnn.py:205-229`` (predict_step: ``mf_conf_gt = torch.gt(conf_mf,
conf_sf)``, masked assignment), ``:158-178`` (loss inputs ``cat([sf, mf])``, targets repeated),
``:302-337`` (unlabeled: keypoints of both heads concatenated, context head first),
``models/base.py:159-199`` (``get_context_from_sequence``) and ``:360-386`` (``[2:-2]``),
``models/heads/heatmap_mhcrnn.py:269-316`` (the CRNN recurrence),
``utils/predictions.py:147-185`` (``fix_context_preds_confs``),
``losses/losses.py:293-336`` (heatmap MSE), ``:576-704`` (temporal).
"""
import numpy as np
import pytest
import torch

from posecfg.apis.video_inference.context_edges import ContextEdgeStream, lp_context_edges
from posecfg.datasets.unlabeled_video import undo_warp  # noqa: F401  (the head's import)
from posecfg.models.heads.lp_mhcrnn_head import (LPHeatmapMHCRNNHead, UpsamplingCRNN,
                                                 choose_confident)
from posecfg.models.utils.frame_windows import windows_from_sequences
from posecfg.registry import MODELS

pytestmark = pytest.mark.usefixtures('one_thread')


def lp_predict_choice(kp_sf, conf_sf, kp_mf, conf_mf):
    """heatmap_tracker_mhcrnn.py:209-220 on (B, 2K) keypoints and (B, K) confidences."""
    kp_sf, conf_sf = kp_sf.clone().reshape(kp_sf.shape[0], -1, 2), conf_sf.clone()
    kp_mf = kp_mf.reshape(kp_mf.shape[0], -1, 2)
    mf_conf_gt = torch.gt(conf_mf, conf_sf)
    kp_sf[mf_conf_gt] = kp_mf[mf_conf_gt]
    conf_sf[mf_conf_gt] = conf_mf[mf_conf_gt]
    return kp_sf, conf_sf


def test_the_more_confident_head_per_keypoint():
    torch.manual_seed(0)
    kp_sf, kp_mf = torch.rand(6, 8) * 100, torch.rand(6, 8) * 100
    conf_sf, conf_mf = torch.rand(6, 4), torch.rand(6, 4)
    conf_mf[0] = conf_sf[0]  # ties: the static head
    want_kp, want_conf = lp_predict_choice(kp_sf, conf_sf, kp_mf, conf_mf)
    got_kp, got_conf = choose_confident(kp_sf.reshape(6, 4, 2), conf_sf,
                                        kp_mf.reshape(6, 4, 2), conf_mf)
    assert torch.equal(got_kp, want_kp) and torch.equal(got_conf, want_conf)
    np_kp, np_conf = choose_confident(kp_sf.reshape(6, 4, 2).numpy(), conf_sf.numpy(),
                                      kp_mf.reshape(6, 4, 2).numpy(), conf_mf.numpy())
    np.testing.assert_array_equal(np_kp, want_kp.numpy())
    np.testing.assert_array_equal(np_conf, want_conf.numpy())
    assert torch.equal(got_kp[0], kp_sf.reshape(6, 4, 2)[0])


def peaked(shape, peaks, sharpness):
    """Softmaxed maps (B, K, H, W) with a bump at each (x, y) of ``peaks`` (B, K, 2); sharper
    bumps decode with higher confidence."""
    b, k, h, w = shape
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij')
    logits = -((xs - peaks[..., 0, None, None]) ** 2 + (ys - peaks[..., 1, None, None]) ** 2)
    logits = logits * sharpness[..., None, None]
    return torch.softmax(logits.reshape(b, k, -1).float(), -1).reshape(shape)


def test_decode_takes_each_keypoint_from_the_more_confident_head():
    head = LPHeatmapMHCRNNHead(in_channels=16, out_channels=3)
    sf_at = torch.tensor([[[3.0, 4.0], [10.0, 5.0], [6.0, 12.0]]])
    mf_at = torch.tensor([[[12.0, 2.0], [2.0, 9.0], [13.0, 13.0]]])
    # keypoint 1: the context head's bump is sharp (confident), the others blunt
    sf = peaked((1, 3, 16, 16), sf_at, torch.tensor([[2.0, 0.05, 2.0]]))
    mf = peaked((1, 3, 16, 16), mf_at, torch.tensor([[0.05, 2.0, 0.05]]))
    (pred,) = head.decode(dict(sf=sf, mf=mf), (64, 64))
    codec = head.codec.sized((64, 64))
    k_sf, s_sf = codec.decode(sf)
    k_mf, s_mf = codec.decode(mf)
    assert s_mf[0, 0, 1] > s_sf[0, 0, 1] and (s_sf[0, 0, [0, 2]] > s_mf[0, 0, [0, 2]]).all()
    np.testing.assert_array_equal(pred['keypoints'][0, [0, 2]], k_sf[0, 0, [0, 2]])
    np.testing.assert_array_equal(pred['keypoints'][0, 1], k_mf[0, 0, 1])
    np.testing.assert_array_equal(pred['keypoint_scores'][0],
                                  [s_sf[0, 0, 0], s_mf[0, 0, 1], s_sf[0, 0, 2]])


def lp_context_windows(seq, context_length=5):
    """models/base.py:159-199 then [2:-2] (l. 383-386): pad with two copies of each end."""
    pad_start = torch.tile(seq[0].unsqueeze(0), (2, 1, 1, 1))
    pad_end = torch.tile(seq[-1].unsqueeze(0), (2, 1, 1, 1))
    padded = torch.cat((pad_start, seq, pad_end), dim=0)
    out = torch.zeros((len(seq), context_length, *seq.shape[1:]))
    for i in range(len(seq)):
        out[i] = padded[i:i + context_length]
    return out[2:-2]


@pytest.mark.parametrize('frames', [5, 6, 9])
def test_windows_of_a_run_of_frames(frames):
    torch.manual_seed(frames)
    seqs = [torch.rand(frames, 4, 2, 3) for _ in range(2)]
    got = windows_from_sequences(torch.cat(seqs), frames, 2)
    want = torch.cat([lp_context_windows(s) for s in seqs])
    assert got.shape == (2 * (frames - 4), 5, 4, 2, 3) and torch.equal(got, want)
    with pytest.raises(ValueError, match='at least 5 frames'):
        windows_from_sequences(torch.rand(4, 4, 2, 3), 4, 2)


def test_crnn_recurrence_and_shapes():
    """heatmap_mhcrnn.py:283-316: pixel shuffle + W_pre per frame, forwards over frames 0…4,
    backwards over 4…0, average, spatial softmax; maps 8× the stride-32 features."""
    torch.manual_seed(0)
    crnn = UpsamplingCRNN(16, 3, upsampling_factor=2)
    assert crnn.H_f[0].groups == 3 and crnn.H_f[0].out_channels == 48
    assert all(float(m.bias.detach().abs().sum()) == 0 for m in crnn.modules() if hasattr(m, 'bias')
               and m.bias is not None)
    feats = torch.rand(2, 5, 16, 2, 3)
    out = crnn(feats)
    assert out.shape == (2, 3, 16, 24)
    x = torch.stack([crnn.W_pre(crnn.pixel_shuffle(feats[:, t])) for t in range(5)])
    x_f = crnn.W_f(x[0])
    for frame in x[1:]:
        x_f = crnn.W_f(frame) + crnn.H_f(x_f)
    x_b = crnn.W_b(x[4])
    for frame in x.flip(0)[1:]:
        x_b = crnn.W_b(frame) + crnn.H_b(x_b)
    want = torch.softmax(((x_f + x_b) / 2).reshape(2, 3, -1), -1).reshape(2, 3, 16, 24)
    torch.testing.assert_close(out, want)
    # a stride-16 backbone (ViT): no W_pre, the same 1/4 maps
    vit = UpsamplingCRNN(16, 3, upsampling_factor=1)
    assert not hasattr(vit, 'W_pre') and vit(torch.rand(1, 5, 16, 4, 6)).shape == (1, 3, 16, 24)


def test_supervised_loss_is_lightning_pose_concatenation():
    """Both heads against the same targets in one heatmap MSE: 0.5 · mean over the kept maps of
    both of (t - p)² · H · W (unlabelled keypoint 2 of sample 1 has no target and is dropped)."""
    torch.manual_seed(0)
    head = LPHeatmapMHCRNNHead(in_channels=16, out_channels=3)
    feats = (torch.rand(2, 5, 16, 2, 3),)
    keypoints = [np.array([[[10.0, 20.0], [40.0, 30.0], [70.0, 50.0]]], np.float32),
                 np.array([[[30.0, 10.0], [60.0, 40.0], [0.0, 0.0]]], np.float32)]
    visible = [np.ones((1, 3), np.float32), np.array([[1, 1, 0]], np.float32)]
    batch = dict(img=torch.zeros(2, 5, 3, 64, 96), keypoints=keypoints,
                 keypoints_visible=visible, img_metas=[{}, {}])
    losses = head.loss(feats, batch)
    out = head(feats)
    codec = head.codec.sized((96, 64))
    targets = torch.from_numpy(np.stack([codec.encode(k, v)['heatmaps']
                                         for k, v in zip(keypoints, visible)]))
    squares = []
    for pred in (out['sf'], out['mf']):
        for b in range(2):
            for k in range(3):
                if targets[b, k].sum() > 0:
                    squares.append((targets[b, k] - pred[b, k]) ** 2 * 16 * 24)
    want = 0.5 * torch.stack(squares).mean()
    torch.testing.assert_close(losses['heatmap_mse_loss'], want)
    assert set(losses) == {'heatmap_mse_loss', 'supervised_rmse'}


def test_unlabeled_losses_on_both_heads_concatenated_along_the_frames():
    """A sequence of 7 frames predicts its frames 2…4; the temporal loss (epsilon 0, no
    threshold) sees [mf of 2…4, sf of 2…4] as one run, Lightning Pose's concatenation
    (``torch.cat([crnn, sf])``, heatmap_tracker_mhcrnn.py:333-337)."""
    from posecfg.apis.video.geometry import ResizeMap
    torch.manual_seed(0)
    head = LPHeatmapMHCRNNHead(in_channels=16, out_channels=3, unsupervised_losses=dict(
        temporal=dict(type='LPTemporalLoss', epsilon=0.0, prob_threshold=0.0, log_weight=0.0)))
    frames = torch.rand(7, 16, 2, 3)
    resize = ResizeMap(source_size=(192, 128), input_size=(96, 64))
    batch = dict(img=torch.zeros(7, 3, 64, 96), sequence_length=7,
                 warp_mat=torch.eye(2, 3)[None], img_metas=[dict(resize=resize)] * 7)
    losses = head.loss_unlabeled((frames,), batch)
    out = head((lp_context_windows(frames),))
    codec = head.codec.sized((96, 64))
    points = torch.cat([codec.decode_torch(out['mf'])[0], codec.decode_torch(out['sf'])[0]])
    points = points * 2.0  # 96×64 input → 192×128 frame
    steps = (points[1:] - points[:-1]).norm(dim=-1)  # 5 steps, one across the junction
    torch.testing.assert_close(losses['temporal_loss'], 0.5 * steps.mean(),
                               rtol=1e-4, atol=1e-4)


def lp_fix_context(stacked, frame_count):
    """utils/predictions.py:147-185 (heatmap_mhcrnn: confidences replicated, not zeroed), on
    rows for frames 2, 3, … after the rows beyond the video were discarded."""
    preds_1 = torch.tile(stacked[0], (2, 1))
    combined = torch.vstack([preds_1, stacked[0:-2]])
    if combined.shape[0] == frame_count:
        combined[-2:, :] = combined[-3, :]
    return combined


@pytest.mark.parametrize('frames', [5, 6, 11])
def test_video_edges_follow_lightning_pose(frames):
    torch.manual_seed(frames)
    truth = torch.rand(frames + 2, 6)  # LP's rows: frame t's prediction at row t - 2
    want = lp_fix_context(truth[2:frames + 2], frames)
    ours = truth[:frames].clone().numpy()  # posecfg predicts every frame, then the rule
    lp_context_edges(ours, np.ones(frames, bool), 2)
    np.testing.assert_array_equal(ours[2:frames - 2], truth[2:frames - 2].numpy())
    np.testing.assert_array_equal(ours, want.numpy())
    np.testing.assert_array_equal(ours[[0, 1]], truth[[2, 2]].numpy())
    np.testing.assert_array_equal(ours[[-2, -1]], truth[[frames - 3] * 2].numpy())
    # the labeled video's stream gives the same rows, in order
    emitted = []
    stream = ContextEdgeStream(2, lambda frame, row: emitted.append((frame, row)))
    for t in range(frames):
        stream.push(t, truth[t].numpy())
    stream.finish()
    assert [f for f, _ in emitted] == list(range(frames))
    np.testing.assert_array_equal(np.stack([r for _, r in emitted]), ours)


def test_short_videos_and_lost_frames_keep_their_rows():
    rows = np.arange(8, dtype=float)[:, None]
    short = rows[:4].copy()
    lp_context_edges(short, np.ones(4, bool), 2)  # under 5 frames: Lightning Pose cannot
    np.testing.assert_array_equal(short, rows[:4])
    decoded = np.array([False, True, True, True, True, True, True, False])
    fixed = lp_context_edges(rows.copy(), decoded, 2)
    np.testing.assert_array_equal(fixed[:, 0], [0, 3, 3, 3, 4, 4, 4, 7])


def test_estimator_windows_and_runs_of_frames_agree():
    """``BottomUp`` on windows (B, 5, 3, h, w) and on a run of B + 4 frames
    (``frame_context=2``): the same predictions; the loss mode trains on windows."""
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='BottomUp',
        backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8,
                      out_indices=(3,)),
        heads=dict(bodypart=dict(type='LPHeatmapMHCRNNHead', in_channels=64, out_channels=2))))
    model.init_weights()
    model.eval()
    run = torch.randn(7, 3, 64, 64)
    padded = torch.cat([run[:1], run[:1], run, run[-1:], run[-1:]])
    windows = torch.stack([padded[i:i + 5] for i in range(7)])  # every frame, edge-padded
    metas = [dict(image_file='v.mp4', image_id=i) for i in range(7)]
    with torch.no_grad():
        whole = model(windows, mode='predict', img_metas=metas)
        centres = model(run, mode='predict', img_metas=metas[2:5], frame_context=2)
    for a, b in zip(whole[2:5], centres):
        np.testing.assert_allclose(a['keypoints'], b['keypoints'], rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(a['keypoint_scores'], b['keypoint_scores'], atol=1e-6)
    model.train()
    losses = model(windows[:2], mode='loss', img_metas=metas[:2],
                   keypoints=[np.array([[[10.0, 20.0], [30.0, 40.0]]], np.float32)] * 2,
                   keypoints_visible=[np.ones((1, 2), np.float32)] * 2)
    losses['heatmap_mse_loss'].backward()
    assert all(p.grad is not None for p in model.bodypart.parameters())


def test_pca_loss_averages_both_heads_predictions():
    """pca_singleview on [sf; mf]: the mean over all rows of both heads' frames, i.e. the mean
    of the loss on each head's keypoints (Lightning Pose's concatenation, losses.py:426-573)."""
    from posecfg.apis.video.geometry import ResizeMap
    from posecfg.models.losses.lp_unsupervised import _example_poses
    torch.manual_seed(0)
    pca = dict(type='LPPCASingleviewLoss', labels=_example_poses(40, 4) * 3, log_weight=0.0,
               components_to_keep=2, epsilon=0.0)
    head = LPHeatmapMHCRNNHead(in_channels=16, out_channels=4,
                               unsupervised_losses=dict(pca_singleview=pca))
    frames = torch.rand(2 * 8, 16, 2, 3)  # two sequences of 8 frames: 4 predicted each
    resize = ResizeMap(source_size=(96, 64), input_size=(96, 64))
    batch = dict(img=torch.zeros(16, 3, 64, 96), sequence_length=8,
                 warp_mat=torch.eye(2, 3)[None].repeat(2, 1, 1),
                 img_metas=[dict(resize=resize)] * 16)
    losses = head.loss_unlabeled((frames,), batch)
    out = head((windows_from_sequences(frames, 8, 2),))
    codec = head.codec.sized((96, 64))
    loss = head.unsupervised_losses['pca_singleview']
    per_head = [loss(codec.decode_torch(out[name])[0]) for name in ('sf', 'mf')]
    torch.testing.assert_close(losses['pca_singleview_loss'], (per_head[0] + per_head[1]) / 2,
                               rtol=1e-4, atol=1e-4)
    assert losses['pca_singleview_loss'] > 0
