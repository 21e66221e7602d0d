"""Lightning Pose's imgaug presets as posecfg steps (issue 12 item 5).

Oracles are written out here: the presets from Lightning Pose 2.4.3
``lightning_pose/data/augmentations.py`` (``expand_imgaug_str_to_dict``, lines cited per entry),
imgaug 0.4.0 facts (file:line cited per test), and pixel/coordinate formulas (numpy rotations
and flips, cv2 resize), never posecfg's own functions.
"""
import math

import cv2
import numpy as np
import pytest

import posecfg.transforms  # noqa: F401  (registers)
from posecfg.registry import TRANSFORMS
from posecfg.transforms.compose import Compose
from posecfg.transforms.lp_imgaug import IMGAUG_PRESETS, lp_imgaug_pipeline, lr_symmetries
from tests.conftest import shared_path

# ------------------------------------------------------------------ LP 2.4.3's presets
#: ``expand_imgaug_str_to_dict('dlc')`` written out (augmentations.py:159-234): imgaug op →
#: (Sometimes probability, kwargs); p 1.0 means no Sometimes wrapper (lines 106-117).
LP_DLC = [
    ('Affine', 0.4, dict(rotate=(-25, 25))),                                        # 159-162
    ('MotionBlur', 0.5, dict(k=5, angle=(-90, 90))),                                # 164-170
    ('CoarseDropout', 0.5, dict(p=0.02, size_percent=0.3, per_channel=0.5)),        # 172-183
    ('CoarseSalt', 0.5, dict(p=0.01, size_percent=(0.05, 0.1))),                    # 190-198
    ('CoarsePepper', 0.5, dict(p=0.01, size_percent=(0.05, 0.1))),                  # 199-202
    ('ElasticTransformation', 0.5, dict(alpha=(0, 10), sigma=5)),                   # 204-211
    ('AllChannelsHistogramEqualization', 0.1, dict()),                              # 214
    ('AllChannelsCLAHE', 0.1, dict()),                                              # 218
    ('Emboss', 0.1, dict(alpha=(0, 0.5), strength=(0.5, 1.5))),                     # 220-226
    ('CropAndPad', 0.4, dict(percent=(-0.15, 0.15), keep_size=False)),              # 228-234
]
#: 'dlc-mv' drops the ops under ``if not params.endswith("mv")`` (lines 160, 205, 229)
MV_DROPPED = {'Affine', 'ElasticTransformation', 'CropAndPad'}
LP_PRESETS = {
    'default': [], 'none': [],                                                      # 147-148
    'dlc': LP_DLC,
    'dlc-lr': [('Rot90', 1.0, dict(k=(0, 2)))] + LP_DLC,                            # 152-153
    'dlc-top-down': [('Rot90', 1.0, dict(k=(0, 1, 2, 3)))] + LP_DLC,                # 156-157
    'dlc-mv': [op for op in LP_DLC if op[0] not in MV_DROPPED],
}
#: imgaug 0.4.0 defaults the presets rely on: AllChannelsCLAHE (contrast.py:994-995),
#: MotionBlur direction (blur.py:983 signature: direction=(-1.0, 1.0)), Rot90 keep_size=True
IMGAUG_DEFAULTS = dict(clahe_clip_limit=(0.1, 8), clahe_tile_grid_size_px=(3, 12),
                       clahe_tile_grid_size_px_min=3, motion_blur_direction=(-1.0, 1.0))


