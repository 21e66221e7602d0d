"""Which config language a file speaks, and the translator that makes it a posecfg config.

posecfg has one runtime and one config language: a DeepLabCut or Lightning Pose file given to
``tools/train.py``, ``tools/test.py`` or ``tools/print_config.py`` is translated, in memory, into a
posecfg :class:`~posecfg.config.Config`; nothing else runs it. This module only decides which
translator a file needs and calls it.

A ``.yaml``/``.yml`` file is recognised by its top-level keys:

- DeepLabCut 3 shuffle config (``pytorch_config.yaml``): ``net_type`` or ``train_settings``;
- DeepLabCut project (``config.yaml`` with ``--shuffle K``): ``Task`` and ``scorer``;
- Lightning Pose ``config.yaml``: ``training`` and a ``data`` mapping with ``data_dir``;
- anything else (``.py``, ``.json``, a posecfg ``.yaml``) is a posecfg config.

A translator module (``DIALECTS``) provides::

    load_as_config(path, cfg_options, extra, shuffle=None, trainset_index=0) -> Config

``cfg_options`` are the command line's ``KEY=VALUE`` items in **the tool's own key names**
(``train_settings.epochs=5``, ``training.max_epochs=5``), parsed with posecfg's grammar
(:func:`posecfg.config.options.parse_options`); ``extra`` are posecfg overrides a tool makes from
its own flags (``work_dir``), applied to the translated config. It may also provide
``format_config(cfg, fmt) -> (text, notes)`` for ``print_config.py`` (an editable ``.py`` that
inherits the tool's parts from ``configs/_base_/``).
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Optional, Sequence

from posecfg.config.errors import ConfigError

#: dialect → (translator module, what the file is)
DIALECTS = {
    'dlc': ('posecfg.interop.dlc.to_config', "a DeepLabCut 3 shuffle's pytorch_config.yaml"),
    'dlc_project': ('posecfg.interop.dlc.to_config', 'a DeepLabCut project config.yaml'),
    'lp': ('posecfg.interop.lp.to_config', 'a Lightning Pose config.yaml'),
}


def detect_dialect(path) -> Optional[str]:
    """The dialect of the config file ``path`` (a key of ``DIALECTS``), or None for posecfg's."""
    path = Path(path)
    if path.suffix.lower() not in ('.yaml', '.yml') or not path.is_file():
        return None
    import yaml
    try:
        with open(path, encoding='utf-8') as f:
            tree = yaml.safe_load(f)
    except yaml.YAMLError:
        return None  # posecfg's own loader reports the syntax error with its line
    if not isinstance(tree, dict):
        return None
    if 'net_type' in tree or 'train_settings' in tree:
        return 'dlc'
    if 'Task' in tree and 'scorer' in tree:
        return 'dlc_project'
    data = tree.get('data')
    if 'training' in tree and isinstance(data, dict) and 'data_dir' in data:
        return 'lp'
    return None


def translator(dialect: str, path):
    """The translator module of ``dialect``; a ConfigError when this posecfg has none yet."""
    module_name, what = DIALECTS[dialect]
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name != module_name:
            raise
        raise ConfigError(f'{path}: {what} is not supported by this version of posecfg yet '
                          f'(no {module_name})') from None


def load_dialect_config(dialect: str, path, cfg_options: Sequence[str] = (),
                        extra: Sequence = (), shuffle: Optional[int] = None,
                        trainset_index: int = 0):
    """``path`` (of ``dialect``) as a posecfg Config (see the module docstring)."""
    if dialect == 'dlc_project' and shuffle is None:
        raise ConfigError(f'{path} is a DeepLabCut project config.yaml: say which shuffle with '
                          f'--shuffle K (and --trainset-index I when TrainingFraction has several '
                          f'values)')
    return translator(dialect, path).load_as_config(
        path, cfg_options=list(cfg_options), extra=list(extra), shuffle=shuffle,
        trainset_index=trainset_index)


def apply_tool_flag(data: dict, prov, override) -> None:
    """Apply a posecfg override a tool made from its own flags (``--work-dir`` → ``work_dir``)
    to a translated config's ``data`` and record it in its provenance ``prov``."""
    import copy

    from posecfg.config.options import DELETE
    from posecfg.config.provenance import Event, Origin
    node = data
    for key in override.key[:-1]:
        node = node.setdefault(key, {})
    if override.op == DELETE:
        node.pop(override.key[-1], None)
        prov.remove(tuple(override.key))
        return
    node[override.key[-1]] = copy.deepcopy(override.value)
    prov.place(tuple(override.key), Event(Origin(option=override.text, flag=override.flag),
                                          'set'))


def format_config(cfg, fmt: str, dialect: Optional[str] = None, path=None):
    """``(text, notes)`` of ``cfg`` in ``fmt``: the dialect's own rendering where it has one."""
    if dialect is not None:
        module = translator(dialect, path)
        if hasattr(module, 'format_config'):
            return module.format_config(cfg, fmt)
    return cfg.format(fmt)
