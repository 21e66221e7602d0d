"""Image-level records (every dataset, every format), the top-down derivation from them, and the
whole-image (``data_mode='bottomup'``) mode. Oracles: the annotation files read with json here."""
import json
from collections import defaultdict

import numpy as np
import pytest

from posecfg.datasets import check_image_record
from posecfg.registry import DATASETS

CASES = [  # class, folder, annotation file, keypoints
    ('TopDownCocoDataset', 'coco', 'test_coco.json', 17),
    ('TopDownCrowdPoseDataset', 'crowdpose', 'test_crowdpose.json', 14),
    ('AnimalAP10KDataset', 'ap10k', 'test_ap10k.json', 17),
    ('AnimalFlyDataset', 'fly', 'test_fly.json', 32),
]


def build(mmpose_tests, make_data_cfg, type_name, folder, ann, num, **kw):
    return DATASETS.build(dict(type=type_name, ann_file=str(mmpose_tests / folder / ann),
                               img_prefix=str(mmpose_tests / folder), data_cfg=make_data_cfg(num),
                               pipeline=[], **kw))


def kept_annotations(path, num):
    """image id → the annotations a COCO-style dataset keeps (non-crowd, labelled, with a box),
    in file order; and the image list."""
    raw = json.loads(path.read_text())
    by_image = defaultdict(list)
    for ann in raw['annotations']:
        kpts = np.array(ann['keypoints'], np.float32).reshape(num, 3)
        if ann.get('iscrowd', 0) or not (kpts[:, 2] > 0).any() or ann.get('area', 1) <= 0:
            continue
        by_image[ann['image_id']].append(ann)
    return by_image, raw['images']


@pytest.mark.parametrize('type_name,folder,ann,num', CASES, ids=[c[0] for c in CASES])
def test_image_records_hold_every_instance_of_the_file(mmpose_tests, make_data_cfg, type_name,
                                                       folder, ann, num):
    ds = build(mmpose_tests, make_data_cfg, type_name, folder, ann, num)
    by_image, images = kept_annotations(mmpose_tests / folder / ann, num)
    assert ds.num_images == len(images)
    for i, image in enumerate(images):
        record = ds.image_record(i)
        check_image_record(record, type_name, num)
        anns = by_image.get(image['id'], [])
        assert record['image_id'] == image['id'] and len(record['keypoints']) == len(anns)
        assert record['img_shape'] == (image['height'], image['width'])
        for n, a in enumerate(anns):
            kpts = np.array(a['keypoints'], np.float32).reshape(num, 3)
            np.testing.assert_array_equal(record['keypoints'][n], kpts[:, :2])
            np.testing.assert_array_equal(record['keypoints_visible'][n],
                                          np.minimum(1, kpts[:, 2]))
            assert record['instance_ids'][n] == a['id']
            assert record['category_ids'][n] == a['category_id']
            assert record['bbox_scores'][n] == 1.0
        assert record['crop_centers'].shape == (len(anns), 2)


@pytest.mark.parametrize('type_name,folder,ann,num', CASES, ids=[c[0] for c in CASES])
def test_topdown_samples_are_derived_from_the_image_records(mmpose_tests, make_data_cfg,
                                                            type_name, folder, ann, num):
    ds = build(mmpose_tests, make_data_cfg, type_name, folder, ann, num, test_mode=True)
    records = {r['image_id']: r for r in map(ds.image_record, range(ds.num_images))}
    seen = [(i, int(a)) for i, r in records.items() for a in r['instance_ids']]
    derived = []
    for index in range(len(ds)):
        sample = ds[index]
        derived.append((sample['image_id'], sample['ann_id']))
        record = records[sample['image_id']]
        n = list(record['instance_ids']).index(sample['ann_id'])
        np.testing.assert_array_equal(sample['joints_3d'][:, :2], record['keypoints'][n])
        np.testing.assert_array_equal(sample['joints_3d_visible'][:, 0],
                                      record['keypoints_visible'][n])
        np.testing.assert_array_equal(sample['center'], record['crop_centers'][n])
        np.testing.assert_array_equal(sample['scale'], record['crop_scales'][n])
        np.testing.assert_array_equal(sample['bbox'], record['bboxes'][n])
        assert sample['gt']['area'] == pytest.approx(float(record['areas'][n]))
    assert sorted(derived) == sorted(seen)  # every instance once, no other


