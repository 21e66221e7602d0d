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


@pytest.mark.parametrize('option, message', [
    ('data.samples_per_gpu=-1', 'data.samples_per_gpu: -1 is not an integer ≥ 1'),
    ('data.samples_per_gpu=0', 'data.samples_per_gpu: 0 is not an integer ≥ 1'),
    ('data.samples_per_gpu=2.5', 'data.samples_per_gpu: 2.5 is not an integer ≥ 1'),
    ('optimizer.lr=fast', "optimizer.lr: 'fast' is not a number > 0"),
    ('total_epochs=ten', "total_epochs: 'ten' is not an integer ≥ 1"),
    ('lr_config.warmup_ratio=2', 'lr_config.warmup_ratio: 2 is not a number in (0, 1]'),
    ('checkpoint_config.max_keep_ckpts=0',
     'checkpoint_config.max_keep_ckpts: 0 is not an integer ≥ 1 (or -1)'),
    ('data.val_dataloader.samples_per_gpu=True',
     'data.val_dataloader.samples_per_gpu: True is not an integer ≥ 1'),
    ('model.backbone.depth=fifty', "model.backbone.depth: ResNet takes depth as int, got 'fifty'"),
    ('+model.backbone.frozen_stages=1.5',
     'model.backbone.frozen_stages: ResNet takes frozen_stages as int, got 1.5'),
])
def test_bad_values_name_the_key_the_option_and_what_is_accepted(option, message):
    assert problems(option) == [f'--cfg-options {option}: {message}']


def test_a_bad_value_in_a_file_names_its_line(tmp_path):
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text(f"_base_ = {SEED!r}\n"
                        "total_epochs = 'ten'\n"
                        "data = dict(samples_per_gpu=-1)\n")
    with pytest.raises(ConfigValidationError) as e:
        validate_config(Config.fromfile(str(cfg_file)))
    assert str(e.value).splitlines() == [
        f"{cfg_file}:2: total_epochs: 'ten' is not an integer ≥ 1",
        f'{cfg_file}:3: data.samples_per_gpu: -1 is not an integer ≥ 1']


def test_head_channels_must_match_the_keypoints():
    lines = problems('channel_cfg.num_output_channels=16')
    assert len(lines) == 1
    # the seed config copies channel_cfg.num_output_channels into the head on its line 5
    assert lines[0].startswith('configs/body/2d_kpt_sview_rgb_img/topdown_heatmap/coco/'
                               'res50_coco_256x192.py:5: '
                               'model.keypoint_head.out_channels: the head outputs 16 channels '
                               "but the training data has 17 keypoints (data.train's dataset "
                               "'coco', ")
    assert lines[0].endswith('set the channel count (channel_cfg.num_output_channels in the '
                             'seed configs) to 17')


def test_udp_combined_targets_need_three_maps_per_keypoint():
    udp = ['train_pipeline.TopDownGenerateTarget.target_type=CombinedTarget',
           '+train_pipeline.TopDownGenerateTarget.encoding=UDP']
    lines = problems(*udp)
    assert 'it needs 3 maps per keypoint, one heatmap per keypoint: set' in lines[0]
    assert lines[0].endswith('to 51')
    validate_config(Config.fromfile(SEED, udp + ['model.keypoint_head.out_channels=51']))


def test_type_hints_accepted_and_refused():
    from typing import List, Optional, Sequence, Tuple, Union
    from posecfg.engine.value_checks import fits
    assert fits(3, int) and fits(3, float) and not fits(True, int) and not fits('3', int)
    assert fits(None, Optional[int]) and not fits('x', Optional[int])
    assert fits((1, 2), Sequence[int]) and fits([1, 2], Tuple[int, ...])
    assert fits([1, 'a'], List[int]) is False and fits((1, 2), Tuple[int, int, int]) is False
    assert fits('x', Union[int, str]) and fits({}, dict) and fits(object(), object) is None


def test_none_is_accepted_where_the_default_is_none():
    from posecfg.engine.value_checks import check_argument_types

    class Loose:
        def __init__(self, path: str = None, size: int = 3):
            pass
    cfg = Config.fromfile(SEED)
    assert check_argument_types(cfg, ('x',), 'Loose', Loose, dict(path=None, size=4)) == []
    assert check_argument_types(cfg, ('x',), 'Loose', Loose, dict(size=None))[0][1] == \
        'x.size: Loose takes size as int, got None'
