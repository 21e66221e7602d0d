"""Using trained models: ``init_model`` + ``inference_topdown``, drawing poses, and video
(``posecfg.apis.video``).

The names are imported on first use, so that ``posecfg.apis.video`` and ``visualize`` load
without torch.
"""
import importlib

_NAMES = {'init_model': 'inference', 'inference_topdown': 'inference', 'draw_pose': 'visualize',
          'tile': 'visualize'}

__all__ = ['init_model', 'inference_topdown', 'draw_pose', 'tile']


def __getattr__(name):
    if name in _NAMES:
        return getattr(importlib.import_module(f'.{_NAMES[name]}', __name__), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__():
    return sorted(list(globals()) + __all__)
