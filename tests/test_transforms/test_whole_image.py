"""Whole-image DeepLabCut augmentations: what is applied is what the config says (DLC#2753).

Oracles are written out here from DeepLabCut 3.0.1 ``pose_estimation_pytorch/data/transforms.py``
and albumentations 1.4.3 (cited per test), not taken from posecfg's functions.
"""
import glob
import math

import cv2
import numpy as np
import pytest
import torch

from posecfg.registry import FUNCTIONS, TRANSFORMS
import posecfg.transforms  # noqa: F401  (registers)
from posecfg.transforms.compose import Compose


def record(w=64, h=48, kpts=((10., 12.), (40., 30.), (60., 40.)), seed=0):
    rng = np.random.RandomState(seed)
    img = rng.randint(0, 255, (h, w, 3)).astype(np.uint8)
    k = np.array([kpts], np.float32)
    return dict(img=img, keypoints=k, keypoints_visible=np.ones((1, len(kpts)), np.float32),
                bboxes=np.array([[5, 5, 20, 10]], np.float32), areas=np.array([200.], np.float32))


def build(**cfg):
    return TRANSFORMS.build(cfg)


def test_affine_fixed_scale_and_angle_moves_keypoints_by_the_affine():
    # DLC transforms.py:59-76: A.Affine(scale=scaling, rotate=(-r, r), translate_px=(-t, t));
    # albumentations: rotation about (w/2 - 0.5, h/2 - 0.5), rotate = -U(range)
    r = record()
    step = build(type='RandomAffine', p=1.0, rotation=[30, 30], scaling=[0.5, 0.5],
                 translation=0)
    out = step(dict(r))
    cx, cy = 64 / 2 - 0.5, 48 / 2 - 0.5
    a = math.radians(-30)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]) * 0.5
    expect = (r['keypoints'][0] - [cx, cy]) @ rot.T + [cx, cy]
    vis = out['keypoints_visible'][0] > 0
    np.testing.assert_allclose(out['keypoints'][0][vis], expect[vis], atol=1e-4)
    assert vis.all()  # all stay inside at scale 0.5
    np.testing.assert_allclose(out['warp_mat'][:, :2], rot, atol=1e-9)
    assert np.asarray(out['img']).shape == (48, 64, 3)


def test_affine_draws_stay_in_range_and_p0_does_nothing():
    r = record()
    assert build(type='RandomAffine', p=0.0, rotation=30)(dict(r))['keypoints'] is r['keypoints']
    step = build(type='RandomAffine', p=1.0, rotation=20, scaling=[0.8, 1.2], translation=5)
    for s in range(20):
        np.random.seed(s)
        m = step(dict(record()))['warp_mat']
        scale = math.hypot(m[0, 0], m[1, 0])
        angle = abs(math.degrees(math.atan2(m[1, 0], m[0, 0])))
        assert 0.8 - 1e-9 <= scale <= 1.2 + 1e-9 and angle <= 20 + 1e-9
        # translation: t_total = c + t - S·c, t integers in [-5, 5]
        c = np.array([31.5, 23.5])
        t = m[:, 2] - c + m[:, :2] @ c
        np.testing.assert_allclose(t, np.round(t), atol=1e-6)
        assert np.all(np.abs(t) <= 5)


def test_hflip_mirrors_and_swaps_symmetries():
    # albumentations keypoint_hflip: x -> (cols - 1) - x; DLC HFlip swaps symmetric indices
    r = record()
    out = build(type='HorizontalFlip', p=1.0, symmetries=[[0, 1]])(dict(r))
    k = r['keypoints'][0]
    np.testing.assert_allclose(out['keypoints'][0][0], [63 - k[1, 0], k[1, 1]])
    np.testing.assert_allclose(out['keypoints'][0][1], [63 - k[0, 0], k[0, 1]])
    np.testing.assert_allclose(out['keypoints'][0][2], [63 - k[2, 0], k[2, 1]])
    np.testing.assert_array_equal(np.asarray(out['img']), r['img'][:, ::-1])
    # boxes move as points (x -> 63 - x); albumentations mirrors box edges (64 - x_max)
    np.testing.assert_allclose(out['bboxes'][0], [63 - 25, 5, 20, 10])