def as_imgaug(step):
    """A built posecfg step in imgaug's vocabulary: (op, Sometimes p, kwargs)."""
    name = type(step).__name__
    pair = lambda v: tuple(float(x) for x in v)  # noqa: E731
    if name == 'Rot90':
        assert step.keep_size  # imgaug's default: the image keeps its size
        return 'Rot90', step.p, dict(k=tuple(step.k))
    if name == 'RandomAffine':
        # rotation only: no scale, translation, shear (imgaug Affine defaults)
        assert step.scale_range == (1.0, 1.0) and step.translate_range == (0.0, 0.0)
        assert step.shear_range == (0.0, 0.0)
        # RandomAffine rotates by -U(rotation) (albumentations' sign), imgaug by +U(rotate)
        return 'Affine', step.p, dict(rotate=(-float(step.rot_range[1]),
                                              -float(step.rot_range[0])))
    if name == 'ImgaugMotionBlur':
        assert pair(step.direction) == IMGAUG_DEFAULTS['motion_blur_direction']
        return 'MotionBlur', step.p, dict(k=step.k, angle=pair(step.angle))
    if name == 'ImgaugCoarseDropout':
        assert step.min_size == 3
        sp = step.size_percent
        return 'CoarseDropout', step.p, dict(p=step.fraction,
                                             size_percent=sp[0] if sp[0] == sp[1] else sp,
                                             per_channel=step.per_channel)
    if name in ('CoarseSalt', 'CoarsePepper'):
        assert step.min_size == 3 and step.per_channel == 0
        return name, step.p, dict(p=step.fraction, size_percent=pair(step.size_percent))
    if name == 'ImgaugElasticTransformation':
        assert step.order == 3  # imgaug 0.4.0 geometric.py:4234 order=3
        sigma = step.sigma[0] if step.sigma[0] == step.sigma[1] else step.sigma
        return 'ElasticTransformation', step.p, dict(alpha=pair(step.alpha), sigma=sigma)
    if name == 'Equalize':
        return 'AllChannelsHistogramEqualization', step.p, dict()
    if name == 'AllChannelsCLAHE':
        assert pair(step.clip_limit) == IMGAUG_DEFAULTS['clahe_clip_limit']
        assert step.tile_grid_size_px == IMGAUG_DEFAULTS['clahe_tile_grid_size_px']
        assert step.tile_grid_size_px_min == IMGAUG_DEFAULTS['clahe_tile_grid_size_px_min']
        return 'AllChannelsCLAHE', step.p, dict()
    if name == 'Emboss':
        return 'Emboss', step.p, dict(alpha=pair(step.alpha), strength=pair(step.strength))
    if name == 'CropAndPad':
        assert step.pad_value == 0
        return 'CropAndPad', step.p, dict(percent=pair(step.percent), keep_size=False)
    raise AssertionError(f'unexpected step {name}')


@pytest.mark.parametrize('preset', sorted(LP_PRESETS))
def test_preset_has_lightning_pose_operations_ranges_and_probabilities(preset):
    steps = Compose(lp_imgaug_pipeline(preset, (256, 384))).transforms
    # LP appends iaa.Resize({'height', 'width'}) to every pipeline (data/datasets.py:137-142)
    resize = steps[-1]
    assert type(resize).__name__ == 'Resize'
    assert (resize.height, resize.width, resize.keep_ratio) == (256, 384, False)
    got = [as_imgaug(s) for s in steps[:-1]]
    want = [(op, p, {k: (tuple(float(x) for x in v) if isinstance(v, tuple) else v)
                     for k, v in kw.items()}) for op, p, kw in LP_PRESETS[preset]]
    assert [g[0] for g in got] == [w[0] for w in want]  # same ops, same order
    for (op, p, kw), (_, want_p, want_kw) in zip(got, want):
        assert p == pytest.approx(want_p), op
        assert kw == want_kw, op


def test_presets_are_lightning_pose_list_and_unknown_preset_lists_them():
    # augmentations.py:137-144
    assert set(IMGAUG_PRESETS) == {'default', 'none', 'dlc', 'dlc-lr', 'dlc-top-down', 'dlc-mv'}
    # the dialect keeps its own copy (it must not import the transforms for print_config's
    # speed): the two lists are the same
    from posecfg.interop.lp import dialect
    assert dialect.IMGAUG_PRESETS == IMGAUG_PRESETS
    with pytest.raises(ValueError) as err:
        lp_imgaug_pipeline('dlc-fancy', (256, 256))
    for name in ('dlc-fancy', 'default', 'dlc', 'dlc-lr', 'dlc-top-down', 'dlc-mv'):
        assert repr(name) in str(err.value)
    with pytest.raises(ValueError, match='image_resize_dims'):
        lp_imgaug_pipeline('dlc', dict(height=256, width=0))


def test_resize_dims_accepts_lightning_pose_mapping():
    steps = lp_imgaug_pipeline('default', dict(height=128, width=256))
    assert steps == [dict(type='Resize', height=128, width=256, keep_ratio=False)]


# ------------------------------------------------------------------ hflip partners
NAMES = ['nose', 'ear_left', 'paw_right', 'ear_right', 'paw_left', 'tail']


