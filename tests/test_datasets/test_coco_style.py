"""The COCO-format datasets on MMPose's test data: records, boxes, detections, filtering,
errors and evaluation configs."""
import json
import os
import pickle

import numpy as np
import pytest

from posecfg.datasets import TopDownCocoDataset
from posecfg.registry import DATASETS

# class, folder, annotation file, keypoints, instances kept (MMPose's tests agree: COCO 12)
CASES = [
    ('TopDownCocoDataset', 'coco', 'test_coco.json', 17, 12),
    ('TopDownCrowdPoseDataset', 'crowdpose', 'test_crowdpose.json', 14, 4),
    ('AnimalAP10KDataset', 'ap10k', 'test_ap10k.json', 17, 2),
    ('AnimalPoseDataset', 'animalpose', 'test_animalpose.json', 20, 2),
    ('AnimalHorse10Dataset', 'horse10', 'test_horse10.json', 22, 3),
    ('AnimalMacaqueDataset', 'macaque', 'test_macaque.json', 17, 2),
    ('AnimalFlyDataset', 'fly', 'test_fly.json', 32, 2),
    ('AnimalLocustDataset', 'locust', 'test_locust.json', 35, 2),
    ('AnimalZebraDataset', 'zebra', 'test_zebra.json', 9, 2),
    ('AnimalATRWDataset', 'atrw', 'test_atrw.json', 15, 2),
    ('AnimalKingdomDataset', 'ak', 'test_animalkingdom.json', 23, 2),
]


def build(mmpose_tests, type_name, folder, ann, data_cfg, test_mode=True, pipeline=(), **kw):
    return DATASETS.build(dict(type=type_name, ann_file=str(mmpose_tests / folder / ann),
                               img_prefix=str(mmpose_tests / folder), data_cfg=data_cfg,
                               pipeline=list(pipeline), test_mode=test_mode, **kw))


def test_every_registered_coco_style_class_is_tested():
    DATASETS.import_from_location()
    registered = {name for name, cls in DATASETS.module_dict.items()
                  if isinstance(cls, type) and issubclass(cls, TopDownCocoDataset)}
    assert registered == {case[0] for case in CASES}


@pytest.mark.parametrize('type_name,folder,ann,num,count', CASES, ids=[c[0] for c in CASES])
def test_loads_mmpose_test_data(mmpose_tests, make_data_cfg, type_name, folder, ann, num, count):
    ds = build(mmpose_tests, type_name, folder, ann, make_data_cfg(num))
    assert len(ds) == count
    for index in range(len(ds)):
        rec = ds[index]
        assert os.path.isfile(rec['image_file'])  # e.g. ak's images are in a subfolder
        assert rec['joints_3d'].shape == (num, 3) and rec['joints_3d'].dtype == np.float32
        assert rec['joints_3d_visible'].shape == (num, 3)
        assert set(np.unique(rec['joints_3d_visible'][:, :2])) <= {0.0, 1.0}
        assert (rec['joints_3d'][:, 2] == 0).all() and (rec['joints_3d_visible'][:, 2] == 0).all()
        assert rec['bbox'].shape == (4,) and rec['center'].shape == (2,)
        assert rec['scale'].shape == (2,) and rec['scale'].dtype == np.float32
        # the crop has the model input's aspect ratio (192 x 256)
        assert rec['scale'][0] / rec['scale'][1] == pytest.approx(0.75, rel=1e-5)
        assert rec['bbox_id'] == index and rec['bbox_score'] == 1.0 and rec['rotation'] == 0.0
        assert rec['dataset'] == ds.meta.dataset_name
        info = rec['ann_info']
        assert info['num_joints'] == num and info['joint_weights'].shape == (num, 1)
        gt = rec['gt']
        assert gt['keypoints'].shape == (num, 2) and gt['keypoints_visible'].shape == (num,)
        assert np.allclose(gt['keypoints'], rec['joints_3d'][:, :2])
        assert gt['image_id'] == rec['image_id'] and gt['bbox_id'] == index
        assert gt['area'] > 0 and 'head_size' not in gt
        assert gt['category_id'] == rec['category_id']
    assert ds.metainfo['ann_file'] == str(mmpose_tests / folder / ann)
    assert ds.metainfo['num_keypoints'] == num


