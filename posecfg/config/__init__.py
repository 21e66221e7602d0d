"""posecfg's config system: Python config files with ``_base_`` inheritance, ``--cfg-options``
overrides, ``${key}`` references, provenance and exact dumps.

Importing it imports neither torch nor mmengine: reading or printing a config is instant.
"""
from .config import Config, ConfigWarning
from .errors import (ConfigError, ConfigFileError, ConfigMergeError, InterpolationError,
                     OverrideError)
from .options import Override, parse_option, parse_options, parse_value
from .overrides import TypeInfo

__all__ = [
    'Config', 'ConfigWarning', 'ConfigError', 'ConfigFileError', 'ConfigMergeError',
    'InterpolationError', 'OverrideError', 'Override', 'parse_option', 'parse_options',
    'parse_value', 'TypeInfo'
]
