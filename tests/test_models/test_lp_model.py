"""Lightning Pose 2.4.3's heatmap codec, losses and heads (sources: lightning-pose 2.4.3 wheel,
``lightning_pose/data/heatmaps.py:11-142``, ``models/heads/heatmap.py:20-216``,
``losses/losses.py:229-997``), checked against formulas written out here."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapper

from posecfg.codecs import LPHeatmap
from posecfg.registry import MODELS


def test_targets_are_hand_computed_gaussians_and_uniform_or_zero_maps():
    codec = LPHeatmap(input_size=(32, 16), downsample_factor=1, sigma=1.25,
                      uniform_heatmaps_for_nan_keypoints=True)
    kp = np.array([[[10.0, 6.0], [0, 0], [40.0, 3.0]]])  # labelled, unlabelled, outside image
    out = codec.encode(kp, np.array([[1, 0, 1]], np.float32))
    maps = out['heatmaps']
    assert maps.shape == (3, 8, 16)
    # LP: cell = x · W_map / w = (5, 3); exp(-d²/(2σ²)) normalised to sum 1
    g = np.exp(-((np.arange(16)[None] - 5.0) ** 2 + (np.arange(8)[:, None] - 3.0) ** 2)
               / (2 * 1.25 ** 2))
    np.testing.assert_allclose(maps[0], g / g.sum(), rtol=1e-6)
    np.testing.assert_allclose(maps[1], 1 / (8 * 16))  # NaN keypoint: uniform
    assert (maps[2] == 0).all()  # moved out of the image: zero map, no loss
    np.testing.assert_array_equal(out['keypoint_weights'], [[1, 1, 0]])
    plain = LPHeatmap(input_size=(32, 16), downsample_factor=1).encode(
        kp, np.array([[1, 0, 1]], np.float32))
    assert (plain['heatmaps'][1] == 0).all() and plain['keypoint_weights'].tolist() == [[1, 0, 0]]


def oracle_decode(maps, ds, offset):
    """LP's run_subpixelmaxima written out with loops (heatmap.py:86-148, heatmaps.py:90-142)."""
    k5 = torch.tensor([1., 4., 6., 4., 1.])
    kernel = (k5[:, None] * k5[None]) / 256
    for _ in range(ds):
        b, k, h, w = maps.shape
        up = F.interpolate(maps, size=(2 * h, 2 * w), mode='bicubic', align_corners=False)
        padded = F.pad(up, (2, 2, 2, 2))
        maps = sum(padded[..., i:i + 2 * h, j:j + 2 * w] * kernel[i, j]
                   for i in range(5) for j in range(5))
    b, k, h, w = maps.shape
    soft = torch.softmax(maps.reshape(b, k, -1) * 1000, -1).reshape(b, k, h, w)
    ys, xs = torch.meshgrid(torch.arange(h).float(), torch.arange(w).float(), indexing='ij')
    x = (soft * xs).sum((2, 3))
    y = (soft * ys).sum((2, 3))
    conf = torch.zeros(b, k)
    for bi in range(b):
        for ki in range(k):
            cx, cy = int(x[bi, ki]), int(y[bi, ki])
            for dy in range(-2, 3):
                for dx in range(-2, 3):
                    if 0 <= cy + dy < h and 0 <= cx + dx < w:
                        conf[bi, ki] += soft[bi, ki, cy + dy, cx + dx]
    return torch.stack([x, y], -1) - offset, conf


@pytest.mark.parametrize('ds,offset', [(1, 0.5), (2, 1.5), (3, 2.5)])
def test_decoding_matches_lightning_pose_written_out(ds, offset):
    torch.manual_seed(0)
    maps = torch.softmax(torch.randn(2, 3, 8 * 6) * 3, -1).reshape(2, 3, 8, 6)
    keypoints, scores = LPHeatmap(downsample_factor=ds).decode(maps)
    assert keypoints.shape == (2, 1, 3, 2) and scores.shape == (2, 1, 3)
    expected, conf = oracle_decode(maps, ds, offset)
    np.testing.assert_allclose(keypoints[:, 0], expected.numpy(), atol=1e-4)
    np.testing.assert_allclose(scores[:, 0], conf.numpy(), atol=1e-5)