def test_coco_record_values(mmpose_tests, make_data_cfg):
    ds = build(mmpose_tests, 'TopDownCocoDataset', 'coco', 'test_coco.json', make_data_cfg(17))
    rec = ds[0]
    raw = json.loads((mmpose_tests / 'coco' / 'test_coco.json').read_text())
    ann = raw['annotations'][0]  # id 442619, the first annotation of the first image
    assert rec['ann_id'] == ann['id'] == 442619 and rec['image_id'] == 785
    assert rec['image_file'] == str(mmpose_tests / 'coco' / '000000000785.jpg')
    kpts = np.array(ann['keypoints'], dtype=np.float32).reshape(17, 3)
    assert np.allclose(rec['joints_3d'][:, :2], kpts[:, :2])
    assert np.array_equal(rec['joints_3d_visible'][:, 0], np.minimum(1, kpts[:, 2]))
    x, y, w, h = ann['bbox']
    assert np.allclose(rec['bbox'], [x, y, w, h])
    assert np.allclose(rec['center'], [x + w / 2, y + h / 2])
    # h > w / 0.75: the width grows to h * 0.75, then both are padded by 1.25, in units of 200
    assert np.allclose(rec['scale'], [h * 0.75 / 200 * 1.25, h / 200 * 1.25])
    assert rec['gt']['area'] == pytest.approx(ann['area'])
    ap10k = build(mmpose_tests, 'AnimalAP10KDataset', 'ap10k', 'test_ap10k.json',
                  make_data_cfg(17))
    # AP-10K has 54 categories; mAP matches predictions to annotations of the same one
    assert [ap10k[i]['gt']['category_id'] for i in range(2)] == [26, 1]  # file order


def test_box_clipping_and_padding_per_class(mmpose_tests, make_data_cfg):
    atrw = build(mmpose_tests, 'AnimalATRWDataset', 'atrw', 'test_atrw.json', make_data_cfg(15))
    rec = atrw[0]  # box [0, 0, 1239, 731] in a 1239 x 731 image: clipped to width - 1
    assert np.allclose(rec['bbox'], [0, 0, 1238, 730])
    assert np.allclose(rec['scale'], [1238 / 200, 1238 / 0.75 / 200])  # ATRW: no padding
    fly = build(mmpose_tests, 'AnimalFlyDataset', 'fly', 'test_fly.json', make_data_cfg(32))
    rec = fly[0]  # a 192 x 192 image, cropped whole with padding 0.8 as MMPose 0.x
    assert np.allclose(rec['center'], [96, 96])
    assert np.allclose(rec['scale'], [192 * 0.8 / 200, 192 / 0.75 * 0.8 / 200])
    assert np.allclose(rec['bbox'], json.loads(
        (mmpose_tests / 'fly' / 'test_fly.json').read_text())['annotations'][0]['bbox'])


def test_training_jitters_centres_once(mmpose_tests, make_data_cfg):
    kwargs = dict(test_mode=False)
    np.random.seed(1)  # 4 of 12 boxes move with this seed
    first = build(mmpose_tests, 'TopDownCocoDataset', 'coco', 'test_coco.json',
                  make_data_cfg(17), **kwargs)
    np.random.seed(1)  # 4 of 12 boxes move with this seed
    again = build(mmpose_tests, 'TopDownCocoDataset', 'coco', 'test_coco.json',
                  make_data_cfg(17), **kwargs)
    test = build(mmpose_tests, 'TopDownCocoDataset', 'coco', 'test_coco.json', make_data_cfg(17))
    moved = 0
    for i in range(len(test)):
        a, b, t = first[i], again[i], test[i]
        assert np.array_equal(a['center'], b['center'])  # one seed, one set of shifts
        assert np.array_equal(a['center'], first[i]['center'])  # fixed for the whole run
        assert np.array_equal(a['scale'], t['scale'])
        shift = np.abs(a['center'] - t['center'])
        assert (shift <= 0.2 * t['bbox'][2:] + 1e-3).all()
        moved += bool(shift.any())
        assert 'gt' not in a  # only test-mode samples carry ground truth
    assert 0 < moved < len(test)


def test_filtering_is_logged_once(mmpose_tests, make_data_cfg, log_messages):
    build(mmpose_tests, 'TopDownCocoDataset', 'coco', 'test_coco.json', make_data_cfg(17))
    lines = [m for m in log_messages if 'annotations in' in m]
    assert lines == [f"TopDownCocoDataset: kept 12 of 14 annotations in "
                     f"{mmpose_tests / 'coco' / 'test_coco.json'}; skipped 2 without any "
                     f"labelled keypoint (annotation ids 1202706, 508900)"]


def test_crowd_and_empty_boxes_are_counted(tmp_path, mmpose_tests, make_data_cfg, log_messages):
    raw = json.loads((mmpose_tests / 'coco' / 'test_coco.json').read_text())
    raw['annotations'][0]['iscrowd'] = 1
    raw['annotations'][1]['bbox'] = [700, 10, 50, 50]  # right of its 500 px wide image
    ann = tmp_path / 'edited.json'
    ann.write_text(json.dumps(raw))
    ds = TopDownCocoDataset(str(ann), str(mmpose_tests / 'coco'), make_data_cfg(17), [])
    assert len(ds) == 10
    assert any(m.endswith('kept 10 of 14 annotations in ' + str(ann) + '; skipped 2 without any '
                          'labelled keypoint (annotation ids 1202706, 508900), 1 crowd (annotation '
                          'ids 442619), 1 with an empty box (annotation ids 198196)')
               for m in log_messages)


