"""The codec contract: batched decoding in input pixels (numpy or torch in), sizes filled in
later, flip-back in torch equal to numpy, empty images, and the one translation of MMPose 0.x's
keys into codecs."""
import numpy as np
import pytest
import torch

from posecfg.codecs import decode_heatmaps, flip_back
from posecfg.codecs.mmpose0x import decoding_codec, target_codecs
from posecfg.registry import KEYPOINT_CODECS

INPUT, HEATMAP = (192, 256), (48, 64)


def random_heatmaps(shape, seed=0):
    rng = np.random.default_rng(seed)
    maps = rng.random(shape).astype(np.float32) * 0.1
    b, c, h, w = shape
    for i in range(b):  # one clear peak per map, away from the border
        for k in range(c):
            maps[i, k, rng.integers(4, h - 4), rng.integers(4, w - 4)] = 1.0
    return maps


# (test_cfg decoding keys, the decode_heatmaps arguments they mean, cells → pixels factor)
DECODINGS = [
    (dict(post_process='default'), dict(post_process='default'), 4.0),
    (dict(post_process=None), dict(post_process=None), 4.0),
    (dict(post_process='unbiased', modulate_kernel=7), dict(post_process='unbiased', kernel=7),
     4.0),
    (dict(post_process='megvii', modulate_kernel=5), dict(post_process='megvii', kernel=5), 4.0),
    (dict(use_udp=True, modulate_kernel=11), dict(use_udp=True, kernel=11), None),
]


@pytest.mark.parametrize('test_cfg,decode_args,stride', DECODINGS, ids=lambda v: str(v))
def test_test_cfg_codecs_decode_batches_to_input_pixels(test_cfg, decode_args, stride):
    codec = KEYPOINT_CODECS.build(decoding_codec(**test_cfg)).sized(INPUT)
    heatmaps = random_heatmaps((3, 5, 64, 48))
    if test_cfg.get('post_process') == 'megvii':
        heatmaps *= 255
    keypoints, scores = codec.decode(heatmaps)
    assert keypoints.shape == (3, 1, 5, 2) and scores.shape == (3, 1, 5)
    assert keypoints.dtype == np.float32 and scores.dtype == np.float32
    cells, maxvals = decode_heatmaps(heatmaps, **decode_args)
    # UDP: pixel 0 and w - 1 are cells 0 and W - 1
    factor = np.array([stride] * 2) if stride else (np.array(INPUT) - 1) / (np.array(HEATMAP) - 1)
    np.testing.assert_allclose(keypoints[:, 0], cells * factor, rtol=1e-6)
    np.testing.assert_array_equal(scores[:, 0], maxvals)
    # torch in (any float dtype), the same numbers out; one sample decodes like the batch
    torch_kpts, _ = codec.decode(torch.from_numpy(heatmaps))
    np.testing.assert_array_equal(torch_kpts, keypoints)
    single, _ = codec.decode(heatmaps[1])
    np.testing.assert_array_equal(single, keypoints[1])


def test_udp_combined_translation_and_flip_in_torch_equals_numpy():
    codec = KEYPOINT_CODECS.build(decoding_codec(use_udp=True, target_type='CombinedTarget',
                                                 valid_radius_factor=0.1)).sized(INPUT)
    assert (codec.heatmap_type, codec.radius_factor, codec.channels_per_keypoint) == (
        'combined', 0.1, 3)
    heatmaps = random_heatmaps((2, 9, 64, 48))
    for shift in (False, True):
        in_numpy = codec.flip_back(heatmaps, [[1, 2]], shift=shift)
        in_torch = codec.flip_back(torch.from_numpy(heatmaps), [[1, 2]], shift=shift)
        np.testing.assert_array_equal(in_torch.numpy(), in_numpy)
    expected = flip_back(heatmaps, [[1, 2]], 'CombinedTarget')
    np.testing.assert_array_equal(codec.flip_back(heatmaps, [[1, 2]]), expected)
    shifted = codec.flip_back(heatmaps, [[1, 2]], shift=True)
    np.testing.assert_array_equal(shifted[..., 1:], expected[..., :-1])
    np.testing.assert_array_equal(shifted[..., 0], expected[..., 0])
    assert codec.decode(heatmaps)[0].shape == (2, 1, 3, 2)


@pytest.mark.parametrize('args,expected,multi', [
    (dict(sigma=3), [dict(type='MSRAHeatmap', sigma=3.0, unbiased=False)], False),
    (dict(sigma=2, unbiased_encoding=True), [dict(type='MSRAHeatmap', sigma=2.0, unbiased=True)],
     False),
    (dict(encoding='Megvii', kernel=[(15, 15), (9, 9)]),
     [dict(type='MegviiHeatmap', kernel_size=(15, 15)),
      dict(type='MegviiHeatmap', kernel_size=(9, 9))], True),
    (dict(encoding='UDP', sigma=[2, 3]),
     [dict(type='UDPHeatmap', heatmap_type='gaussian', sigma=2.0),
      dict(type='UDPHeatmap', heatmap_type='gaussian', sigma=3.0)], True),
    (dict(encoding='UDP', target_type='CombinedTarget', valid_radius_factor=0.05),
     [dict(type='UDPHeatmap', heatmap_type='combined', radius_factor=0.05)], False),
])
def test_target_step_arguments_translate_to_codecs(args, expected, multi):
    assert target_codecs(**args) == (expected, multi)
    for cfg in expected:  # each builds
        KEYPOINT_CODECS.build(cfg)


def test_sizes_are_filled_in_once_and_must_agree():
    codec = KEYPOINT_CODECS.build(dict(type='MSRAHeatmap', sigma=2))
    assert codec.input_size is None
    with pytest.raises(ValueError, match='input_size is not set'):
        codec.encode(np.zeros((1, 2, 2)))
    sized = codec.sized(INPUT, HEATMAP)
    assert codec.input_size is None and sized.input_size == INPUT
    assert sized.sized(INPUT, HEATMAP) is sized
    with pytest.raises(ValueError, match=r'input_size is \(192\.0, 256\.0\) but the model '
                                         r'produced \(64\.0, 64\.0\)'):
        sized.sized((64, 64))


@pytest.mark.parametrize('cfg', [dict(type='MSRAHeatmap', sigma=2),
                                 dict(type='MegviiHeatmap', kernel_size=11),
                                 dict(type='UDPHeatmap', heatmap_type='combined')])
def test_an_image_without_instances_encodes_to_empty_targets(cfg):
    codec = KEYPOINT_CODECS.build(dict(cfg, input_size=INPUT, heatmap_size=HEATMAP))
    encoded = codec.encode(np.zeros((0, 4, 2)), np.zeros((0, 4)))
    channels = 12 if cfg.get('heatmap_type') == 'combined' else 4
    assert encoded['heatmaps'].shape == (channels, 64, 48) and not encoded['heatmaps'].any()
    assert encoded['keypoint_weights'].shape == (0, 4)