def test_resize_keep_ratio_pads_bottom_right():
    # DLC build_resize_transforms: KeepAspectRatioResize(mode='pad') + PadIfNeeded top-left
    r = record(w=64, h=48)
    out = build(type='Resize', height=32, width=32)(dict(r))
    img = np.asarray(out['img'])
    assert img.shape == (32, 32, 3)
    s = 0.5  # min(32/48, 32/64); new size (32, 24)
    np.testing.assert_allclose(out['keypoints'][0], (r['keypoints'][0] + 0.5) * s - 0.5)
    assert (img[24:] == 0).all()
    np.testing.assert_allclose(img[:24].astype(float),
                               cv2.resize(r['img'], (32, 24), interpolation=cv2.INTER_LINEAR),
                               atol=60)


def test_crop_sampling_gives_the_asked_size_and_unlabels_outside():
    # DLC: PadIfNeeded(min h/w, constant) then KeypointAwareCrop(width, height, max_shift, method)
    steps = Compose([dict(type='PadIfNeeded', min_height=40, min_width=80, pad_height_divisor=None,
                          pad_width_divisor=None, position='center', border_mode='constant'),
                     dict(type='KeypointAwareCrop', width=32, height=24, max_shift=0.1,
                          method='keypoints')])
    for s in range(10):
        np.random.seed(s)
        r = record()
        out = steps(dict(r))
        assert np.asarray(out['img']).shape == (24, 32, 3)
        k, v = out['keypoints'][0], out['keypoints_visible'][0]
        assert v.any()  # the crop is placed at a keypoint
        inside = (k[:, 0] >= 0) & (k[:, 0] < 32) & (k[:, 1] >= 0) & (k[:, 1] < 24)
        assert inside[v > 0].all() and (k[v == 0] == 0).all()
        # the crop is a translation: pixels equal the padded image's
        m = out['warp_mat']
        np.testing.assert_allclose(m[:, :2], np.eye(2))
        x0, y0 = -m[:, 2]
        padded = np.zeros((48, 80, 3), np.uint8)
        padded[:, 8:72] = r['img']
        ox, oy = int(x0) + 8, int(y0)
        np.testing.assert_array_equal(np.asarray(out['img']), padded[oy:oy + 24, ox:ox + 32])


def test_crop_then_pad_keeps_cut_pixels_black():
    r = record()
    out = Compose([dict(type='KeypointAwareCrop', width=32, height=24, method='uniform'),
                   dict(type='PadIfNeeded', min_height=48, min_width=64, pad_height_divisor=None,
                        pad_width_divisor=None, position='top_left', border_mode='constant')])(r)
    img = np.asarray(out['img'])
    assert img.shape == (48, 64, 3) and (img[24:] == 0).all() and (img[:, 32:] == 0).all()


def test_auto_padding_divisor_reflect():
    r = record(w=50, h=30)
    out = build(type='PadIfNeeded', pad_height_divisor=32, pad_width_divisor=32,
                position='top_left')(dict(r))
    img = np.asarray(out['img'])
    assert img.shape == (32, 64, 3)
    np.testing.assert_array_equal(img, cv2.copyMakeBorder(r['img'], 0, 2, 0, 14,
                                                          cv2.BORDER_REFLECT_101))
    with pytest.raises(ValueError, match='exactly one of min_height'):
        build(type='PadIfNeeded', min_height=64)


def test_longest_max_size():
    out = build(type='LongestMaxSize', max_size=32)(record(w=64, h=48))
    assert np.asarray(out['img']).shape == (24, 32, 3)


def test_covering_unlabels_keypoints_in_holes():
    r = record()
    np.random.seed(1)
    step = build(type='CoarseDropout', max_holes=10, max_height=0.5, min_height=0.4,
                 max_width=0.5, min_width=0.4, p=1.0)
    out = step(dict(r))
    img = out['img']
    for (x, y), v in zip(r['keypoints'][0], out['keypoints_visible'][0]):
        assert (v == 0) == (img[int(y), int(x)] == 0).all() or v == 1


