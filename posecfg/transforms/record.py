"""Reading the top-down sample record (DESIGN.md, "Top-down sample record") with clear errors."""
from __future__ import annotations

from typing import Any


def require(results: dict, step: Any, *keys: str) -> None:
    """Raise KeyError naming ``step`` and the first of ``keys`` missing from ``results``."""
    for key in keys:
        if key not in results:
            raise KeyError(f'{type(step).__name__}: the sample record has no {key!r}; it has '
                           f'{sorted(results)}. Put the step that sets {key!r} earlier in the '
                           f'pipeline or have the dataset provide it')


def ann_info_value(results: dict, step: Any, key: str) -> Any:
    """``results['ann_info'][key]``, or a KeyError naming ``step`` and what is there."""
    require(results, step, 'ann_info')
    ann_info = results['ann_info']
    if key not in ann_info:
        raise KeyError(f"{type(step).__name__}: results['ann_info'] has no {key!r}; it has "
                       f'{sorted(ann_info)}. The dataset sets ann_info from data_cfg and the '
                       f'dataset metainfo')
    return ann_info[key]