def det_cfg(make_data_cfg, mmpose_tests, **kw):
    return make_data_cfg(17, use_gt_bbox=False, det_bbox_thr=kw.pop('thr', 0.0),
                         bbox_file=str(mmpose_tests / 'coco' / 'test_coco_det_AP_H_56.json'), **kw)


def test_detection_boxes_in_test_mode(mmpose_tests, make_data_cfg, log_messages):
    ds = build(mmpose_tests, 'TopDownCocoDataset', 'coco', 'test_coco.json',
               det_cfg(make_data_cfg, mmpose_tests))
    dets = json.loads((mmpose_tests / 'coco' / 'test_coco_det_AP_H_56.json').read_text())
    assert len(ds) == len(dets) == 118
    rec = ds[0]
    assert rec['bbox_score'] == pytest.approx(dets[0]['score'])
    assert np.allclose(rec['bbox'], dets[0]['bbox']) and rec['image_id'] == dets[0]['image_id']
    assert rec['ann_id'] == -1 and 'gt' not in rec
    assert (rec['joints_3d'] == 0).all() and (rec['joints_3d_visible'][:, :2] == 1).all()
    assert any('kept 118 of 118 detections' in m for m in log_messages)
    strict = build(mmpose_tests, 'TopDownCocoDataset', 'coco', 'test_coco.json',
                   det_cfg(make_data_cfg, mmpose_tests, thr=0.5))
    assert len(strict) == sum(d['score'] >= 0.5 for d in dets) == 18
    # training ignores the detections: MMPose trains on ground-truth boxes
    train = build(mmpose_tests, 'TopDownCocoDataset', 'coco', 'test_coco.json',
                  det_cfg(make_data_cfg, mmpose_tests), test_mode=False)
    assert len(train) == 12


def test_crowdpose_detections(mmpose_tests, make_data_cfg):
    dets = mmpose_tests / 'crowdpose' / 'test_crowdpose_det_AP_40.json'
    cfg = make_data_cfg(14, use_gt_bbox=False, bbox_file=str(dets))
    ds = build(mmpose_tests, 'TopDownCrowdPoseDataset', 'crowdpose', 'test_crowdpose.json', cfg)
    assert len(ds) == 6 and ds[5]['image_id'] == 103319


def test_missing_files_name_path_and_key(tmp_path, mmpose_tests, make_data_cfg):
    missing = tmp_path / 'nope.json'
    with pytest.raises(FileNotFoundError, match=rf"TopDownCocoDataset: ann_file '{missing}' does "
                                                rf"not exist"):
        TopDownCocoDataset(str(missing), '', make_data_cfg(17), [])
    cfg = make_data_cfg(17, use_gt_bbox=False, bbox_file=str(missing))
    with pytest.raises(FileNotFoundError, match=rf"TopDownCocoDataset: data_cfg.bbox_file "
                                                rf"'{missing}' does not exist"):
        build(mmpose_tests, 'TopDownCocoDataset', 'coco', 'test_coco.json', cfg)
    cfg = make_data_cfg(17, use_gt_bbox=False)
    with pytest.raises(FileNotFoundError, match=r'TopDownCocoDataset: data_cfg.bbox_file is not '
                                                r'set'):
        build(mmpose_tests, 'TopDownCocoDataset', 'coco', 'test_coco.json', cfg)


def test_detection_for_an_unknown_image(tmp_path, mmpose_tests, make_data_cfg):
    dets = tmp_path / 'dets.json'
    dets.write_text(json.dumps([dict(image_id=4242, category_id=1, bbox=[0, 0, 9, 9],
                                     score=0.9)]))
    cfg = make_data_cfg(17, use_gt_bbox=False, bbox_file=str(dets))
    with pytest.raises(ValueError, match=rf"data_cfg.bbox_file '{dets}': detection 0 is for image "
                                         rf"id 4242, which the annotation file does not list"):
        build(mmpose_tests, 'TopDownCocoDataset', 'coco', 'test_coco.json', cfg)


