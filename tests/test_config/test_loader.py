"""Loading config files: _base_ chains, merging, errors naming files and lines.

mmengine.Config.fromfile is the oracle wherever it is right: the plain-data result must equal
``mmengine.Config.fromfile(p).to_dict()``.
"""
import os
import textwrap
import time

import mmengine
import pytest

from posecfg.config import Config, ConfigFileError, ConfigMergeError


def write(root, name, text):
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip('\n'))
    return str(path)


def mmengine_dict(path):
    return mmengine.Config.fromfile(path).to_dict()


# Hand-written tricky cases where mmengine's result is right; each is (files, top file).
TRICKY = {
    'list-of-bases-and-depth': ({
        'a.py': "x = dict(a=1, b=dict(c=2, d=[1, 2]))\ny = (1, 2)\n",
        'b.py': "z = 'zed'\n",
        'mid.py': "_base_ = ['a.py', 'b.py']\nx = dict(b=dict(c=3))\n",
        'top.py': "_base_ = 'mid.py'\nx = dict(a=dict(_delete_=True, n=1))\n",
    }, 'top.py'),
    'delete-replaces-dict': ({
        'base.py': "model = dict(backbone=dict(type='ResNet', depth=50), neck=None)\n",
        'top.py': "_base_ = './base.py'\n"
                  "model = dict(backbone=dict(_delete_=True, type='MobileNetV2'))\n",
    }, 'top.py'),
    'lists-replaced-whole': ({
        'base.py': "pipeline = [dict(type='A'), dict(type='B')]\n",
        'top.py': "_base_ = 'base.py'\npipeline = [dict(type='C')]\n",
    }, 'top.py'),
    'base-refs': ({
        'base.py': "dataset_info = dict(name='coco', sigmas=[0.1, 0.2])\nn = 17\n",
        'top.py': "_base_ = 'base.py'\n"
                  "info = {{_base_.dataset_info}}\n"
                  "k = {{ _base_.n }}\n"
                  "m = _base_.n * 2\n"
                  "model = dict(head=dict(out=_base_.n, names=_base_.dataset_info.sigmas))\n",
    }, 'top.py'),
    'python-in-configs': ({
        'top.py': """
            def helper(x):
                return x * 2
            _hidden = 3
            scale = helper(_hidden)
            names = [f'kp{i}' for i in range(3)]
            table = {i: n for i, n in enumerate(names)}
            for i in range(2):
                names.append(str(i))
            if scale > 5:
                big = True
            tup = ((1, 2), [3, (4,)])
            inf_value = float('inf')
            """,
    }, 'top.py'),
    'predefined-and-env': ({
        'sub/top.py': "name = '{{ fileBasenameNoExtension }}'\n"
                      "ext = '{{fileExtname}}'\n"
                      "root = '{{$POSECFG_TEST_UNSET_VAR:/default/root}}'\n",
    }, 'sub/top.py'),
    'json-and-yaml-bases': ({
        'a.json': '{"x": {"a": 1, "b": [1, 2]}}',
        'b.yaml': 'y: {c: 3}\nz: [a, b]\n',
        'top.py': "_base_ = ['a.json', 'b.yaml']\nx = dict(a=2)\n",
    }, 'top.py'),
    'yaml-top-inherits-py': ({
        'base.py': "x = dict(a=1, b=2)\n",
        'top.yaml': '_base_: base.py\nx: {a: 5}\n',
    }, 'top.yaml'),
}


@pytest.mark.parametrize('case', sorted(TRICKY))
def test_tricky_cases_match_mmengine(tmp_path, case):
    files, top = TRICKY[case]
    for name, text in files.items():
        write(tmp_path, name, text)
    path = str(tmp_path / top)
    assert Config.fromfile(path).to_dict() == mmengine_dict(path)


def test_imports_in_configs(tmp_path):
    # mmengine switches to its "lazy import" mode here and returns 'math.pi' as a string
    path = write(tmp_path, 'top.py', "import math\nfrom os import path as osp\n"
                                     "angle = math.pi\nname = osp.basename('/a/b.py')\n")
    assert Config.fromfile(path).to_dict() == {'angle': 3.141592653589793, 'name': 'b.py'}


def test_merge_details(tmp_path):
    files, top = TRICKY['list-of-bases-and-depth']
    for name, text in files.items():
        write(tmp_path, name, text)
    cfg = Config.fromfile(str(tmp_path / top))
    assert cfg['x'] == {'a': {'n': 1}, 'b': {'c': 3, 'd': [1, 2]}}
    assert cfg['y'] == (1, 2) and isinstance(cfg['y'], tuple)
    assert cfg['z'] == 'zed'


