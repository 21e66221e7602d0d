"""Writing config data as Python, JSON or YAML text.

Python output is a config file that posecfg and mmengine both load back to the same data: tuples
stay tuples, ``inf``/``nan`` are written as ``float('inf')``, dicts keep their order, classes and
functions that can be imported are written as ``__import__('module').name``, and what cannot be
written (a lambda, a function defined in a config file, an arbitrary object) becomes a
placeholder string, reported in the notes. Nothing in the data changes how the file reads back:
a top-level key named like a builtin the file calls (``float``, ``dict``) makes the file reach
that builtin through ``__import__('builtins')``, and ``{{`` in a string is written so that the
loaders' ``{{ fileBasename }}``-style substitutions do not apply to it. JSON and YAML report what
they cannot keep (tuples become lists; non-string keys become strings in JSON, where two keys may
then collide; ``inf`` is not standard JSON).

Formatting never fails: each function returns ``(text, notes)``.
"""
from __future__ import annotations

import importlib
import json
import keyword
import math
import sys
import types
from typing import Any, List, Tuple

from .keypath import Path, format_path

WIDTH = 100
INDENT = 4


def _importable_name(obj: Any):
    """``('module', 'qual.name')`` when ``obj`` can be imported by that name, else None."""
    module = getattr(obj, '__module__', None)
    qualname = getattr(obj, '__qualname__', None)
    if not module or not qualname or '<' in qualname or module == '__main__':
        return None
    target = sys.modules.get(module)
    if target is None:
        try:
            target = importlib.import_module(module)
        except Exception:
            return None
    found = target
    for part in qualname.split('.'):
        found = getattr(found, part, None)
    return (module, qualname) if found is obj else None


#: builtins a written config calls; a top-level key of the same name would shadow them
_BUILTINS_USED = ('dict', 'float', 'set', 'frozenset', 'complex', 'globals')


