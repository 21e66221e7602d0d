"""Parsing dataset_info: derived fields, as_metainfo, and the errors for malformed dicts."""
import copy

import numpy as np
import pytest

from posecfg.datasets import (DatasetInfoError, DatasetMeta, load_dataset_info,
                              parse_dataset_info, resolve_dataset_meta)
from posecfg.datasets.metainfo import BASE_DATASETS_DIR


def tiny_info():
    return dict(
        dataset_name='tiny',
        paper_info=dict(title='t'),
        keypoint_info={
            0: dict(name='nose', id=0, color=[1, 2, 3], type='upper', swap=''),
            1: dict(name='left_eye', id=1, color=[0, 255, 0], type='upper', swap='right_eye'),
            2: dict(name='right_eye', id=2, color=[255, 0, 0], type='upper', swap='left_eye'),
            3: dict(name='tail', id=3, color=[9, 9, 9], type='lower', swap='tail'),
            4: dict(name='spot', id=4, color=[9, 9, 9], type='', swap=''),
        },
        skeleton_info={0: dict(link=('nose', 'left_eye'), id=0, color=[5, 5, 5]),
                       1: dict(link=('nose', 'tail'), id=1, color=[6, 6, 6])},
        joint_weights=[1., 1., 1., 1.5, 2.],
        sigmas=[0.1, 0.2, 0.2, 0.3, 0.4],
    )


def test_derived_fields():
    meta = parse_dataset_info(tiny_info(), source='tiny.py')
    assert meta.names == ('nose', 'left_eye', 'right_eye', 'tail', 'spot')
    assert meta.flip_pairs.tolist() == [[1, 2]]
    assert meta.flip_index.tolist() == [0, 2, 1, 3, 4]  # swapping with itself = no partner
    assert meta.upper_body_ids == (0, 1, 2) and meta.lower_body_ids == (3,)
    assert meta.joint_weights.dtype == np.float32 and meta.sigmas.dtype == np.float32
    assert meta.skeleton.tolist() == [[0, 1], [0, 3]]
    assert meta.keypoint_colors.shape == (5, 3) and meta.skeleton_colors.tolist()[1] == [6, 6, 6]
    assert meta.index('tail') == 3


def test_meta_is_immutable():
    meta = parse_dataset_info(tiny_info())
    with pytest.raises(ValueError):
        meta.sigmas[0] = 1.0
    with pytest.raises(AttributeError):
        meta.dataset_name = 'other'


def test_as_metainfo_is_plain_and_complete():
    info = parse_dataset_info(tiny_info()).as_metainfo()
    assert info['dataset_name'] == 'tiny'
    assert info['num_keypoints'] == info['num_joints'] == 5
    assert info['keypoint_names'][1] == 'left_eye'
    assert info['flip_pairs'] == [[1, 2]] and info['flip_indices'] == [0, 2, 1, 3, 4]
    assert info['skeleton_links'] == [(0, 1), (0, 3)]
    assert np.allclose(info['sigmas'], [0.1, 0.2, 0.2, 0.3, 0.4])
    info['sigmas'][0] = 9.0  # a copy: the metric may not change the dataset's facts
    assert parse_dataset_info(tiny_info()).sigmas[0] == pytest.approx(0.1)


def test_empty_sigmas_mean_none():
    info = tiny_info()
    info['sigmas'] = []
    meta = parse_dataset_info(info)
    assert meta.sigmas is None and meta.as_metainfo()['sigmas'] is None


def test_swap_partner_must_be_a_keypoint():
    info = tiny_info()
    info['keypoint_info'][1]['swap'] = 'rigth_eye'
    info['keypoint_info'][2]['swap'] = 'left_eye'
    with pytest.raises(DatasetInfoError, match=r"tiny\.py: keypoint_info\[1\] \('left_eye'\) "
                                               r"swaps with 'rigth_eye', which is not a keypoint "
                                               r"name \(did you mean 'right_eye'\?\)"):
        parse_dataset_info(info, source='tiny.py')


def test_one_sided_swap_is_an_error():
    info = tiny_info()
    info['keypoint_info'][2]['swap'] = ''
    with pytest.raises(DatasetInfoError,
                       match=r"keypoint_info\[1\] \('left_eye'\) swaps with 'right_eye', but "
                             r"keypoint_info\[2\] \('right_eye'\) swaps with ''; swaps must be "
                             r"mutual: set its swap='left_eye'"):
        parse_dataset_info(info, source='tiny.py')


