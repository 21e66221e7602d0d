"""``custom_imports``: the user's modules, imported before a config is checked or built, so that
the parts they register (transforms, models, metrics, hooks, …) can be named by ``type``.

    custom_imports = dict(imports=['my_project.transforms', 'my_plugin'],
                          allow_failed_imports=False)

As mmcv's ``import_modules_from_strings``: each name is imported with
:func:`importlib.import_module`; a module that fails to import is an error naming the config
key (with ``allow_failed_imports=True`` a warning, and the rest still load). Modules are looked up on ``sys.path`` and, after it, in the
folder of the config file, so a plugin file beside the config needs no installation.
"""
from __future__ import annotations

import importlib
import os
import sys
import warnings
from types import ModuleType
from typing import List, Optional

from posecfg.config import Config, ConfigError


class CustomImportError(ConfigError):
    """custom_imports is malformed or names a module that does not import."""


def import_custom_modules(cfg: Config) -> List[ModuleType]:
    """Import the modules of ``cfg.custom_imports`` (none when the key is absent or None)."""
    spec = cfg.get('custom_imports')
    if spec is None:
        return []
    where = cfg.where(('custom_imports',))
    if not isinstance(spec, dict) or set(spec) - {'imports', 'allow_failed_imports'} \
            or 'imports' not in spec:
        raise CustomImportError(
            f"{where}: custom_imports must be dict(imports=['module', ...], "
            f'allow_failed_imports=False), got {spec!r}')
    names = spec['imports']
    names = [names] if isinstance(names, str) else names
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise CustomImportError(f'{where}: custom_imports.imports must be a module name or a '
                                f'list of them, got {names!r}')
    allow_failed = bool(spec.get('allow_failed_imports', False))
    modules = []
    for name in names:
        module = _import(name, _config_dir(cfg))
        if isinstance(module, ModuleType):
            modules.append(module)
            continue
        message = f'{where}: custom_imports could not import {name!r}: {module}'
        if not allow_failed:
            raise CustomImportError(message + ' (allow_failed_imports=True makes this a '
                                              'warning)')
        warnings.warn(message, UserWarning, stacklevel=2)
    return modules


def _config_dir(cfg: Config) -> Optional[str]:
    filename = getattr(cfg, 'filename', None)
    return os.path.dirname(os.path.abspath(filename)) if filename else None


def _import(name: str, fallback_dir: Optional[str]):
    """The module, or the exception importing it raised."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if fallback_dir is None or error.name != name.split('.')[0] or \
                fallback_dir in sys.path:
            return error
        sys.path.append(fallback_dir)  # kept: the module's own imports may need it later
        try:
            return importlib.import_module(name)
        except Exception as retry_error:  # noqa: BLE001 (reported with the config key)
            return retry_error
    except Exception as error:  # noqa: BLE001 (reported with the config key)
        return error
