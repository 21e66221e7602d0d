"""Lightning Pose's ``training.imgaug`` presets as posecfg transform configs.

::

    lp_imgaug_pipeline(preset: str | Mapping,             # a preset or {ImgaugName: {p, kwargs}}
                       image_resize_dims,                 # (height, width) or {'height', 'width'}
                       keypoint_names: Sequence[str] | None = None,
                       hflip: bool = False) -> list[dict]

returns the whole-image steps (``dict(type=..., **args)``, built from
``posecfg.registry.TRANSFORMS``) that do what Lightning Pose 2.4.3 does to a labelled frame
between reading it and ``ToTensor``: the preset's imgaug pipeline
(``lightning_pose/data/augmentations.py:122-240`` ``expand_imgaug_str_to_dict``, each op wrapped
in ``iaa.Sometimes(p, ...)`` when p < 1, lines 106-117), the final ``iaa.Resize`` to
``data.image_resize_dims`` (``data/datasets.py:137-142``) and, with ``hflip``
(``training.imgaug_hflip``), a mirror with probability 0.5 that swaps every ``*_left`` keypoint
with its ``*_right`` partner (``data/datasets.py:203-246, 275-292``). Put them after
``LoadImageFromFile`` in a whole-image (``data_mode='bottomup'``) pipeline; validation and test
get ``lp_imgaug_pipeline('default', dims)`` (resize only, no flip: Lightning Pose's data module
resets both for them, ``data/datamodules.py:159-184``).

Presets (``IMGAUG_PRESETS``; anything else is a ValueError listing them):

- ``default``, ``none``: resize only;
- ``dlc``: ``RandomAffine`` (rotation ±25°, p 0.4), ``ImgaugMotionBlur`` (k 5, angle ±90°,
  p 0.5), ``ImgaugCoarseDropout`` (0.02, size 0.3, per-channel 0.5, p 0.5), ``CoarseSalt``
  and ``CoarsePepper`` (0.01, size 0.05-0.1, p 0.5 each), ``ImgaugElasticTransformation``
  (alpha 0-10, sigma 5, p 0.5), ``Equalize`` (imgaug ``AllChannelsHistogramEqualization``:
  ``cv2.equalizeHist`` per channel, p 0.1), ``AllChannelsCLAHE`` (p 0.1), ``Emboss`` (alpha
  0-0.5, strength 0.5-1.5, p 0.1), ``CropAndPad`` (±15 % per side, p 0.4);
- ``dlc-lr``: ``Rot90(k=[0, 2])`` then ``dlc``; ``dlc-top-down``: ``Rot90(k=[0, 1, 2, 3])``
  then ``dlc``;
- ``dlc-mv``: ``dlc`` without the affine, elastic and crop steps.

A mapping (Lightning Pose's custom pipelines, ``{ImgaugName: {p, args, kwargs}}``) becomes the
same steps with the given arguments (:func:`custom_imgaug_steps`; imgaug's defaults where a
kwarg is absent; ``Fliplr`` mirrors without swapping names, as imgaug does); an augmenter or
argument form without a posecfg equivalent is a ValueError naming its key.

Coordinates: posecfg keeps pixel centres at whole numbers, so the resize maps x to
(x + 0.5)·s - 0.5 and the mirror x to W - 1 - x, the pixels' own mappings; imgaug's resize scales x·s and
Lightning Pose's mirror writes W - x (``data/datasets.py:291``), up to 1 px off the pixels they
label. The resize interpolates bilinearly (imgaug's default is bicubic).
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

#: ``data/augmentations.py:137-144``
IMGAUG_PRESETS = ('default', 'none', 'dlc', 'dlc-lr', 'dlc-top-down', 'dlc-mv')


def lr_symmetries(keypoint_names: Sequence[str]) -> List[List[int]]:
    """[[left, right], ...] indices of keypoints named ``<base>_left`` / ``<base>_right``
    (Lightning Pose's ``_build_hflip_swap_indices``, ``data/datasets.py:203-246``); a
    ``_left`` without its ``_right`` (or the reverse) is a ValueError naming them."""
    names = list(keypoint_names)
    left = {n[:-len('_left')]: i for i, n in enumerate(names) if n.endswith('_left')}
    right = {n[:-len('_right')]: i for i, n in enumerate(names) if n.endswith('_right')}
    lonely_left = sorted(f'{b}_left' for b in set(left) - set(right))
    lonely_right = sorted(f'{b}_right' for b in set(right) - set(left))
    if lonely_left or lonely_right:
        parts = []
        if lonely_left:
            parts.append(f'_left keypoints with no _right partner: {lonely_left}')
        if lonely_right:
            parts.append(f'_right keypoints with no _left partner: {lonely_right}')
        raise ValueError(f'training.imgaug_hflip swaps every <name>_left keypoint with '
                         f'<name>_right, but found {"; ".join(parts)} (keypoints: {names}); '
                         f'rename them or set imgaug_hflip: false')
    return [[left[b], right[b]] for b in sorted(left, key=left.get)]


def _resize_dims(image_resize_dims) -> Tuple[int, int]:
    if isinstance(image_resize_dims, Mapping):
        missing = [k for k in ('height', 'width') if k not in image_resize_dims]
        if missing:
            raise KeyError(f'data.image_resize_dims needs height and width, missing {missing} '
                           f'in {dict(image_resize_dims)!r}')
        dims = (image_resize_dims['height'], image_resize_dims['width'])
    elif isinstance(image_resize_dims, (list, tuple)) and len(image_resize_dims) == 2:
        dims = tuple(image_resize_dims)
    else:
        raise ValueError(f'image_resize_dims must be (height, width) or {{height: ..., width: '
                         f'...}}, got {image_resize_dims!r}')
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in dims):
        raise ValueError(f'data.image_resize_dims height and width must be positive ints '
                         f'(pixels), got {image_resize_dims!r}')
    return int(dims[0]), int(dims[1])


def _dlc_steps(preset: str) -> List[Dict[str, Any]]:
    """The imgaug ops of a ``dlc*`` preset, in Lightning Pose's order
    (``data/augmentations.py:149-234``)."""
    steps: List[Dict[str, Any]] = []
    if preset == 'dlc-lr':                                               # lines 151-153
        steps.append(dict(type='Rot90', k=[0, 2]))
    if preset == 'dlc-top-down':                                         # lines 155-157
        steps.append(dict(type='Rot90', k=[0, 1, 2, 3]))
    multiview = preset.endswith('mv')
    if not multiview:                                                    # lines 159-162
        steps.append(dict(type='RandomAffine', p=0.4, rotation=25))
    steps.append(dict(type='ImgaugMotionBlur', k=5, angle=[-90, 90], p=0.5))   # 164-170
    steps.append(dict(type='ImgaugCoarseDropout', fraction=0.02, size_percent=0.3,
                      per_channel=0.5, p=0.5))                           # lines 172-183
    for kind in ('CoarseSalt', 'CoarsePepper'):                          # lines 185-202
        steps.append(dict(type=kind, fraction=0.01, size_percent=[0.05, 0.1], p=0.5))
    if not multiview:                                                    # lines 204-211
        steps.append(dict(type='ImgaugElasticTransformation', alpha=[0, 10], sigma=5, p=0.5))
    steps.append(dict(type='Equalize', p=0.1))                           # line 214
    steps.append(dict(type='AllChannelsCLAHE', p=0.1))                   # line 218
    steps.append(dict(type='Emboss', alpha=[0, 0.5], strength=[0.5, 1.5], p=0.1))  # 220-226
    if not multiview:                                                    # lines 228-234
        steps.append(dict(type='CropAndPad', percent=[-0.15, 0.15], p=0.4))
    return steps


# ----------------------------------------------------------------------------- custom mappings
def _lp_value(value):
    """Lightning Pose's rewrite of YAML lists in kwargs (``data/augmentations.py:94-104``): one
    item → the item, two → a tuple (imgaug: a uniform range), more → kept (imgaug: a choice)."""
    if isinstance(value, list):
        if len(value) == 1:
            return value[0]
        if len(value) == 2:
            return tuple(value)
    return value


def _interval_arg(value, key: str):
    """A number or an imgaug (low, high) range as a posecfg number / [low, high]."""
    if isinstance(value, tuple) and len(value) == 2:
        return [value[0], value[1]]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    raise ValueError(f'{key}: {value!r} is not supported; give a number or a [low, high] range '
                     f'(a list of choices or a stochastic parameter has no posecfg equivalent)')


def _probability_arg(value, key: str) -> float:
    if value is True or value is False:
        return float(value)
    if isinstance(value, (int, float)) and 0 <= value <= 1:
        return float(value)
    raise ValueError(f'{key}: must be a probability (number in [0, 1] or true/false), got '
                     f'{value!r}')


def _affine(kw, key):
    out = dict(type='RandomAffine', translation=0)
    rotate = _interval_arg(kw.pop('rotate', 0.0), f'{key}.rotate')
    low, high = (rotate, rotate) if not isinstance(rotate, list) else rotate
    # RandomAffine rotates by -U(rotation) (albumentations' sign); imgaug by +U(rotate)
    out['rotation'] = [-high, -low]
    scale = _interval_arg(kw.pop('scale', 1.0), f'{key}.scale')
    out['scaling'] = scale if isinstance(scale, list) else [scale, scale]
    return out


def _rot90(kw, key):
    k = kw.pop('k', 1)  # imgaug default k=1 (geometric.py:4898)
    if isinstance(k, tuple):  # imgaug: a discrete range
        k = list(range(int(k[0]), int(k[1]) + 1))
    return dict(type='Rot90', k=k if isinstance(k, list) else [k],
                keep_size=bool(kw.pop('keep_size', True)))


def _motion_blur(kw, key):
    # imgaug defaults k=(3, 7), angle=(0, 360), direction=(-1, 1) (blur.py:1071)
    return dict(type='ImgaugMotionBlur', k=_interval_arg(kw.pop('k', (3, 7)), f'{key}.k'),
                angle=_interval_arg(kw.pop('angle', (0, 360)), f'{key}.angle'),
                direction=_interval_arg(kw.pop('direction', (-1.0, 1.0)), f'{key}.direction'))


def _coarse(kind, default_per_channel):
    def build(kw, key):
        fraction = kw.pop('p', None)
        if fraction is None or isinstance(fraction, (tuple, list)):
            raise ValueError(f'{key}.p: give the fraction of coarse cells hit as one number '
                             f'(imgaug\'s default range (0.02, 0.1) has no posecfg equivalent), '
                             f'got {fraction!r}')
        if 'size_percent' not in kw:
            raise ValueError(f'{key}: give size_percent (size_px is not supported)')
        return dict(type=kind, fraction=_probability_arg(fraction, f'{key}.p'),
                    size_percent=_interval_arg(kw.pop('size_percent'), f'{key}.size_percent'),
                    per_channel=_probability_arg(kw.pop('per_channel', default_per_channel),
                                                 f'{key}.per_channel'),
                    min_size=kw.pop('min_size', 3))
    return build


def _elastic(kw, key):
    # imgaug 0.4.0 defaults alpha=(0, 40), sigma=(4, 8), order=3 (geometric.py:4234)
    return dict(type='ImgaugElasticTransformation',
                alpha=_interval_arg(kw.pop('alpha', (0.0, 40.0)), f'{key}.alpha'),
                sigma=_interval_arg(kw.pop('sigma', (4.0, 8.0)), f'{key}.sigma'),
                order=kw.pop('order', 3))


def _clahe(kw, key):
    return dict(type='AllChannelsCLAHE',
                clip_limit=_interval_arg(kw.pop('clip_limit', (0.1, 8)), f'{key}.clip_limit'),
                tile_grid_size_px=_interval_arg(kw.pop('tile_grid_size_px', (3, 12)),
                                                f'{key}.tile_grid_size_px'),
                tile_grid_size_px_min=kw.pop('tile_grid_size_px_min', 3))


def _emboss(kw, key):
    # imgaug defaults alpha=(0, 1), strength=(0.25, 1) (convolutional.py Emboss)
    return dict(type='Emboss', alpha=_interval_arg(kw.pop('alpha', (0.0, 1.0)), f'{key}.alpha'),
                strength=_interval_arg(kw.pop('strength', (0.25, 1.0)), f'{key}.strength'))


def _crop_and_pad(kw, key):
    if 'percent' not in kw:
        raise ValueError(f'{key}: give percent (px is not supported)')
    percent = _interval_arg(kw.pop('percent'), f'{key}.percent')
    return dict(type='CropAndPad', percent=percent,
                pad_value=kw.pop('pad_cval', 0), keep_size=bool(kw.pop('keep_size', True)))


def _fliplr(kw, key):
    # imgaug Fliplr(p=1) (flip.py:869): mirrors, keeps keypoint names (no _left/_right swap)
    return dict(type='HorizontalFlip', symmetries=[],
                p=_probability_arg(kw.pop('p', 1.0), f'{key}.p'))


#: imgaug augmenter name → builder of the posecfg step (kwargs it reads are popped)
CUSTOM_OPS = {
    'Affine': _affine, 'Rot90': _rot90, 'MotionBlur': _motion_blur,
    'CoarseDropout': _coarse('ImgaugCoarseDropout', 0.0),
    'CoarseSalt': _coarse('CoarseSalt', 0.0), 'CoarsePepper': _coarse('CoarsePepper', 0.0),
    'ElasticTransformation': _elastic,
    'AllChannelsHistogramEqualization': lambda kw, key: dict(type='Equalize'),
    'AllChannelsCLAHE': _clahe, 'Emboss': _emboss, 'CropAndPad': _crop_and_pad,
    'Fliplr': _fliplr,
}


def custom_imgaug_steps(params: Mapping) -> List[Dict[str, Any]]:
    """Steps for ``training.imgaug`` given as a mapping ``{ImgaugName: {p, args, kwargs}}``
    (``data/augmentations.py:25-119``: p defaults to 0.5, p 0 drops the op, p < 1 wraps it
    in ``Sometimes``). Supported: the augmenters of :data:`CUSTOM_OPS` with the kwargs their
    builders read; anything else is a ValueError naming the key."""
    steps = []
    for name, spec in params.items():
        key = f'training.imgaug.{name}'
        if not isinstance(spec, Mapping) or set(spec) - {'p', 'args', 'kwargs'}:
            raise ValueError(f'{key}: must be a mapping with p, args, kwargs, got {spec!r}')
        if name not in CUSTOM_OPS:
            raise ValueError(f'{key}: imgaug augmenter {name!r} has no posecfg step; supported: '
                             f'{sorted(CUSTOM_OPS)}')
        if spec.get('args'):
            raise ValueError(f'{key}.args: positional arguments are not supported; give them '
                             f'as kwargs')
        p = _probability_arg(spec.get('p', 0.5), f'{key}.p')
        kwargs = {k: _lp_value(v) for k, v in dict(spec.get('kwargs') or {}).items()}
        if p == 0:
            continue
        step = CUSTOM_OPS[name](kwargs, key)
        if kwargs:
            raise ValueError(f'{key}.kwargs: {sorted(kwargs)} not supported for {name}')
        step['p'] = p * step.get('p', 1.0)
        steps.append(step)
    return steps


def lp_imgaug_pipeline(preset: str, image_resize_dims,
                       keypoint_names: Optional[Sequence[str]] = None,
                       hflip: bool = False) -> List[Dict[str, Any]]:
    """Transform configs for Lightning Pose's ``training.imgaug: <preset>`` (module docstring).

    Args:
        preset: one of :data:`IMGAUG_PRESETS`, or a mapping of imgaug augmenters to ``{p,
            args, kwargs}`` (:func:`custom_imgaug_steps`).
        image_resize_dims: ``data.image_resize_dims``: (height, width) pixels or the mapping
            ``{'height': h, 'width': w}``.
        keypoint_names: keypoint names in label order; needed with ``hflip`` (the
            ``_left``/``_right`` partners swap).
        hflip: ``training.imgaug_hflip``: a mirror with probability 0.5 after the resize.

    Returns:
        list of ``dict(type=..., **args)``, fresh on every call.
    """
    if not isinstance(preset, Mapping) and (not isinstance(preset, str)
                                            or preset not in IMGAUG_PRESETS):
        raise ValueError(f'training.imgaug: unknown preset {preset!r}; Lightning Pose accepts '
                         f'{list(IMGAUG_PRESETS)} (or a mapping of imgaug transforms)')
    height, width = _resize_dims(image_resize_dims)
    if not isinstance(hflip, bool):
        raise ValueError(f'training.imgaug_hflip must be true or false, got {hflip!r}')
    if isinstance(preset, Mapping):
        steps = custom_imgaug_steps(preset)
    else:
        steps = [] if preset in ('default', 'none') else _dlc_steps(preset)
    steps.append(dict(type='Resize', height=height, width=width, keep_ratio=False))
    if hflip:
        if keypoint_names is None:
            raise ValueError('training.imgaug_hflip needs the keypoint names (to swap '
                             '<name>_left with <name>_right); pass keypoint_names')
        steps.append(dict(type='HorizontalFlip', p=0.5,
                          symmetries=lr_symmetries(keypoint_names)))
    return steps
