"""TopdownHeatmapSimpleHead: shapes, MMPose 0.x layout and init, loss/accuracy, flip-back and
shift, decoding through the codecs, and test_cfg validation."""
import numpy as np
import pytest
import torch
from torch import nn

from posecfg.models.heads import (HEATMAP_TEST_CFG_KEYS, TopdownHeatmapSimpleHead,
                                  resolve_heatmap_test_cfg)
from posecfg.registry import MODELS, accepts_key

K = 3
FLIP_PAIRS = [[1, 2]]


def head(**kwargs):
    args = dict(in_channels=8, out_channels=K, num_deconv_filters=(4, 4, 4))
    args.update(kwargs)
    return TopdownHeatmapSimpleHead(**args)


def feats(channels=8, h=4, w=3, n=2):
    return (torch.rand(n, channels, h, w),)


@pytest.mark.parametrize('kwargs,size', [
    (dict(), (32, 24)),                                          # 3 deconvs of kernel 4: ×8
    (dict(num_deconv_kernels=(3, 2, 4)), (32, 24)),              # every kernel doubles H, W
    (dict(num_deconv_layers=1, num_deconv_filters=(4,), num_deconv_kernels=(4,)), (8, 6)),
    (dict(num_deconv_layers=0, extra=dict(final_conv_kernel=3)), (4, 3)),
    (dict(num_deconv_layers=0, upsample=2), (8, 6)),
    (dict(num_deconv_layers=2, num_deconv_filters=(4, 4), num_deconv_kernels=(4, 4),
          extra=dict(final_conv_kernel=1, num_conv_layers=2, num_conv_kernels=(3, 1))), (16, 12)),
])
def test_output_shapes(kwargs, size):
    assert head(**kwargs)(feats()).shape == (2, K, *size)


def test_identity_final_layer_returns_the_deconv_output():
    out = head(num_deconv_layers=1, num_deconv_filters=(5,), num_deconv_kernels=(4,),
               extra=dict(final_conv_kernel=0))(feats())
    assert out.shape == (2, 5, 8, 6)


def test_in_index_picks_a_backbone_output_and_resize_concat_joins_them():
    maps = (torch.rand(1, 2, 8, 6), torch.rand(1, 8, 4, 3))
    assert head(in_index=1, num_deconv_layers=0)(maps).shape == (1, K, 4, 3)
    concat = head(in_channels=[2, 8], in_index=[0, 1], input_transform='resize_concat',
                  num_deconv_layers=0)
    assert concat.in_channels == 10
    assert concat(maps).shape == (1, K, 8, 6)


def test_module_names_match_mmpose_0x_checkpoints():
    keys = set(head(extra=dict(num_conv_layers=1, num_conv_kernels=(3,))).state_dict())
    assert {'deconv_layers.0.weight', 'deconv_layers.1.running_var', 'deconv_layers.6.weight',
            'final_layer.0.weight', 'final_layer.1.weight', 'final_layer.3.weight',
            'final_layer.3.bias'} <= keys
    assert 'deconv_layers.0.bias' not in keys  # deconvs have no bias in MMPose
    assert {'final_layer.weight', 'final_layer.bias'} <= set(head().state_dict())


def test_mmpose_weight_init():
    torch.manual_seed(0)
    h = head(in_channels=64, num_deconv_filters=(64, 64, 64),
             extra=dict(num_conv_layers=1, num_conv_kernels=(3,)))
    for m in h.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            assert 0.0005 < m.weight.std().item() < 0.002
            assert m.bias is None or torch.all(m.bias == 0)
        if isinstance(m, nn.BatchNorm2d):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)


def test_get_loss_and_accuracy():
    h = head(loss_keypoint=dict(type='JointsMSELoss', use_target_weight=True))
    target = torch.zeros(2, K, 8, 8)
    target[:, :, 2, 5] = 1.
    weight = torch.ones(2, K, 1)
    assert h.get_loss(target, target, weight)['heatmap_loss'].item() == 0
    assert h.get_loss(target + 1, target, weight)['heatmap_loss'].item() == pytest.approx(1.)
    acc = h.get_accuracy(target, target, weight)['acc_pose']
    assert isinstance(acc, torch.Tensor) and acc.item() == pytest.approx(1.)
    wrong = torch.zeros_like(target)
    wrong[:, :, 7, 0] = 1.  # peaks far from the target's
    assert h.get_accuracy(wrong, target, weight)['acc_pose'].item() == pytest.approx(0.)


