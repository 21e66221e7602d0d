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
    ('true', True), ('FALSE', False), ('tRuE', True),  # any case, as mmengine's DictAction
    ('none', 'none'),  # None only so spelled, as mmengine
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


SPACE = st.text(alphabet=' \t', max_size=2)  # layout a user may type around items
BOOLEAN_SPELLINGS = {True: ['true', 'True', 'TRUE', 'tRuE'], False: ['false', 'False', 'FALSE']}


def cli_text(value, draw=None, space=SPACE):
    """How a user would type ``value`` on the command line (unquoted words); with ``draw``
    (hypothesis' ``data.draw``), random whitespace around every item and booleans in any case."""
    def pad(text):
        return draw(space) + text + draw(space) if draw else text

    if isinstance(value, list):
        return '[' + (','.join(pad(cli_text(v, draw, space)) for v in value) or pad('')) + ']'
    if isinstance(value, tuple):
        inner = ','.join(pad(cli_text(v, draw, space)) for v in value)
        return f'({inner},)' if len(value) == 1 else f'({inner or pad("")})'
    if isinstance(value, bool) and draw:
        return draw(st.sampled_from(BOOLEAN_SPELLINGS[value]))
    if isinstance(value, float):
        return repr(value)
    return str(value)


@settings(max_examples=150, deadline=None)
@given(VALUES)
def test_typed_value_round_trips(value):
    parsed = parse_value(cli_text(value))
    assert parsed == value
    assert type(parsed) is type(value)


@settings(max_examples=200, deadline=None)
@given(VALUES, st.data())
def test_whitespace_is_layout_and_booleans_have_any_case(value, data):
    """Whitespace around the value and around every item is not part of it; true/false in any
    case are booleans."""
    text = data.draw(SPACE) + cli_text(value, data.draw) + data.draw(SPACE)
    parsed = parse_value(text)
    assert parsed == value
    assert type(parsed) is type(value)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(SCALARS, WORDS), min_size=2, max_size=5), st.data())
def test_top_level_commas_ignore_whitespace(items, data):
    text = ','.join(data.draw(SPACE) + cli_text(v, data.draw) + data.draw(SPACE) for v in items)
    assert parse_value(text) == items


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=('Cs',)), max_size=20),
       st.sampled_from(['"', "'"]), SPACE, SPACE)
def test_quoted_strings_are_kept_exactly(text, quote, before, after):
    escaped = text.replace('\\', '\\\\').replace(quote, '\\' + quote)
    assert parse_value(f'{before}{quote}{escaped}{quote}{after}') == text
    assert parse_value(f'[{before}{quote}{escaped}{quote}{after}]') == [text]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.integers(-1000, 1000), WORDS, st.booleans(),
                          st.floats(allow_nan=False, allow_infinity=False)),
                min_size=1, max_size=5),
       st.sampled_from(['list', 'tuple', 'bare']), st.data())
def test_agrees_with_mmengine(items, shape, data):
    """Where mmengine's DictAction is right (no quotes, no spaces inside words), both parse
    alike: spaces around items, booleans in any case."""
    from mmengine.config.config import DictAction
    spaces = st.text(alphabet=' ', max_size=2)  # DictAction removes spaces, not tabs
    inner = ','.join(data.draw(spaces) + cli_text(v, data.draw, spaces) + data.draw(spaces)
                     for v in items)
    text = {'list': f'[{inner}]', 'tuple': f'({inner})', 'bare': inner}[shape]
    if shape == 'tuple' and len(items) == 1:
        text = f'({inner},)'
    ours = parse_value(text)
    theirs = DictAction._parse_iterable(text)
    assert ours == theirs
    assert type(ours) is type(theirs)


@pytest.mark.parametrize('text, expected', [
    ('170, 200', [170, 200]),  # the "lr_config.step=170, 200"
    ('5 ', 5), ('\t5', 5), (' x ', 'x'), (' /tmp/my dir ', '/tmp/my dir'),
    ('[ a b , c ]', ['a b', 'c']), ('{ k : v , n : 1 }', {'k': 'v', 'n': 1}),
    (' "  padded " ', '  padded '), ("[' a ', b]", [' a ', 'b']),
    ('  ', ''), ('x , ', ['x']),
])
def test_whitespace_examples(text, expected):
    assert parse_value(text) == expected


def test_booleans_in_any_case_as_mmengine():
    from mmengine.config.config import DictAction
    for word in ('true', 'TRUE', 'True', 'false', 'False', 'fAlSe'):
        assert parse_value(word) is DictAction._parse_int_float_bool(word)
    assert parse_value('[true,(FALSE,x)]') == [True, (False, 'x')]
    o = parse_option('model.backbone.norm_eval=false')
    assert o.value is False


def test_deep_nesting_is_a_clean_error():
    with pytest.raises(OverrideError) as e:
        parse_option('total_epochs=' + '[' * 3000)
    message = str(e.value)
    assert 'brackets nested more than 100 levels deep' in message
    assert len(message) < 600  # the 3000 characters are not repeated in full
    assert parse_value('[' * 100 + ']' * 100) is not None


def test_unhashable_dict_key():
    with pytest.raises(OverrideError, match='a dict key must be a word, a number'):
        parse_value('{[1]:2}')


@pytest.mark.parametrize('item, message', [
    ('+_base_=x', '_base_ lists the files a config inherits from'),
    ('~_base_', '_base_ lists the files a config inherits from'),
    ('+model._delete_=True', '_delete_ is not a key but an instruction inside a dict value'),
    ('model.backbone._delete_=1', '_delete_ is not a key'),
    ('+__x=1', 'a top-level name starting with __ is private to a config file'),
    ('+_deprecation_=1', '_deprecation_ marks a config file as deprecated'),
])
def test_reserved_keys_are_refused(item, message):
    with pytest.raises(OverrideError, match=message):
        parse_option(item)
    assert parse_option('+model.__x=1').key == ('model', '__x')  # below the top it is a key