def test_lr_symmetries_pair_left_right_partners_by_name():
    # data/datasets.py:219-246: <base>_left ↔ <base>_right
    assert sorted(map(sorted, lr_symmetries(NAMES))) == [[1, 3], [2, 4]]
    assert lr_symmetries(['nose', 'tail']) == []


@pytest.mark.parametrize('names, lonely', [
    (['nose', 'ear_left', 'ear_right', 'paw_left'], 'paw_left'),
    (['nose', 'hip_right'], 'hip_right'),
])
def test_missing_partner_is_an_error_naming_the_keypoint(names, lonely):
    with pytest.raises(ValueError, match=lonely):
        lp_imgaug_pipeline('default', (64, 64), names, hflip=True)


def test_hflip_needs_keypoint_names():
    with pytest.raises(ValueError, match='keypoint_names'):
        lp_imgaug_pipeline('dlc', (64, 64), hflip=True)


def test_hflip_mirrors_pixels_and_swaps_partners():
    h, w = 40, 60
    rng = np.random.RandomState(3)
    img = rng.randint(0, 255, (h, w, 3)).astype(np.uint8)
    kpts = np.array([[[5, 6], [10, 20], [30, 7], [50, 30], [22, 33], [40, 12]]], np.float32)
    pipe = Compose(lp_imgaug_pipeline('default', (h, w), NAMES, hflip=True))
    flipped = kept = 0
    for seed in range(12):
        np.random.seed(seed)
        out = pipe(dict(img=img.copy(), keypoints=kpts.copy(),
                        keypoints_visible=np.ones((1, 6), np.float32)))
        pixels = np.asarray(out['img'])
        if np.array_equal(pixels, img):
            kept += 1
            np.testing.assert_allclose(out['keypoints'], kpts, atol=1e-4)
            continue
        flipped += 1
        np.testing.assert_array_equal(pixels, img[:, ::-1])  # np.fliplr
        # position i gets partner's point mirrored: x → w - 1 - x (pixel centres)
        partner = [0, 3, 4, 1, 2, 5]
        want = kpts[0, partner].copy()
        want[:, 0] = w - 1 - want[:, 0]
        np.testing.assert_allclose(out['keypoints'][0], want, atol=1e-4)
        # the pixel under each keypoint is the one under its partner before the flip
        for i, j in enumerate(partner):
            x, y = out['keypoints'][0, i].astype(int)
            assert (pixels[y, x] == img[int(kpts[0, j, 1]), int(kpts[0, j, 0])]).all()
    assert flipped and kept  # p 0.5 both ways over 12 seeds


# ------------------------------------------------------------------ geometry on a real frame
@pytest.fixture
def mouse_frame():
    path = shared_path('lp-mirror-mouse', 'labeled-data', 'img01.png')
    img = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    assert img.shape == (406, 396, 3)
    return img


def test_rot90_quarter_turn_matches_numpy_rotation_and_resize(mouse_frame):
    # imgaug 0.4.0 geometric.py:4953 np.rot90(arr, k, axes=(1, 0)) (clockwise), keep_size:
    # resized back to (h, w); a pixel (x, y) goes to (h - 1 - y, x) then by the resize
    h, w = mouse_frame.shape[:2]
    pts = np.array([[[77.0, 36.0], [253.0, 102.0], [390.0, 24.0]]], np.float32)
    step = TRANSFORMS.build(dict(type='Rot90', k=[1]))
    out = Compose([step])(dict(img=mouse_frame.copy(), keypoints=pts.copy(),
                               keypoints_visible=np.ones((1, 3), np.float32)))
    rotated = np.rot90(mouse_frame, 1, axes=(1, 0))            # (w, h) = (396, 406)
    assert rotated.shape[:2] == (w, h)
    want_img = cv2.resize(rotated, (w, h), interpolation=cv2.INTER_LINEAR)
    got = np.asarray(out['img']).astype(int)
    assert got.shape == mouse_frame.shape
    # bilinear either way; the warp and cv2.resize round differently by a level or two
    assert np.abs(got - want_img)[2:-2, 2:-2].max() <= 3
    sx, sy = w / rotated.shape[1], h / rotated.shape[0]
    xr, yr = h - 1 - pts[0, :, 1], pts[0, :, 0]
    want = np.stack([(xr + 0.5) * sx - 0.5, (yr + 0.5) * sy - 0.5], -1)
    np.testing.assert_allclose(out['keypoints'][0], want, atol=1e-3)