def test_delete_never_survives(tmp_path):
    # mmengine keeps `_delete_` when the key is new; posecfg drops it
    path = write(tmp_path, 'top.py', "x = dict(_delete_=True, a=1, b=dict(_delete_=True))\n")
    assert Config.fromfile(path).to_dict() == {'x': {'a': 1, 'b': {}}}


def test_same_value_in_two_bases_is_fine(tmp_path):
    # a shared base reached through two bases (mmengine refuses any repeated key)
    write(tmp_path, 'common.py', "runtime = dict(log_level='INFO')\n")
    write(tmp_path, 'a.py', "_base_ = 'common.py'\na = 1\n")
    write(tmp_path, 'b.py', "_base_ = 'common.py'\nb = 2\n")
    path = write(tmp_path, 'top.py', "_base_ = ['a.py', 'b.py']\n")
    assert Config.fromfile(path).to_dict() == {'runtime': {'log_level': 'INFO'}, 'a': 1, 'b': 2}


def test_conflicting_bases_name_both_files(tmp_path):
    write(tmp_path, 'a.py', "lr = 0.1\n")
    write(tmp_path, 'b.py', "x = 1\nlr = 0.2\n")
    path = write(tmp_path, 'top.py', "_base_ = ['a.py', 'b.py']\n")
    with pytest.raises(ConfigMergeError) as e:
        Config.fromfile(path)
    message = str(e.value)
    assert "key 'lr' is set differently by two bases" in message
    assert 'a.py:1' in message and 'b.py:2' in message and 'top.py:1' in message


def test_dict_over_non_dict_names_both(tmp_path):
    write(tmp_path, 'base.py', "optimizer = 'sgd'\n")
    path = write(tmp_path, 'top.py', "_base_ = 'base.py'\ny = 1\noptimizer = dict(lr=0.1)\n")
    with pytest.raises(ConfigMergeError) as e:
        Config.fromfile(path)
    assert 'top.py:3: optimizer is a dict here but a str in' in str(e.value)
    assert 'base.py:1' in str(e.value) and '_delete_=True' in str(e.value)


def test_cyclic_base(tmp_path):
    write(tmp_path, 'a.py', "_base_ = 'b.py'\n")
    write(tmp_path, 'b.py', "x = 1\n_base_ = 'c.py'\n")
    write(tmp_path, 'c.py', "_base_ = 'a.py'\n")
    with pytest.raises(ConfigFileError) as e:
        Config.fromfile(str(tmp_path / 'a.py'))
    message = str(e.value)
    assert message.startswith('cyclic _base_: ')
    assert 'a.py:1 → ' in message and 'b.py:2 → ' in message and 'c.py:1 → ' in message
    assert message.rstrip().endswith('a.py')


def test_missing_base(tmp_path):
    path = write(tmp_path, 'top.py', "x = 1\n_base_ = ['../nowhere/base.py']\n")
    with pytest.raises(ConfigFileError) as e:
        Config.fromfile(path)
    assert "top.py:2: base config '../nowhere/base.py' not found (looked for" in str(e.value)
    assert 'nowhere/base.py)' in str(e.value)


def test_missing_file():
    with pytest.raises(ConfigFileError, match='nope.py: cannot read the config file'):
        Config.fromfile('nope.py')


def test_wrong_suffix(tmp_path):
    path = write(tmp_path, 'cfg.txt', 'x = 1\n')
    with pytest.raises(ConfigFileError, match=r'cfg.txt: a config file must end in one of'):
        Config.fromfile(path)


def test_syntax_error_names_file_and_line(tmp_path):
    write(tmp_path, 'base.py', "x = 1\ny = dict(a=1,\nz = 3\n")
    path = write(tmp_path, 'top.py', "_base_ = 'base.py'\n")
    with pytest.raises(ConfigFileError) as e:
        Config.fromfile(path)
    assert 'base.py:2: syntax error:' in str(e.value)


def test_runtime_error_names_file_and_line(tmp_path):
    path = write(tmp_path, 'top.py', "a = 1\nb = dict(\n    x=undefined_name,\n)\n")
    with pytest.raises(ConfigFileError) as e:
        Config.fromfile(path)
    assert "top.py:3: NameError: name 'undefined_name' is not defined" in str(e.value)


def test_base_attribute_error(tmp_path):
    write(tmp_path, 'base.py', "model = dict(depth=50)\n")
    path = write(tmp_path, 'top.py', "_base_ = 'base.py'\nx = _base_.modle\n")
    with pytest.raises(ConfigFileError) as e:
        Config.fromfile(path)
    assert "top.py:2: AttributeError: _base_ has no key 'modle' here; it has: model" \
        in str(e.value)


