"""--explain: the value, where it was set (file:line or command-line item), the files it passed."""
import pytest

from posecfg.config import Config, ConfigError


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
