"""--explain: the value, where it was set (file:line or command-line item), the files it passed."""
import pytest

from posecfg.config import Config, ConfigError, TypeInfo


@pytest.fixture
def chain(tmp_path):
    (tmp_path / 'runtime.py').write_text("log_level = 'INFO'\ncheckpoint_config = dict(interval=10)\n")
    (tmp_path / 'model.py').write_text(
        "_base_ = 'runtime.py'\nmodel = dict(\n    type='TopDown',\n"
        "    backbone=dict(type='ResNet', depth=50))\n")
    (tmp_path / 'top.py').write_text(
        "_base_ = ['model.py']\nchannel_cfg = dict(n=17)\n"
        "model = dict(head=dict(out=channel_cfg['n']))\ncheckpoint_config = dict(interval=5)\n")
    return str(tmp_path / 'top.py')


def test_value_set_in_a_base(chain):
    text = Config.fromfile(chain).explain('model.backbone.depth')
    lines = text.splitlines()
    assert lines[0] == 'model.backbone.depth = 50'
    assert lines[1].split() == ['set', lines[1].split()[1]] and lines[1].endswith('model.py:4')
    assert lines[2].strip().startswith('files') and lines[2].index('model.py') < \
        lines[2].index('top.py')


def test_overridden_in_a_child_and_on_the_command_line(chain):
    cfg = Config.fromfile(chain, ['checkpoint_config.interval=2'])
    lines = cfg.explain('checkpoint_config.interval').splitlines()
    assert lines[0] == 'checkpoint_config.interval = 2'
    assert lines[1].strip().startswith('set') and lines[1].endswith('runtime.py:2')
    assert lines[2].strip().startswith('override') and lines[2].endswith('top.py:4')
    assert lines[3].strip() == 'override  --cfg-options checkpoint_config.interval=2'
    assert 'runtime.py → ' in lines[4] and 'model.py → ' in lines[4] and 'top.py' in lines[4]


def test_reference_is_followed(chain):
    text = Config.fromfile(chain, ['channel_cfg.n=20']).explain('model.head.out')
    assert text.splitlines()[0] == 'model.head.out = 20'
    assert '↳ a reference to channel_cfg.n:' in text
    assert 'override  --cfg-options channel_cfg.n=20' in text


def test_tool_flags_are_named(chain):
    from posecfg.config.cli import flag_override
    cfg = Config.fromfile(chain, [flag_override('--work-dir', 'work_dir', '/w')])
    assert cfg.explain('work_dir').splitlines()[1].strip() == "add       --work-dir work_dir='/w'"


def test_missing_key(chain):
    with pytest.raises(ConfigError, match=r'model.backbone.dpth is not in the config; did you '
                                          r'mean model.backbone.depth\?'):
        Config.fromfile(chain).explain('model.backbone.dpth')


# -- issue 8: what --explain claims ----------------------------------------------------------------
class Args(TypeInfo):
    """ResNet accepts frozen_stages (a constructor argument the files do not set)."""

    def accepts(self, type_name, rel_path):
        return type_name == 'ResNet' and tuple(rel_path) == ('frozen_stages',)

    def arguments(self, type_name):
        return ['frozen_stages'] if type_name == 'ResNet' else []


@pytest.mark.parametrize('option', ['+model.backbone.foo=1', 'model.backbone.frozen_stages=1'])
def test_added_key_is_not_claimed_by_a_file(chain, option):
    key = option.lstrip('+').split('=')[0]
    lines = Config.fromfile(chain, [option], type_info=Args()).explain(key).splitlines()
    assert lines[0] == f'{key} = 1'
    assert lines[1].strip() == f'add       --cfg-options {option}'
    assert not any(line.strip().startswith('set') for line in lines)


def test_override_reaching_a_key_through_derivation(tmp_path):
    (tmp_path / 'cfg.py').write_text(
        "data_root = 'data/coco'\nx = 1\n"
        "data = dict(train=dict(ann_file=f'{data_root}/train.json'))\n")
    text = Config.fromfile(str(tmp_path / 'cfg.py'), ['data_root=/x']).explain(
        'data.train.ann_file')
    lines = text.splitlines()
    assert lines[0] == "data.train.ann_file = '/x/train.json'"
    assert lines[1].strip().startswith('set') and lines[1].endswith(
        'cfg.py:3   computed from data_root (following --cfg-options data_root=/x)')
    assert lines[2].strip() == '↳ computed from data_root:'
    assert lines[4].strip() == 'override  --cfg-options data_root=/x'


def test_explain_accepts_type_selectors(chain, tmp_path):
    (tmp_path / 'p.py').write_text(
        "pipeline = [dict(type='Load'), dict(type='Flip', p=0.5), dict(type='Affine')]\n")
    path = str(tmp_path / 'p.py')
    cfg = Config.fromfile(path, ['+pipeline.Affine.size=3'], type_info=Args())
    assert cfg.explain('pipeline.Flip.p') == cfg.explain('pipeline.1.p').replace(
        'pipeline.1.p', 'pipeline.Flip.p')
    assert cfg.explain('pipeline.Flip.p').splitlines()[1].endswith('p.py:1')
    assert cfg.get('pipeline.Affine.size') == 3
    with pytest.raises(ConfigError, match='pipeline.Crop.p is not in the config'):
        cfg.explain('pipeline.Crop.p')


def test_records_move_with_list_items(tmp_path):
    (tmp_path / 'p.py').write_text("pipeline = [dict(a=0), dict(a=1), dict(a=2)]\n")
    cfg = Config.fromfile(str(tmp_path / 'p.py'), ['pipeline.2.a=5', '~pipeline.0'])
    assert cfg['pipeline'] == [{'a': 1}, {'a': 5}]
    assert cfg.explain('pipeline.1.a').splitlines()[-1].strip() == \
        'override  --cfg-options pipeline.2.a=5'
    assert 'pipeline.2.a=5' not in cfg.explain('pipeline.0.a')
