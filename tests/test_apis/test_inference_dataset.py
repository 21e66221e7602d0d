"""Which dataset config inference reads its pipeline and keypoints from."""
import pytest

from posecfg.apis.inference import inference_dataset_cfg
from posecfg.config import Config


def _cfg(**data):
    return Config(dict(data=data), filename='cfg.py')


def test_the_test_split_is_used_when_there_is_one():
    cfg = _cfg(val=dict(type='A', pipeline=['v']), test=dict(type='B', pipeline=['t']))
    assert inference_dataset_cfg(cfg) == dict(type='B', pipeline=['t'])


def test_a_config_without_test_frames_predicts_with_its_val_split():
    # a Lightning Pose split with train_prob + val_prob = 1 translates without data.test
    cfg = _cfg(train=dict(type='A'), val=dict(type='A', pipeline=['v']))
    assert inference_dataset_cfg(cfg)['pipeline'] == ['v']


def test_neither_split_is_an_error_naming_the_config():
    with pytest.raises(KeyError, match=r'cfg\.py.*neither data\.test nor data\.val'):
        inference_dataset_cfg(_cfg(train=dict(type='A')))
