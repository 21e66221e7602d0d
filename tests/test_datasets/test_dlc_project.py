"""DLCProjectDataset on the shared DeepLabCut projects: split, labels, NaN, boxes, metainfo.

Oracles are written out here from DeepLabCut 3.0.2 (pose_estimation_pytorch/data/):

- dlcloader.py ``to_coco`` l. 438-454: a point is visible (flag 2) when labelled and strictly
  inside the image, ``0 < x < width`` and ``0 < y < height``; an individual with no visible point
  is no annotation (l. 456); unique bodyparts are the individual ``single``;
- dlcloader.py ``load_data`` l. 206-210 + base.py ``_compute_bboxes`` l. 370-383 + utils.py
  ``bbox_from_keypoints`` l. 31-76: box = visible points' min - margin, max + margin (margin
  ``data.bbox_margin``, default 20), clipped to [0, W] x [0, H], xywh; area = max(1, w h);
- dlcloader.py ``load_split``/``split_data`` l. 270-360: the Documentation pickle's indices,
  ``df.iloc[indices]`` in that order, on the training-datasets merged labels.

Labels are read here independently with pandas.
"""
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from posecfg.datasets import DLCProjectDataset
from posecfg.datasets.project_base import ProjectDataError
from posecfg.evaluation.metrics import DLCRMSEMetric
from posecfg.interop.dlc.create_dataset import create_training_dataset
from posecfg.transforms.collate import pose_collate
from tests.test_interop.test_dlc.conftest import openfield, synthetic_ma  # noqa: F401

TRAINSET = 'training-datasets/iteration-0/UnaugmentedDataSet_openfieldOct30'
OPENFIELD_CSV = 'labeled-data/m4s1/CollectedData_Pranav.csv'
BODYPARTS = ['snout', 'leftear', 'rightear', 'tailbase']
MARGIN = 20


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the openfield config's legacy keys without values
        return fn(*args, **kwargs)


def dataset(*args, **kwargs):
    return _quiet(DLCProjectDataset, *args, **kwargs)


def oracle_box(points, visible, width, height, margin=MARGIN):
    """DeepLabCut's bbox_from_keypoints for one individual, written out."""
    pts = points[visible > 0]
    if len(pts) == 0:
        x1 = y1 = x2 = y2 = 0.0
    else:
        x1, y1 = pts.min(0) - margin
        x2, y2 = pts.max(0) + margin
    x1, x2 = np.clip([x1, x2], 0, width)
    y1, y2 = np.clip([y1, y2], 0, height)
    return np.array([x1, y1, x2 - x1, y2 - y1]), max(1.0, (x2 - x1) * (y2 - y1))


def read_single_animal_csv(path):
    df = pd.read_csv(path, header=[0, 1, 2], index_col=0)
    values = df.to_numpy(dtype=np.float64).reshape(len(df), -1, 2)
    return list(df.index), values


def test_openfield_shuffle_split_and_records(openfield):
    created = _quiet(create_training_dataset, openfield / 'config.yaml', shuffle=1,
                     net_type='resnet_50', seed=0)
    train = dataset(openfield / 'config.yaml', shuffle=1, split='train')
    test = dataset(openfield / 'config.yaml', shuffle=1, split='test', test_mode=True)
    # the Documentation pickle, read with the standard unpickler (numpy arrays inside)
    with open(openfield / TRAINSET / 'Documentation_data-openfield_95shuffle1.pickle', 'rb') as f:
        _, train_idx, test_idx, fraction = pickle.load(f)
    assert fraction == 0.95 and len(train) == len(train_idx) == 110
    assert len(test) == len(test_idx) == 6
    assert [test.image_record(i)['image_id'] for i in range(6)] == list(test_idx)
    assert list(test_idx) == created.test_indices.tolist()
    assert train.metainfo['labels_file'].endswith(f'{TRAINSET}/CollectedData_Pranav.h5')

    merged = pd.read_hdf(openfield / TRAINSET / 'CollectedData_Pranav.h5')
    values = merged.to_numpy(dtype=np.float64).reshape(len(merged), 4, 2)
    for ds, indices in ((train, train_idx), (test, test_idx)):
        for i, row in enumerate(indices):
            rec = ds.image_record(i)
            assert rec['image_file'] == str(openfield.joinpath(*merged.index[row]))
            np.testing.assert_allclose(rec['keypoints'][0], values[row], rtol=0, atol=1e-4)
            assert rec['img_shape'] == (480, 640)
            box, area = oracle_box(values[row], np.ones(4), 640, 480)
            np.testing.assert_allclose(rec['bboxes'][0], box, atol=1e-3)
            assert rec['areas'][0] == pytest.approx(area, rel=1e-5)
    sample = test.record(0)
    assert sample['gt']['image_id'] == test_idx[0]
    np.testing.assert_allclose(sample['gt']['keypoints'][0], values[test_idx[0]], atol=1e-4)


