"""Printing and dumping: Python output loads back to the same data in posecfg and mmengine,
never crashes on objects; JSON/YAML say what they cannot keep."""
import collections
import json
import math
import os

import mmengine
import pytest
import yaml

from posecfg.config import Config, ConfigWarning

TRICKY = '''
import collections
workflow = [('train', 1), ('val', 1)]
nested = dict(t=((1, 2), [3, (4,)]), empty=(), single=(5,), s={1, 2}, fs=frozenset())
numbers = dict(big=10**20, neg=-0.0, small=1e-12, inf=float('inf'), ninf=float('-inf'))
strings = dict(q="it's \\"quoted\\"", nl='a\\nb', uni='µm', path='/tmp/my dir')
keys = {0: 'a', 'has space': 1, 'class': 2, (1, 2): 'tuple key'}
flags = [True, False, None]
cls = collections.OrderedDict
func = os.path.join if False else None
'''


@pytest.fixture
def tricky(tmp_path):
    path = tmp_path / 'tricky.py'
    path.write_text('import os\n' + TRICKY)
    return Config.fromfile(str(path))


def test_python_round_trip_is_exact(tmp_path, tricky):
    out = tmp_path / 'out.py'
    assert tricky.dump(str(out)) == []
    again = Config.fromfile(str(out))
    assert again.to_dict() == tricky.to_dict()
    assert again['nested']['t'] == ((1, 2), [3, (4,)])
    assert isinstance(again['nested']['single'], tuple)
    assert again['numbers']['inf'] == math.inf and again['cls'] is collections.OrderedDict
    assert mmengine.Config.fromfile(str(out)).to_dict() == tricky.to_dict()


def test_lambda_becomes_a_placeholder(tmp_path):
    path = tmp_path / 'cfg.py'
    path.write_text('score = lambda x: x * 2\nhook = dict(fn=lambda: 1, n=1)\n'
                    'def local():\n    return 1\nhooks = [local]\n')
    cfg = Config.fromfile(str(path))
    text, notes = cfg.format('py')
    assert len(notes) == 2
    assert notes[0].startswith('lambda at ') and notes[0].endswith(
        'cannot be written as Python; written as a placeholder string: hook.fn')
    assert notes[1] == ('function local cannot be written as Python; written as a placeholder '
                        'string: hooks.0')
    assert "fn='<unprintable lambda at " in text
    out = tmp_path / 'out.py'
    with pytest.warns(ConfigWarning, match='placeholder'):
        cfg.dump(str(out))
    assert Config.fromfile(str(out))['hook']['n'] == 1


def test_json_and_yaml_say_what_they_lose(tmp_path, tricky):
    text, notes = tricky.format('json')
    data = json.loads(text)
    assert data['workflow'] == [['train', 1], ['val', 1]]
    assert any(n.startswith('tuple written as a list: workflow.0, workflow.1') for n in notes)
    assert any(n.startswith('non-string key written as a string: keys.0') for n in notes)
    assert any('Infinity or NaN, which is not standard JSON: numbers.inf' in n for n in notes)
    assert any(n.startswith("collections.OrderedDict written as the string") for n in notes)
    text, notes = tricky.format('yaml')
    assert yaml.safe_load(text)['workflow'] == [['train', 1], ['val', 1]]
    assert any(n.startswith('tuple written as a list') for n in notes)


def test_dump_is_atomic(tmp_path, tricky, monkeypatch):
    out = tmp_path / 'sub' / 'cfg.py'
    tricky.dump(str(out))
    assert sorted(os.listdir(out.parent)) == ['cfg.py']
    before = out.read_text()

    def broken_replace(src, dst):
        raise OSError('disk full')
    monkeypatch.setattr(os, 'replace', broken_replace)
    with pytest.raises(OSError):
        tricky.dump(str(out))
    assert out.read_text() == before  # the old file is intact


def test_unknown_format(tricky):
    with pytest.raises(Exception, match="unknown format 'toml'; choose one of py, json, yaml"):
        tricky.format('toml')


# -- nothing in the data changes how the dump reads back (issue 8) ---------------------------------
def round_trips(cfg, tmp_path):
    out = tmp_path / 'out.py'
    assert cfg.dump(str(out)) == []
    assert Config.fromfile(str(out)).to_dict() == cfg.to_dict()
    assert mmengine.Config.fromfile(str(out)).to_dict() == cfg.to_dict()
    return out.read_text()


@pytest.mark.parametrize('name', ['float', 'dict', 'set', 'frozenset', 'complex', 'globals'])
def test_keys_named_like_builtins(tmp_path, name):
    path = tmp_path / 'cfg.py'
    path.write_text(f"{name} = 1\nx = {{'a': 1}}\n")
    cfg = Config.fromfile(str(path), ['+f=inf', '+g=[-inf,1e-3]', '+h={a:1}'])
    data = cfg.to_dict()
    data.update(s=set(), fs=frozenset({1}), c=1j, **{'not an identifier': 2})
    cfg = Config.fromdict(data)
    text = round_trips(cfg, tmp_path)
    if name == 'dict':
        assert 'dict(' not in text  # dicts written as {...}
    else:
        assert f"__import__('builtins').{name}" in text


@pytest.mark.parametrize('value', ['{{ fileBasename }}', '{{fileDirname}}/x',
                                   '{{$POSECFG_UNSET_VAR:}}', '{{$HOME:/h}}', '{{_base_.x}}',
                                   'a{{{b}}}c'])
def test_strings_that_look_like_substitutions(tmp_path, value, monkeypatch):
    monkeypatch.delenv('POSECFG_UNSET_VAR', raising=False)
    path = tmp_path / 'cfg.py'
    path.write_text('x = 1\n')
    escaped = value.replace('"', '\\"')
    cfg = Config.fromfile(str(path), [f'+note="{escaped}"', f'+keys={{"{escaped}": 1}}',
                                      f'+b="{escaped}"'])
    assert cfg['note'] == value and cfg['keys'] == {value: 1}
    round_trips(cfg, tmp_path)
    cfg = Config.fromdict({'raw': value.encode(), 'x': 1})
    round_trips(cfg, tmp_path)


def test_json_reports_colliding_keys():
    cfg = Config.fromdict({'d': {1: 'int', '1': 'str'}})
    text, notes = cfg.format('json')
    assert json.loads(text) == {'d': {'1': 'str'}}
    assert "keys 1 and '1' are both written as '1'; only the value of '1' is kept: d" in notes


@pytest.mark.parametrize('fmt', ['py', 'json', 'yaml'])
def test_literal_reference_text_survives(tmp_path, fmt):
    """'\\${…}' is a literal ${…} once resolved; written out it must not become a reference."""
    path = tmp_path / 'cfg.py'
    path.write_text("price = 'costs \\\\${5}'\nref = '${price}'\nx = {'${k}': 'a\\\\${b'}\n")
    cfg = Config.fromfile(str(path))
    assert cfg.to_dict() == {'price': 'costs ${5}', 'ref': 'costs ${5}', 'x': {'${k}': 'a${b'}}
    out = tmp_path / f'out.{fmt}'
    with pytest.warns(ConfigWarning, match=r'literal \$\{ written as \\\$\{'):
        notes = cfg.dump(str(out))
    assert notes[0].endswith('price, ref, x.${k}')
    assert Config.fromfile(str(out)).to_dict() == cfg.to_dict()
    unresolved = Config.fromfile(str(path), resolve=False)  # references stay references
    text, notes = unresolved.format('py')
    assert "ref = '${price}'" in text and notes == []
