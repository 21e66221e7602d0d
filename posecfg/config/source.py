"""Reading one config file: text substitutions, parsing, and its ``_base_`` list.

File format as mmengine's: ``{{ fileDirname }}``-style predefined variables, ``{{$ENV:default}}``
environment variables, ``{{_base_.x}}`` references (replaced by a placeholder string here and by
the base's value after the file ran), and a ``_base_`` assignment (a path or a list of paths,
relative to the file). Substitutions never add or remove lines, so line numbers in errors and
provenance are those of the file on disk. Nothing is written to disk.
"""
from __future__ import annotations

import ast
import io
import json
import os
import re
import tokenize
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from .errors import ConfigFileError

BASE_KEY = '_base_'
DELETE_KEY = '_delete_'
DEPRECATION_KEY = '_deprecation_'
SUFFIXES = ('.py', '.json', '.yaml', '.yml')

_PREDEFINED = re.compile(r'\{\{\s*(fileDirname|fileBasename|fileBasenameNoExtension|fileExtname)\s*\}\}')
_ENV = re.compile(r'\{\{[\'"]?\s*\$(\w+)\s*:\s*(\S*?)\s*[\'"]?\}\}')
_BASE_REF = re.compile(r'\{\{\s*' + BASE_KEY + r'\.([\w.]+)\s*\}\}')
#: marks a ``{{_base_.x}}`` placeholder; no user string looks like this
BASE_PLACEHOLDER_PREFIX = '\x00posecfg-base:'


@dataclass
class ConfigSource:
    """One config file, read and parsed but not yet run."""
    path: str
    text: str
    module: Optional[ast.Module]  # None for .json / .yaml files
    data: Optional[dict]  # the parsed dict for .json / .yaml files
    base_files: List[str]
    base_line: Optional[int]
    base_refs: Dict[str, str] = field(default_factory=dict)  # placeholder -> 'x.y' in the bases
    env_variables: Dict[str, str] = field(default_factory=dict)


def read_source(path: str) -> ConfigSource:
    if not path.endswith(SUFFIXES):
        raise ConfigFileError(f'{path}: a config file must end in one of {", ".join(SUFFIXES)}')
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except OSError as e:
        raise ConfigFileError(f'{path}: cannot read the config file ({e.strerror})') from None
    text = _substitute_predefined(text, path)
    text, env_variables = _substitute_env(text, path)
    text, base_refs = _substitute_base_refs(text)
    if path.endswith('.py'):
        try:
            module = parse_python(text, path)
        except ConfigFileError:
            check_base_refs_outside_strings(text, base_refs, path)  # the likelier cause
            raise
        _check_not_lazy_import_config(module, path)
        base_files, base_line = _python_base_files(module, path)
        module.body = [s for s in module.body if not _assigns_base(s)]
        return ConfigSource(path, text, module, None, base_files, base_line, base_refs,
                            env_variables)
    data = _parse_data_file(text, path)
    base_files = data.pop(BASE_KEY, [])
    return ConfigSource(path, text, None, data, _as_list(base_files, path), None, base_refs,
                        env_variables)


def parse_python(text: str, path: str) -> ast.Module:
    try:
        return ast.parse(text, filename=path)
    except SyntaxError as e:
        line = (e.text or '').rstrip('\n')
        pointer = f'\n    {line}\n    {" " * max((e.offset or 1) - 1, 0)}^' if line else ''
        raise ConfigFileError(f'{path}:{e.lineno}: syntax error: {e.msg}{pointer}') from None


def _substitute_predefined(text: str, path: str) -> str:
    values = dict(
        fileDirname=os.path.dirname(path),
        fileBasename=os.path.basename(path),
        fileBasenameNoExtension=os.path.splitext(os.path.basename(path))[0],
        fileExtname=os.path.splitext(path)[1])
    return _PREDEFINED.sub(lambda m: values[m.group(1)].replace('\\', '/'), text)


def _substitute_env(text: str, path: str):
    used = {}

    def replace(match):
        name, default = match.group(1), match.group(2)
        value = os.environ.get(name, default)
        if name in os.environ:
            used[name] = value
        if not value:
            line = text.count('\n', 0, match.start()) + 1
            raise ConfigFileError(
                f'{path}:{line}: environment variable {name} is not set and '
                f'{match.group(0)} gives no default; set {name} or write {{{{${name}:default}}}}')
        return value

    return _ENV.sub(replace, text), used


