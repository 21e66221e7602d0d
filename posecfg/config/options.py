"""The ``--cfg-options`` grammar, shared by ``tools/train.py``, ``tools/test.py`` and
``tools/print_config.py``.

Items::

    KEY=VALUE      set an existing key (or a constructor argument of the dict's registered type)
    +KEY=VALUE     set a key, creating it if it does not exist
    ~KEY           delete a key (a dict entry or a list element)

``KEY`` is dotted; a segment that reads as an integer indexes a list or tuple
(``data.train.pipeline.1.flip_prob``, ``workflow.0``, ``pipeline.-1``).

``VALUE``:
- whitespace around a value and around each item of a list, tuple or dict is layout, not part of
  the value (``"lr_config.step=170, 200"`` is ``[170, 200]``, ``interval=5 `` is ``5``); inside a
  bare word it is kept (``/tmp/my dir``);
- quoted (``"…"`` or ``'…'``, backslash escapes): exactly that string, every character kept —
  ``"0012"``, ``"a,b"``, ``" padded "``;
- ``[…]`` a list, ``(…)`` a tuple, ``{k: v, …}`` or ``dict(k=v, …)`` a dict, nested freely (up to
  ``MAX_DEPTH`` levels), with or without spaces; inside them bare words are strings:
  ``[(train,1),(val,1)]``;
- ``true``/``false`` in any case (``True``, ``FALSE``) are booleans, as in mmengine's DictAction;
  ``None`` (only so spelled) is None; integers (``12``, ``-3``, ``1_000``; a leading zero as in
  ``0012`` keeps it a string, since no Python integer is written that way); floats (``0.5``,
  ``1e-3``, ``inf``, ``-inf``, ``nan``);
- anything else is the string as written (``/tmp/my dir`` when the shell already removed the
  quotes);
- top-level commas make a list, as in mmengine: ``evaluation.metric=PCK,AUC`` → ``['PCK', 'AUC']``.

A dict value is merged into an existing dict like a child config would be; put ``_delete_=True``
in it (``model.backbone={_delete_:True,type:MobileNetV2}``) to replace the dict instead.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, List, Sequence, Tuple

from .errors import OverrideError
from .source import BASE_KEY, DELETE_KEY, DEPRECATION_KEY

SET, ADD, DELETE = 'set', 'add', 'delete'

_INT = re.compile(r'[+-]?(0|[1-9](_?[0-9])*)')
_DIGITS = r'[0-9](_?[0-9])*'
_EXPONENT = r'[eE][+-]?[0-9]+'
# a float needs a point or an exponent: '0012' is no number at all, '12' is an int
_FLOAT = re.compile(rf'[+-]?(({_DIGITS})?\.{_DIGITS}({_EXPONENT})?|{_DIGITS}\.({_EXPONENT})?'
                    rf'|{_DIGITS}{_EXPONENT})')
_SPECIAL_FLOATS = {'inf': math.inf, '+inf': math.inf, '-inf': -math.inf, 'nan': math.nan,
                   'infinity': math.inf, '+infinity': math.inf, '-infinity': -math.inf}
_BOOLEANS = {'true': True, 'false': False}  # any case, as mmengine's DictAction
#: deepest nesting of brackets in a value; deeper input is refused, not a RecursionError
MAX_DEPTH = 100


@dataclass(frozen=True)
class Override:
    """One parsed ``--cfg-options`` item."""
    op: str  # SET, ADD or DELETE
    key: Tuple[str, ...]  # dotted segments as written; indices are resolved against the config
    value: Any
    text: str  # the item as given, for messages and provenance
    flag: str = '--cfg-options'  # the command-line flag it came from

    @property
    def dotted(self) -> str:
        return '.'.join(self.key)


def parse_options(items: Sequence[str], flag: str = '--cfg-options') -> List[Override]:
    return [parse_option(item, flag) for item in items]


def parse_option(item: str, flag: str = '--cfg-options') -> Override:
    if item.startswith('~'):
        if '=' in item:
            raise OverrideError(f'{flag} {item!r}: ~KEY deletes a key and takes no value')
        return Override(DELETE, _parse_key(item[1:], item, flag), None, item, flag)
    op = ADD if item.startswith('+') else SET
    body = item[1:] if op == ADD else item
    key, sep, raw = body.partition('=')
    if not sep:
        raise OverrideError(
            f'{flag} {item!r}: expected KEY=VALUE (or +KEY=VALUE to add a key, ~KEY to delete one)')
    return Override(op, _parse_key(key, item, flag), parse_value(raw, item, flag), item, flag)


def _parse_key(key: str, item: str, flag: str) -> Tuple[str, ...]:
    segments = tuple(key.split('.'))
    if not key or any(not s or s != s.strip() for s in segments):
        raise OverrideError(f'{flag} {item!r}: {key!r} is not a dotted key like model.backbone.depth')
    reserved = _reserved_key_problem(segments)
    if reserved:
        raise OverrideError(f'{flag} {item!r}: {reserved}')
    return segments


def _reserved_key_problem(segments: Tuple[str, ...]) -> str:
    """Why a key cannot be set from the command line: keys a config file gives a meaning of their
    own (a dump of the config would load back as something else), or ''."""
    if DELETE_KEY in segments:
        return (f'{DELETE_KEY} is not a key but an instruction inside a dict value; to replace '
                'a dict write KEY={_delete_:True,type:…}')
    top = segments[0]
    if top == BASE_KEY:
        return f'{BASE_KEY} lists the files a config inherits from; it cannot be set or deleted'
    if top == DEPRECATION_KEY:
        return f'{DEPRECATION_KEY} marks a config file as deprecated; it is not a config key'
    if top.startswith('__'):
        return (f'{top}: a top-level name starting with __ is private to a config file and is '
                'not a config key')
    return ''


def _clip(text: str, limit: int = 120) -> str:
    """``repr(text)``, shortened in the middle when long (an error message stays readable)."""
    if len(text) <= limit:
        return repr(text)
    half = limit // 2
    return f'{text[:half]!r}…{text[-half:]!r} ({len(text)} characters)'


def parse_value(text: str, item: str = None, flag: str = '--cfg-options') -> Any:
    """The Python value a ``--cfg-options`` VALUE denotes (see the module docstring)."""
    parser = _ValueParser(text, item if item is not None else text, flag)
    return parser.top()


def scalar(word: str) -> Any:
    """A bare word as a value: None/True/False, an int, a float, or the word itself."""
    if word == 'None':
        return None
    if word.lower() in _BOOLEANS:
        return _BOOLEANS[word.lower()]
    if _INT.fullmatch(word):
        return int(word)
    if _FLOAT.fullmatch(word):
        return float(word)
    special = _SPECIAL_FLOATS.get(word.lower())
    if special is not None:
        return special
    return word


class _ValueParser:
    OPEN = {'[': ']', '(': ')', '{': '}'}

    def __init__(self, text: str, item: str, flag: str):
        self.text, self.item, self.flag = text, item, flag
        self.pos = 0
        self.depth = 0

    def fail(self, message: str):
        raise OverrideError(f'{self.flag} {_clip(self.item)}: {message} at character '
                            f'{self.pos + 1} of {_clip(self.text)}')

    # top level: the whole text, where bare words run to the next comma and commas make a list
    def top(self) -> Any:
        text = self.text
        if not text.strip():
            return ''
        items, trailing_comma = [], False
        while True:
            items.append(self.item_top())
            if self.pos >= len(text):
                break
            if text[self.pos] != ',':
                self.fail('unexpected text after a value')
            self.pos += 1
            if not text[self.pos:].strip():
                trailing_comma = True
                break
        return items if len(items) > 1 or trailing_comma else items[0]

    def item_top(self) -> Any:
        self.skip_spaces()
        value = self.structured()
        if value is not _NOTHING:
            return value
        # a bare word runs to the next top-level comma; spaces inside it are kept
        start = self.pos
        end = self.text.find(',', start)
        end = len(self.text) if end < 0 else end
        self.pos = end
        return scalar(self.text[start:end].strip())

    def structured(self) -> Any:
        """A quoted string or a bracketed value at the current position (which is not a space),
        else _NOTHING. Spaces after it are skipped."""
        if self.pos >= len(self.text):
            return _NOTHING
        ch = self.text[self.pos]
        if ch in '"\'':
            return self.quoted()
        if ch in self.OPEN:
            return self.bracketed()
        if self.text.startswith('dict(', self.pos):
            self.pos += len('dict')
            return self.bracketed(call=True)
        return _NOTHING

    def quoted(self) -> str:
        quote = self.text[self.pos]
        self.pos += 1
        out = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == '\\' and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if ch == quote:
                self.pos += 1
                self.skip_spaces()
                return ''.join(out)
            out.append(ch)
            self.pos += 1
        self.fail(f'unterminated {quote} string')

    def skip_spaces(self):
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def bracketed(self, call: bool = False) -> Any:
        if self.depth >= MAX_DEPTH:
            self.fail(f'brackets nested more than {MAX_DEPTH} levels deep')
        self.depth += 1
        opening = self.text[self.pos]
        closing = self.OPEN[opening]
        self.pos += 1
        is_dict = opening == '{' or call
        items, entries, trailing_comma = [], [], False
        self.skip_spaces()
        while True:
            if self.pos >= len(self.text):
                self.fail(f'missing {closing!r}')
            if self.text[self.pos] == closing:
                self.pos += 1
                break
            if is_dict:
                key_at = self.pos
                key = self.inner_value(stop=':=' if call else ':')
                if isinstance(key, (list, dict)):
                    self.pos = key_at
                    self.fail('a dict key must be a word, a number, a quoted string or a tuple')
                if self.pos >= len(self.text) or self.text[self.pos] not in ':=':
                    self.fail('expected key: value in a dict')
                self.pos += 1
                entries.append((key, self.inner_value(stop=',' + closing)))
            else:
                items.append(self.inner_value(stop=',' + closing))
            trailing_comma = False
            if self.pos < len(self.text) and self.text[self.pos] == ',':
                self.pos += 1
                trailing_comma = True
                self.skip_spaces()
            elif self.pos < len(self.text) and self.text[self.pos] != closing:
                self.fail(f'expected "," or {closing!r}')
        self.skip_spaces()
        self.depth -= 1
        if is_dict:
            return dict(entries)
        if opening == '(':
            return tuple(items) if len(items) != 1 or trailing_comma else items[0]
        return items

    def inner_value(self, stop: str) -> Any:
        """An item inside brackets; spaces around it are skipped."""
        self.skip_spaces()
        value = self.structured()
        if value is not _NOTHING:
            return value
        start = self.pos
        enders = set(stop) | set(')]}')
        while self.pos < len(self.text) and self.text[self.pos] not in enders:
            if self.text[self.pos] in '([{"\'':
                self.fail('a bracket or quote inside a bare word (quote the whole word)')
            self.pos += 1
        word = self.text[start:self.pos].strip()
        if not word:
            self.fail('empty value')
        return scalar(word)


_NOTHING = object()
