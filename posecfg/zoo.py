"""Where the config zoo is: the checkout's ``configs/``, or the copy an installed posecfg carries.

``pip install .`` (not editable) copies ``configs/`` into the package as ``posecfg/.mim/configs``
(``setup.py``; MMPose ships its configs the same way), so the dataset definitions
(``_base_/datasets/<name>.py``, read by the dataset classes) and every zoo config with its
``_base_`` chain are there without the repository. In a checkout (or an editable install) the
checkout's own ``configs/`` is used, so edits to it take effect at once.

The tools accept a zoo config by its path inside the zoo wherever no such file exists relative
to the working directory: ``posecfg-print-config configs/body/…/res50_coco_256x192.py`` (or
``posecfg::body/…/res50_coco_256x192.py``, mim's spelling) works from any folder.
"""
from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
#: the copy inside an installed package
INSTALLED_CONFIGS = _PACKAGE / '.mim' / 'configs'
#: the checkout's folder, next to the package
CHECKOUT_CONFIGS = _PACKAGE.parent / 'configs'
SCOPE = 'posecfg::'


def configs_root() -> Path:
    """The zoo's root folder (holding ``_base_/``, ``body/``, ``animal/``): the checkout's when
    posecfg runs from one, else the installed copy (whose absence the readers of a file in it
    report, naming the path)."""
    if (CHECKOUT_CONFIGS / '_base_' / 'datasets').is_dir():
        return CHECKOUT_CONFIGS
    return INSTALLED_CONFIGS


def resolve_config_path(path: str) -> str:
    """``path`` itself when it names a file (or has no zoo counterpart); else the zoo file it
    names: ``posecfg::<path in the zoo>``, ``configs/<path in the zoo>`` or ``<path in the zoo>``.
    """
    if path.startswith(SCOPE):
        rel = path[len(SCOPE):]
    elif os.path.exists(path):
        return path
    else:
        rel = path
    parts = Path(rel).parts
    if parts[:1] == ('configs',):
        parts = parts[1:]
    candidate = configs_root().joinpath(*parts) if parts else None
    if candidate is not None and candidate.is_file():
        return str(candidate)
    if path.startswith(SCOPE):
        raise FileNotFoundError(f'{path}: no such config in the zoo ({configs_root()})')
    return path