@pytest.mark.parametrize('cfg', [dict(type='GaussianNoise', std=12.75, p=1.0),
                                 dict(type='MotionBlur', p=1.0), dict(type='Equalize', p=1.0),
                                 dict(type='Grayscale', alpha=1.0, p=1.0),
                                 dict(type='ElasticTransform', p=1.0)])
def test_pixel_ops_keep_shape_and_dtype(cfg):
    np.random.seed(0)
    r = record()
    out = build(**cfg)(dict(r))
    assert out['img'].shape == (48, 64, 3) and out['img'].dtype == np.uint8
    assert out['keypoints'].shape == (1, 3, 2)
    if cfg['type'] == 'Grayscale':  # alpha 1: the grey image in every channel
        assert (out['img'][..., 0] == out['img'][..., 1]).all()
    if cfg['type'] == 'ElasticTransform':  # alpha 20 px: keypoints move a little
        d = np.abs(out['keypoints'] - r['keypoints'])[out['keypoints_visible'] > 0]
        assert (d < 20).all()


def test_normalize_then_unit_range_records_dlc_arithmetic():
    r = Compose([dict(type='NormalizeImage'), dict(type='ScaleToUnitRange')])(record())
    cfg = r['img_norm_cfg']
    x = 200.0  # DLC: ((x/255 - mean)/std)/255
    got = (x / 255 - cfg['mean'][0]) / cfg['std'][0]
    assert got == pytest.approx(((x / 255 - 0.485) / 0.229) / 255)


def _sample(w, h, kx, ky, seed):
    r = record(w=w, h=h, kpts=((kx, ky),))
    steps = Compose([dict(type='ToTensor'),
                     dict(type='Collect', keys=['img', 'keypoints', 'keypoints_visible',
                                                'bboxes'], meta_keys=[])])
    s = steps(r)
    s['img_metas']['sample_seed'] = seed
    s['img_metas']['warp_mat'] = np.array([[1., 0, 0], [0, 1., 0]])
    return s


def test_resize_collates_batch_different_sizes():
    batch = [_sample(64, 48, 30., 20., 1), _sample(40, 80, 10., 50., 2)]
    fn = FUNCTIONS.get('ResizeFromListCollate')
    out = fn(batch, scales=[[32, 32]], max_shift=0)
    assert out['img'].shape == (2, 3, 32, 32)
    for i, sample in enumerate(batch):
        m = out['img_metas'][i]['warp_mat']
        oh, ow = sample['img'].shape[1:]
        # DLC get_resize_preserve_ratio: one side = target, other covers it
        h, w = (32, int(ow * 32 / oh)) if oh / 32 <= ow / 32 else (int(oh * 32 / ow), 32)
        np.testing.assert_allclose([m[0, 0], m[1, 1]], [w / ow, h / oh])
        k = out['keypoints'][i][0, 0]
        if out['keypoints_visible'][i][0, 0] > 0:
            np.testing.assert_allclose(k, m[:, :2] @ sample['keypoints'][0, 0] + m[:, 2],
                                       atol=1e-4)
    out2 = FUNCTIONS.get('ResizeFromDataSizeCollate')(batch, min_scale=0.5, max_scale=0.5,
                                                      min_short_side=8, max_short_side=100)
    # first image 48x64: short 24, long int(64/48 * 24) = 32
    assert out2['img'].shape == (2, 3, 24, 32)
    again = FUNCTIONS.get('ResizeFromDataSizeCollate')(batch, min_scale=0.5, max_scale=0.5,
                                                       min_short_side=8, max_short_side=100)
    assert torch.equal(again['img'], out2['img'])  # sample seeds fix the draws


def test_collate_refuses_targets_made_before_it():
    s = _sample(64, 48, 30., 20., 1)
    s['heatmaps'] = np.zeros((3, 12, 16), np.float32)
    with pytest.raises(ValueError, match='transforms'):
        FUNCTIONS.get('ResizeFromListCollate')([s], scales=[32])


