"""Compose and the registry: MMPose 0.x names and arguments, errors naming the step."""
import inspect

import numpy as np
import pytest

from posecfg.registry import TRANSFORMS, UnexpectedArgumentError, UnknownTypeError
from posecfg.transforms import Compose

# MMPose 0.x's signatures (posecfg may add keyword arguments after these, never rename them)
MMPOSE_ARGUMENTS = {
    'LoadImageFromFile': ['to_float32', 'color_type', 'channel_order'],
    'TopDownGetBboxCenterScale': ['padding'],
    'TopDownRandomShiftBboxCenter': ['shift_factor', 'prob'],
    'TopDownRandomFlip': ['flip_prob'],
    'TopDownHalfBodyTransform': ['num_joints_half_body', 'prob_half_body'],
    'TopDownGetRandomScaleRotation': ['rot_factor', 'scale_factor', 'rot_prob'],
    'TopDownAffine': ['use_udp'],
    'ToTensor': [],
    'NormalizeTensor': ['mean', 'std'],
    'Collect': ['keys', 'meta_keys'],
    'Compose': ['transforms'],
}


@pytest.mark.parametrize('name,arguments', sorted(MMPOSE_ARGUMENTS.items()))
def test_registered_under_mmpose_names_and_arguments(name, arguments):
    cls = TRANSFORMS.get(name)
    assert cls is not None and cls.__name__ == name
    params = list(inspect.signature(cls).parameters)
    assert params[:len(arguments)] == arguments


def test_builds_dicts_and_callables_in_order():
    def first(results):
        results['seen'] = [type(results['img']).__name__]
        return results

    def last(results):
        results['seen'].append(type(results['img']).__name__)
        return results

    pipeline = Compose([first, dict(type='ToTensor'), last])
    assert [type(t).__name__ for t in pipeline.transforms] == ['function', 'ToTensor',
                                                               'function']
    assert pipeline(dict(img=np.zeros((2, 2, 3), np.uint8)))['seen'] == ['ndarray', 'Tensor']
    assert 'ToTensor()' in repr(pipeline)


def test_unknown_type_lists_close_names():
    with pytest.raises(UnknownTypeError, match=r"pipeline step 1: type 'TopDownAfine' is not "
                                               r'registered \(transform\); closest registered '
                                               r'names: TopDownAffine'):
        Compose([dict(type='LoadImageFromFile'), dict(type='TopDownAfine')])


def test_wrong_argument_names_the_step():
    with pytest.raises(UnexpectedArgumentError, match=r"pipeline step 0 \(TopDownRandomFlip\): "
                                                      r"TopDownRandomFlip does not take "
                                                      r"'prob'; it takes flip_prob"):
        Compose([dict(type='TopDownRandomFlip', prob=0.5)])


def test_bad_argument_value_names_the_step():
    with pytest.raises(ValueError, match=r"pipeline step 1 \(LoadImageFromFile\): .*"
                                         r"color_type='colour' is not one of"):
        Compose([dict(type='ToTensor'), dict(type='LoadImageFromFile', color_type='colour')])


def test_bad_entries_are_named():
    with pytest.raises(KeyError, match='pipeline step 0: .* has no "type"'):
        Compose([dict(flip_prob=0.5)])
    with pytest.raises(TypeError, match='pipeline step 1: expected a config dict or a '
                                        'callable, got int 3'):
        Compose([dict(type='ToTensor'), 3])
    with pytest.raises(TypeError, match='transforms must be a list'):
        Compose(dict(type='ToTensor'))


def test_step_returning_none_is_an_error():
    def drop(results):
        return None

    pipeline = Compose([lambda r: r, drop, dict(type='ToTensor')])
    with pytest.raises(RuntimeError, match=r"pipeline step 1 \(drop\) returned None instead of "
                                           r"the sample record \(image_file='x.jpg'\)"):
        pipeline(dict(image_file='x.jpg'))