@pytest.mark.parametrize('steps', [1, 2, 3])
def test_upsampling_as_matrix_products_equals_interpolate_then_blur(steps):
    from posecfg.codecs.lp_heatmap import lp_upsample, lp_upsample_steps
    torch.manual_seed(0)
    maps = torch.rand(2, 3, 7, 5, requires_grad=True)  # odd, non-square: edges on every side
    expected = maps
    for _ in range(steps):
        expected = lp_upsample(expected)
    got = lp_upsample_steps(maps, steps)
    assert got.shape == (2, 3, 7 * 2 ** steps, 5 * 2 ** steps)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
    grad, = torch.autograd.grad(got.square().sum(), maps)  # differentiable, same gradient
    grad_expected, = torch.autograd.grad(expected.square().sum(), maps)
    torch.testing.assert_close(grad, grad_expected, rtol=1e-5, atol=1e-5)


def test_confidence_window_at_the_map_edges_counts_only_cells_inside():
    from posecfg.codecs.lp_heatmap import window_sum
    maps = torch.arange(2 * 6 * 8, dtype=torch.float32).reshape(1, 2, 6, 8)
    # (x, y) = (0.7, 5.2) → window centred on cell (0, 5): columns -2…2, rows 3…7 → 0…2, 3…5;
    # (7.9, 0.0) → (7, 0): columns 5…9 → 5…7, rows -2…2 → 0…2
    got = window_sum(maps, torch.tensor([[[0.7, 5.2], [7.9, 0.0]]]), radius=2)
    expected = [maps[0, 0, 3:6, 0:3].sum(), maps[0, 1, 0:3, 5:8].sum()]
    torch.testing.assert_close(got[0], torch.stack(expected))


def test_symmetric_peak_decodes_to_its_sub_pixel_centre():
    # two equal cells (3, 4) and (4, 4) of a 16 × 16 map at ds 2: symmetric about cell 3.5,
    # upsampled pixel 4 · 3.5 + 1.5 = 15.5, minus LP's 1.5 → input x = 14; y = 4 · 4 = 16
    maps = torch.zeros(1, 1, 16, 16)
    maps[0, 0, 4, 3] = maps[0, 0, 4, 4] = 0.5
    keypoints, scores = LPHeatmap(downsample_factor=2).decode(maps)
    np.testing.assert_allclose(keypoints[0, 0, 0], [14.0, 16.0], atol=1e-4)
    assert 0.99 < scores[0, 0, 0] <= 1.0 + 1e-6  # the softmax mass sits inside the 5 × 5 window


@pytest.mark.parametrize('ds,bias', [(1, 0.0), (2, 0.0), (3, 1.0)])
def test_round_trip_and_lightning_pose_bias_at_ds3(ds, bias):
    # temperature 1000 makes the soft-argmax nearly an arg-max: LP is accurate to ~half a pixel
    codec = LPHeatmap(input_size=(128, 128), downsample_factor=ds)
    point = np.array([[[50.3, 61.7]]])
    maps = codec.encode(point, np.ones((1, 1)))['heatmaps']
    keypoints, _ = codec.decode(maps[None])
    np.testing.assert_allclose(keypoints[0, 0, 0], point[0, 0] + bias, atol=0.5)
    exact = LPHeatmap(input_size=(128, 128), downsample_factor=ds, offsets='exact')
    np.testing.assert_allclose(exact.decode(maps[None])[0][0, 0, 0], point[0, 0], atol=0.5)