def test_openfield_nan_and_outside_points(openfield):
    # the labels of labeled-data (no shuffle yet): blank one point, move one outside the image
    (openfield / 'labeled-data/m4s1/CollectedData_Pranav.h5').unlink()
    csv = openfield / OPENFIELD_CSV
    lines = csv.read_text().splitlines()
    cells = lines[3 + 5].split(',')
    cells[1] = cells[2] = ''               # img0005 snout: not labelled
    cells[7] = '640.0'                     # img0005 tailbase x: on the right edge, outside
    lines[3 + 5] = ','.join(cells)
    csv.write_text('\n'.join(lines) + '\n')

    ds = dataset(openfield / 'config.yaml', split='all')
    index, values = read_single_animal_csv(csv)
    assert len(ds) == len(index) == 116
    for i, name in enumerate(index):
        rec = ds.image_record(i)
        assert rec['image_id'] == i and rec['image_file'] == str(openfield / name)
        labelled = ~np.isnan(values[i]).any(-1)
        inside = labelled & (values[i, :, 0] > 0) & (values[i, :, 0] < 640) \
            & (values[i, :, 1] > 0) & (values[i, :, 1] < 480)
        np.testing.assert_array_equal(rec['keypoints_visible'][0], inside.astype(np.float32))
        np.testing.assert_allclose(rec['keypoints'][0], np.nan_to_num(values[i], nan=0.0),
                                   atol=1e-4)
        box, _ = oracle_box(values[i], inside, 640, 480)
        np.testing.assert_allclose(rec['bboxes'][0], box, atol=1e-3)
    rec = ds.image_record(5)
    assert rec['keypoints'][0, 0].tolist() == [0.0, 0.0]
    assert rec['keypoints_visible'][0].tolist() == [0, 1, 1, 0]
    assert rec['keypoints'][0, 3, 0] == 640.0  # kept, as DeepLabCut keeps it
    assert np.isfinite(rec['keypoints']).all()


def test_openfield_metainfo_and_options(openfield):
    ds = dataset(openfield / 'config.yaml', split='all')
    meta = ds.metainfo
    assert meta['keypoint_names'] == BODYPARTS
    assert meta['flip_pairs'] == [] and meta['skeleton_links'] == []  # skeleton: [] in config
    assert meta['pcutoff'] == 0.4 and meta['multi_animal'] is False
    assert meta['unique_keypoint_names'] == [] and meta['individuals'] == ['individual_1']
    flipped = dataset(openfield / 'config.yaml', split='all',
                      flip_pairs=[['leftear', 'rightear']], bbox_margin=0)
    assert flipped.metainfo['flip_indices'] == [0, 2, 1, 3]
    rec = flipped.image_record(0)
    pts = rec['keypoints'][0]
    np.testing.assert_allclose(rec['bboxes'][0, :2], pts.min(0), atol=1e-4)
    with pytest.raises(ProjectDataError, match='two different keypoints'):
        dataset(openfield / 'config.yaml', split='all', flip_pairs=[['snout', 'nose']])
    with pytest.raises(FileNotFoundError, match='no such shuffle'):
        dataset(openfield / 'config.yaml', shuffle=3, split='train')
    # an explicit split needs no shuffle files
    given = dataset(openfield / 'config.yaml', split='test', train_indices=list(range(100)),
                    test_indices=[105, 100, 101])
    assert [given.image_record(i)['image_id'] for i in range(3)] == [105, 100, 101]
    with pytest.raises(ProjectDataError, match='distinct rows'):
        dataset(openfield / 'config.yaml', split='test', train_indices=[0, 1],
                test_indices=[1, 200])
    with pytest.raises(ProjectDataError, match="split must be one of"):
        dataset(openfield / 'config.yaml', split='val')