def test_missing_base_ref(tmp_path):
    write(tmp_path, 'base.py', "model = dict(depth=50)\n")
    path = write(tmp_path, 'top.py', "_base_ = 'base.py'\ny = 1\nx = {{_base_.nothing}}\n")
    with pytest.raises(ConfigFileError, match=r'top.py:3: \{\{_base_.nothing\}\} names a key'):
        Config.fromfile(path)


def test_base_ref_inside_an_expression(tmp_path):
    write(tmp_path, 'base.py', "root = 'r'\n")
    path = write(tmp_path, 'top.py', "_base_ = 'base.py'\nann = {{_base_.root}} + '/a.json'\n")
    with pytest.raises(ConfigFileError) as e:
        Config.fromfile(path)
    assert 'top.py:2: {{_base_.x}} stands for a whole value; inside an expression write ' \
           '_base_.x instead' in str(e.value)


def test_env_variable_without_default(tmp_path, monkeypatch):
    monkeypatch.delenv('POSECFG_TEST_VAR', raising=False)
    path = write(tmp_path, 'top.py', "x = 1\nroot = '{{$POSECFG_TEST_VAR:}}'\n")
    with pytest.raises(ConfigFileError, match='top.py:2: environment variable POSECFG_TEST_VAR'):
        Config.fromfile(path)
    monkeypatch.setenv('POSECFG_TEST_VAR', '/set/root')
    assert Config.fromfile(path)['root'] == '/set/root'


def test_non_literal_base_list(tmp_path):
    path = write(tmp_path, 'top.py', "name = 'a.py'\n_base_ = [name]\n")
    with pytest.raises(ConfigFileError, match='top.py:2: _base_ must be a path or a list'):
        Config.fromfile(path)


def test_no_temporary_files(tmp_path, monkeypatch):
    """Loading touches no temp directory (mmengine creates and deletes one per file)."""
    import tempfile
    calls = []
    for name in ('TemporaryDirectory', 'NamedTemporaryFile', 'mkdtemp', 'mkstemp'):
        monkeypatch.setattr(tempfile, name, lambda *a, _n=name, **k: calls.append(_n))
    files, top = TRICKY['base-refs']
    for name, text in files.items():
        write(tmp_path, name, text)
    Config.fromfile(str(tmp_path / top))
    assert calls == []


def test_deep_chain_loads_fast(tmp_path):
    """A chain of 6 files loads in memory; no per-file temp-dir cost (a loose bound: shared CI)."""
    write(tmp_path, 'c0.py', 'x0 = dict(a=1)\n')
    for i in range(1, 6):
        write(tmp_path, f'c{i}.py', f"_base_ = 'c{i - 1}.py'\nx{i} = dict(a={i})\n")
    path = str(tmp_path / 'c5.py')
    Config.fromfile(path)
    start = time.perf_counter()
    cfg = Config.fromfile(path)
    assert time.perf_counter() - start < 2.0
    assert list(cfg) == [f'x{i}' for i in range(6)]


@pytest.mark.parametrize('line', ["p = '{{_base_.root}}/foo'", 'p = "{{ _base_.root }}/foo"',
                                  "p = f'{{_base_.root}}/foo'"])
def test_base_ref_inside_a_string(tmp_path, line):
    write(tmp_path, 'base.py', "root = 'r'\n")
    path = write(tmp_path, 'top.py', f"_base_ = 'base.py'\nx = 1\n{line}\n")
    with pytest.raises(ConfigFileError) as e:
        Config.fromfile(path)
    message = str(e.value)
    assert 'top.py:3: ' in message and 'syntax error' not in message
    assert 'is inside a string; {{_base_.x}} must stand for a whole value' in message
    assert "write f'{_base_.root}/…' or _base_.root + '/…'" in message


def test_read_base_configs_are_refused_plainly(tmp_path):
    """MMPose 1.x's pure-Python configs (configs/*/*_new style)."""
    path = write(tmp_path, 'new_style.py', '''
        from mmengine.config import read_base

        with read_base():
            from mmpose.configs._base_.default_runtime import *

        from mmpose.models import TopdownPoseEstimator
        model = dict(type=TopdownPoseEstimator)
        ''')
    with pytest.raises(ConfigFileError) as e:
        Config.fromfile(path)
    message = str(e.value)
    assert 'new_style.py:3: this is an mmengine pure-Python config' in message
    assert 'posecfg does not support that style' in message
    assert "_base_ = [...]" in message and "type='ClassName'" in message
    assert 'mmpose' not in message.split('config (')[0]  # not "No module named 'mmpose'"