def test_no_accuracy_for_combined_target():
    h = head(test_cfg=dict(target_type='CombinedTarget', use_udp=True))
    assert h.get_accuracy(torch.rand(1, K, 4, 4), torch.rand(1, K, 4, 4),
                          torch.ones(1, 1, 1)) == {}


def reference_flip_back(heatmaps, flip_pairs):
    """Mirror the width axis and swap the paired channels."""
    out = heatmaps[..., ::-1].copy()
    for left, right in flip_pairs:
        out[:, [left, right]] = out[:, [right, left]]
    return out


def test_flip_back_flips_and_shifts():
    h = head(test_cfg=dict(shift_heatmap=True)).eval()
    with torch.no_grad():
        plain = h(feats())
    assert plain.shape == (2, K, 32, 24)
    expected = reference_flip_back(plain.numpy(), FLIP_PAIRS)
    shifted = h.flip_back(plain, FLIP_PAIRS).numpy()
    # shift_heatmap: column x takes column x - 1; column 0 is kept
    np.testing.assert_array_equal(shifted[..., 1:], expected[..., :-1])
    np.testing.assert_array_equal(shifted[..., 0], expected[..., 0])
    unshifted = head(test_cfg=dict(shift_heatmap=False))
    np.testing.assert_array_equal(unshifted.flip_back(plain, FLIP_PAIRS).numpy(), expected)


def test_combined_target_flip_negates_x_offsets_and_decodes():
    h = head(out_channels=3 * K, test_cfg=dict(use_udp=True, target_type='CombinedTarget'))
    with torch.no_grad():
        plain = h(feats()).numpy()
    grouped = plain.reshape(2, K, 3, 32, 24)[..., ::-1]
    expected = grouped[:, [0, 2, 1]].copy()  # FLIP_PAIRS swaps joints 1 and 2
    expected[:, :, 1] *= -1  # x offsets point the other way after a mirror
    np.testing.assert_allclose(h.flip_back(plain, FLIP_PAIRS), expected.reshape(plain.shape),
                               rtol=1e-6)
    results = h.decode(plain, (96, 128))
    assert len(results) == 2 and results[0]['keypoints'].shape == (1, K, 2)


def test_decode_maps_heatmap_peaks_to_input_pixels():
    h = head(test_cfg=dict(post_process='default'))
    heatmaps = np.zeros((1, K, 16, 12), np.float32)
    heatmaps[0, :, 4, 3] = 0.9  # a symmetric peak: the quarter-offset refinement adds nothing
    (result,) = h.decode(torch.from_numpy(heatmaps), (48, 64))
    # 48 x 64 input, 12 x 16 heatmap: 4 px per cell; cell (3, 4) is pixel (12, 16)
    np.testing.assert_allclose(result['keypoints'], np.tile([12., 16.], (1, K, 1)), rtol=1e-6)
    np.testing.assert_allclose(result['keypoint_scores'], np.full((1, K), 0.9), rtol=1e-6)
    assert result['keypoints'].dtype == np.float32


def test_codec_instead_of_test_cfg_decoding_keys():
    h = head(codec=dict(type='UDPHeatmap', heatmap_type='gaussian', blur_kernel_size=7))
    assert type(h.codec).__name__ == 'UDPHeatmap' and h.codec.blur_kernel_size == 7
    assert type(head().codec).__name__ == 'MSRAHeatmap'  # test_cfg's default decoding
    with pytest.raises(ValueError, match=r"decoding is given twice.*\['use_udp'\]"):
        head(codec=dict(type='UDPHeatmap'), test_cfg=dict(use_udp=True))


def test_test_cfg_defaults_and_old_spellings():
    cfg = resolve_heatmap_test_cfg(None)
    assert (cfg.flip_test, cfg.shift_heatmap, cfg.post_process, cfg.target_type) == (
        True, False, 'default', 'GaussianHeatmap')
    assert resolve_heatmap_test_cfg(dict(unbiased_decoding=True)).post_process == 'unbiased'
    assert resolve_heatmap_test_cfg(dict(post_process=True)).post_process == 'default'
    assert resolve_heatmap_test_cfg(dict(post_process=False)).post_process is None
    assert resolve_heatmap_test_cfg(
        dict(target_type='GaussianHeatMap')).target_type == 'GaussianHeatmap'
    udp = resolve_heatmap_test_cfg(dict(use_udp=True, target_type='CombinedTarget',
                                        modulate_kernel=17, valid_radius_factor=0.1))
    assert udp.decode_kwargs() == dict(post_process='default', kernel=17,
                                       valid_radius_factor=0.1, use_udp=True,
                                       target_type='CombinedTarget')