def test_heatmap_losses_by_hand_with_nan_masking():
    t = torch.zeros(1, 2, 1, 2)
    t[0, 0, 0] = torch.tensor([0.25, 0.75])  # kept; channel 1 all zero: dropped
    p = torch.tensor([[[[0.5, 0.5]], [[0.9, 0.1]]]])
    mse = MODELS.build(dict(type='LPHeatmapMSELoss'))(p, t)
    # mean over kept pixels of (t - p)² · H · W, times weight 1 / (2 e^0)
    assert mse.item() == pytest.approx(0.5 * ((0.25 ** 2 + 0.25 ** 2) / 2) * 2)
    e = 1e-10
    tt, pp = np.array([0.25, 0.75]) + e, np.array([0.5, 0.5]) + e
    kl = (tt * np.log(tt / pp)).sum()
    assert MODELS.build(dict(type='LPHeatmapKLLoss'))(p, t).item() == pytest.approx(0.5 * kl)
    m = (tt + pp) / 2
    js = 0.5 * (tt * np.log(tt / m)).sum() + 0.5 * (pp * np.log(pp / m)).sum()
    assert MODELS.build(dict(type='LPHeatmapJSLoss'))(p, t).item() == pytest.approx(0.5 * js)
    assert MODELS.build(dict(type='LPHeatmapMSELoss', log_weight=1.0))(p, t).item() == \
        pytest.approx(mse.item() * math.exp(-1))


def test_regression_loss_and_rmse_by_hand():
    from posecfg.models.losses import lp_rmse
    pred = torch.tensor([[[1., 2.], [3., 4.]]])
    target = torch.tensor([[[2., 4.], [float('nan'), float('nan')]]])
    loss = MODELS.build(dict(type='LPRegressionMSELoss'))(pred, target)
    assert loss.item() == pytest.approx(0.5 * (1 + 4) / 2)
    assert lp_rmse(pred, target, torch.tensor([[True, True]])).item() == \
        pytest.approx(math.sqrt((1 + 4) / 2))


def test_regression_unlabeled_losses_see_frame_pixels_without_confidences():
    """SemiSupervisedRegressionTracker (models/regression_tracker.py:206-221): the regressed
    keypoints of each sequence with its augmentation undone; posecfg then maps them to
    original-frame pixels (the resize undone) and passes no confidences (temporal: no pair
    left out, as Lightning Pose passes it none). Temporal loss by hand on the mapped points."""
    from posecfg.apis.video.geometry import ResizeMap
    torch.manual_seed(0)
    head = MODELS.build(dict(type='LPRegressionHead', in_channels=16, out_channels=3,
                             unsupervised_losses=dict(temporal=dict(
                                 type='LPTemporalLoss', epsilon=3.0, prob_threshold=0.9))))
    feats = 10 * torch.rand(2 * 4, 16, 2, 3)  # 2 sequences of 4 frames
    warps = torch.tensor([[[1.0, 0, 5.0], [0, 1.0, -3.0]], [[0.0, -1.0, 64.0], [1.0, 0, 0]]])
    resize = ResizeMap(source_size=(192, 128), input_size=(96, 64))  # scale 2
    batch = dict(img=torch.zeros(8, 3, 64, 96), sequence_length=4, warp_mat=warps,
                 img_metas=[dict(resize=resize)] * 8)
    losses = head.loss_unlabeled(feats, batch)
    out = head(feats).detach().reshape(2, 4, 3, 2)
    frame = []
    for u in range(2):  # x_aug = A x + b  →  x = A⁻¹ (x_aug - b), then × 2
        linear, shift = warps[u, :, :2], warps[u, :, 2]
        frame.append(torch.linalg.solve(linear, (out[u] - shift).reshape(-1, 2).T).T * 2.0)
    frame = torch.stack(frame).reshape(2, 4, 3, 2)
    moves = (frame[:, 1:] - frame[:, :-1]).norm(dim=-1)
    assert (moves < 3.0).any() and (moves > 3.0).any()  # epsilon acts on some moves only
    torch.testing.assert_close(losses['temporal_loss'], 0.5 * (moves - 3.0).clamp(min=0).mean(),
                               rtol=1e-4, atol=1e-5)
    losses['temporal_loss'].backward()
    assert head.linear_layer.weight.grad.abs().sum() > 0


def tiny_model(head):
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='BottomUp', backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8,
                                       out_indices=(3,)),
        heads=dict(bodypart=head)))
    model.init_weights()
    return model


def random_batch(n=4, k=3, size=64):
    rng = np.random.default_rng(0)
    return dict(img=torch.from_numpy(rng.random((n, 3, size, size), dtype=np.float32)),
                keypoints=[rng.uniform(4, size - 4, (1, k, 2)).astype(np.float32)
                           for _ in range(n)],
                keypoints_visible=[np.array([[1, 1, 0]], np.float32)] * n,
                img_metas=[dict(image_file=f'{i}.png', image_id=i) for i in range(n)])


