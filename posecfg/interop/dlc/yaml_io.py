"""DeepLabCut's YAML: read as DeepLabCut reads it, write as DeepLabCut writes it.

Reading. DeepLabCut 3 reads every YAML file with ``ruamel.yaml`` in safe mode, which follows
YAML 1.2 (deeplabcut/core/config/utils.py ``get_yaml_loader``). PyYAML follows YAML 1.1, and
the two disagree on values DeepLabCut's own files contain: ``lr: 5e-4`` and ``1e-05`` are floats
in YAML 1.2 but strings in PyYAML, and ``yes``/``no``/``on``/``off`` are booleans only in
PyYAML. :func:`load_yaml` is PyYAML's safe loader with YAML 1.2's core-schema resolvers for
booleans and floats, so a file reads to the values DeepLabCut sees.

Writing. DeepLabCut writes ``pytorch_config.yaml``, ``pose_cfg.yaml`` and ``metadata.yaml`` with
ruamel's round-trip dumper, width 1e6 (deeplabcut/core/config/utils.py ``get_yaml_dumper``):
block style, two-space mappings, sequence dashes at the parent key's column, ``None`` as an
empty value, floats as Python's ``repr`` (``0.0005``, ``1e-05``, ``30.0``), empty containers as
``{}``/``[]``. :func:`dump_yaml` emits exactly that layout for plain data (dict, list, tuple,
str, int, float, bool, None) with optional comment lines before top-level keys.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Union

import yaml


class ConfigFileError(ValueError):
    """A DeepLabCut file is missing, unreadable or holds a value of the wrong kind.

    The message names the file and, where there is one, the key at fault.
    """


class _Yaml12Loader(getattr(yaml, 'CSafeLoader', yaml.SafeLoader)):
    """PyYAML's safe loader with YAML 1.2 core-schema booleans and floats; libyaml's parser
    when PyYAML has it (the same events ~8x faster: an evaluation reads ~10 project files)."""


_FLOAT_12 = re.compile(r'''^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?
                         |[-+]?\.(?:inf|Inf|INF)
                         |\.(?:nan|NaN|NAN))$''', re.X)
_BOOL_12 = re.compile(r'^(?:true|True|TRUE|false|False|FALSE)$')
_INT_12 = re.compile(r'^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$')

# Drop YAML 1.1's bool / float / int resolvers, then add YAML 1.2's (ints first: "12" is an int).
_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag not in ('tag:yaml.org,2002:bool', 'tag:yaml.org,2002:float',
                           'tag:yaml.org,2002:int')]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Yaml12Loader.add_implicit_resolver('tag:yaml.org,2002:bool', _BOOL_12, list('tTfF'))
_Yaml12Loader.add_implicit_resolver('tag:yaml.org,2002:int', _INT_12, list('-+0123456789'))
_Yaml12Loader.add_implicit_resolver('tag:yaml.org,2002:float', _FLOAT_12,
                                    list('-+0123456789.'))


def _construct_int12(loader, node):
    text = loader.construct_scalar(node)
    if text.startswith('0o'):
        return int(text[2:], 8)
    if text.startswith('0x'):
        return int(text[2:], 16)
    return int(text)


def _construct_float12(loader, node):
    text = loader.construct_scalar(node).lower()
    if text.endswith('.inf'):
        return -math.inf if text.startswith('-') else math.inf
    if text == '.nan':
        return math.nan
    return float(text)


def _construct_bool12(loader, node):
    return loader.construct_scalar(node).lower() == 'true'


_Yaml12Loader.add_constructor('tag:yaml.org,2002:int', _construct_int12)
_Yaml12Loader.add_constructor('tag:yaml.org,2002:float', _construct_float12)
_Yaml12Loader.add_constructor('tag:yaml.org,2002:bool', _construct_bool12)


def parse_yaml(text: str, source: str = '<string>') -> Any:
    """Parse YAML text with DeepLabCut's (YAML 1.2) value rules; errors name ``source``."""
    try:
        return yaml.load(text, Loader=_Yaml12Loader)
    except yaml.YAMLError as err:
        raise ConfigFileError(f'{source}: not valid YAML: {err}') from None


