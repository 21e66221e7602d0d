"""A translated (DeepLabCut, Lightning Pose) config printed as an editable ``.py`` that inherits
the dialect's shared parts from ``configs/_base_/<tool>/`` (``print_config.py FILE --format
py``).

The printed file holds ``_base_ = [<the base file>]`` and only what differs from it; merged over
the base (posecfg's ``_base_`` rules: dicts merge key by key, anything else replaces) it loads
back to the translated config exactly. A dict of the translated config that lacks a key of the
base's dict is written whole with ``_delete_=True``. Without the zoo's ``configs/`` (an
installed package), or when the translated config lacks a top-level key of the base, the fully
resolved config is printed instead.
"""
from __future__ import annotations

from typing import Sequence, Tuple

from posecfg.config.source import DELETE_KEY


def format_inheriting(cfg, fmt: str, base: Sequence[str], header: str) -> Tuple[str, list]:
    """``(text, notes)`` of ``cfg`` in ``fmt``; for ``py``, inheriting ``configs/<base...>``
    (path parts under ``configs/``) as the module docstring says."""
    if fmt != 'py':
        return cfg.format(fmt)
    from posecfg.config import Config
    from posecfg.config.dump import escape_literal_references, summarize, to_python
    from posecfg.zoo import configs_root
    base_path = configs_root().joinpath(*base)
    # a resolved config's literal ${ (Lightning Pose's interpolations kept in its config
    # tree) must read back as such (as Config.format)
    data, escaped = escape_literal_references(cfg.to_dict()) if cfg._resolved \
        else (cfg.to_dict(), [])
    child = None
    if base_path.is_file():
        base_data = Config.fromfile(str(base_path)).to_dict()
        child = difference(data, base_data) if set(base_data) <= set(data) else None
    text, notes = to_python(data if child is None else child, header=header)
    if child is not None:
        lines = text.split('\n')
        at = next(i for i, line in enumerate(lines) if not line.startswith('#'))
        lines.insert(at, f'_base_ = [{str(base_path)!r}]')
        text = '\n'.join(lines)
    return text, summarize(escaped) + notes


def difference(data: dict, base: dict) -> dict:
    """What a child config must say so that, merged over ``base``, it is ``data``."""
    out = {}
    for key, value in data.items():
        if key not in base:
            out[key] = value
        elif isinstance(value, dict) and isinstance(base[key], dict):
            if set(base[key]) - set(value):
                out[key] = dict(value, **{DELETE_KEY: True})
            else:
                sub = difference(value, base[key])
                if sub:
                    out[key] = sub
        elif value != base[key] or type(value) is not type(base[key]):
            out[key] = value
    return out