class _PyFormatter:

    def __init__(self, top_level_keys=()):
        self.notes: List[Tuple[str, Path]] = []
        self.shadowed = {k for k in top_level_keys if k in _BUILTINS_USED}

    def builtin(self, name: str) -> str:
        """How the written file calls builtin ``name``. ``__import__`` itself is never a config
        key: both loaders drop top-level ``__`` names."""
        return f"__import__('builtins').{name}" if name in self.shadowed else name

    def dict_call(self, d: dict) -> bool:
        """Write ``d`` as ``dict(k=v)`` (mmengine's style) rather than ``{'k': v}``?"""
        return 'dict' not in self.shadowed and _identifier_keys(d)

    def inline(self, value: Any, path: Path) -> str:
        """``value`` as one line of Python."""
        if isinstance(value, dict):
            if self.dict_call(value):
                return 'dict(' + ', '.join(f'{k}={self.inline(v, path + (k,))}'
                                           for k, v in value.items()) + ')'
            return '{' + ', '.join(f'{self.inline(k, path)}: {self.inline(v, path + (k,))}'
                                   for k, v in value.items()) + '}'
        if isinstance(value, list):
            return '[' + ', '.join(self.inline(v, path + (i,)) for i, v in enumerate(value)) + ']'
        if isinstance(value, tuple):
            items = [self.inline(v, path + (i,)) for i, v in enumerate(value)]
            return '(' + ', '.join(items) + (',)' if len(items) == 1 else ')')
        return self.scalar(value, path)

    def block(self, value: Any, path: Path, indent: int, prefix: str) -> str:
        """``prefix + value``, wrapped over lines when it does not fit ``WIDTH``."""
        one_line = prefix + self.inline(value, path)
        if len(one_line) + indent <= WIDTH or not isinstance(value, (dict, list, tuple)) \
                or not value:
            return one_line
        inner = ' ' * (indent + INDENT)
        if isinstance(value, dict):
            if self.dict_call(value):
                opening, closing = 'dict(', ')'
                items = [self.block(v, path + (k,), indent + INDENT, f'{k}=')
                         for k, v in value.items()]
            else:
                opening, closing = '{', '}'
                items = [self.block(v, path + (k,), indent + INDENT, f'{self.inline(k, path)}: ')
                         for k, v in value.items()]
        else:
            opening, closing = ('[', ']') if isinstance(value, list) else ('(', ')')
            items = [self.block(v, path + (i,), indent + INDENT, '') for i, v in enumerate(value)]
        body = ''.join(f'{inner}{item},\n' for item in items)
        return f'{prefix}{opening}\n{body}{" " * indent}{closing}'

    def scalar(self, value: Any, path: Path) -> str:
        if isinstance(value, (str, bytes)):
            return _literal(value)
        if value is None or isinstance(value, bool):
            return repr(value)
        if isinstance(value, int):
            return repr(int(value))
        if isinstance(value, float):
            if math.isnan(value) or math.isinf(value):
                text = 'nan' if math.isnan(value) else 'inf' if value > 0 else '-inf'
                return f"{self.builtin('float')}('{text}')"
            return repr(float(value))
        if isinstance(value, (set, frozenset)):
            items = ', '.join(sorted(self.inline(v, path) for v in value))
            if isinstance(value, frozenset):
                name = self.builtin('frozenset')
                return f'{name}({{{items}}})' if value else f'{name}()'
            return f'{{{items}}}' if value else f"{self.builtin('set')}()"
        if isinstance(value, complex):
            return f"{self.builtin('complex')}({value.real!r}, {value.imag!r})"
        if hasattr(value, 'item') and hasattr(value, 'dtype') and getattr(value, 'shape', ()) == ():
            self.notes.append(('numpy scalar written as a Python number', path))
            return self.scalar(value.item(), path)
        if hasattr(value, 'tolist') and hasattr(value, 'dtype'):
            self.notes.append(('array written as a list', path))
            return self.inline(value.tolist(), path)
        if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
            name = _importable_name(value)
            if name is not None:
                # no import statement: mmengine reads a config with one as a "lazy import"
                # config and would load the class back as a string
                module, qualname = name
                head = qualname.split('.')[0]
                return f'__import__({module!r}, fromlist=[{head!r}]).{qualname}'
        return self.placeholder(value, path)

    def placeholder(self, value: Any, path: Path) -> str:
        return _literal(self.placeholder_text(value, path))

    def placeholder_text(self, value: Any, path: Path) -> str:
        if isinstance(value, types.FunctionType) and value.__name__ == '<lambda>':
            code = value.__code__
            what = f'lambda at {code.co_filename}:{code.co_firstlineno}'
        else:
            what = f'{type(value).__name__} {getattr(value, "__qualname__", "")}'.strip()
        self.notes.append((f'{what} cannot be written as Python; written as a placeholder '
                           'string', path))
        return f'<unprintable {what}>'


def _literal(value) -> str:
    """``repr`` of a str or bytes, with every ``{{`` split over two adjacent literals
    (``'{' '{ fileBasename }}'``): both loaders substitute ``{{ fileBasename }}``,
    ``{{$VAR:default}}`` and ``{{_base_.x}}`` in a file's text, never across literals."""
    text = repr(value)
    if '{{' not in text:
        return text
    quote = text[-1]
    prefix = text[:text.index(quote)]  # 'b' for bytes
    return text.replace('{{', '{' + quote + ' ' + prefix + quote + '{')


def _identifier_keys(d: dict) -> bool:
    return all(isinstance(k, str) and k.isidentifier() and not keyword.iskeyword(k) for k in d)


def summarize(notes: List[Tuple[str, Path]], shown: int = 3) -> List[str]:
    """One line per kind of loss: what happened, how often, and where (the first few paths)."""
    by_kind = {}
    for what, path in dict.fromkeys(notes):  # a value may be formatted twice (line fitting)
        by_kind.setdefault(what, []).append(format_path(path))
    lines = []
    for what, paths in by_kind.items():
        where = ', '.join(paths[:shown]) + (f' and {len(paths) - shown} more'
                                            if len(paths) > shown else '')
        lines.append(f'{what}: {where}')
    return lines