def test_rot90_half_turn_is_exact(mouse_frame):
    h, w = mouse_frame.shape[:2]
    pts = np.array([[[77.0, 36.0], [253.0, 102.0]]], np.float32)
    out = Compose([dict(type='Rot90', k=[2])])(dict(
        img=mouse_frame.copy(), keypoints=pts.copy(), keypoints_visible=np.ones((1, 2))))
    np.testing.assert_array_equal(np.asarray(out['img']), np.rot90(mouse_frame, 2))
    np.testing.assert_allclose(out['keypoints'][0], np.stack(
        [w - 1 - pts[0, :, 0], h - 1 - pts[0, :, 1]], -1), atol=1e-4)


def test_crop_and_pad_sizes_follow_imgaug_rounding(mouse_frame):
    # imgaug 0.4.0 size.py:2096-2099: px = round(fraction * side), + pads, - crops
    h, w = mouse_frame.shape[:2]
    step = TRANSFORMS.build(dict(type='CropAndPad', percent=[-0.15, 0.15], p=1.0))
    for seed in range(5):
        np.random.seed(seed)
        np.random.rand()  # the p draw
        top, right, bottom, left = np.random.uniform(-0.15, 0.15, size=4)
        t, b = round(h * top), round(h * bottom)
        r, l_ = round(w * right), round(w * left)
        np.random.seed(seed)
        pts = np.array([[[200.0, 200.0]]], np.float32)
        out = Compose([step])(dict(img=mouse_frame.copy(), keypoints=pts.copy(),
                                   keypoints_visible=np.ones((1, 1))))
        got = np.asarray(out['img'])
        assert got.shape == (h + t + b, w + l_ + r, 3)
        np.testing.assert_allclose(out['keypoints'][0, 0], [200 + l_, 200 + t], atol=1e-4)
        # content: the source pixel (x, y) is at (x + left, y + top)
        y0, x0 = max(0, -t), max(0, -l_)
        assert (got[y0 + t + 5, x0 + l_ + 5] == mouse_frame[y0 + 5, x0 + 5]).all()
        if t > 0:  # padding is black
            assert (got[:t] == 0).all()


def blobs(img, points, half=3):
    """The frame with red zeroed and red squares (2·half + 1 px) at ``points``."""
    out = img.copy()
    out[..., 0] = 0
    for x, y in points:
        out[int(y) - half:int(y) + half + 1, int(x) - half:int(x) + half + 1, 0] = 255
    return out


GEOMETRIC = {'Rot90', 'RandomAffine', 'ImgaugElasticTransformation', 'CropAndPad', 'Resize',
             'HorizontalFlip'}


@pytest.mark.parametrize('preset', ['dlc-top-down', 'dlc-lr'])
def test_geometric_steps_move_keypoints_with_the_image(mouse_frame, preset):
    """Red squares painted at keypoints of the real frame end up under the moved keypoints."""
    pts = np.array([[60.0, 60.0], [330.0, 80.0], [200.0, 200.0], [80.0, 330.0],
                    [320.0, 340.0]], np.float32)
    names = ['a_left', 'a_right', 'c', 'b_left', 'b_right']
    steps = [s for s in lp_imgaug_pipeline(preset, (192, 256), names, hflip=True)
             if s['type'] in GEOMETRIC]
    # make every step happen so the test covers them all
    steps = [dict(s, p=1.0) if 'p' in s else s for s in steps]
    pipe = Compose(steps)
    img = blobs(mouse_frame, pts)
    for seed in range(4):
        np.random.seed(seed)
        out = pipe(dict(img=img.copy(), keypoints=pts[None].copy(),
                        keypoints_visible=np.ones((1, 5), np.float32)))
        red = np.asarray(out['img'])[..., 0].astype(np.float64)
        assert red.shape == (192, 256)
        moved, vis = out['keypoints'][0], out['keypoints_visible'][0]
        checked = 0
        for (x, y), v in zip(moved, vis):
            if not v or not (8 <= x < 256 - 8 and 8 <= y < 192 - 8):
                continue
            ys, xs = np.mgrid[int(y) - 7:int(y) + 8, int(x) - 7:int(x) + 8]
            wgt = red[ys, xs] * (red[ys, xs] > 60)
            assert wgt.sum() > 0, (seed, x, y)
            cx, cy = (wgt * xs).sum() / wgt.sum(), (wgt * ys).sum() / wgt.sum()
            assert math.hypot(cx - x, cy - y) < 1.0, (seed, (x, y), (cx, cy))
            checked += 1
        assert checked >= 2