def test_openfield_metric_configs(openfield):
    cfg = dict(type='DLCProjectDataset', project_config=str(openfield / 'config.yaml'))
    configs = _quiet(DLCProjectDataset.metric_configs, ['RMSE', 'mAP', 'PCK'], cfg)
    assert configs[0] == dict(type='DLCRMSEMetric', pcutoff=0.4, single_animal=True,
                              with_map=True)
    assert configs[1]['type'] == 'PCKAccuracy'
    assert _quiet(DLCProjectDataset.metric_configs, 'RMSE', cfg)[0]['with_map'] is False
    with pytest.raises(ValueError, match="'RMSE'"):
        _quiet(DLCProjectDataset.metric_configs, 'PCKh', cfg)
    ds = dataset(openfield / 'config.yaml', split='all')
    with pytest.raises(ValueError, match='test_mode=False'):
        ds.check_evaluator([dict(type='DLCRMSEMetric')])


def test_openfield_bottomup_pipeline_collates(openfield):
    pipeline = [dict(type='LoadImageFromFile'), dict(type='ToTensor'),
                dict(type='Collect', keys=['img', 'keypoints', 'keypoints_visible', 'bboxes'],
                     meta_keys=['image_file', 'image_id'])]
    ds = dataset(openfield / 'config.yaml', split='all', pipeline=pipeline, test_mode=True)
    batch = pose_collate([ds[i] for i in range(3)])
    assert batch['img'].shape == (3, 3, 480, 640) and batch['img'].dtype == torch.uint8
    assert [m['image_id'] for m in batch['img_metas']] == [0, 1, 2]
    assert len(batch['keypoints']) == 3 and batch['keypoints'][0].shape == (1, 4, 2)
    assert len(batch['gt']) == 3


def test_topdown_mode_needs_the_crop_step(openfield):
    with pytest.raises(ProjectDataError, match='TopDownGetBboxCenterScale'):
        dataset(openfield / 'config.yaml', split='all', data_mode='topdown')
    crop = [dict(type='TopDownGetBboxCenterScale', padding=1.25)]
    with pytest.raises(ProjectDataError, match='image_size'):
        dataset(openfield / 'config.yaml', split='all', data_mode='topdown', pipeline=crop)
    ds = dataset(openfield / 'config.yaml', split='all', data_mode='topdown', pipeline=crop,
                 image_size=[192, 256], heatmap_size=[48, 64])
    assert len(ds) == 116
    sample = ds[3]
    assert sample['joints_3d'].shape == (4, 3) and 'center' in sample and 'scale' in sample


def test_synthetic_multi_animal(synthetic_ma):
    ds = dataset(synthetic_ma / 'config.yaml', split='all', test_mode=True)
    df = pd.read_hdf(synthetic_ma / 'labeled-data/cat/CollectedData_synthetic.h5')
    df = df.sort_index()  # DeepLabCut's merge sorts the rows
    assert len(ds) == len(df)
    scorer = df.columns.get_level_values('scorer')[0]
    individuals = ['animal_0', 'animal_1', 'animal_2']
    meta = ds.metainfo
    assert meta['keypoint_names'] == ['a', 'b', 'c', 'd']
    assert meta['unique_keypoint_names'] == ['unique_a'] and meta['individuals'] == individuals
    dropped = 0
    for i, index in enumerate(df.index):
        rec = ds.image_record(i)
        h, w = rec['img_shape']
        expected_ids = []
        for n, ind in enumerate(individuals):
            pts = df.loc[index, (scorer, ind)].to_numpy(dtype=float).reshape(4, 2)
            labelled = ~np.isnan(pts).any(-1)
            inside = labelled & (pts[:, 0] > 0) & (pts[:, 0] < w) & (pts[:, 1] > 0) \
                & (pts[:, 1] < h)
            if not inside.any():
                dropped += 1
                continue
            j = len(expected_ids)
            expected_ids.append(n)
            np.testing.assert_allclose(rec['keypoints'][j], np.nan_to_num(pts), atol=1e-4)
            np.testing.assert_array_equal(rec['keypoints_visible'][j], inside)
            box, area = oracle_box(pts, inside, w, h)
            np.testing.assert_allclose(rec['bboxes'][j], box, atol=1e-3)
        assert rec['identities'].tolist() == expected_ids
        unique = df.loc[index, (scorer, 'single', 'unique_a')].to_numpy(dtype=float)
        np.testing.assert_allclose(rec['unique_keypoints'][0, 0], np.nan_to_num(unique),
                                   atol=1e-4)
        assert rec['unique_keypoints_visible'].shape == (1, 1)
        assert 'unique_keypoints' in ds.record(i)['gt']
    assert dropped > 0  # the project has individuals without labels (img0001's animal_0)
    configs = _quiet(DLCProjectDataset.metric_configs, 'mAP',
                     dict(project_config=str(synthetic_ma / 'config.yaml')))
    assert configs == [dict(type='DLCRMSEMetric', pcutoff=0.6, single_animal=False,
                            with_map=True)]