def escape_literal_references(data: Any, path: Path = ()) -> Tuple[Any, List[Tuple[str, Path]]]:
    """Resolved data with every ``${`` in a string value written ``\\${`` (keys are never
    resolved, so they stay), and where that was done: a written config is read back with its
    ``${…}`` references resolved, and a literal ``${`` must not become one."""
    notes: List[Tuple[str, Path]] = []

    def escape(value, path):
        if isinstance(value, str) and '${' in value:
            notes.append(('literal ${ written as \\${ (posecfg reads it back as ${; mmengine '
                          'keeps the backslash)', path))
            return value.replace('${', '\\${')
        if isinstance(value, dict):
            return {k: escape(v, path + (k,)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(escape(v, path + (i,)) for i, v in enumerate(value))
        return value

    return escape(data, path), notes


def to_python(data: dict, header: str = '') -> Tuple[str, List[str]]:

    fmt = _PyFormatter(data)
    lines = []
    for key, value in data.items():
        if isinstance(key, str) and key.isidentifier() and not keyword.iskeyword(key):
            lines.append(fmt.block(value, (key,), 0, f'{key} = '))
        else:
            prefix = f"{fmt.builtin('globals')}()[{fmt.scalar(key, ())}] = "
            lines.append(fmt.block(value, (key,), 0, prefix))
    # a comment is substituted too ({{$VAR:}} without a default even fails): no '{{' in it
    head = [f'# {line}'.replace('{{', '{ {') for line in header.splitlines()] if header else []
    text = '\n'.join(head + ([''] if head else []) + lines) + '\n'
    return text, summarize(fmt.notes)


def _jsonable(value: Any, path: Path, notes: List[str], json_rules: bool):
    """``value`` as JSON/YAML-safe data, noting each change in ``notes``."""
    if isinstance(value, dict):
        out, written_as = {}, {}
        for k, v in value.items():
            key = k
            if not isinstance(k, (str, int, float, bool)) and k is not None or \
                    json_rules and not isinstance(k, str):
                notes.append(('non-string key written as a string', path + (k,)))
                key = str(k)
            if key in out:
                notes.append((f'keys {written_as[key]!r} and {k!r} are both written as {key!r}; '
                              f'only the value of {k!r} is kept', path))
            written_as[key] = k
            out[key] = _jsonable(v, path + (k,), notes, json_rules)
        return out

    if isinstance(value, (list, tuple)):
        if isinstance(value, tuple):
            notes.append(('tuple written as a list', path))
        return [_jsonable(v, path + (i,), notes, json_rules) for i, v in enumerate(value)]
    if isinstance(value, float) and json_rules and (math.isinf(value) or math.isnan(value)):
        notes.append(('inf or nan written as Infinity or NaN, which is not standard JSON',
                      path))
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return _object_as_data(value, path, notes)


def _object_as_data(value: Any, path: Path, notes: List[str]) -> Any:
    if hasattr(value, 'dtype') and hasattr(value, 'tolist'):
        notes.append(('numpy value written as plain numbers', path))
        return value.tolist()
    if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
        name = _importable_name(value)
        if name is not None:
            dotted = f'{name[0]}.{name[1]}'
            notes.append((f'{dotted} written as the string {dotted!r}', path))
            return dotted
    fmt = _PyFormatter()
    text = fmt.placeholder_text(value, path)
    notes.extend(fmt.notes)
    return text


def to_json(data: dict) -> Tuple[str, List[str]]:
    notes: List[str] = []
    safe = _jsonable(data, (), notes, json_rules=True)
    return json.dumps(safe, indent=4) + '\n', summarize(notes)


def to_yaml(data: dict) -> Tuple[str, List[str]]:
    import yaml  # only YAML output pays for the import
    notes: List[str] = []
    safe = _jsonable(data, (), notes, json_rules=False)
    return yaml.safe_dump(safe, sort_keys=False, default_flow_style=None, width=WIDTH), \
        summarize(notes)


FORMATS = {'py': to_python, 'json': to_json, 'yaml': to_yaml, 'yml': to_yaml}