def test_keypoints_leaving_the_image_become_unlabelled():
    # LP marks points outside the final image NaN (data/datasets.py:496-506); posecfg: 0 / vis 0
    img = np.full((50, 50, 3), 100, np.uint8)
    pts = np.array([[[1.0, 1.0], [25.0, 25.0]]], np.float32)
    np.random.seed(0)  # every side cropped by round(50 · U(0.05, 0.15)) >= 2 px: (1, 1) leaves
    out = Compose([dict(type='CropAndPad', percent=[-0.15, -0.05], p=1.0)])(
        dict(img=img.copy(), keypoints=pts.copy(), keypoints_visible=np.ones((1, 2))))
    assert out['keypoints_visible'][0].tolist() == [0.0, 1.0]
    assert out['keypoints'][0, 0].tolist() == [0.0, 0.0]


def test_unlabelled_keypoints_stay_unlabelled_through_every_preset():
    # a frame whose keypoints are all unlabelled (LP: NaN) goes through; they stay 0 / vis 0
    img = np.random.RandomState(2).randint(0, 255, (60, 80, 3)).astype(np.uint8)
    for preset in ('dlc', 'dlc-lr', 'dlc-top-down', 'dlc-mv'):
        steps = [dict(s, p=1.0) if 'p' in s else s
                 for s in lp_imgaug_pipeline(preset, (32, 48), ['a_left', 'a_right'], True)]
        np.random.seed(0)
        out = Compose(steps)(dict(img=img.copy(), keypoints=np.zeros((1, 2, 2), np.float32),
                                  keypoints_visible=np.zeros((1, 2), np.float32)))
        assert np.asarray(out['img']).shape == (32, 48, 3)
        assert not out['keypoints'].any() and not out['keypoints_visible'].any()


# ------------------------------------------------------------------ pixel ops vs imgaug facts
def test_coarse_salt_and_pepper_values_and_coverage():
    # imgaug 0.4.0 arithmetic.py:4045-4052 salt 255·(0.5 + |Beta(.5,.5) - .5|) ∈ [127.5, 255];
    # pepper (line 4270-4276) ∈ [0, 127.5]; mask from FromLowerResolution (parameters.py:1603)
    img = np.full((200, 300, 3), 128, np.uint8)
    np.random.seed(0)
    salt = TRANSFORMS.build(dict(type='CoarseSalt', fraction=0.2, size_percent=[0.05, 0.1],
                                 p=1.0))(dict(img=img.copy()))['img']
    pepper = TRANSFORMS.build(dict(type='CoarsePepper', fraction=0.2, size_percent=[0.05, 0.1],
                                   p=1.0))(dict(img=img.copy()))['img']
    hit_s = (salt != 128).any(-1)
    hit_p = (pepper != 128).any(-1)
    assert salt[hit_s].min() >= 128 and pepper[hit_p].max() <= 127
    # per_channel False: one value per pixel, the same in all channels
    assert (salt[..., 0] == salt[..., 2]).all() and (pepper[..., 0] == pepper[..., 1]).all()
    # coarse: cells of h·U(0.05, 0.1) ≥ 10 px → hits come in blocks; ~20 % of cells
    assert 0.1 < hit_s.mean() < 0.3 and 0.1 < hit_p.mean() < 0.3
    rows = np.flatnonzero(hit_s.any(1))
    assert np.diff(np.flatnonzero(np.diff(hit_s[rows[0]].astype(int)))).min() >= 2


