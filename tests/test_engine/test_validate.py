"""Config dicts are checked against the registries before anything is built."""
import os

import pytest

from posecfg.config import Config
from posecfg.engine.validate import ConfigValidationError, validate_config

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED = os.path.join(REPO, 'configs/body/2d_kpt_sview_rgb_img/topdown_heatmap/coco/'
                          'res50_coco_256x192.py')


def problems(*options):
    with pytest.raises(ConfigValidationError) as e:
        validate_config(Config.fromfile(SEED, list(options)))
    return str(e.value).splitlines()


def test_seed_config_is_valid():
    cfg = Config.fromfile(SEED)
    assert validate_config(cfg) is None
    # the same config with one wrong argument is not: the check above had something to check
    with pytest.raises(ConfigValidationError, match="ResNet does not take 'depht'"):
        validate_config(cfg.with_options(['+model.backbone.depht=50']))


def test_unknown_model_type_names_file_line_and_close_names():
    lines = problems('model.backbone.type=ResNt')
    assert len(lines) == 1
    assert lines[0].startswith("--cfg-options model.backbone.type=ResNt: model.backbone.type: "
                               "'ResNt' is not registered; closest registered names: ResNet, ")


def test_unknown_transform_in_a_file(tmp_path):
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text(f"_base_ = {SEED!r}\n"
                        "train_pipeline = [dict(type='LoadImageFromFile'),\n"
                        "                  dict(type='TopDownRandomFlop', flip_prob=0.5)]\n"
                        "data = dict(train=dict(pipeline=train_pipeline))\n")
    with pytest.raises(ConfigValidationError) as e:
        validate_config(Config.fromfile(str(cfg_file)))
    lines = str(e.value).splitlines()
    assert len(lines) == 1  # train_pipeline and data.train.pipeline are one list
    assert lines[0].startswith(f'{cfg_file}:3: train_pipeline.1.type: ')
    assert "'TopDownRandomFlop' is not registered; closest registered names: TopDownRandomFlip" \
        in lines[0]


def test_unexpected_argument():
    lines = problems('+model.keypoint_head.num_deconv_layer=2')
    assert len(lines) == 1
    assert lines[0].startswith('--cfg-options +model.keypoint_head.num_deconv_layer=2: '
                               "model.keypoint_head.num_deconv_layer: TopdownHeatmapSimpleHead "
                               "does not take 'num_deconv_layer'; did you mean num_deconv_layers")


def test_option_dict_key():
    lines = problems('+model.test_cfg.flip_tset=True')
    assert lines == ['--cfg-options +model.test_cfg.flip_tset=True: model.test_cfg.flip_tset: '
                     'TopDown does not read test_cfg.flip_tset; did you mean flip_test?']


def test_several_problems_are_reported_together():
    lines = problems('model.backbone.type=ResNt', 'optimizer.type=Adamm')
    assert len(lines) == 2
    assert any("'Adamm' is not registered; closest registered names: Adam" in ln for ln in lines)
    assert any("'ResNt' is not registered" in ln for ln in lines)


def test_test_cfg_keys_are_the_heads_of_the_config():
    """--cfg-options accepts a test_cfg key some registered head reads; validation then checks
    it against the heads the model actually has."""
    from posecfg.registry import accepts_key
    assert accepts_key('BottomUp', ('test_cfg', 'shift_heatmap'))  # a head type declares it
    assert not accepts_key('BottomUp', ('test_cfg', 'shift_heatmapp'))
    model = dict(type='BottomUp', backbone=dict(type='ResNet', depth=18),
                 heads=dict(bodypart=dict(type='HeatmapHead', in_channels=512, out_channels=3,
                                          codec=dict(type='ArgmaxHeatmap'))),
                 test_cfg=dict(flip_test=False, shift_heatmap=True))
    with pytest.raises(ConfigValidationError,
                       match='model.test_cfg.shift_heatmap: BottomUp does not read '
                             'test_cfg.shift_heatmap'):
        validate_config(Config.fromdict(dict(model=model)))
    model['heads']['extra'] = dict(type='TopdownHeatmapSimpleHead', in_channels=512,
                                   out_channels=3)
    validate_config(Config.fromdict(dict(model=model)))  # now a head reads it
