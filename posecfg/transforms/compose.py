"""``Compose``: a pipeline of transforms built from config dicts."""
from __future__ import annotations

from typing import Any, Callable, List, Sequence

from mmcv.transforms import BaseTransform

from ..registry import TRANSFORMS, UnknownTypeError


def _step_name(step: Callable) -> str:
    return type(step).__name__ if not hasattr(step, '__name__') else step.__name__


@TRANSFORMS.register_module()
class Compose(BaseTransform):
    """Apply ``transforms`` in order to a sample record.

    Args:
        transforms: config dicts (built from ``posecfg.registry.TRANSFORMS``) or callables.

    A step that returns None is an error naming the step: posecfg never drops samples silently
    (MMPose 0.x's Compose returned None, and the sample vanished from the epoch).
    """

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
