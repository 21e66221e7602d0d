"""${key} references: typed values, strings, following child files and options, errors."""
import pytest

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