def load_yaml(path: Union[str, Path]) -> Dict[str, Any]:
    """Read a DeepLabCut YAML file whose top level is a mapping."""
    path = Path(path)
    if not path.is_file():
        raise ConfigFileError(f'{path}: file not found')
    data = parse_yaml(path.read_text(encoding='utf-8'), str(path))
    if not isinstance(data, dict):
        raise ConfigFileError(f'{path}: the top level must be a mapping of keys to values, '
                              f'found {type(data).__name__}')
    return data


# --------------------------------------------------------------------------------------------
# Writing in ruamel's round-trip layout
# --------------------------------------------------------------------------------------------

def _format_float(value: float) -> str:
    # ruamel's RoundTripRepresenter.represent_float for YAML 1.2: repr(), lower-cased
    if math.isnan(value):
        return '.nan'
    if math.isinf(value):
        return '.inf' if value > 0 else '-.inf'
    return repr(value).lower()


_SPECIAL_START = set('-?:,[]{}#&*!|>\'"%@`')


def _format_str(text: str) -> str:
    """Plain when the text reads back as the same string, single-quoted otherwise."""
    plain_ok = (
        text != '' and text == text.strip() and '\n' not in text
        and text[0] not in _SPECIAL_START and ': ' not in text and ' #' not in text
        and not text.endswith(':') and '\t' not in text
    )
    if plain_ok:
        try:
            plain_ok = parse_yaml(f'k: {text}') == {'k': text}
        except ConfigFileError:
            plain_ok = False
    if plain_ok:
        return text
    return "'" + text.replace("'", "''") + "'"


def _format_scalar(value: Any) -> str:
    if value is None:
        return ''
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _format_float(value)
    if isinstance(value, Path):
        return _format_str(str(value))
    if isinstance(value, str):
        return _format_str(value)
    # numpy scalars and other number-likes
    if hasattr(value, 'item'):
        return _format_scalar(value.item())
    raise TypeError(f'cannot write a {type(value).__name__} to DeepLabCut YAML: {value!r}')


def _is_container(value: Any) -> bool:
    return isinstance(value, (Mapping, list, tuple))


def _emit_mapping(data: Mapping, indent: int, lines: list,
                  comments: Optional[Mapping[str, str]] = None) -> None:
    pad = ' ' * indent
    for key, value in data.items():
        if comments and key in comments:
            lines.extend(f'{pad}# {line}' if line else '' for line in comments[key].split('\n'))
        head = f'{pad}{_format_scalar(key)}:'
        if isinstance(value, Mapping) and value:
            lines.append(head)
            _emit_mapping(value, indent + 2, lines)
        elif isinstance(value, (list, tuple)) and value:
            lines.append(head)
            _emit_sequence(value, indent, lines)
        elif isinstance(value, Mapping):
            lines.append(head + ' {}')
        elif isinstance(value, (list, tuple)):
            lines.append(head + ' []')
        else:
            text = _format_scalar(value)
            lines.append(head + (f' {text}' if text else ''))


def _emit_sequence(items, indent: int, lines: list) -> None:
    """Items at ``indent`` as ``- item``; a nested container starts on the dash's line."""
    pad = ' ' * indent
    for item in items:
        if _is_container(item) and item:
            sub: list = []
            if isinstance(item, Mapping):
                _emit_mapping(item, indent + 2, sub)
            else:
                _emit_sequence(item, indent + 2, sub)
            # the first line of the nested block moves up behind the dash
            lines.append(f'{pad}- ' + sub[0][indent + 2:])
            lines.extend(sub[1:])
        elif isinstance(item, Mapping):
            lines.append(f'{pad}- {{}}')
        elif isinstance(item, (list, tuple)):
            lines.append(f'{pad}- []')
        else:
            text = _format_scalar(item)
            lines.append(f'{pad}-' + (f' {text}' if text else ''))


def dump_yaml(data: Mapping, comments: Optional[Mapping[str, str]] = None) -> str:
    """YAML text of a mapping in DeepLabCut's (ruamel round-trip) layout.

    ``comments`` maps top-level keys to comment text written as ``# ...`` lines before them
    (an empty line in the text becomes an empty line in the file).
    """
    lines: list = []
    _emit_mapping(data, 0, lines, comments)
    return '\n'.join(lines) + '\n'
