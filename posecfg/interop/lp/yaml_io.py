"""YAML as Lightning Pose reads and writes it (OmegaConf's rules), with line numbers.

Reading follows OmegaConf's loader (``omegaconf/_utils.py::get_yaml_loader``), which Hydra and
``OmegaConf.load`` use: PyYAML's safe loader plus

- floats without a decimal point (``1e-3``, YAML 1.1 reads it as a string) are floats;
- no timestamps (``2024-01-01`` stays a string);
- a key repeated in one mapping is an error.

Writing follows ``OmegaConf.save`` / ``OmegaConf.to_yaml``: ``yaml.dump(default_flow_style=False,
allow_unicode=True, sort_keys=False)`` with PyYAML's ``Dumper``, strings that read as a bool, an
int or a float single-quoted. Lightning Pose saves the run's ``config.yaml`` this way
(``train.py:355``, ``OmegaConf.save(cfg, resolve=False)``), and Lightning its ``hparams.yaml``.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Tuple

import yaml

Path = Tuple[Any, ...]

_FLOAT = re.compile(r'''^(?:
     [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$''', re.X)
#: strings OmegaConf's dumper quotes because YAML 1.1 reads them as booleans
_YAML_BOOLS = frozenset('y Y yes Yes YES n N no No NO true True TRUE false False FALSE on On ON '
                        'off Off OFF'.split())


class LPYamlError(ValueError):
    """A YAML file that cannot be read as a Lightning Pose config."""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with OmegaConf's float and timestamp rules and duplicate-key check."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag != yaml.resolver.BaseResolver.DEFAULT_SCALAR_TAG:
                continue
            if key_node.value in seen:
                raise yaml.constructor.ConstructorError(
                    'while constructing a mapping', node.start_mark,
                    f'found duplicate key {key_node.value}', key_node.start_mark)
            seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


_Loader.add_implicit_resolver('tag:yaml.org,2002:float', _FLOAT, list('-+0123456789.'))
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != 'tag:yaml.org,2002:timestamp']
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()}


def load_yaml_with_lines(text: str, name: str = '<string>') -> Tuple[Any, Dict[Path, int]]:
    """Parse ``text``; returns the data and the 1-based line where each key path's value starts
    (list items by index)."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as e:
        raise LPYamlError(f'{name}: cannot parse: {e}') from None
    finally:
        loader.dispose()
    lines: Dict[Path, int] = {}
    if node is not None:
        _record_lines(node, (), lines)
    return data, lines


def _record_lines(node, path: Path, lines: Dict[Path, int]):
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = path + (key_node.value,)
            lines[child] = key_node.start_mark.line + 1
            _record_lines(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[path + (index,)] = item.start_mark.line + 1
            _record_lines(item, path + (index,), lines)


def _reads_as_other_type(text: str) -> bool:
    if text in _YAML_BOOLS:
        return True
    for convert in (int, float):
        try:
            convert(text)
            return True
        except ValueError:
            pass
    return False


class _Dumper(yaml.Dumper):
    """PyYAML's Dumper with OmegaConf's string representer."""


def _represent_str(dumper, data: str):
    style = "'" if _reads_as_other_type(data) else None
    return dumper.represent_scalar('tag:yaml.org,2002:str', data, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(data: Any) -> str:
    """``data`` (plain dicts, lists, scalars) as ``OmegaConf.save`` writes it."""
    return yaml.dump(data, Dumper=_Dumper, default_flow_style=False, allow_unicode=True,
                     sort_keys=False)