def test_keypoint_ids_must_run_from_zero():
    info = tiny_info()
    info['keypoint_info'] = {k + 1: v for k, v in info['keypoint_info'].items()}
    with pytest.raises(DatasetInfoError, match=r'tiny\.py: keypoint_info keys must be 0\.\.4 in '
                                               r'order; got \[1, 2, 3, 4, 5\]'):
        parse_dataset_info(info, source='tiny.py')
    info = tiny_info()
    info['keypoint_info'][3]['id'] = 7
    with pytest.raises(DatasetInfoError, match=r"keypoint_info\[3\]\['id'\] is 7; it must equal "
                                               r'its key 3'):
        parse_dataset_info(info, source='tiny.py')


@pytest.mark.parametrize('key', ['sigmas', 'joint_weights'])
def test_per_keypoint_lists_must_have_k_values(key):
    info = tiny_info()
    info[key] = info[key][:4]
    with pytest.raises(DatasetInfoError, match=rf'tiny\.py: {key} has 4 values but keypoint_info '
                                               rf'defines 5 keypoints; give 5'):
        parse_dataset_info(info, source='tiny.py')


def test_other_mistakes_name_the_key():
    info = tiny_info()
    info['sigma'] = info.pop('sigmas')
    with pytest.raises(DatasetInfoError, match=r"unknown key 'sigma' \(did you mean 'sigmas'\?\)"):
        parse_dataset_info(info, source='tiny.py')
    info = tiny_info()
    info['keypoint_info'][0]['type'] = 'head'
    with pytest.raises(DatasetInfoError, match=r"keypoint_info\[0\]\['type'\] is 'head'"):
        parse_dataset_info(info)
    info = tiny_info()
    info['keypoint_info'][4]['name'] = 'nose'
    with pytest.raises(DatasetInfoError, match=r"name 'nose' is already keypoint 0"):
        parse_dataset_info(info)
    info = tiny_info()
    info['skeleton_info'][1]['link'] = ('nose', 'tial')
    with pytest.raises(DatasetInfoError, match=r"skeleton_info\[1\]\['link'\] names 'tial', "
                                               r"which is not a keypoint name \(did you mean "
                                               r"'tail'\?\)"):
        parse_dataset_info(info)
    info = tiny_info()
    info['keypoint_info'][0]['color'] = [0, 0, 300]
    with pytest.raises(DatasetInfoError, match=r"keypoint_info\[0\]\['color'\] must be"):
        parse_dataset_info(info)


def test_resolve_from_path_dict_or_default(tmp_path):
    by_default = resolve_dataset_meta(None, 'coco')
    assert by_default.source == str(BASE_DATASETS_DIR / 'coco.py')
    by_path = resolve_dataset_meta(str(BASE_DATASETS_DIR / 'coco.py'))
    assert by_path.names == by_default.names
    by_dict = resolve_dataset_meta(load_dataset_info(BASE_DATASETS_DIR / 'coco.py'))
    assert "'coco' (given as a dict)" in by_dict.source
    assert resolve_dataset_meta(by_dict) is by_dict
    assert isinstance(by_dict, DatasetMeta)


def test_loading_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='no dataset definition .*cocoo.py .*did you '
                                                "mean 'coco'"):
        resolve_dataset_meta(None, 'cocoo')
    empty = tmp_path / 'nothing.py'
    empty.write_text('keypoints = 3\n')
    with pytest.raises(DatasetInfoError, match=r'nothing\.py: defines no variable `dataset_info` '
                                               r'\(it defines keypoints\)'):
        load_dataset_info(empty)


def test_a_definition_may_extend_another_with_base(tmp_path):
    child = tmp_path / 'coco_renamed.py'
    child.write_text(f"_base_ = [{str(BASE_DATASETS_DIR / 'coco.py')!r}]\n"
                     "dataset_info = dict(dataset_name='coco_renamed')\n")
    meta = resolve_dataset_meta(str(child))
    assert meta.dataset_name == 'coco_renamed' and meta.num_keypoints == 17


def test_parse_does_not_modify_its_input():
    info = tiny_info()
    before = copy.deepcopy(info)
    parse_dataset_info(info)
    assert info == before