def test_coarse_dropout_drops_two_percent_in_blocks_and_keeps_keypoints():
    # imgaug CoarseDropout(p=0.02, size_percent=0.3, per_channel=0.5): Binomial(1 - p) on a
    # grid of 0.3 × the image (arithmetic.py:2802-2804, parameters.py:1603-1614)
    img = np.full((300, 400, 3), 200, np.uint8)
    step = TRANSFORMS.build(dict(type='ImgaugCoarseDropout', fraction=0.02, size_percent=0.3,
                                 per_channel=0.5, p=1.0))
    zeros, per_channel_seen = [], False
    for seed in range(20):
        np.random.seed(seed)
        out = step(dict(img=img.copy(), keypoints=np.array([[[10.0, 10.0]]], np.float32),
                        keypoints_visible=np.ones((1, 1), np.float32)))
        dropped = out['img'] == 0
        zeros.append(dropped.mean())
        per_channel_seen |= bool((dropped.any(-1) != dropped.all(-1)).any())
        assert out['keypoints_visible'][0, 0] == 1  # pixels only
    assert 0.01 < np.mean(zeros) < 0.03
    assert per_channel_seen


def test_emboss_kernel_formula():
    # imgaug 0.4.0 convolutional.py:440-462
    step = TRANSFORMS.build(dict(type='Emboss', alpha=[0.5, 0.5], strength=[1.0, 1.0], p=1.0))
    eff = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], np.float32)
    ident = np.zeros((3, 3), np.float32)
    ident[1, 1] = 1
    np.testing.assert_allclose(step.matrix(), 0.5 * ident + 0.5 * eff, atol=1e-6)
    img = np.random.RandomState(0).randint(0, 255, (20, 30, 3)).astype(np.uint8)
    out = step(dict(img=img.copy()))['img']
    want = np.clip(np.round(cv2.filter2D(img.astype(np.float32), -1,
                                         0.5 * ident + 0.5 * eff)), 0, 255)
    assert np.abs(out.astype(int) - want.astype(int)).max() <= 1


def test_motion_blur_kernel_is_normalised_rotated_line():
    # imgaug 0.4.0 blur.py:1110-1134: column k//2 = linspace(d, 1 - d), rotated, / sum
    step = TRANSFORMS.build(dict(type='ImgaugMotionBlur', k=5, angle=[0, 0],
                                 direction=[0, 0], p=1.0))
    kernel = step.kernel()
    want = np.zeros((5, 5), np.float32)
    want[:, 2] = 1 / 5  # d = 0.5: uniform line; angle 0: vertical
    np.testing.assert_allclose(kernel, want, atol=1e-6)
    step = TRANSFORMS.build(dict(type='ImgaugMotionBlur', k=4, angle=[90, 90],
                                 direction=[0, 0], p=1.0))
    kernel = step.kernel()  # even k made odd (blur.py:1117); 90°: a horizontal line
    assert kernel.shape == (5, 5) and kernel.sum() == pytest.approx(1)
    np.testing.assert_allclose(kernel[2], 1 / 5, atol=1e-6)


def test_clahe_matches_cv2_with_drawn_parameters():
    # imgaug 0.4.0 contrast.py:1035-1067: clip ~ U(0.1, 8), tiles ~ U{3..12}, createCLAHE
    img = np.random.RandomState(1).randint(0, 255, (64, 80, 3)).astype(np.uint8)
    np.random.seed(5)
    out = TRANSFORMS.build(dict(type='AllChannelsCLAHE', p=1.0))(dict(img=img.copy()))['img']
    np.random.seed(5)
    np.random.rand()
    clip = np.random.uniform(0.1, 8.0)
    tiles = np.random.randint(3, 13)
    clahe = cv2.createCLAHE(clipLimit=clip, tileGridSize=(tiles, tiles))
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], clahe.apply(np.ascontiguousarray(img[..., c])))


def test_elastic_shift_field_size_and_strength():
    # imgaug 0.4.0 blur.py:370-382: sigma 5 → ksize int(2.6·5) = 13 (odd)
    from posecfg.transforms.imgaug_ops import gaussian_ksize
    assert gaussian_ksize(5) == 13 and gaussian_ksize(2) == 7 and gaussian_ksize(4) == 11
    step = TRANSFORMS.build(dict(type='ImgaugElasticTransformation', alpha=[10, 10], sigma=5,
                                 p=1.0))
    np.random.seed(0)
    dx, dy = step.shift_maps(120, 160)
    assert dx.shape == (120, 160)
    # blurred U(-1, 1) (std 1/√3) by a 2D Gaussian of σ 5: std ≈ alpha / (√3 · 2√π · σ)
    want = 10 / (math.sqrt(3) * 2 * math.sqrt(math.pi) * 5)
    assert 0.5 * want < dx.std() < 1.5 * want
    assert abs(np.corrcoef(dx.ravel(), dy.ravel())[0, 1]) < 0.2  # independent fields