def test_dlc_rmse_metric_on_dataset_ground_truth(openfield):
    ds = dataset(openfield / 'config.yaml', split='all', test_mode=True)
    samples = [ds.record(i) for i in range(4)]
    metric = DLCRMSEMetric(pcutoff=0.5, per_keypoint=True)
    metric.dataset_meta = ds.metainfo
    preds = []
    for s in samples:
        kp = s['gt']['keypoints'] + np.array([3.0, 4.0], np.float32)  # 5 px off everywhere
        scores = np.array([[0.9, 0.9, 0.2, 0.9]], np.float32)
        preds.append(dict(keypoints=kp, keypoint_scores=scores, image_id=s['image_id']))
    metric.process(dict(gt=[s['gt'] for s in samples]), preds)
    out = metric.compute_metrics(metric.results)
    # mean Euclidean distance (DeepLabCut's "RMSE"): every point is 5 px off
    assert out['rmse'] == pytest.approx(5.0) and out['rmse_pcutoff'] == pytest.approx(5.0)
    assert out['rmse_snout'] == pytest.approx(5.0)
    # rmse_pcutoff leaves out the points scored below 0.5; make those the far ones
    metric = DLCRMSEMetric(pcutoff=0.5)
    for p in preds:
        p['keypoints'] = p['keypoints'].copy()
        p['keypoints'][0, 2] += np.array([6.0, 8.0], np.float32)  # 15 px off (3+6, 4+8)
    metric.process(dict(gt=[s['gt'] for s in samples]), preds)
    out = metric.compute_metrics(metric.results)
    assert out['rmse'] == pytest.approx((5 * 3 + 15) / 4)
    assert out['rmse_pcutoff'] == pytest.approx(5.0)


def test_dlc_rmse_metric_multi_animal_through_the_evaluator(synthetic_ma):
    from mmengine.evaluator import Evaluator

    ds = dataset(synthetic_ma / 'config.yaml', split='all', test_mode=True)
    samples = [ds.record(i) for i in range(6)]
    preds = []
    for s in samples:
        gt = s['gt']
        order = np.arange(len(gt['keypoints']))[::-1]  # any order: OKS matching pairs them
        preds.append(dict(keypoints=gt['keypoints'][order] + np.float32(3.0),
                          keypoint_scores=np.full(gt['keypoints_visible'][order].shape, 0.9,
                                                  np.float32),
                          unique_keypoints=gt['unique_keypoints'] + np.float32(4.0),
                          unique_keypoint_scores=np.full((1, 1), 0.3, np.float32),
                          image_id=s['image_id']))
    evaluator = Evaluator([DLCRMSEMetric(pcutoff=0.6, single_animal=False, with_map=True)])
    evaluator.dataset_meta = ds.metainfo
    evaluator.process(preds, dict(gt=[s['gt'] for s in samples]))
    out = evaluator.evaluate(len(samples))
    # every visible animal point is 3√2 px off, every unique point 4√2; unique points are
    # pooled into rmse (DeepLabCut's compute_rmse) but score 0.3 < pcutoff
    gts = [s['gt'] for s in samples]
    n_animal = sum(int(g['keypoints_visible'].sum()) for g in gts)
    n_unique = sum(int(g['unique_keypoints_visible'].sum()) for g in gts)
    assert n_animal > 0 and n_unique > 0
    expected = (3 * np.sqrt(2) * n_animal + 4 * np.sqrt(2) * n_unique) / (n_animal + n_unique)
    assert out['rmse'] == pytest.approx(expected, rel=1e-5)
    assert out['rmse_pcutoff'] == pytest.approx(3 * np.sqrt(2), rel=1e-5)
    assert set(out) == {'rmse', 'rmse_pcutoff', 'mAP', 'mAR'}
    assert 0 <= out['mAP'] <= 100