@pytest.mark.parametrize('test_cfg,error,message', [
    (dict(flip_tset=True), KeyError, "'flip_tset' \\(did you mean 'flip_test'\\?\\)"),
    (dict(flip_test='False'), TypeError, 'test_cfg.flip_test must be True or False'),
    (dict(post_process='dark'), ValueError, 'test_cfg.post_process must be one of'),
    (dict(post_process='megvii', unbiased_decoding=True), ValueError,
     'unbiased_decoding=True .* conflicts with test_cfg.post_process'),
    (dict(post_process='unbiased', modulate_kernel=10), ValueError,
     'test_cfg.modulate_kernel must be a positive odd integer'),
    (dict(post_process='megvii', use_udp=True), ValueError, "post_process='megvii' cannot"),
    (dict(target_type='Heatmap'), ValueError, 'test_cfg.target_type must be one of'),
    (dict(target_type='CombinedTarget'), ValueError, 'only with test_cfg.use_udp=True'),
    (dict(valid_radius_factor=0), ValueError,
     'test_cfg.valid_radius_factor must be a positive number'),
])
def test_test_cfg_errors_name_the_key(test_cfg, error, message):
    with pytest.raises(error, match=message):
        head(test_cfg=test_cfg)


@pytest.mark.parametrize('kwargs,error,message', [
    (dict(num_deconv_filters=(4, 4)), ValueError,
     'num_deconv_filters has 2 entries but num_deconv_layers is 3'),
    (dict(num_deconv_kernels=(4, 4, 5)), ValueError, 'num_deconv_kernels entries must be one of'),
    (dict(num_deconv_layers=-1), ValueError, 'num_deconv_layers must be >= 0'),
    (dict(extra=dict(final_conv_kernel=2)), ValueError, 'extra.final_conv_kernel must be'),
    (dict(extra=dict(num_conv_layers=2, num_conv_kernels=(3,))), ValueError,
     'extra.num_conv_kernels has 1 entries but extra.num_conv_layers is 2'),
    (dict(extra=dict(final_conv=1)), KeyError, 'extra has unknown keys'),
    (dict(extra=[1]), TypeError, 'extra must be a dict'),
    (dict(train_cfg=dict(loss_weights=1)), KeyError,
     "train_cfg has keys \\['loss_weights'\\] but TopdownHeatmapSimpleHead reads none"),
    (dict(input_transform='multiple_select'), ValueError, 'input_transform must be one of'),
    (dict(in_channels=[8]), TypeError, 'in_channels and in_index must be ints'),
    (dict(in_channels=[8, 2], in_index=[0], input_transform='resize_concat'), TypeError,
     'lists of the same length'),
    (dict(in_channels=[8], in_index=[0], input_transform='resize_concat', upsample=2),
     ValueError, 'upsample applies to a single feature map'),
])
def test_constructor_errors_name_the_argument(kwargs, error, message):
    with pytest.raises(error, match=message):
        head(**kwargs)


def test_forward_errors_name_the_argument():
    with pytest.raises(IndexError, match='in_index=2 but the backbone returned 1 feature map'):
        head(in_index=2)(feats())
    with pytest.raises(ValueError, match='in_channels is 8 but the selected feature map has 5'):
        head()(feats(channels=5))
    with pytest.raises(ValueError, match='loss_keypoint is not set'):
        head().get_loss(torch.zeros(1, K, 2, 2), torch.zeros(1, K, 2, 2), torch.ones(1, K, 1))


def test_registered_with_option_keys():
    assert MODELS.get('TopdownHeatmapSimpleHead') is TopdownHeatmapSimpleHead
    for key in HEATMAP_TEST_CFG_KEYS:
        assert accepts_key('TopdownHeatmapSimpleHead', ('test_cfg', key))
    assert accepts_key('TopdownHeatmapSimpleHead', ('extra', 'num_conv_kernels'))
    assert not accepts_key('TopdownHeatmapSimpleHead', ('test_cfg', 'flip_tset'))
