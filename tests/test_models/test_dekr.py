"""DEKR head (DeepLabCut 3.0.2's modules and state-dict keys), its deformable convolution and
its criteria.

Facts (deeplabcut/pose_estimation_pytorch/models/, 3.0.2):
- heads/dekr.py:52-58 ``heatmap_head = DEKRHeatmap``, ``offset_head = DEKROffset``, forward
  ``{"heatmap", "offset"}``; :104-163 ``transition_heatmap`` (1×1 conv no bias, BN, ReLU),
  ``head_heatmap = [Sequential(blocks), Conv2d(k, padding 1 if k == 3 else 0)]``; :241-383
  ``transition_offset``, per keypoint ``offset_feature_layers[j]`` (AdaptBlocks) and
  ``offset_final_layer[j]`` (conv → 2), forward on channels ``j·P:(j+1)·P``;
- modules/conv_block.py:64-140 BasicBlock (``conv1``, ``bn1``, ``conv2``, ``bn2``); :220-299
  AdaptBlock (``regular_matrix`` buffer, ``transform_matrix_conv`` 4 ch, ``translation_conv``
  2 ch, ``adapt_conv`` torchvision DeformConv2d without bias, ``bn``), offsets ``T·R - R``
  (rows y then x per tap) + translation (channel 0 on even, 1 on odd offset channels);
- weight_init.py:63-88 ``Dekr``: parameters named ``*bias*`` 0, others N(0, std 0.001);
- torchvision deform_conv2d (csrc/ops/cpu/deform_conv2d_kernel.cpp, ``deformable_im2col``):
  tap (i, j) samples ``(out_y·stride - pad + i·dil + offset[2t], out_x·stride - pad + j·dil +
  offset[2t + 1])`` with ``bilinear_interpolate`` (0 when ``y <= -1 or y >= H or x <= -1 or
  x >= W``, corners off the map count 0);
- criterions/dekr.py:36-97 (see posecfg/models/losses/dekr.py).
"""
import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from posecfg.models.dlc_keys import from_dlc_state_dict, to_dlc_state_dict
from posecfg.models.heads.dekr_head import AdaptBlock, deform_conv2d
from posecfg.registry import MODELS

pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


def dekr_head(k=2, p=2, c_in=8, blocks=(1, 2), **kwargs):
    cfg = dekr_cfg(k, p, c_in)
    cfg['heatmap_config']['num_blocks'], cfg['offset_config']['num_blocks'] = blocks
    return MODELS.build(dict(cfg, **kwargs))


# ---------------------------------------------------------------------------- deform conv
def torchvision_deform_conv(x, offset, weight, pad, dil):
    """torchvision's CPU kernel written out (stride 1, one offset group)."""
    b, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    ho, wo = offset.shape[-2:]

    def bilinear(img, y, xx):
        if y <= -1 or h <= y or xx <= -1 or w <= xx:
            return 0.0
        y0, x0 = math.floor(y), math.floor(xx)
        ly, lx = y - y0, xx - x0
        val = 0.0
        for yy, xq, wt in ((y0, x0, (1 - ly) * (1 - lx)), (y0, x0 + 1, (1 - ly) * lx),
                           (y0 + 1, x0, ly * (1 - lx)), (y0 + 1, x0 + 1, ly * lx)):
            if 0 <= yy < h and 0 <= xq < w:
                val += wt * img[yy, xq]
        return val

    out = np.zeros((b, o, ho, wo))
    for n in range(b):
        for r in range(ho):
            for cc in range(wo):
                cols = np.zeros((c, kh * kw))
                for i in range(kh):
                    for j in range(kw):
                        t = i * kw + j
                        y = r - pad + i * dil + offset[n, 2 * t, r, cc]
                        xx = cc - pad + j * dil + offset[n, 2 * t + 1, r, cc]
                        for ch in range(c):
                            cols[ch, t] = bilinear(x[n, ch], y, xx)
                out[n, :, r, cc] = weight.reshape(o, -1) @ cols.reshape(-1)
    return out


