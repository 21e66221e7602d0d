"""LPProjectDataset on the shared mirror-mouse project with its example config.

Oracles written out from Lightning Pose 2.4.3:

- the split (data/utils.py ``split_sizes_from_probabilities`` l. 17-73, datamodules.py
  ``BaseDataModule._setup`` l. 111-200): train = floor(train_prob N), val = floor(val_prob N),
  the rest test when >= 5 (else to train); members by ``torch.utils.data.random_split`` =
  ``torch.randperm(N, generator=torch.Generator().manual_seed(rng_seed_data_pt))`` cut in the
  order train, val, test;
- frames: ``PIL.Image.open(path).convert("RGB")`` (data/datasets.py l. 278);
- pixel error (metrics.py l. 47): ``np.linalg.norm(true - pred, axis=2)``, NaN where unlabelled.

Labels are read here independently with pandas.
"""
import math
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from PIL import Image

from posecfg.datasets import LPProjectDataset
from posecfg.datasets.project_base import ProjectDataError
from posecfg.evaluation.metrics import LPPixelErrorMetric
from posecfg.transforms.collate import pose_collate


@pytest.fixture
def mirror_mouse(shared_path):
    """(data_dir, the example config's data and training sections)."""
    data_dir = shared_path('lp-mirror-mouse')
    cfg = yaml.safe_load(shared_path('lp-configs', 'config_mirror-mouse-example.yaml')
                         .read_text())
    return data_dir, cfg


def build(data_dir, cfg, **kwargs):
    training = cfg['training']
    args = dict(data_dir=str(data_dir), csv_file=cfg['data']['csv_file'],
                train_prob=training['train_prob'], val_prob=training['val_prob'],
                train_frames=training['train_frames'],
                rng_seed_data_pt=training['rng_seed_data_pt'],
                keypoint_names=cfg['data'].get('keypoint_names'))
    args.update(kwargs)
    return LPProjectDataset(**args)


def lp_rule(n, train_prob, val_prob, seed):
    train, val = math.floor(train_prob * n), math.floor(val_prob * n)
    test = n - train - val
    if test < 5:
        train, test = train + test, 0
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    return perm[:train], perm[train:train + val], perm[train + val:]


def test_split_is_lightning_poses_frame_by_frame(mirror_mouse):
    data_dir, cfg = mirror_mouse
    training = cfg['training']
    assert training['train_frames'] == 1
    expected = lp_rule(90, training['train_prob'], training['val_prob'],
                       training['rng_seed_data_pt'])
    assert [len(e) for e in expected] == [72, 9, 9]
    for split, rows in zip(('train', 'val', 'test'), expected):
        ds = build(data_dir, cfg, split=split)
        assert len(ds) == len(rows)
        assert [ds.image_record(i)['image_id'] for i in range(len(ds))] == rows
    assert len(build(data_dir, cfg, split='all')) == 90
    # train_frames keeps the first train images in random_split's order
    few = build(data_dir, cfg, split='train', train_frames=10)
    assert [few.image_record(i)['image_id'] for i in range(10)] == expected[0][:10]


def test_records_equal_the_csv_row_by_row(mirror_mouse):
    data_dir, cfg = mirror_mouse
    ds = build(data_dir, cfg, split='all', test_mode=True)
    df = pd.read_csv(data_dir / cfg['data']['csv_file'], header=[0, 1, 2], index_col=0)
    values = df.to_numpy(dtype=np.float64).reshape(len(df), -1, 2)
    names = list(dict.fromkeys(df.columns.get_level_values(1)))
    assert ds.metainfo['keypoint_names'] == names and len(names) == 17
    assert ds.metainfo['flip_pairs'] == []
    assert np.isnan(values).any()  # the project has unlabelled keypoints
    for i, image in enumerate(df.index):
        rec = ds.image_record(i)
        assert rec['image_file'] == str(data_dir / image) and rec['image_id'] == i
        assert rec['keypoints'].shape == (1, 17, 2)  # one animal per frame
        labelled = ~np.isnan(values[i]).any(-1)
        np.testing.assert_array_equal(rec['keypoints_visible'][0], labelled)
        np.testing.assert_allclose(rec['keypoints'][0], np.nan_to_num(values[i], nan=0.0),
                                   atol=1e-4)
        pts = values[i][labelled]
        np.testing.assert_allclose(rec['bboxes'][0],
                                   [*pts.min(0), *(pts.max(0) - pts.min(0))], atol=1e-3)
        assert rec['img_shape'] == (406, 396)
    gt = ds.record(0)['gt']
    np.testing.assert_allclose(gt['keypoints'][0], np.nan_to_num(values[0]), atol=1e-4)


def test_grey_frames_load_as_lightning_pose_reads_them(mirror_mouse):
    data_dir, cfg = mirror_mouse
    pipeline = [dict(type='LoadImageFromFile'), dict(type='ToTensor'),
                dict(type='Collect', keys=['img', 'keypoints', 'keypoints_visible'],
                     meta_keys=['image_file', 'image_id'])]
    ds = build(data_dir, cfg, split='test', pipeline=pipeline, test_mode=True)
    batch = pose_collate([ds[i] for i in range(4)])
    assert batch['img'].shape == (4, 3, 406, 396) and batch['img'].dtype == torch.uint8
    first = batch['img_metas'][0]['image_file']
    with Image.open(first) as image:
        assert image.mode in ('L', 'P', 'LA')  # the project's frames are grey
        rgb = np.asarray(image.convert('RGB'))
    np.testing.assert_array_equal(batch['img'][0].permute(1, 2, 0).numpy(), rgb)
    assert len(batch['gt']) == 4 and batch['keypoints'][0].shape == (1, 17, 2)


