"""``Compose``: a pipeline of transforms built from config dicts.

The pipeline contract (DESIGN.md): ``img`` may be a lazily decoded
:class:`~posecfg.transforms.lazy_image.LazyImage` between ``LoadImageFromFile`` and the warp that
makes the model input, but only steps that say so (class attribute ``accepts_lazy_image =
True``: they read only its ``shape``, record a mirror, or warp through ``warp_affine``) ever see
one. Any other step — a user's ``cv2.GaussianBlur``, a plugin's augmentation — gets the decoded
``np.ndarray`` (the pending mirror applied), wherever it stands in the pipeline. The same holds
for a :class:`~posecfg.transforms.warped_image.WarpedImage`, the pending warp of whole-image
geometry steps.
"""
from __future__ import annotations

from typing import Any, Callable, List, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from ..registry import TRANSFORMS, UnknownTypeError
from .lazy_image import LazyImage
from .warped_image import WarpedImage

#: images whose pixels are not computed yet (decoded, warped) until a step needs them
LAZY_IMAGE_TYPES = (LazyImage, WarpedImage)


def _step_name(step: Callable) -> str:
    return type(step).__name__ if not hasattr(step, '__name__') else step.__name__


@TRANSFORMS.register_module()
class Compose(BaseTransform):
    """Apply ``transforms`` in order to a sample record.

    Args:
        transforms: config dicts (built from ``posecfg.registry.TRANSFORMS``) or callables.

    A step that returns None is an error naming the step: posecfg never drops samples silently
    (MMPose 0.x's Compose returned None, and the sample vanished from the epoch). A step without
    ``accepts_lazy_image = True`` gets ``img`` as a decoded array (module docstring).
    """

    example_args = dict(transforms=[dict(type='TopDownGetRandomScaleRotation'),
                                    dict(type='TopDownAffine')])

    accepts_lazy_image = True  # a nested Compose hands its own steps what they accept

    def __init__(self, transforms: Sequence[Any]):
        if isinstance(transforms, (dict, str)) or not isinstance(transforms, Sequence):
            raise TypeError('Compose: transforms must be a list of config dicts or callables, '
                            f'got {type(transforms).__name__}')
        self.transforms: List[Callable] = [self._build(i, t) for i, t in enumerate(transforms)]

    @staticmethod
    def _build(index: int, spec: Any) -> Callable:
        if isinstance(spec, dict):
            if 'type' not in spec:
                raise KeyError(f'pipeline step {index}: {spec!r} has no "type"; '
                               f"write e.g. dict(type='LoadImageFromFile')")
            try:
                return TRANSFORMS.build(spec)
            except UnknownTypeError as err:
                raise UnknownTypeError(f'pipeline step {index}: {err}') from None
            except (TypeError, ValueError) as err:  # bad arguments: say which step has them
                raise type(err)(f'pipeline step {index} ({spec["type"]}): {err}') from err
        if callable(spec):
            return spec
        raise TypeError(f'pipeline step {index}: expected a config dict or a callable, got '
                        f'{type(spec).__name__} {spec!r}')

    def transform(self, results: dict) -> dict:
        for index, step in enumerate(self.transforms):
            if isinstance(results.get('img'), LAZY_IMAGE_TYPES) and \
                    not getattr(step, 'accepts_lazy_image', False):
                results['img'] = np.asarray(results['img'])  # the step reads pixels
            out = step(results)
            if out is None:
                raise RuntimeError(
                    f'pipeline step {index} ({_step_name(step)}) returned None instead of the '
                    f'sample record (image_file={results.get("image_file")!r}); a transform '
                    f'must return the record')
            results = out
        return results

    def __repr__(self) -> str:
        body = ''.join(f'\n    {step!r}' for step in self.transforms)
        return f'{type(self).__name__}({body}\n)'