def _substitute_base_refs(text: str):
    refs = {}

    def replace(match):
        placeholder = f'{BASE_PLACEHOLDER_PREFIX}{match.group(1)}'
        refs[placeholder] = match.group(1)
        return repr(placeholder)

    return _BASE_REF.sub(replace, text), refs


def check_base_refs_outside_strings(text: str, base_refs: Dict[str, str], path: str):
    """``{{_base_.x}}`` stands for a whole value; inside a string literal it would be text
    substitution, which mmengine does not do either (the placeholder breaks the literal or ends
    up inside the string). Raises naming the line if ``text`` (with placeholders, as
    :func:`read_source` leaves it) has one inside a string. Tokenizing costs: called only where
    something already went wrong."""
    for placeholder, key in base_refs.items():
        text = text.replace(repr(placeholder), '{{_base_.%s}}' % key)
    if not _BASE_REF.search(text):
        return
    string_tokens = {tokenize.STRING}
    string_tokens |= {getattr(tokenize, 'FSTRING_MIDDLE', tokenize.STRING)}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return  # the parser reports it
    for token in tokens:
        match = _BASE_REF.search(token.string) if token.type in string_tokens else None
        if match:
            line = token.start[0] + token.string.count('\n', 0, match.start())
            key = match.group(1)
            raise ConfigFileError(
                f'{path}:{line}: {match.group(0)} is inside a string; {{{{_base_.x}}}} must stand '
                f'for a whole value (x = {{{{_base_.{key}}}}}). To build a string from a base\'s '
                f"value write f'{{_base_.{key}}}/…' or _base_.{key} + '/…'")


#: ``with read_base():`` — mmengine's "pure Python" config style (MMPose 1.x ``configs/*_new``)
_READ_BASE = 'read_base'


def _check_not_lazy_import_config(module: ast.Module, path: str):
    """mmengine's pure-Python configs import their bases and classes as modules
    (``with read_base(): from .._base_.default_runtime import *``); posecfg does not run them."""
    for stmt in module.body:
        if isinstance(stmt, ast.With) and any(
                isinstance(item.context_expr, ast.Call)
                and getattr(item.context_expr.func, 'id',
                            getattr(item.context_expr.func, 'attr', None)) == _READ_BASE
                for item in stmt.items):
            raise ConfigFileError(
                f'{path}:{stmt.lineno}: this is an mmengine pure-Python config (`with '
                'read_base():` imports its bases, classes are imported objects); posecfg does not '
                'support that style. Write the bases as _base_ = [...] (paths relative to this '
                "file) and each class as a registry name, type='ClassName', as in MMPose 0.x "
                'and the classic MMPose 1.x configs')


def _assigns_base(stmt: ast.stmt) -> bool:
    return (isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name)
            and stmt.targets[0].id == BASE_KEY)


def _python_base_files(module: ast.Module, path: str):
    stmt = next((s for s in module.body if _assigns_base(s)), None)
    if stmt is None:
        return [], None
    try:
        value = ast.literal_eval(stmt.value)
    except ValueError:
        raise ConfigFileError(
            f'{path}:{stmt.lineno}: _base_ must be a path or a list of paths written as string '
            'literals') from None
    return _as_list(value, f'{path}:{stmt.lineno}'), stmt.lineno


def _as_list(value: Any, where: str) -> List[str]:
    items = value if isinstance(value, (list, tuple)) else [value]
    if not all(isinstance(v, str) for v in items):
        raise ConfigFileError(f'{where}: _base_ must be a path or a list of paths, got {value!r}')
    return list(items)


def _parse_data_file(text: str, path: str) -> dict:
    if path.endswith('.json'):
        parse, errors = json.loads, (ValueError,)
    else:
        import yaml  # only yaml configs pay for the import
        parse, errors = yaml.safe_load, (yaml.YAMLError,)
    try:
        data = parse(text)
    except errors as e:
        raise ConfigFileError(f'{path}: cannot parse: {e}') from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigFileError(f'{path}: a config file must hold a mapping, got {type(data).__name__}')
    return data