# ------------------------------------------------------------------ reproducibility
def test_pipeline_is_reproducible_from_np_random_seed(mouse_frame):
    pipe = Compose(lp_imgaug_pipeline('dlc-top-down', (128, 128),
                                      ['a_left', 'a_right'], hflip=True))
    pts = np.array([[[100.0, 120.0], [250.0, 300.0]]], np.float32)

    def run(seed):
        np.random.seed(seed)
        out = pipe(dict(img=mouse_frame.copy(), keypoints=pts.copy(),
                        keypoints_visible=np.ones((1, 2), np.float32)))
        return np.asarray(out['img']), out['keypoints'], out['keypoints_visible']

    a, b, c = run(7), run(7), run(8)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


def test_elastic_moves_keypoints_with_the_content():
    """A coordinate image (red = x, green = y) shows where each output pixel reads from; at a
    moved keypoint it must read the keypoint's original position. A strong field (shifts of
    pixels, not Lightning Pose's sub-pixel ones) so that a wrong direction shows, smooth enough
    (shift gradients < 1) to be invertible; imgaug's truncated blur kernel (2.6 sigma) makes
    fields rougher than a true Gaussian."""
    h, w = 200, 240
    ys, xs = np.mgrid[0:h, 0:w]
    img = np.stack([xs, ys, np.zeros_like(xs)], -1).astype(np.uint8)  # w, h < 256
    pts = np.array([[40.0, 50.0], [120.0, 100.0], [200.0, 150.0], [60.5, 170.25]], np.float32)
    step = TRANSFORMS.build(dict(type='ImgaugElasticTransformation', alpha=[150, 150],
                                 sigma=20, p=1.0))
    shifts = []
    for seed in range(4):
        np.random.seed(seed)
        out = step(dict(img=img.copy(), keypoints=pts[None].copy(),
                        keypoints_visible=np.ones((1, 4), np.float32)))
        coords = np.asarray(out['img'])[..., :2].astype(np.float32)
        for (x, y), v, p0 in zip(out['keypoints'][0], out['keypoints_visible'][0], pts):
            assert v == 1
            x0, y0 = int(x), int(y)
            fx, fy = x - x0, y - y0  # bilinear read of the output at the moved keypoint
            read = ((1 - fx) * (1 - fy) * coords[y0, x0] + fx * (1 - fy) * coords[y0, x0 + 1]
                    + (1 - fx) * fy * coords[y0 + 1, x0] + fx * fy * coords[y0 + 1, x0 + 1])
            assert math.hypot(*(read - p0)) < 0.75, (seed, p0, (x, y), read)
            shifts.append(math.hypot(x - p0[0], y - p0[1]))
    assert np.mean(shifts) > 1  # the field really moved them


# ------------------------------------------------------------------ custom mappings
def test_custom_mapping_of_lightning_pose_docstring():
    # augmentations.py:48-59: the YAML form of a custom pipeline (lists become tuples, 94-104)
    params = {'Affine': {'p': 0.5, 'kwargs': {'rotate': [-10, 10]}},
              'MotionBlur': {'p': 0.25, 'kwargs': {'k': 5, 'angle': [-90, 90]}}}
    steps = Compose(lp_imgaug_pipeline(params, (64, 96))).transforms
    assert [as_imgaug(s) for s in steps[:-1]] == [
        ('Affine', 0.5, dict(rotate=(-10.0, 10.0))),
        ('MotionBlur', 0.25, dict(k=5, angle=(-90.0, 90.0)))]
    assert (steps[-1].height, steps[-1].width) == (64, 96)


def test_custom_rot90_lists_follow_lightning_pose_rewrite():
    # augmentations.py:64-78: k [[0, 1, 2, 3]] is a choice; a 2-list [0, 2] becomes a tuple,
    # imgaug's range 0..2
    choice = lp_imgaug_pipeline({'Rot90': {'p': 1.0, 'kwargs': {'k': [[0, 1, 2, 3]]}}}, (8, 8))
    assert choice[0] == dict(type='Rot90', k=[0, 1, 2, 3], keep_size=True, p=1.0)
    span = lp_imgaug_pipeline({'Rot90': {'p': 1.0, 'kwargs': {'k': [0, 2]}}}, (8, 8))
    assert span[0]['k'] == [0, 1, 2]


