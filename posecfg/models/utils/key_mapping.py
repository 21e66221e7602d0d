"""Renaming state-dict keys with explicit (pattern, replacement) tables.

Backbones keep their foreign-layout tables (torchvision, timm, ...) next to their architecture and
use :func:`rename_keys` to apply them; tables are data, so a reader sees the whole mapping.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from typing import Callable, Iterable, Mapping, Tuple, Union

Rule = Tuple[str, Union[str, Callable]]


def rename_keys(state_dict: Mapping, rules: Iterable[Rule], keep_unmatched: bool = True
                ) -> 'OrderedDict':
    """Apply the first matching rule (``re.sub`` pattern, replacement) to every key.

    Keys no rule matches are kept as they are (``keep_unmatched``) so that leftovers, such as a
    classifier, show up as unexpected keys in the load report instead of vanishing.
    """
    compiled = [(re.compile(pattern), repl) for pattern, repl in rules]
    out = OrderedDict()
    for key, value in state_dict.items():
        for pattern, repl in compiled:
            if pattern.search(key):
                out[pattern.sub(repl, key, count=1)] = value
                break
        else:
            if keep_unmatched:
                out[key] = value
    return out


def strip_prefix(state_dict: Mapping, prefix: str) -> 'OrderedDict':
    """Keys starting with ``prefix``, without it; other keys are dropped."""
    return OrderedDict((k[len(prefix):], v) for k, v in state_dict.items() if k.startswith(prefix))


def rename_indexed(state_dict: Mapping, prefix: str, owners: Mapping, index_parts: int = 1
                   ) -> 'OrderedDict':
    """Rename ``{prefix}{index}.{rest}`` keys to ``{owner}.{rest renamed by rules}``.

    For layouts that number modules differently from ours (torchvision's ``features.N``): the
    caller builds ``owners``, mapping each index (``'3'``, or ``'1.0'`` with ``index_parts=2``)
    to (our module name, rules for the part after the index). Keys outside ``prefix``, and keys
    whose index or rest no rule knows, keep their names so the load report lists them.
    """
    out = OrderedDict()
    for key, value in state_dict.items():
        parts = key[len(prefix):].split('.') if key.startswith(prefix) else None
        if parts is None or '.'.join(parts[:index_parts]) not in owners:
            out[key] = value
            continue
        owner, rules = owners['.'.join(parts[:index_parts])]
        rest = '.'.join(parts[index_parts:])
        new_rest = next(iter(rename_keys({rest: None}, rules)))
        out[f'{owner}.{new_rest}' if new_rest != rest else key] = value
    return out
