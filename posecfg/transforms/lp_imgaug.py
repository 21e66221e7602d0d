"""Lightning Pose's ``training.imgaug`` presets as posecfg transform configs.

::

    lp_imgaug_pipeline(preset: str,
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
get ``lp_imgaug_pipeline('default', dims)`` (resize only, no flip: ``data/datasets.py``'s data
module resets both, ``data/datamodules.py:159-184``).

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

Coordinates: posecfg keeps pixel centres at whole numbers, so the resize maps x to (x + 0.5)·s
- 0.5 and the mirror x to W - 1 - x, the pixels' own mappings; imgaug's resize scales x·s and
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


def lp_imgaug_pipeline(preset: str, image_resize_dims,
                       keypoint_names: Optional[Sequence[str]] = None,
                       hflip: bool = False) -> List[Dict[str, Any]]:
    """Transform configs for Lightning Pose's ``training.imgaug: <preset>`` (module docstring).

    Args:
        preset: one of :data:`IMGAUG_PRESETS`.
        image_resize_dims: ``data.image_resize_dims``: (height, width) pixels or the mapping
            ``{'height': h, 'width': w}``.
        keypoint_names: keypoint names in label order; needed with ``hflip`` (the
            ``_left``/``_right`` partners swap).
        hflip: ``training.imgaug_hflip``: a mirror with probability 0.5 after the resize.

    Returns:
        list of ``dict(type=..., **args)``, fresh on every call.
    """
    if not isinstance(preset, str) or preset not in IMGAUG_PRESETS:
        raise ValueError(f'training.imgaug: unknown preset {preset!r}; Lightning Pose accepts '
                         f'{list(IMGAUG_PRESETS)} (or a mapping of imgaug transforms)')
    height, width = _resize_dims(image_resize_dims)
    if not isinstance(hflip, bool):
        raise ValueError(f'training.imgaug_hflip must be true or false, got {hflip!r}')
    steps = [] if preset in ('default', 'none') else _dlc_steps(preset)
    steps.append(dict(type='Resize', height=height, width=width, keep_ratio=False))
    if hflip:
        if keypoint_names is None:
            raise ValueError('training.imgaug_hflip needs the keypoint names (to swap '
                             '<name>_left with <name>_right); pass keypoint_names')
        steps.append(dict(type='HorizontalFlip', p=0.5,
                          symmetries=lr_symmetries(keypoint_names)))
    return steps