def test_registered_parts_have_example_args():
    for name in ('Resize', 'LongestMaxSize', 'HorizontalFlip', 'RandomAffine', 'PadIfNeeded',
                 'KeypointAwareCrop', 'GaussianNoise', 'MotionBlur', 'Equalize',
                 'CoarseDropout', 'ElasticTransform', 'Grayscale', 'NormalizeImage',
                 'ScaleToUnitRange'):
        cls = TRANSFORMS.get(name)
        out = cls(**cls.example_args)(record())
        assert np.asarray(out['img']).ndim == 3


def test_real_frame_pipeline_one_warp(shared_path=None):
    files = sorted(glob.glob('/work/shared/data/dlc-openfield-Pranav-2018-10-30/labeled-data/'
                             '*/*.png'))
    if not files:
        pytest.skip('openfield data absent')
    img = cv2.cvtColor(cv2.imread(files[0]), cv2.COLOR_BGR2RGB)
    r = dict(img=img, keypoints=np.array([[[320., 240.], [330., 250.]]], np.float32),
             keypoints_visible=np.ones((1, 2), np.float32),
             bboxes=np.array([[310, 230, 30, 30]], np.float32))
    np.random.seed(3)
    out = Compose([dict(type='HorizontalFlip', p=1.0, symmetries=[[0, 1]]),
                   dict(type='RandomAffine', p=1.0, rotation=30, scaling=[0.5, 1.25],
                        translation=0),
                   dict(type='PadIfNeeded', min_height=256, min_width=256,
                        pad_height_divisor=None, pad_width_divisor=None, position='center',
                        border_mode='constant'),
                   dict(type='KeypointAwareCrop', width=256, height=256, max_shift=0.1,
                        method='hybrid'),
                   dict(type='ToTensor')])(r)
    assert tuple(out['img'].shape) == (3, 256, 256)
    # the keypoints are where warp_mat sends the originals (after the symmetric swap)
    m = out['warp_mat']
    orig = np.array([[330., 250.], [320., 240.]])
    vis = out['keypoints_visible'][0] > 0
    np.testing.assert_allclose(out['keypoints'][0][vis], (orig @ m[:, :2].T + m[:, 2])[vis],
                               atol=1e-3)


def test_batch_of_different_sizes_end_to_end_and_back_to_original():
    from functools import partial
    from torch.utils.data import DataLoader

    from posecfg.geometry import affine_points, invert_affine
    pipeline = Compose([dict(type='HorizontalFlip', p=0.5, symmetries=[[0, 1]]),
                        dict(type='RandomAffine', p=1.0, rotation=10, scaling=[0.8, 1.0],
                             translation=2),
                        dict(type='ToTensor'),
                        dict(type='Collect', keys=['img', 'keypoints', 'keypoints_visible'],
                             meta_keys=[])])
    sizes = [(64, 48), (40, 80), (100, 30), (50, 50)]
    records = [record(w=w, h=h, kpts=((w / 2, h / 2), (w / 2 + 3, h / 2), (w / 3, h / 3)))
               for w, h in sizes]

    def item(i):
        np.random.seed(i)
        return pipeline(dict(records[i]))

    loader = DataLoader(list(range(4)), batch_size=4, collate_fn=lambda idx: partial(
        FUNCTIONS.get('ResizeFromDataSizeCollate'), min_scale=0.5, max_scale=1.0,
        min_short_side=16, max_short_side=64, multiple_of=8)([item(i) for i in idx]))
    batch = next(iter(loader))
    assert batch['img'].shape[0] == 4 and batch['img'].shape[2] % 8 == 0
    for i, r in enumerate(records):
        vis = batch['keypoints_visible'][i][0] > 0
        back = affine_points(batch['keypoints'][i][0].astype(np.float64),
                             invert_affine(batch['img_metas'][i]['warp_mat']))
        orig = r['keypoints'][0]
        # every visible point maps back onto an original keypoint (flip may swap 0 and 1)
        for p in back[vis]:
            assert np.min(np.abs(orig - p).max(axis=1)) < 1e-3