@pytest.mark.parametrize('head', [
    dict(type='LPHeatmapHead', in_channels=64, out_channels=3, downsample_factor=2,
         loss=dict(type='LPHeatmapKLLoss')),
    dict(type='LPRegressionHead', in_channels=64, out_channels=3)])
def test_bottomup_trains_and_predicts(head):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = tiny_model(head)
        batch = random_batch()
        wrapper = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-2))
        logs = [model.train_step(batch, wrapper) for _ in range(8)]
        losses = [log['loss'].item() for log in logs]
        assert all(np.isfinite(losses)) and losses[-1] < losses[0]
        assert 'supervised_rmse' in logs[0]
        results = model.eval().val_step(batch)
        assert len(results) == 4
        for r in results:
            assert r['keypoints'].shape == (1, 3, 2) and r['keypoint_scores'].shape == (1, 3)
    finally:
        torch.set_num_threads(threads)


@pytest.mark.usefixtures('one_thread')
@pytest.mark.parametrize('head', ['LPHeatmapHead', 'LPRegressionHead'])
def test_bf16_autocast_trains_and_predicts_in_float32_keypoints(head):
    # posecfg's runtime.autocast='auto' picks bf16 on CPUs with native bf16: the convolutions
    # run in bfloat16, the heads' outputs (softmaxed maps, regressed pixels), the decoding and
    # the RMSE stay float32, so the keypoints equal the float32 decoding of the same outputs
    model, batch = tiny_model(dict(type=head, in_channels=64, out_channels=3)), random_batch()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(batch['img'], batch)
        model.eval()
        outputs = model.heads['bodypart'](model.extract_feat(batch['img']))
        results = model.predict(batch['img'], batch)
    assert outputs.dtype == torch.float32 and 'supervised_rmse' in losses
    assert all(torch.isfinite(v).all() for v in losses.values())
    sum(v for k, v in losses.items() if k.endswith('_loss')).backward()
    plain = model.heads['bodypart'].decode(outputs.detach(), (64, 64))
    for r, p in zip(results, plain):
        assert r['keypoints'].dtype == np.float32
        np.testing.assert_allclose(r['keypoints'], p['keypoints'], atol=1e-4)


def test_heatmap_decoding_under_bf16_autocast_equals_float32():
    torch.manual_seed(0)
    maps = torch.softmax(torch.randn(2, 3, 16 * 16) * 3, -1).reshape(2, 3, 16, 16)
    codec = LPHeatmap(input_size=(64, 64), downsample_factor=2)
    expected = codec.decode_torch(maps)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        got = codec.decode_torch(maps.bfloat16())
    assert got[0].dtype == torch.float32
    # the maps' own bf16 rounding is the only difference left
    reference = codec.decode_torch(maps.bfloat16().float())
    torch.testing.assert_close(got[0], reference[0], rtol=0, atol=1e-4)
    torch.testing.assert_close(got[1], reference[1], rtol=0, atol=1e-5)
    assert (got[0] - expected[0]).abs().max() < 0.5


def test_head_structure_init_and_test_cfg():
    head = MODELS.build(dict(type='LPHeatmapHead', in_channels=512, out_channels=17,
                             downsample_factor=3, test_cfg=dict(subpixel_offsets='exact')))
    convs = [m for m in head.upsampling_layers if isinstance(m, torch.nn.ConvTranspose2d)]
    # log2(32) - 3 - 1 = 1 layer: 512 / 4 → 17, kernel 3, stride 2; xavier(gain 0.01), bias 0
    assert isinstance(head.upsampling_layers[0], torch.nn.PixelShuffle) and len(convs) == 1
    assert (convs[0].in_channels, convs[0].out_channels) == (128, 17)
    bound = 0.01 * math.sqrt(6 / (17 * 9 + 128 * 9))
    assert convs[0].weight.abs().max() <= bound and (convs[0].bias == 0).all()
    assert head.codec.offset == 3.5
    with pytest.raises(KeyError, match='flip_tst'):
        MODELS.build(dict(type='LPHeatmapHead', in_channels=16, out_channels=3,
                          test_cfg=dict(flip_tst=True)))
