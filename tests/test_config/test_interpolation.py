"""${key} references: typed values, strings, following child files and options, errors."""
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posecfg.config import Config, InterpolationError


def write(tmp_path, name, text):
    (tmp_path / name).write_text(text)
    return str(tmp_path / name)


def test_whole_and_embedded_references(tmp_path):
    path = write(tmp_path, 'cfg.py', '''
data_root = 'data/coco'
codec = dict(sigma=2, input_size=(192, 256))
channel_cfg = dict(num_output_channels=17)
model = dict(head=dict(out_channels='${channel_cfg.num_output_channels}', decoder='${codec}'))
pipeline = [dict(type='GenerateTarget', sigma='${codec.sigma}', size='${codec.input_size.1}')]
ann_file = '${data_root}/annotations/train.json'
literal = 'costs \\\\${5}'
chained = '${ann_file}'
''')
    cfg = Config.fromfile(path)
    assert cfg['model']['head'] == {'out_channels': 17,
                                    'decoder': {'sigma': 2, 'input_size': (192, 256)}}
    assert cfg['pipeline'][0]['sigma'] == 2 and cfg['pipeline'][0]['size'] == 256
    assert cfg['ann_file'] == 'data/coco/annotations/train.json'
    assert cfg['chained'] == cfg['ann_file']
    assert cfg['literal'] == 'costs ${5}'


def test_references_follow_children_and_options(tmp_path):
    write(tmp_path, 'base.py', "codec = dict(sigma=2)\nhead = dict(sigma='${codec.sigma}')\n")
    write(tmp_path, 'child.py', "_base_ = 'base.py'\ncodec = dict(sigma=3)\n")
    assert Config.fromfile(str(tmp_path / 'child.py'))['head']['sigma'] == 3
    cfg = Config.fromfile(str(tmp_path / 'child.py'), ['codec.sigma=4'])
    assert cfg['head']['sigma'] == 4 and cfg.warnings == []
    cfg = Config.fromfile(str(tmp_path / 'child.py'), ['head.sigma=${codec.sigma}'])
    assert cfg['head']['sigma'] == 3


def test_missing_reference(tmp_path):
    path = write(tmp_path, 'cfg.py', "codec = dict(sigma=2)\nhead = dict(s='${codec.sigam}')\n")
    with pytest.raises(InterpolationError) as e:
        Config.fromfile(path)
    message = str(e.value)
    assert message.startswith('head.s (')
    assert 'cfg.py:2) refers to ${codec.sigam}, but codec.sigam does not exist; ' \
           'did you mean codec.sigma?' in message


def test_cycle(tmp_path):
    path = write(tmp_path, 'cfg.py', "a = '${b}'\nb = dict(x='${a}')\n")
    with pytest.raises(InterpolationError, match=r'cyclic \$\{…\} references: a → b → b.x → a'):
        Config.fromfile(path)


def test_explain_shows_the_source(tmp_path):
    path = write(tmp_path, 'cfg.py', "codec = dict(sigma=2)\nhead = dict(s='${codec.sigma}')\n")
    text = Config.fromfile(path, ['codec.sigma=5']).explain('head.s')
    assert text.splitlines()[0] == 'head.s = 5'
    assert 'derived' in text and '${codec.sigma}' in text
    assert '↳ referring to codec.sigma:' in text
    assert 'override  --cfg-options codec.sigma=5' in text


# -- references within one dict (issue 8) ----------------------------------------------------------
def test_reference_to_a_sibling_in_the_same_dict(tmp_path):
    path = write(tmp_path, 'cfg.py',
                 "model = dict(backbone=dict(depth=50), "
                 "head=dict(in_channels='${model.backbone.depth}'))\n"
                 "a = dict(b='${c}', x=dict(y='${a.b.z}'))\nc = dict(z=3)\n")
    cfg = Config.fromfile(path)
    assert cfg['model'] == {'backbone': {'depth': 50}, 'head': {'in_channels': 50}}
    assert cfg['a'] == {'b': {'z': 3}, 'x': {'y': 3}}


def test_a_reference_to_its_own_container_is_a_cycle(tmp_path):
    path = write(tmp_path, 'cfg.py', "m = dict(a=1, p=dict(q='${m.p}'))\n")
    with pytest.raises(InterpolationError, match=r'cyclic \$\{…\} references: m.p → m.p.q → m.p'):
        Config.fromfile(path)


@st.composite
def nested_references(draw):
    """A config of nested dicts whose leaves are numbers or references to earlier leaves (or to
    earlier finished dicts), anywhere in the config, including the same top-level dict; and the
    values they resolve to, computed by the test."""
    values, expected, order = {}, {}, []

    def build(prefix, depth):
        node = {}
        for i in range(draw(st.integers(1, 3))):
            key = f'k{i}'
            path = prefix + (key,)
            if depth < 3 and draw(st.booleans()):
                node[key] = build(path, depth + 1)
                order.append(path)
                expected[path] = _resolved(node[key], path, expected)
                continue
            done = [p for p in order if p != path]
            if done and draw(st.booleans()):
                target = draw(st.sampled_from(done))
                dotted = '.'.join(target)
                if draw(st.booleans()) or isinstance(expected[target], dict):
                    node[key], expected[path] = '${' + dotted + '}', expected[target]
                else:
                    node[key] = 'v=${' + dotted + '}'
                    expected[path] = f'v={expected[target]}'
            else:
                node[key] = expected[path] = draw(st.integers(0, 99))
            order.append(path)
        return node

    for top in ('model', 'data'):
        values[top] = build((top,), 1)
        order.append((top,))
        expected[(top,)] = _resolved(values[top], (top,), expected)
    return values, {k: expected[(k,)] for k in values}


def _resolved(node, path, expected):
    return {k: expected[path + (k,)] for k in node}


@settings(max_examples=100, deadline=None)
@given(nested_references())
def test_references_resolve_like_the_oracle(case):
    import tempfile
    values, expected = case
    with tempfile.TemporaryDirectory() as root:
        path = os.path.join(root, 'cfg.py')
        with open(path, 'w') as f:
            f.write(''.join(f'{k} = {v!r}\n' for k, v in values.items()))
        assert Config.fromfile(path).to_dict() == expected