def test_deform_conv_is_a_conv_without_offsets():
    torch.manual_seed(0)
    x, weight = torch.randn(2, 3, 6, 5), torch.randn(4, 3, 3, 3)
    for dil in (1, 2):
        got = deform_conv2d(x, torch.zeros(2, 18, 6, 5), weight, padding=dil, dilation=dil)
        torch.testing.assert_close(got, F.conv2d(x, weight, padding=dil, dilation=dil),
                                   rtol=1e-5, atol=1e-5)


def test_deform_conv_matches_torchvisions_kernel():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 2, 5, 4))
    weight = rng.normal(size=(3, 2, 3, 3))
    offset = rng.uniform(-2.5, 2.5, size=(1, 18, 5, 4))
    want = torchvision_deform_conv(x, offset, weight, pad=1, dil=1)
    got = deform_conv2d(torch.tensor(x), torch.tensor(offset), torch.tensor(weight), padding=1)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-9, atol=1e-9)


def per_tap_deform_conv(x, offset, weight, stride=1, pad=0, dil=1):
    """torchvision's deform_conv2d as a per-tap formula in plain torch (differentiable): for
    each tap, its four corners gathered with masks, 0 for points at or beyond one cell off
    the map (``bilinear_interpolate``); gradients are autograd's of this formula, which are
    torchvision's ``deformable_col2im`` / ``deformable_col2im_coord``."""
    b, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    ho, wo = offset.shape[-2:]
    rows = torch.arange(ho, dtype=x.dtype)[:, None] * stride - pad
    cols = torch.arange(wo, dtype=x.dtype)[None, :] * stride - pad
    flat = x.reshape(b, c, h * w)
    out = 0
    for i in range(kh):
        for j in range(kw):
            t = i * kw + j
            y = rows + i * dil + offset[:, 2 * t]  # (B, Ho, Wo)
            xx = cols + j * dil + offset[:, 2 * t + 1]
            y0, x0 = torch.floor(y), torch.floor(xx)
            ly, lx = y - y0, xx - x0
            inside = (y > -1) & (y < h) & (xx > -1) & (xx < w)
            value = 0
            for dy, dx, wt in ((0, 0, (1 - ly) * (1 - lx)), (0, 1, (1 - ly) * lx),
                               (1, 0, ly * (1 - lx)), (1, 1, ly * lx)):
                yy, xq = (y0 + dy).long(), (x0 + dx).long()
                ok = inside & (yy >= 0) & (yy < h) & (xq >= 0) & (xq < w)
                index = (yy.clamp(0, h - 1) * w + xq.clamp(0, w - 1)).reshape(b, 1, -1)
                corner = flat.gather(2, index.expand(b, c, -1)).reshape(b, c, ho, wo)
                value = value + (wt * ok)[:, None] * corner
            out = out + torch.einsum('oc,bchw->bohw', weight[:, :, i, j], value)
    return out


