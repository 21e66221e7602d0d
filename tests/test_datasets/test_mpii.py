"""MPII: MMPose 0.x's centre/scale conventions, head sizes, PCKh."""
import json
import shutil

import numpy as np
import pytest
from scipy.io import savemat

from posecfg.datasets import TopDownMpiiDataset
from posecfg.datasets.mpii import HEAD_SIZE_FACTOR


@pytest.fixture
def mpii_json(mmpose_tests):
    return mmpose_tests / 'mpii' / 'test_mpii.json'


def build(ann, make_data_cfg, test_mode=True, **kw):
    return TopDownMpiiDataset(str(ann), str(ann.parent), make_data_cfg(16, image_size=[256, 256],
                                                                       heatmap_size=[64, 64]),
                              [], test_mode=test_mode, **kw)


def test_records_follow_mmpose_conventions(mpii_json, make_data_cfg):
    ds = build(mpii_json, make_data_cfg)
    entries = json.loads(mpii_json.read_text())
    assert len(ds) == len(entries) == 5
    rec, entry = ds[0], entries[0]
    cx, cy = entry['center']
    s = entry['scale']
    # centre moved down 15 px per unit scale, scale padded by 1.25, then 1-based → 0-based
    assert np.allclose(rec['center'], [cx - 1, cy + 15 * s - 1])
    assert np.allclose(rec['scale'], [s * 1.25, s * 1.25])
    assert np.allclose(rec['joints_3d'][:, :2], np.array(entry['joints']) - 1)
    assert np.array_equal(rec['joints_3d_visible'][:, 0], entry['joints_vis'])
    assert np.allclose(rec['bbox'], [cx - 1 - 100 * s, cy - 1 - 100 * s, 200 * s, 200 * s])
    assert rec['image_id'] == 5808361 and rec['image_file'].endswith('005808361.jpg')
    assert rec['ann_info']['flip_pairs'][0] == [0, 5] and rec['dataset'] == 'mpii'
    assert 'category_id' not in rec and 'category_id' not in rec['gt']
    gt = rec['gt']
    assert gt['keypoints'].shape == (16, 2) and gt['keypoints_visible'].shape == (16,)
    # without head boxes: the upper_neck–head_top segment
    neck, top = np.array(entry['joints'][8]), np.array(entry['joints'][9])
    assert gt['head_size'] == pytest.approx(np.linalg.norm(top - neck), rel=1e-5)


def test_crop_is_always_the_annotated_one(mpii_json, make_data_cfg):
    ds = TopDownMpiiDataset(str(mpii_json), '', make_data_cfg(16),
                            [dict(type='TopDownGetBboxCenterScale', padding=1.25)])
    assert not ds.crop_from_pipeline and 'center' in ds.record(0)


def test_head_size_of_a_person_without_head_keypoints(tmp_path, mpii_json, make_data_cfg):
    entries = json.loads(mpii_json.read_text())
    entries[1]['joints_vis'][9] = 0  # head_top unlabelled
    ann = tmp_path / 'edited.json'
    ann.write_text(json.dumps(entries))
    ds = build(ann, make_data_cfg)
    others = [i for i in range(5) if i != 1]
    ratios = [ds[i]['gt']['head_size'] / entries[i]['scale'] for i in others]
    assert ds[1]['gt']['head_size'] == pytest.approx(np.median(ratios) * entries[1]['scale'],
                                                     rel=1e-5)


def write_headboxes(path, count):
    corners = np.zeros((2, 2, count))
    corners[1] = np.arange(1, count + 1) * np.array([[3.0], [4.0]])  # diagonal 5, 10, 15, …
    savemat(str(path), {'headboxes_src': corners})


def test_head_sizes_from_headbox_file(tmp_path, mpii_json, make_data_cfg, log_messages):
    boxes = tmp_path / 'heads.mat'
    write_headboxes(boxes, 5)
    ds = build(mpii_json, make_data_cfg, headbox_file=str(boxes))
    sizes = [ds[i]['gt']['head_size'] for i in range(5)]
    assert np.allclose(sizes, HEAD_SIZE_FACTOR * 5 * np.arange(1, 6))
    assert any(f'head sizes from {boxes}' in m for m in log_messages)
    assert ds.evaluation_metrics('PCKh') == [dict(type='PCKAccuracy', thr=0.5, norm_item='head')]


def test_headbox_file_next_to_the_annotations_is_found(tmp_path, mpii_json, make_data_cfg):
    ann = tmp_path / 'mpii_val.json'
    shutil.copy(mpii_json, ann)  # a temporary copy; the shared data stays where it is
    write_headboxes(tmp_path / 'mpii_gt_val.mat', 5)
    assert build(ann, make_data_cfg)[2]['gt']['head_size'] == pytest.approx(0.6 * 15)
    # a training set never reads the validation head boxes
    assert 'gt' not in build(ann, make_data_cfg, test_mode=False)[2]


def test_headbox_count_mismatch(tmp_path, mpii_json, make_data_cfg):
    boxes = tmp_path / 'heads.mat'
    write_headboxes(boxes, 3)
    with pytest.raises(ValueError, match=rf"TopDownMpiiDataset: head boxes in {boxes} are for 3 "
                                         rf"people but ann_file '{mpii_json}' has 5"):
        build(mpii_json, make_data_cfg, headbox_file=str(boxes))
    with pytest.raises(FileNotFoundError, match=r"headbox_file '.*missing\.mat' does not exist"):
        build(mpii_json, make_data_cfg, headbox_file=str(tmp_path / 'missing.mat'))


def test_keypoint_count_mismatch(tmp_path, mpii_json, make_data_cfg):
    entries = json.loads(mpii_json.read_text())
    entries[2]['joints'] = entries[2]['joints'][:14]
    ann = tmp_path / 'short.json'
    ann.write_text(json.dumps(entries))
    with pytest.raises(ValueError, match=rf"TopDownMpiiDataset: keypoint count mismatch: "
                                         rf".*mpii\.py defines 16 keypoints but ann_file "
                                         rf"'{ann}' entry 2 \(051423444\.jpg\) has 14 joints"):
        build(ann, make_data_cfg)


def test_metrics(mpii_json, make_data_cfg):
    ds = build(mpii_json, make_data_cfg)
    assert ds.evaluation_metrics(['PCKh', 'PCK', 'AUC', 'EPE']) == [
        dict(type='PCKAccuracy', thr=0.5, norm_item='head'),
        dict(type='PCKAccuracy', thr=0.2, norm_item='bbox'),
        dict(type='AUC', norm_factor=30, num_thrs=20), dict(type='EPE')]
    with pytest.raises(ValueError, match=r"'mAP' is not supported \(MPII has no COCO-format "
                                         r"annotations or OKS sigmas; use PCKh\); supported: "
                                         r"'PCKh', 'PCK', 'AUC', 'EPE'"):
        ds.evaluation_metrics('mAP')


def test_test_split_without_joints(tmp_path, mpii_json, make_data_cfg):
    entries = [{k: v for k, v in e.items() if k not in ('joints', 'joints_vis')}
               for e in json.loads(mpii_json.read_text())]
    ann = tmp_path / 'mpii_test.json'
    ann.write_text(json.dumps(entries))
    ds = build(ann, make_data_cfg)
    assert 'gt' not in ds[0] and (ds[0]['joints_3d'] == 0).all()
    with pytest.raises(ValueError, match=r"'PCKh' is not supported \(ann_file '.*mpii_test\.json' "
                                         r"has no joints \(the MPII test split\)\)"):
        ds.evaluation_metrics('PCKh')
