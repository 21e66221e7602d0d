"""``LoadImageFromFile``: the image of a sample record, read lazily."""
from __future__ import annotations

import os
from typing import Optional

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from ..registry import TRANSFORMS
from .lazy_image import CHANNEL_ORDERS, IMREAD_FLAGS, LazyImage


@TRANSFORMS.register_module()
class LoadImageFromFile(BaseTransform):
    """Read ``results['image_file']`` into ``results['img']``, as MMPose 0.x does.

    ``img`` is a :class:`~posecfg.transforms.lazy_image.LazyImage`: the file's bytes and header
    are read now (a missing file is an error here), pixels are decoded by the first step that
    needs them: ``np.asarray(img)`` gives exactly MMPose's array (H, W, 3) uint8 (float32 with
    ``to_float32``), RGB unless ``channel_order='bgr'``; ``TopDownAffine`` decodes a JPEG at
    1/2, 1/4 or 1/8 size when its crop shrinks the image at least that much.

    Args:
        to_float32: decode to float32 (values still 0–255) instead of uint8.
        color_type: 'color', 'grayscale', 'unchanged', 'color_ignore_orientation' or
            'grayscale_ignore_orientation' (mmcv's names; the first two apply EXIF orientation).
        channel_order: 'rgb' or 'bgr', for the colour types.
        file_client_args: accepted for MMPose 0.x configs; only ``dict(backend='disk')``.
        reduced_decode: let ``TopDownAffine`` decode JPEGs at reduced size (posecfg's own;
            False reproduces MMPose's full decode bit for bit before the warp).

    If the record has no ``image_file`` but an ``img`` array (an image handed in by the caller,
    assumed BGR like OpenCV's), it is kept, converted to RGB for ``channel_order='rgb'``.
    """

    example_args: dict = {}  # the defaults: RGB uint8, lazily decoded

    accepts_lazy_image = True  # makes the LazyImage

    def __init__(self, to_float32: bool = False, color_type: str = 'color',
                 channel_order: str = 'rgb', file_client_args: Optional[dict] = None,
                 reduced_decode: bool = True):
        if color_type not in IMREAD_FLAGS:
            raise ValueError(f'LoadImageFromFile: color_type={color_type!r} is not one of '
                             f'{", ".join(map(repr, IMREAD_FLAGS))}')
        if channel_order not in CHANNEL_ORDERS:
            raise ValueError(f'LoadImageFromFile: channel_order={channel_order!r} is not one of '
                             f'{", ".join(map(repr, CHANNEL_ORDERS))}')
        backend = (file_client_args or {}).get('backend', 'disk')
        if backend != 'disk':
            raise ValueError(f'LoadImageFromFile: file_client_args backend={backend!r} is not '
                             f"supported; posecfg reads local files (backend='disk')")
        self.to_float32 = to_float32
        self.color_type = color_type
        self.channel_order = channel_order
        self.reduced_decode = reduced_decode

    def transform(self, results: dict) -> dict:
        image_file = results.get('image_file')
        if image_file is None:
            return self._adopt_given_image(results)
        if not isinstance(image_file, (str, os.PathLike)):
            raise TypeError(f'LoadImageFromFile: image_file must be one path, got '
                            f'{type(image_file).__name__} {image_file!r}')
        try:
            with open(image_file, 'rb') as f:
                data = f.read()
        except FileNotFoundError:
            raise FileNotFoundError(f'image_file {str(image_file)!r} does not exist') from None
        except OSError as err:
            raise OSError(f'image_file {str(image_file)!r} cannot be read: {err}') from err
        if not data:
            raise ValueError(f'image_file {str(image_file)!r} is empty (0 bytes)')
        results['img'] = LazyImage(str(image_file), data, color_type=self.color_type,
                                   channel_order=self.channel_order, to_float32=self.to_float32,
                                   allow_reduced=self.reduced_decode)
        return results

    def _adopt_given_image(self, results: dict) -> dict:
        img = results.get('img')
        if img is None:
            raise KeyError("LoadImageFromFile: the record has neither 'image_file' nor 'img'; "
                           f'it has {sorted(results)}')
        img = np.asarray(img)
        if self.color_type.startswith('color') and self.channel_order == 'rgb' and img.ndim == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['image_file'] = None
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(to_float32={self.to_float32}, '
                f'color_type={self.color_type!r}, channel_order={self.channel_order!r}, '
                f'reduced_decode={self.reduced_decode})')
