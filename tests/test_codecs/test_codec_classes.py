"""Codec classes: registered, and encode -> decode recovers keypoints within each encoding's
quantisation (input 192 x 256 px, heatmap 48 x 64 cells: stride 4 px)."""
import numpy as np
import pytest

from posecfg.codecs import MegviiHeatmap, MSRAHeatmap, UDPHeatmap
from posecfg.registry import KEYPOINT_CODECS

INPUT, HEATMAP = (192, 256), (48, 64)

# (config, worst error in input pixels); why each bound:
CASES = [
    # integer-centred symmetric Gaussian: the arg-max cell, at most half a cell off
    (dict(type='MSRAHeatmap', sigma=2), 2.0),
    # DARK on an unbiased target: sub-cell exact up to the modulation's border effects
    (dict(type='MSRAHeatmap', sigma=2, unbiased=True), 0.1),
    # cell centre (+0.5) plus a possible quarter step from float asymmetry of the blur
    (dict(type='MegviiHeatmap', kernel_size=11), 3.0),
    (dict(type='UDPHeatmap', heatmap_type='gaussian', sigma=2), 0.2),
    # offsets are blurred before reading them (MMPose 0.x), which shrinks them: < 1 cell
    (dict(type='UDPHeatmap', heatmap_type='combined'), 4.0),
]


@pytest.mark.parametrize('cfg, bound', CASES, ids=lambda c: str(c))
def test_round_trip(cfg, bound):
    codec = KEYPOINT_CODECS.build(dict(cfg, input_size=INPUT, heatmap_size=HEATMAP))
    rng = np.random.default_rng(0)
    keypoints = rng.uniform([24, 24], [168, 232], size=(1, 30, 2))
    encoded = codec.encode(keypoints, np.ones((1, 30)))
    channels = 90 if cfg.get('heatmap_type') == 'combined' else 30
    assert encoded['heatmaps'].shape == (channels, 64, 48)
    assert encoded['keypoint_weights'].shape == (1, 30)
    errors = []
    for k in range(30):  # one keypoint per map, so neighbours do not overlap
        single = codec.encode(keypoints[:, k:k + 1])
        decoded, scores = codec.decode(single['heatmaps'])
        assert decoded.shape == (1, 1, 2) and scores.shape == (1, 1)
        errors.append(np.abs(decoded[0, 0] - keypoints[0, k]).max())
    assert max(errors) <= bound


def test_instances_merge_by_maximum_and_weights_are_per_instance():
    codec = MSRAHeatmap(INPUT, HEATMAP, sigma=2)
    keypoints = np.array([[[40.0, 40.0], [100, 100]], [[40.0, 60.0], [-200, 100]]])
    encoded = codec.encode(keypoints, np.array([[1, 1], [1, 1]]))
    assert encoded['keypoint_weights'].tolist() == [[1, 1], [1, 0]]
    heatmap = encoded['heatmaps'][0]
    assert heatmap[10, 10] == 1.0 and heatmap[15, 10] == 1.0  # both instances' peaks


def test_megvii_scores_and_udp_combined_instances():
    scores = MegviiHeatmap(INPUT, HEATMAP, 11).decode(
        MegviiHeatmap(INPUT, HEATMAP, 11).encode(np.array([[[50.0, 70.0]]]))['heatmaps'])[1]
    assert scores[0, 0] == pytest.approx(1.5)  # 255 / 255 + 0.5, as MMPose 0.x
    codec = UDPHeatmap(INPUT, HEATMAP, 'combined')
    encoded = codec.encode(np.array([[[40.0, 40.0]], [[150.0, 200.0]]]))
    assert encoded['heatmaps'].shape == (3, 64, 48)
    assert encoded['heatmaps'][0, 10, 10] == 1 and encoded['heatmaps'][0, 50, 37] == 1


def test_codec_errors():
    with pytest.raises(ValueError, match="heatmap_type must be 'gaussian' or 'combined'"):
        UDPHeatmap(INPUT, HEATMAP, heatmap_type='offset')
    with pytest.raises(ValueError, match='blur_kernel_size must be a positive odd integer'):
        MSRAHeatmap(INPUT, HEATMAP, sigma=2, blur_kernel_size=4)
    codec = MSRAHeatmap(INPUT, HEATMAP, sigma=2)
    with pytest.raises(ValueError, match=r'keypoints must be \(N, K, 2\) input pixels'):
        codec.encode(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r'keypoints_visible must be \(N, K\) = \(1, 3\)'):
        codec.encode(np.zeros((1, 3, 2)), np.ones(3))
    with pytest.raises(ValueError, match=r'decode: heatmaps must be \(B, C, H, W\) or '
                                         r'\(K, H, W\)'):
        codec.decode(np.zeros((1, 1, 3, 64, 48)))
    with pytest.raises(ValueError, match=r"heatmap_size is \(48, 64\) but the model produced "
                                         r"\(24, 32\)"):
        codec.decode(np.zeros((1, 3, 32, 24)))
    with pytest.raises(ValueError, match='input_size is not set'):
        MSRAHeatmap(sigma=2).decode(np.zeros((1, 3, 32, 24)))