def test_keypoint_count_mismatch_names_both_files(tmp_path, mmpose_tests, make_data_cfg):
    # CrowdPose annotations (14 keypoints) read as COCO (17)
    ann = mmpose_tests / 'crowdpose' / 'test_crowdpose.json'
    with pytest.raises(ValueError, match=rf"TopDownCocoDataset: keypoint count mismatch: "
                                         rf".*coco\.py defines 17 keypoints but ann_file "
                                         rf"'{ann}' has 14 \(category 'person'"):
        TopDownCocoDataset(str(ann), '', make_data_cfg(17), [])
    raw = json.loads(ann.read_text())
    del raw['categories'][0]['keypoints']
    edited = tmp_path / 'no_names.json'
    edited.write_text(json.dumps(raw))
    with pytest.raises(ValueError, match=r"coco\.py defines 17 keypoints but ann_file '.*"
                                         r"no_names\.json' annotation id 123803 has 42 keypoint "
                                         r"values \(14 keypoints\)"):
        TopDownCocoDataset(str(edited), '', make_data_cfg(17), [])
    # a file whose keypoint lists were cut to the metadata's length still says how many it had
    raw = json.loads((mmpose_tests / 'coco' / 'test_coco.json').read_text())
    raw['annotations'][4]['num_keypoints'] = 21
    edited.write_text(json.dumps(raw))
    with pytest.raises(ValueError, match=r"coco\.py defines 17 keypoints but ann_file '.*"
                                         r"no_names\.json' annotation id 460541 has "
                                         r"num_keypoints=21 labelled"):
        TopDownCocoDataset(str(edited), '', make_data_cfg(17), [])


def test_pipeline_errors_name_the_sample(mmpose_tests, make_data_cfg):
    def broken(results):
        raise FileNotFoundError('image is gone')

    ds = build(mmpose_tests, 'TopDownCocoDataset', 'coco', 'test_coco.json', make_data_cfg(17),
               pipeline=[broken])
    with pytest.raises(FileNotFoundError, match='image is gone') as info:
        ds[3]
    note = '\n'.join(info.value.__notes__)
    assert 'TopDownCocoDataset: while preparing sample 3' in note
    assert f"image {mmpose_tests / 'coco'}" in note
    assert f"annotation id {ds.record(3)['ann_id']}" in note
    ds.pipeline = lambda results: None
    with pytest.raises(RuntimeError, match=r'the pipeline returned None for sample 0 \(image '
                                           r'.*000000000785\.jpg \(image id 785\), annotation '
                                           r'id 442619\); a step dropped it'):
        ds[0]


def test_pipeline_with_its_own_crop_step(mmpose_tests, make_data_cfg, recwarn):
    # MMPose 0.26+ configs compute the crop in the pipeline; the dataset must not pad it too
    step = dict(type='TopDownGetBboxCenterScale', padding=1.25)
    ds = build(mmpose_tests, 'TopDownCocoDataset', 'coco', 'test_coco.json', make_data_cfg(17),
               test_mode=False, pipeline=[step])
    seed_style = build(mmpose_tests, 'TopDownCocoDataset', 'coco', 'test_coco.json',
                       make_data_cfg(17))
    assert ds.crop_from_pipeline and 'center' not in ds.record(0)
    for i in range(len(ds)):  # and no load-time shift: the pipeline has its own
        assert np.allclose(ds[i]['center'], seed_style[i]['center'])
        assert np.allclose(ds[i]['scale'], seed_style[i]['scale'])
    assert not [w for w in recwarn if 'center' in str(w.message)]


def test_dataset_pickles_for_worker_processes(mmpose_tests, make_data_cfg):
    ds = build(mmpose_tests, 'AnimalKingdomDataset', 'ak', 'test_animalkingdom.json',
               make_data_cfg(23))
    clone = pickle.loads(pickle.dumps(ds))
    a, b = ds[1], clone[1]
    assert a['image_file'] == b['image_file'] and np.array_equal(a['joints_3d'], b['joints_3d'])
    a['joints_3d'][:] = -1  # samples are copies: changing one leaves the dataset as it was
    assert not (ds[1]['joints_3d'] == -1).all()


def test_real_pipeline_yields_model_input(mmpose_tests, make_data_cfg):
    pipeline = [dict(type='LoadImageFromFile'), dict(type='TopDownAffine'),
                dict(type='ToTensor'),
                dict(type='NormalizeTensor', mean=[0.485, 0.456, 0.406],
                     std=[0.229, 0.224, 0.225]),
                dict(type='Collect', keys=['img'], meta_keys=['image_file', 'center', 'scale',
                                                              'rotation', 'bbox_score',
                                                              'flip_pairs'])]
    ds = build(mmpose_tests, 'AnimalZebraDataset', 'zebra', 'test_zebra.json', make_data_cfg(9),
               pipeline=pipeline)
    sample = ds[0]
    assert tuple(sample['img'].shape) == (3, 256, 192)
    assert sample['img_metas']['flip_pairs'] == [[3, 4], [5, 6]]