@pytest.mark.parametrize('stride,pad,dil', [(1, 1, 1), (1, 2, 2), (2, 1, 1)])
def test_deform_conv_values_and_gradients_match_the_per_tap_formula(stride, pad, dil):
    """Offsets up to 4 cells on a 5 × 4 map: many taps read partly or wholly off the map."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 5, 4, dtype=torch.float64, generator=g)
    weight = torch.randn(2, 3, 3, 3, dtype=torch.float64, generator=g)
    ho = (5 + 2 * pad - 2 * dil - 1) // stride + 1
    wo = (4 + 2 * pad - 2 * dil - 1) // stride + 1
    offset = (torch.rand(2, 18, ho, wo, dtype=torch.float64, generator=g) - 0.5) * 8
    grads = []
    for fn in (lambda *a: deform_conv2d(*a, stride=stride, padding=pad, dilation=dil),
               lambda *a: per_tap_deform_conv(*a, stride, pad, dil)):
        inputs = [t.clone().requires_grad_() for t in (x, offset, weight)]
        out = fn(*inputs)
        out.backward(torch.linspace(-1, 1, out.numel(), dtype=out.dtype).reshape(out.shape))
        grads.append([out.detach()] + [t.grad for t in inputs])
    assert (grads[1][0] != 0).any() and (grads[1][2] != 0).any()
    for got, want, name in zip(*grads, ('output', 'input', 'offset', 'weight')):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9, msg=name)


def test_deform_conv_gradcheck():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, 2, 4, 3, dtype=torch.float64, generator=g, requires_grad=True)
    weight = torch.randn(2, 2, 3, 3, dtype=torch.float64, generator=g, requires_grad=True)
    offset = ((torch.rand(1, 18, 4, 3, dtype=torch.float64, generator=g) - 0.5) * 5
              ).requires_grad_()
    assert torch.autograd.gradcheck(lambda *a: deform_conv2d(*a, padding=1),
                                    (x, offset, weight))


def _offset_step(head, feats, grad):
    """Offsets of ``head`` on feats (train mode), their backward, and every gradient and
    BatchNorm statistic of the offset head."""
    x = feats.clone().requires_grad_()
    out = head.offset_head(x)
    out.backward(grad)
    state = {n: t.clone() for n, t in head.offset_head.state_dict().items()}
    params = {n: p.grad.clone() for n, p in head.offset_head.named_parameters()}
    return out.detach(), x.grad, params, state


def test_grouped_offset_branches_equal_deeplabcuts_loop_over_keypoints():
    """DEKROffset runs its K keypoints' AdaptBlocks as grouped operations; the outputs,
    gradients (input, every parameter) and BatchNorm running statistics equal DeepLabCut's
    loop over keypoints."""
    torch.manual_seed(0)
    head = dekr_head(k=3, p=4, c_in=8, blocks=(1, 2))
    with torch.no_grad():  # DEKR's N(0, 0.001) init gives near-zero offsets: make them large
        for name, param in head.offset_head.named_parameters():
            param.copy_(torch.randn_like(param) * (0.5 if 'weight' in name else 0.2))
    head.double()  # float64: the two orders of summation agree to rounding
    loop = copy.deepcopy(head)
    loop.offset_head.grouped = False
    feats = torch.randn(2, 8, 7, 6, dtype=torch.float64)
    grad = torch.randn(2, 6, 7, 6, dtype=torch.float64)
    got, want = _offset_step(head, feats, grad), _offset_step(loop, feats, grad)
    close = dict(rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(got[0], want[0], **close)
    torch.testing.assert_close(got[1], want[1], **close)
    assert got[2].keys() == want[2].keys()
    for name in want[2]:
        torch.testing.assert_close(got[2][name], want[2][name], msg=name, **close)
    for name in want[3]:
        torch.testing.assert_close(got[3][name], want[3][name], msg=name, **close)
    assert want[3]['offset_feature_layers.2.1.bn.num_batches_tracked'] == 1
    head.eval(), loop.eval()
    with torch.no_grad():
        torch.testing.assert_close(head.offset_head(feats), loop.offset_head(feats), **close)


def test_adapt_block_offsets_are_the_affine_grid():
    """An identity transform and a translation (dy 1, dx 0) samples the map one row down."""
    torch.manual_seed(0)
    block = AdaptBlock(2).eval()
    with torch.no_grad():
        block.transform_matrix_conv.weight.zero_()
        block.transform_matrix_conv.bias.copy_(torch.tensor([1., 0., 0., 1.]))
        block.translation_conv.weight.zero_()
        block.translation_conv.bias.copy_(torch.tensor([1., 0.]))
    x = torch.randn(1, 2, 5, 6)
    # tap (i, j) of output (r, c) reads x[r + i, c + j - 1]: zero padding 0 above, 2 below
    conv = F.conv2d(F.pad(x, (1, 1, 0, 2)), block.adapt_conv.weight)
    want = torch.relu(block.bn(conv) + x)
    torch.testing.assert_close(block(x), want, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------- the head
def test_state_dict_keys_are_deeplabcuts():
    head = dekr_head(k=2, p=2, blocks=(1, 2))
    bn = ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
    want = [f'heatmap_head.transition_heatmap.0.weight']
    want += [f'heatmap_head.transition_heatmap.1.{n}' for n in bn]
    want += [f'heatmap_head.head_heatmap.0.0.conv1.weight']
    want += [f'heatmap_head.head_heatmap.0.0.bn1.{n}' for n in bn]
    want += [f'heatmap_head.head_heatmap.0.0.conv2.weight']
    want += [f'heatmap_head.head_heatmap.0.0.bn2.{n}' for n in bn]
    want += ['heatmap_head.head_heatmap.1.weight', 'heatmap_head.head_heatmap.1.bias',
             'offset_head.transition_offset.0.weight']
    want += [f'offset_head.transition_offset.1.{n}' for n in bn]
    for j in range(2):
        for i in range(2):
            pre = f'offset_head.offset_feature_layers.{j}.{i}.'
            want += [pre + 'regular_matrix', pre + 'transform_matrix_conv.weight',
                     pre + 'transform_matrix_conv.bias', pre + 'translation_conv.weight',
                     pre + 'translation_conv.bias', pre + 'adapt_conv.weight']
            want += [pre + f'bn.{n}' for n in bn]
    for j in range(2):
        want += [f'offset_head.offset_final_layer.{j}.weight',
                 f'offset_head.offset_final_layer.{j}.bias']
    state = head.state_dict()
    assert sorted(state) == sorted(want)
    assert tuple(state['offset_head.offset_feature_layers.1.0.adapt_conv.weight'].shape) == \
        (2, 2, 3, 3)
    assert state['offset_head.offset_feature_layers.0.0.regular_matrix'].tolist() == [
        [-1, -1, -1, 0, 0, 0, 1, 1, 1], [-1, 0, 1, -1, 0, 1, -1, 0, 1]]


def test_dekr_weight_init():
    torch.manual_seed(0)
    head = dekr_head(k=3, p=15, c_in=64, blocks=(1, 2))
    for name, param in head.named_parameters():
        if 'bias' in name:
            assert (param == 0).all(), name
    weights = torch.cat([p.flatten() for n, p in head.named_parameters() if 'bias' not in n])
    assert weights.std().item() == pytest.approx(0.001, rel=0.05)
    assert head.state_dict()['heatmap_head.transition_heatmap.1.weight'].abs().max() < 0.01


def test_forward_shapes_loss_and_predictions():
    torch.manual_seed(0)
    head = dekr_head(k=2)
    feats = (torch.randn(2, 8, 12, 10),)
    out = head(feats)
    assert out['heatmap'].shape == (2, 3, 12, 10) and out['offset'].shape == (2, 4, 12, 10)
    batch = dict(img=torch.zeros(2, 3, 48, 40),
                 keypoints=[np.array([[[10, 12], [20, 30]]], np.float32),
                            np.zeros((0, 2, 2), np.float32)],
                 keypoints_visible=[np.ones((1, 2), np.float32), np.zeros((0, 2), np.float32)],
                 bboxes=[np.array([[5, 5, 20, 30]], np.float32), np.zeros((0, 4), np.float32)])
    losses = head.loss(feats, batch)
    assert set(losses) == {'total_loss', 'heatmap', 'offset'}
    # WeightedLossAggregator: mean of (1 · heatmap, 0.03 · offset)
    assert losses['total_loss'].item() == pytest.approx(
        (losses['heatmap'].item() + 0.03 * losses['offset'].item()) / 2, rel=1e-6)
    # the offsets are weighted 1/sqrt(20 · 30)
    targets = head.targets(batch, 4, (10, 12))
    assert targets['offset_weights'].max() == pytest.approx(1 / math.sqrt(600))
    preds = head.eval().predict(feats, [{}, {}], (40, 48))
    for pred in preds:
        n = len(pred['keypoints'])
        assert 0 < n <= 3 and pred['keypoints'].shape == (n, 2, 2)
        assert pred['keypoint_scores'].shape == (n, 2)


def test_config_errors():
    with pytest.raises(ValueError, match=r'heatmap_config.channels\[2\] must be num_joints \+ 1'):
        dekr_head(heatmap_config=dict(channels=[8, 4, 2], num_blocks=1, dilation_rate=1,
                                      final_conv_kernel=1))
    with pytest.raises(ValueError, match=r'offset_config.channels\[1\] must be '
                                         r'num_offset_per_kpt × channels\[2\] = 4'):
        dekr_head(offset_config=dict(channels=[8, 5, 2], num_offset_per_kpt=2, num_blocks=1,
                                     dilation_rate=1, final_conv_kernel=1))
    with pytest.raises(ValueError, match='has unknown keys'):
        dekr_head(offset_config=dict(channels=[8, 4, 2], num_offset_per_kpt=2, num_blocks=1,
                                     dilation_rate=1, final_conv_kernel=1, block='x'))


def test_bottomup_dekr_keys_map_to_deeplabcuts_pose_model():
    model = MODELS.build(dict(
        type='BottomUp',
        backbone=dict(type='HRNet', extra=tiny_hrnet(), interpolate_branches=True),
        heads=dict(bodypart=dekr_cfg(c_in=8 + 16))))
    theirs = to_dlc_state_dict(model.state_dict(), model)
    assert 'heads.bodypart.offset_head.offset_feature_layers.0.0.adapt_conv.weight' in theirs
    assert 'backbone.model.conv1.weight' in theirs
    back = from_dlc_state_dict(theirs, model)
    assert list(back) == list(model.state_dict())


def tiny_hrnet():
    return dict(
        stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(1,),
                    num_channels=(8,)),
        stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(1, 1),
                    num_channels=(8, 16)),
        stage3=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(1, 1),
                    num_channels=(8, 16)),
        stage4=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(1, 1),
                    num_channels=(8, 16), multiscale_output=True))


def dekr_cfg(k=2, p=2, c_in=8):
    return dict(
        type='DEKRHead',
        predictor=dict(type='DEKRPredictor', num_animals=3, apply_sigmoid=False,
                       use_heatmap=False, clip_scores=True),
        target_generator=dict(type='DEKRGenerator', num_joints=k, pos_dist_thresh=17),
        criterion=dict(heatmap=dict(type='DEKRHeatmapLoss', weight=1),
                       offset=dict(type='DEKROffsetLoss', weight=0.03)),
        heatmap_config=dict(channels=[c_in, 4, k + 1], num_blocks=1, dilation_rate=1,
                            final_conv_kernel=1),
        offset_config=dict(channels=[c_in, k * p, k], num_offset_per_kpt=p, num_blocks=1,
                           dilation_rate=1, final_conv_kernel=1))


# ---------------------------------------------------------------------------- criteria
def test_heatmap_loss_by_hand():
    loss = MODELS.build(dict(type='DEKRHeatmapLoss'))
    out = torch.tensor([[[[1., 2.], [3., 4.]]]])
    weights = torch.tensor([[[[1., 0.], [0.1, 1.]]]])
    # mean of (1, 0, 0.9, 16)
    assert loss(out, torch.zeros_like(out), weights).item() == pytest.approx(17.9 / 4)


def test_offset_loss_by_hand():
    loss = MODELS.build(dict(type='DEKROffsetLoss'))
    out = torch.tensor([[[[0.05, 1.0], [2.0, 0.0]]]])
    weights = torch.tensor([[[[1.0, 0.5], [0.0, 0.0]]]])
    beta = 1 / 9
    want = (0.5 * 0.05 ** 2 / beta * 1.0 + (1.0 - 0.5 * beta) * 0.5) / 2  # 2 positive weights
    assert loss(out, torch.zeros_like(out), weights).item() == pytest.approx(want)
    assert loss(out, torch.zeros_like(out), torch.zeros_like(out)).item() == 0


# ---------------------------------------------------------------------------- DeepLabCut's config
# model.heads of a dekr_w18 shuffle for a project with 4 bodyparts, 3 individuals, 1 unique
# bodypart and identity: true, as DeepLabCut 3.0.2 writes it (config/dekr/dekr_w18.yaml,
# config/base/head_bodyparts.yaml + label_keypoint_key, config/base/head_identity.yaml, the
# placeholders filled by make_pose_config.py), with DeepLabCut's type names
DLC_HEADS = dict(
    bodypart=dict(
        type='DEKRHead', weight_init='dekr',
        target_generator=dict(type='DEKRGenerator', num_joints=4, pos_dist_thresh=17,
                              bg_weight=0.1),
        criterion=dict(heatmap=dict(type='DEKRHeatmapLoss', weight=1),
                       offset=dict(type='DEKROffsetLoss', weight=0.03)),
        predictor=dict(type='DEKRPredictor', apply_sigmoid=False, use_heatmap=False,
                       clip_scores=True, num_animals=3, keypoint_score_type='combined',
                       max_absorb_distance=75, nms_threshold=0.05, apply_pose_nms=True),
        heatmap_config=dict(channels=[270, 18, 5], num_blocks=1, dilation_rate=1,
                            final_conv_kernel=1),
        offset_config=dict(channels=[270, 60, 4], num_offset_per_kpt=15, num_blocks=2,
                           dilation_rate=1, final_conv_kernel=1)),
    unique_bodypart=dict(
        type='HeatmapHead', weight_init='normal',
        predictor=dict(type='HeatmapPredictor', apply_sigmoid=False, clip_scores=True,
                       location_refinement=True, locref_std=7.2801),
        target_generator=dict(type='HeatmapGaussianGenerator', num_heatmaps=1,
                              pos_dist_thresh=17, heatmap_mode='KEYPOINT',
                              gradient_masking=False, generate_locref=True, locref_std=7.2801,
                              label_keypoint_key='keypoints_unique'),
        criterion=dict(heatmap=dict(type='WeightedMSECriterion', weight=1.0),
                       locref=dict(type='WeightedHuberCriterion', weight=0.05)),
        heatmap_config=dict(channels=[270, 1], kernel_size=[3], strides=[2]),
        locref_config=dict(channels=[270, 2], kernel_size=[3], strides=[2])),
    identity=dict(
        type='HeatmapHead', predictor=dict(type='IdentityPredictor', apply_sigmoid=True),
        target_generator=dict(type='HeatmapPlateauGenerator', num_heatmaps=3,
                              pos_dist_thresh=17, heatmap_mode='INDIVIDUAL',
                              gradient_masking=False, generate_locref=False),
        criterion=dict(heatmap=dict(type='WeightedBCECriterion', weight=1.0)),
        heatmap_config=dict(channels=[270, 3], kernel_size=[3], strides=[2])))


def posecfg_types(cfg):
    """DeepLabCut's type names → posecfg's (DLC_TYPE_NAMES), everywhere in a config."""
    from posecfg.models.heads import DLC_TYPE_NAMES
    if isinstance(cfg, dict):
        return {k: (DLC_TYPE_NAMES[v] if k == 'type' else posecfg_types(v))
                for k, v in cfg.items()}
    return cfg


def test_deeplabcuts_dekr_w18_heads_build_with_deeplabcuts_keys():
    from posecfg.models.backbones.named import DLC_NET_TYPES
    from tests.test_models.layouts import meta_build
    model = meta_build(dict(type='BottomUp', backbone=DLC_NET_TYPES['dekr_w18'].build_cfg(),
                            heads=posecfg_types(DLC_HEADS)))
    shapes = {k: tuple(v.shape) for k, v in to_dlc_state_dict(model.state_dict(),
                                                               model).items()}
    head = 'heads.bodypart.'
    want = {
        head + 'heatmap_head.transition_heatmap.0.weight': (18, 270, 1, 1),
        head + 'heatmap_head.head_heatmap.0.0.conv2.weight': (18, 18, 3, 3),
        head + 'heatmap_head.head_heatmap.1.weight': (5, 18, 1, 1),
        head + 'offset_head.transition_offset.0.weight': (60, 270, 1, 1),
        head + 'offset_head.offset_feature_layers.3.1.transform_matrix_conv.weight':
            (4, 15, 3, 3),
        head + 'offset_head.offset_feature_layers.3.1.translation_conv.weight': (2, 15, 3, 3),
        head + 'offset_head.offset_feature_layers.3.1.adapt_conv.weight': (15, 15, 3, 3),
        head + 'offset_head.offset_feature_layers.3.1.regular_matrix': (2, 9),
        head + 'offset_head.offset_final_layer.3.weight': (2, 15, 1, 1),
        'heads.unique_bodypart.heatmap_head.deconv_layers.0.weight': (270, 1, 3, 3),
        'heads.unique_bodypart.locref_head.deconv_layers.0.weight': (270, 2, 3, 3),
        'heads.identity.heatmap_head.deconv_layers.0.weight': (270, 3, 3, 3),
        'backbone.model.stage4.2.fuse_layers.0.3.0.weight': (18, 144, 1, 1)}
    assert {k: shapes.get(k) for k in want} == want
    assert not any('offset_feature_layers.4' in k or 'offset_feature_layers.0.2' in k
                   for k in shapes)
    assert model.backbone.out_channels == (270,)