def test_custom_affine_rotates_clockwise_like_imgaug():
    # imgaug 0.4.0 geometric.py:2644-2660: skimage AffineTransform(rotation=radians(rotate))
    # about (w/2 - 0.5, h/2 - 0.5): (x, y) → centre + R·(p - centre), R = [[cos, -sin], [sin,
    # cos]]; with y pointing down, +90° takes a point right of the centre below it.
    pipe = Compose(lp_imgaug_pipeline({'Affine': {'p': 1.0, 'kwargs': {'rotate': 90}}}, (41, 41)))
    img = np.zeros((41, 41, 3), np.uint8)
    img[20, 30] = 255
    out = pipe(dict(img=img, keypoints=np.array([[[30.0, 20.0]]], np.float32),
                    keypoints_visible=np.ones((1, 1), np.float32)))
    np.testing.assert_allclose(out['keypoints'][0, 0], [20.0, 30.0], atol=1e-4)
    assert np.asarray(out['img'])[30, 20].max() == 255


def test_custom_mapping_p_zero_drops_and_fliplr_does_not_swap():
    steps = lp_imgaug_pipeline({'Emboss': {'p': 0.0}, 'Fliplr': {'p': 0.5, 'kwargs': {'p': 0.5}},
                                'AllChannelsHistogramEqualization': {}}, (8, 8))
    assert steps[:2] == [dict(type='HorizontalFlip', symmetries=[], p=0.25),  # Sometimes·p
                         dict(type='Equalize', p=0.5)]                       # default p 0.5


@pytest.mark.parametrize('params, key', [
    ({'Superpixels': {'p': 0.5}}, 'training.imgaug.Superpixels'),
    ({'Affine': {'p': 0.5, 'kwargs': {'shear': [-5, 5]}}}, 'training.imgaug.Affine.kwargs'),
    ({'CoarseDropout': {'kwargs': {'p': [0.02, 0.1], 'size_percent': 0.3}}},
     'training.imgaug.CoarseDropout.p'),
    ({'Emboss': {'p': 2}}, 'training.imgaug.Emboss.p'),
])
def test_custom_mapping_refuses_what_it_cannot_do(params, key):
    with pytest.raises(ValueError, match=key.replace('.', r'\.')):
        lp_imgaug_pipeline(params, (8, 8))


# ------------------------------------------------------------------ a Lightning Pose project
def test_lp_project_dataset_runs_the_preset_pipeline():
    from posecfg.datasets.lp_project import LPProjectDataset
    from posecfg.datasets.records import check_image_record
    root = shared_path('lp-mirror-mouse')

    def dataset(preset):
        steps = [dict(type='LoadImageFromFile'), *lp_imgaug_pipeline(preset, (128, 160))]
        return LPProjectDataset(data_dir=str(root), split='train', pipeline=steps)

    plain, augmented = dataset('default'), dataset('dlc-top-down')
    record = plain.image_record(0)
    sample = plain[(0, 11)]
    check_image_record(sample, 'default preset', num_keypoints=17)
    assert np.asarray(sample['img']).shape == (128, 160, 3)
    # resize only: x → (x + 0.5)·160/396 - 0.5, y → (y + 0.5)·128/406 - 0.5 (frames 396 × 406)
    vis = record['keypoints_visible'] > 0
    want = (record['keypoints'] + 0.5) * np.array([160 / 396, 128 / 406], np.float32) - 0.5
    np.testing.assert_allclose(sample['keypoints'][vis], want[vis], atol=1e-3)
    assert (sample['keypoints_visible'] == record['keypoints_visible']).all()
    for seed in (11, 12, 13):
        a, b = augmented[(0, seed)], augmented[(0, seed)]
        check_image_record(a, 'dlc-top-down preset', num_keypoints=17)
        assert np.asarray(a['img']).shape == (128, 160, 3)
        np.testing.assert_array_equal(np.asarray(a['img']), np.asarray(b['img']))
        np.testing.assert_array_equal(a['keypoints'], b['keypoints'])
        inside = a['keypoints'][a['keypoints_visible'] > 0]
        assert ((inside >= 0) & (inside <= [160, 128])).all()
