"""Errors raised while reading, merging, overriding and resolving configs.

Every message names the file (and line) or the command-line item at fault and says what would
be right. Tools catch :class:`ConfigError` and print its message without a traceback.
"""


class ConfigError(Exception):
    """Base class of every config problem a user can fix in a config file or on the command line."""


class ConfigFileError(ConfigError):
    """A config file cannot be found, parsed, or run."""


class ConfigMergeError(ConfigError):
    """Two files disagree in a way merging cannot settle (two bases set one key differently, …)."""


class OverrideError(ConfigError):
    """A ``--cfg-options`` item is malformed or names a key that does not exist."""


class InterpolationError(ConfigError):
    """A ``${key}`` reference names a missing key or forms a cycle."""
