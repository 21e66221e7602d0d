"""Read-only views of resolved config data.

``FrozenDict`` and ``FrozenList`` subclass ``dict`` and ``list`` so that they compare equal to,
serialize like, and pass ``isinstance`` checks as plain data; they refuse changes, and allow
attribute access to dict keys (``cfg.model.backbone.depth``). ``Config.to_dict()`` gives a
mutable copy.
"""
from __future__ import annotations

import copy
from typing import Any


def _refuse(self, *args, **kwargs):
    raise TypeError(f'a resolved config is read-only; use Config.to_dict() for a mutable copy, '
                    f'or --cfg-options / Config.fromfile(options=...) to change it')


class FrozenDict(dict):
    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f'config has no key {name!r}; keys: {", ".join(map(str, self))}') \
                from None

    def __setattr__(self, name, value):
        _refuse(self)

    def __reduce__(self):
        return (FrozenDict, (dict(self),))

    def __deepcopy__(self, memo):
        return FrozenDict(copy.deepcopy(dict(self), memo))

    def __copy__(self):
        return self


class FrozenList(list):
    __setitem__ = __delitem__ = append = extend = insert = pop = remove = clear = sort = reverse = \
        __iadd__ = __imul__ = _refuse

    def __reduce__(self):
        return (FrozenList, (list(self),))

    def __deepcopy__(self, memo):
        return FrozenList(copy.deepcopy(list(self), memo))

    def __copy__(self):
        return self


def freeze(data: Any) -> Any:
    if isinstance(data, dict):
        return FrozenDict({k: freeze(v) for k, v in data.items()})
    if isinstance(data, list):
        return FrozenList(freeze(v) for v in data)
    if isinstance(data, tuple):
        return tuple(freeze(v) for v in data)
    return data
