"""Degenerate annotation files fail before training, naming the file and what emptied it; every
dropped instance and masked keypoint is counted in one log line with annotation ids."""
import json

import numpy as np
import pytest

from posecfg.registry import DATASETS

K = 17  # COCO


def keypoints(labelled=((10, 20),), nan_at=(), v=2):
    values = [0.0] * (3 * K)
    for i, (x, y) in enumerate(labelled):
        values[3 * i:3 * i + 3] = [x, y, v]
    for i in nan_at:
        values[3 * i:3 * i + 3] = [float('nan'), 5.0, 2]
    return values


def coco_file(tmp_path, annotations, images=None, drop=()):
    data = dict(images=images or [dict(id=1, file_name='a.jpg', width=100, height=80)],
                annotations=annotations, categories=[dict(id=1, name='person')])
    for key in drop:
        del data[key]
    path = tmp_path / 'ann.json'
    path.write_text(json.dumps(data))  # NaN is written as the JSON extension NaN
    return str(path)


def ann(i, kps, bbox=(5, 5, 50, 50), iscrowd=0):
    return dict(id=i, image_id=1, category_id=1, keypoints=kps, bbox=list(bbox), area=2500,
                num_keypoints=1, iscrowd=iscrowd)


def build(path, make_data_cfg, test_mode=False, **data_cfg):
    return DATASETS.build(dict(type='TopDownCocoDataset', ann_file=path, img_prefix='',
                               data_cfg=make_data_cfg(K, **data_cfg), pipeline=[],
                               test_mode=test_mode))


def test_a_file_without_annotations_is_named(tmp_path, make_data_cfg):
    path = coco_file(tmp_path, [], drop=['annotations'])
    with pytest.raises(ValueError, match=rf"ann_file '{path}' has no 'annotations' list"):
        build(path, make_data_cfg)


def test_a_file_without_images_is_named(tmp_path, make_data_cfg):
    path = coco_file(tmp_path, [], drop=['images'])
    with pytest.raises(ValueError, match=rf"ann_file '{path}' has no 'images' list"):
        build(path, make_data_cfg)


def test_an_empty_annotation_list_is_an_error(tmp_path, make_data_cfg):
    path = coco_file(tmp_path, [])
    with pytest.raises(ValueError, match=r"leaves no instance to use: its 'annotations' list "
                                         r'is empty \(1 images\)'):
        build(path, make_data_cfg)


def test_a_dataset_emptied_by_the_filters_says_which(tmp_path, make_data_cfg):
    path = coco_file(tmp_path, [ann(7, keypoints(), iscrowd=1),
                                ann(8, keypoints(labelled=())),
                                ann(9, keypoints(), bbox=(200, 200, 10, 10))])
    with pytest.raises(ValueError) as e:
        build(path, make_data_cfg)
    message = str(e.value)
    assert f"ann_file '{path}' leaves no instance to use: of its 3 annotations" in message
    assert ('skipped 1 without any labelled keypoint (annotation ids 8), 1 crowd (annotation '
            'ids 7), 1 with an empty box (annotation ids 9)') in message


def test_nan_and_outside_keypoints_are_masked_and_counted(tmp_path, make_data_cfg,
                                                          log_messages):
    path = coco_file(tmp_path, [
        ann(1, keypoints(labelled=((10, 20), (30, 40)), nan_at=(5, 6))),
        ann(2, keypoints(labelled=((10, 20), (-3, 40), (30, 95)))),  # 2 outside a 100x80 image
        ann(3, keypoints(labelled=((99.4, 79.4),))),  # inside: pixel centres reach W-1, H-1
    ])
    dataset = build(path, make_data_cfg)
    assert len(dataset) == 3
    lines = [m for m in log_messages if m.startswith('TopDownCocoDataset: kept 3 of 3')]
    assert len(lines) == 1, log_messages
    assert 'masked 2 keypoints that were not finite (NaN/inf) (annotation ids 1)' in lines[0]
    assert 'masked 2 keypoints labelled outside the image (annotation ids 2)' in lines[0]
    first, second = dataset.record(0), dataset.record(1)
    assert np.isfinite(first['joints_3d']).all()
    assert first['joints_3d_visible'][:, 0].tolist()[:7] == [1, 1, 0, 0, 0, 0, 0]
    assert second['joints_3d_visible'][:3, 0].tolist() == [1, 0, 0]
    assert second['joints_3d'][1].tolist() == [0, 0, 0]


def test_detections_all_below_the_threshold_are_an_error(tmp_path, make_data_cfg):
    path = coco_file(tmp_path, [ann(1, keypoints())])
    dets = tmp_path / 'dets.json'
    dets.write_text(json.dumps([dict(image_id=1, category_id=1, bbox=[0, 0, 10, 10],
                                     score=0.2)]))
    with pytest.raises(ValueError, match=r'none of its 1 detections is of a category in \[1\] '
                                         r'with score >= data_cfg.det_bbox_thr=0.5'):
        build(path, make_data_cfg, test_mode=True, use_gt_bbox=False, bbox_file=str(dets),
              det_bbox_thr=0.5)