def test_detections_are_instances_without_labels(mmpose_tests, make_data_cfg):
    ds = DATASETS.build(dict(
        type='TopDownCocoDataset', ann_file=str(mmpose_tests / 'coco' / 'test_coco.json'),
        img_prefix=str(mmpose_tests / 'coco'), pipeline=[], test_mode=True,
        data_cfg=make_data_cfg(17, use_gt_bbox=False,
                               bbox_file=str(mmpose_tests / 'coco' / 'test_coco_det_AP_H_56.json'))))
    dets = json.loads((mmpose_tests / 'coco' / 'test_coco_det_AP_H_56.json').read_text())
    record = ds.image_record(0)
    mine = [d for d in dets if d['image_id'] == record['image_id'] and d['category_id'] == 1]
    assert len(record['bboxes']) == len(mine)
    np.testing.assert_allclose(record['bbox_scores'], [d['score'] for d in mine], rtol=1e-6)
    assert (record['instance_ids'] == -1).all() and not record['keypoints_visible'].any()
    # MMPose 0.x marks every keypoint of a detection visible in its top-down sample
    assert (ds[0]['joints_3d_visible'][:, :2] == 1).all() and 'gt' not in ds[0]
    with pytest.raises(ValueError, match="data_mode='bottomup' .* detection boxes"):
        DATASETS.build(dict(
            type='TopDownCocoDataset', ann_file=str(mmpose_tests / 'coco' / 'test_coco.json'),
            img_prefix=str(mmpose_tests / 'coco'), pipeline=[], test_mode=True,
            data_mode='bottomup',
            data_cfg=make_data_cfg(17, use_gt_bbox=False, bbox_file=str(
                mmpose_tests / 'coco' / 'test_coco_det_AP_H_56.json'))))


def test_bottomup_mode_gives_one_sample_per_image(mmpose_tests, make_data_cfg):
    ds = build(mmpose_tests, make_data_cfg, 'TopDownCocoDataset', 'coco', 'test_coco.json', 17,
               test_mode=True, data_mode='bottomup')
    by_image, images = kept_annotations(mmpose_tests / 'coco' / 'test_coco.json', 17)
    assert len(ds) == len(images) == 4 and 'images' in repr(ds)
    for i, image in enumerate(images):
        sample = ds[i]
        anns = by_image[image['id']]
        assert sample['keypoints'].shape == (len(anns), 17, 2)
        assert sample['ann_info']['flip_pairs'] == ds.ann_info['flip_pairs']
        gt = sample['gt']
        assert gt['image_id'] == image['id'] and gt['keypoints'].shape == (len(anns), 17, 2)
        np.testing.assert_allclose(gt['areas'], [a['area'] for a in anns], rtol=1e-6)
        assert 'joints_3d' not in sample
    train = build(mmpose_tests, make_data_cfg, 'TopDownCocoDataset', 'coco', 'test_coco.json',
                  17, data_mode='bottomup')
    assert 'gt' not in train[0]
    with pytest.raises(ValueError, match="data_mode must be 'topdown' .* or 'bottomup'"):
        build(mmpose_tests, make_data_cfg, 'TopDownCocoDataset', 'coco', 'test_coco.json', 17,
              data_mode='whole')


def test_mpii_records_carry_head_sizes(mmpose_tests, make_data_cfg):
    ds = build(mmpose_tests, make_data_cfg, 'TopDownMpiiDataset', 'mpii', 'test_mpii.json', 16,
               test_mode=True)
    raw = json.loads((mmpose_tests / 'mpii' / 'test_mpii.json').read_text())
    total = 0
    for i in range(ds.num_images):
        record = ds.image_record(i)
        check_image_record(record, 'TopDownMpiiDataset', 16)
        total += len(record['keypoints'])
        assert (record['category_ids'] == -1).all()
        assert np.isfinite(record['head_sizes']).all()
    assert total == len(raw) == len(ds)


def test_check_image_record_names_the_key():
    record = dict(image_file='a.jpg', image_id=1, keypoints=np.zeros((2, 3, 2), np.float32),
                  keypoints_visible=np.zeros((2, 3), np.float32),
                  bboxes=np.zeros((2, 4), np.float32), bbox_scores=np.ones(2, np.float32),
                  instance_ids=np.zeros(2, np.int64), category_ids=np.zeros(2, np.int64),
                  areas=np.zeros(2, np.float32), dataset='x')
    check_image_record(record, 'X', 3)
    with pytest.raises(ValueError, match=r"'bboxes' must be a float32 array of shape \(2, 4\)"):
        check_image_record(dict(record, bboxes=np.zeros((1, 4), np.float32)), 'X', 3)
    with pytest.raises(ValueError, match="lacks \\['areas'\\]"):
        check_image_record({k: v for k, v in record.items() if k != 'areas'}, 'X', 3)
    nan = record['keypoints'].copy()
    nan[0, 0] = np.nan
    with pytest.raises(ValueError, match='NaN'):
        check_image_record(dict(record, keypoints=nan), 'X', 3)