def test_arguments_checked(mirror_mouse, tmp_path):
    data_dir, cfg = mirror_mouse
    names = list(cfg['data']['keypoint_names'])
    with pytest.raises(ProjectDataError, match='differ from the keypoints'):
        build(data_dir, cfg, keypoint_names=names[::-1])
    with pytest.raises(ProjectDataError, match='multi-view'):
        build(data_dir, cfg, csv_file=['a.csv', 'b.csv'])
    with pytest.raises(ProjectDataError, match='split must be one of'):
        build(data_dir, cfg, split='validation')
    with pytest.raises(ProjectDataError, match='TopDownGetBboxCenterScale'):
        build(data_dir, cfg, data_mode='topdown')
    crop = [dict(type='TopDownGetBboxCenterScale', padding=1.25)]
    top = build(data_dir, cfg, split='all', data_mode='topdown', pipeline=crop,
                image_size=[128, 128])
    assert len(top) == 90 and top[0]['joints_3d'].shape == (17, 3)
    # a frame without any label: N stays 1 in bottom-up, no top-down sample
    copy = tmp_path / 'mm'
    shutil.copytree(data_dir, copy, symlinks=True, ignore=shutil.ignore_patterns('videos'))
    csv = copy / cfg['data']['csv_file']
    lines = csv.read_text().splitlines()
    cells = lines[3 + 2].split(',')
    lines[3 + 2] = ','.join([cells[0]] + [''] * (len(cells) - 1))
    csv.write_text('\n'.join(lines) + '\n')
    bottom = build(copy, cfg, split='all', test_mode=True)
    rec = bottom.record(2)
    assert rec['keypoints_visible'].shape == (1, 17) and not rec['keypoints_visible'].any()
    assert rec['gt']['keypoints'].shape == (0, 17, 2)
    assert len(build(copy, cfg, split='all', data_mode='topdown', pipeline=crop,
                     image_size=[128, 128])) == 89


def test_metric_configs_and_pixel_error(mirror_mouse):
    data_dir, cfg = mirror_mouse
    ds_cfg = dict(type='LPProjectDataset', data_dir=str(data_dir), csv_file='CollectedData.csv')
    assert LPProjectDataset.metric_configs(['pixel_error', 'PCK'], ds_cfg)[0] == \
        dict(type='LPPixelErrorMetric')
    with pytest.raises(ValueError, match="'pixel_error'"):
        LPProjectDataset.metric_configs('RMSE', ds_cfg)

    ds = build(data_dir, cfg, split='test', test_mode=True)
    samples = [ds.record(i) for i in range(len(ds))]
    offsets = np.random.default_rng(0).normal(size=(len(samples), 17, 2)).astype(np.float32)
    preds = [dict(keypoints=s['gt']['keypoints'] + o[None], image_id=s['image_id'])
             for s, o in zip(samples, offsets)]
    metric = LPPixelErrorMetric(per_keypoint=True)
    metric.dataset_meta = ds.metainfo
    metric.process(dict(gt=[s['gt'] for s in samples]), preds)
    out = metric.compute_metrics(metric.results)
    visible = np.stack([s['gt']['keypoints_visible'][0] for s in samples]) > 0
    errors = np.where(visible, np.linalg.norm(offsets, axis=2), np.nan)
    assert out['pixel_error'] == pytest.approx(np.nanmean(errors), rel=1e-5)
    name = ds.metainfo['keypoint_names'][0]
    assert out[f'pixel_error_{name}'] == pytest.approx(np.nanmean(errors[:, 0]), rel=1e-5)


def test_visible_columns(tmp_path):
    # Lightning Pose >= 2.1.2: visible 2 = visible, 1 = occluded (uniform heatmap target),
    # 0 = not labelled; the flag takes precedence over coordinates (data/datasets.py)
    from posecfg.datasets.examples import write_tiny_lp_project

    root = write_tiny_lp_project(tmp_path / 'lp')
    rows = ['scorer,ex,ex,ex,ex,ex,ex', 'bodyparts,nose,nose,nose,tail,tail,tail',
            'coords,x,y,visible,x,y,visible']
    flags = [(2, 2), (1, 2), (2, 0), (0, 0), (2, 2)]
    for i, (a, b) in enumerate(flags):
        rows.append(f'labeled-data/img{i:02d}.png,{3 + i},4,{a},{10 + i},12.5,{b}')
    (root / 'CollectedData.csv').write_text('\n'.join(rows) + '\n')
    ds = LPProjectDataset(str(root), split='all', train_prob=0.6, val_prob=0.2)
    for i, (a, b) in enumerate(flags):
        rec = ds.image_record(i)
        assert rec['keypoints_visible'][0].tolist() == [float(a == 2), float(b == 2)]
        assert rec['keypoints'][0].tolist() == [[3 + i, 4], [10 + i, 12.5]]
