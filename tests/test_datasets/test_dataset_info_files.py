"""Every configs/_base_/datasets/*.py parses and is self-consistent (a new file is tested by
being added)."""
import numpy as np
import pytest

from posecfg.datasets import load_dataset_info, parse_dataset_info
from posecfg.datasets.metainfo import BASE_DATASETS_DIR

FILES = sorted(BASE_DATASETS_DIR.glob('*.py'))
REQUIRED = ('dataset_name', 'paper_info', 'keypoint_info', 'skeleton_info', 'joint_weights',
            'sigmas')


def test_the_definitions_are_there():
    names = {f.stem for f in FILES}
    assert {'coco', 'mpii', 'crowdpose', 'ap10k', 'animalpose', 'horse10', 'macaque', 'fly',
            'locust', 'zebra', 'atrw', 'ak'} <= names


@pytest.mark.parametrize('path', FILES, ids=[f.stem for f in FILES])
def test_file_parses_and_is_consistent(path):
    info = load_dataset_info(path)
    for key in REQUIRED:  # written out in full, in the format MMPose users know
        assert key in info, f'{path.name} lacks {key}'
    for kpt in info['keypoint_info'].values():
        assert set(kpt) == {'name', 'id', 'color', 'type', 'swap'}, kpt
    meta = parse_dataset_info(info, source=str(path))
    num = meta.num_keypoints
    assert meta.dataset_name == path.stem
    assert meta.joint_weights.shape == (num,) and (meta.joint_weights > 0).all()
    if meta.sigmas is not None:
        assert meta.sigmas.shape == (num,) and (meta.sigmas > 0).all()
    # swaps are mutual: mirroring twice is the identity, and pairs join left with right
    assert (meta.flip_index[meta.flip_index] == np.arange(num)).all()
    for left, right in meta.flip_pairs:
        assert meta.flip_index[left] == right and meta.flip_index[right] == left
    assert meta.skeleton.size == 0 or (0 <= meta.skeleton.min() and meta.skeleton.max() < num)
    assert set(meta.upper_body_ids).isdisjoint(meta.lower_body_ids)


@pytest.mark.parametrize('name', ['fly', 'locust', 'zebra', 'horse10', 'mpii'])
def test_datasets_without_oks_sigmas_say_so(name):
    text = (BASE_DATASETS_DIR / f'{name}.py').read_text()
    assert 'sigmas=[]' in text and 'defines no OKS sigmas' in text
    assert parse_dataset_info(load_dataset_info(BASE_DATASETS_DIR / f'{name}.py')).sigmas is None


def test_coco_facts_match_the_coco_api():
    meta = parse_dataset_info(load_dataset_info(BASE_DATASETS_DIR / 'coco.py'))
    # pycocotools' cocoeval sigmas and MMPose's COCO flip pairs / halves
    assert np.allclose(meta.sigmas * 10, [.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62,
                                          1.07, 1.07, .87, .87, .89, .89])
    assert meta.flip_pairs.tolist() == [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12],
                                        [13, 14], [15, 16]]
    assert meta.upper_body_ids == tuple(range(11))
    assert meta.lower_body_ids == tuple(range(11, 17))


def test_mpii_flip_pairs_are_mmposes():
    meta = parse_dataset_info(load_dataset_info(BASE_DATASETS_DIR / 'mpii.py'))
    assert meta.flip_pairs.tolist() == [[0, 5], [1, 4], [2, 3], [10, 15], [11, 14], [12, 13]]
    assert meta.upper_body_ids == (7, 8, 9, 10, 11, 12, 13, 14, 15)
