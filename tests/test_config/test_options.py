"""The --cfg-options grammar: examples, properties (hypothesis), and mmengine where they agree."""
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posecfg.config import OverrideError, parse_option, parse_value
from posecfg.config.options import ADD, DELETE, SET


@pytest.mark.parametrize('text, expected', [
    ('[(train,1),(val,1)]', [('train', 1), ('val', 1)]),
    ('[ (train, 1), (val, 1) ]', [('train', 1), ('val', 1)]),
    ('(val,1)', ('val', 1)),
    ('"(val,1)"', '(val,1)'),
    ('"/tmp/my dir"', '/tmp/my dir'),
    ('/tmp/my dir', '/tmp/my dir'),
    ('"0012"', '0012'),
    ('0012', '0012'),
    ('"a,b"', 'a,b'),
    ("'it''s'", None),  # rejected below: two quoted strings
    ('a,b', ['a', 'b']),
    ('1,2', [1, 2]),
    ('x,', ['x']),
    ('', ''),
    ('None', None), ('True', True), ('False', False),
    ('true', 'true'),  # as mmengine: only Python's spellings are keywords
    ('12', 12), ('-3', -3), ('+3', 3), ('1_000', 1000), ('0', 0),
    ('0.5', 0.5), ('.5', 0.5), ('5.', 5.0), ('1e-3', 1e-3), ('-0.0', -0.0),
    ('inf', math.inf), ('-inf', -math.inf), ('Infinity', math.inf),
    ('[]', []), ('()', ()), ('(1,)', (1,)), ('(1)', 1), ('[[1,2],[3]]', [[1, 2], [3]]),
    ('{type: ResNet, depth: 18}', {'type': 'ResNet', 'depth': 18}),
    ('dict(type=ResNet,depth=18)', {'type': 'ResNet', 'depth': 18}),
    ('{_delete_:True,type:MobileNetV2}', {'_delete_': True, 'type': 'MobileNetV2'}),
    ('[a b, c]', ['a b', 'c']),
    ('["a,b", c]', ['a,b', 'c']),
    ('C:/data', 'C:/data'),
    (r'"say \"hi\""', 'say "hi"'),
    ('[0.485, 0.456, 0.406]', [0.485, 0.456, 0.406]),
])
def test_values(text, expected):
    if expected is None and text.startswith("'it"):
        with pytest.raises(OverrideError, match='unexpected text after a value'):
            parse_value(text)
        return
    value = parse_value(text)
    assert value == expected and type(value) is type(expected)


def test_nan():
    assert math.isnan(parse_value('nan'))


@pytest.mark.parametrize('text, message', [
    ('[1,2', "missing ']' at character 5 of '[1,2'"),
    ('(a', "missing ')'"),
    ('"abc', 'unterminated " string'),
    ('[a(b)]', 'a bracket or quote inside a bare word'),
    ('{a}', 'expected key: value in a dict'),
    ('[1 2 3] x', 'unexpected text after a value'),
    ('[1,,2]', 'empty value'),
])
def test_value_errors(text, message):
    with pytest.raises(OverrideError) as e:
        parse_value(text, item=f'k={text}')
    assert message in str(e.value)
    assert f"--cfg-options 'k={text}'" in str(e.value)


def test_items():
    o = parse_option('model.backbone.depth=50')
    assert (o.op, o.key, o.value) == (SET, ('model', 'backbone', 'depth'), 50)
    o = parse_option('+model.backbone.new=1')
    assert (o.op, o.key) == (ADD, ('model', 'backbone', 'new'))
    o = parse_option('~data.train.pipeline.1')
    assert (o.op, o.key, o.value) == (DELETE, ('data', 'train', 'pipeline', '1'), None)
    o = parse_option('a=b=c')
    assert o.value == 'b=c'


@pytest.mark.parametrize('item, message', [
    ('novalue', 'expected KEY=VALUE'),
    ('~a=1', '~KEY deletes a key and takes no value'),
    ('a..b=1', "'a..b' is not a dotted key"),
    ('=1', "'' is not a dotted key"),
    ('a. b=1', "is not a dotted key"),
])
def test_item_errors(item, message):
    with pytest.raises(OverrideError, match=message):
        parse_option(item)


# -- properties -------------------------------------------------------------------------------
WORDS = st.from_regex(r'[A-Za-z_][A-Za-z0-9_./-]{0,8}', fullmatch=True).filter(
    lambda w: parse_value(w) == w)  # words that do not read as None/True/inf/numbers
SCALARS = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False, width=64),
                    st.booleans(), st.none(), WORDS)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.lists(inner, max_size=4).map(tuple)), max_leaves=12)


def cli_text(value, spaced=False):
    """How a user would type ``value`` on the command line (unquoted words)."""
    sep = ', ' if spaced else ','
    if isinstance(value, list):
        return '[' + sep.join(cli_text(v, spaced) for v in value) + ']'
    if isinstance(value, tuple):
        inner = sep.join(cli_text(v, spaced) for v in value)
        return f'({inner},)' if len(value) == 1 else f'({inner})'
    if isinstance(value, float):
        return repr(value)
    return str(value)


@settings(max_examples=150, deadline=None)
@given(VALUES, st.booleans())
def test_typed_value_round_trips(value, spaced):
    parsed = parse_value(cli_text(value, spaced))
    assert parsed == value
    assert type(parsed) is type(value)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=('Cs',)), max_size=20))
def test_quoted_strings_are_kept_exactly(text):
    escaped = text.replace('\\', '\\\\').replace('"', '\\"')
    assert parse_value(f'"{escaped}"') == text


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.integers(-1000, 1000), WORDS, st.booleans(),
                          st.floats(allow_nan=False, allow_infinity=False)),
                min_size=1, max_size=5),
       st.sampled_from(['list', 'tuple', 'bare']))
def test_agrees_with_mmengine(items, shape):
    """Where mmengine's DictAction is right (no spaces, no quotes), both parse alike."""
    from mmengine.config.config import DictAction
    inner = ','.join(cli_text(v) for v in items)
    text = {'list': f'[{inner}]', 'tuple': f'({inner})', 'bare': inner}[shape]
    if shape == 'tuple' and len(items) == 1:
        text = f'({inner},)'
    ours = parse_value(text)
    theirs = DictAction._parse_iterable(text)
    assert ours == theirs
    assert type(ours) is type(theirs)
