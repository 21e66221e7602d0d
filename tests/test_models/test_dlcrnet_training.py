"""A BottomUp model with DLCRNetHead learns from multi-animal records of DeepLabCut's synthetic
multi-animal project (3 individuals, bodyparts a-d) and predicts individuals on them."""
import cv2
import numpy as np
import pytest
import torch

import posecfg.engine.registration  # noqa: F401
from posecfg.registry import MODELS
from tests.conftest import shared_path

pytestmark = pytest.mark.usefixtures('one_thread')

GRAPH = [[0, 1], [1, 2], [2, 3]]
SCALE = 0.5  # 256 px frames → 128 px inputs


def tiny_paf_model(num_animals=3, k=4):
    head = dict(
        type='DLCRNetHead',
        predictor=dict(type='PartAffinityFieldPredictor', num_animals=num_animals,
                       num_multibodyparts=k, num_uniquebodyparts=0, graph=GRAPH,
                       edges_to_keep=[0, 1, 2], nms_radius=5, sigma=1.0, locref_stdev=7.2801,
                       min_affinity=0.05, apply_sigmoid=True, clip_scores=False),
        target_generator=dict(type='SequentialGenerator', generators=[
            dict(type='HeatmapPlateauGenerator', num_heatmaps=k, pos_dist_thresh=8,
                 heatmap_mode='KEYPOINT', generate_locref=True, locref_std=7.2801),
            dict(type='PartAffinityFieldGenerator', graph=GRAPH, width=8)]),
        criterion=dict(heatmap=dict(type='WeightedBCECriterion', weight=1.0),
                       locref=dict(type='WeightedHuberCriterion', weight=0.05),
                       paf=dict(type='WeightedHuberCriterion', weight=0.1)),
        heatmap_config=dict(channels=[64, k], kernel_size=[3], strides=[2]),
        locref_config=dict(channels=[64, 2 * k], kernel_size=[3], strides=[2]),
        paf_config=dict(channels=[64, 2 * len(GRAPH)], kernel_size=[3], strides=[2]),
        num_stages=2, features_dim=16)
    backbone = dict(type='ResNet', depth=18, base_channels=16, stem_channels=16, num_stages=3,
                    strides=(1, 2, 2), dilations=(1, 1, 1), out_indices=(2,))
    return MODELS.build(dict(type='BottomUp', backbone=backbone, heads=dict(bodypart=head)))


def synthetic_batch(frames=(0, 1)):
    from posecfg.datasets import DLCProjectDataset
    config = shared_path('dlc-synthetic-multianimal', 'config.yaml')
    dataset = DLCProjectDataset(config, split='all')
    images, keypoints, visible = [], [], []
    for i in frames:
        record = dataset.image_record(i)
        image = cv2.cvtColor(cv2.imread(record['image_file']), cv2.COLOR_BGR2RGB)
        image = cv2.resize(image, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_AREA)
        images.append(torch.from_numpy(image).permute(2, 0, 1).float() / 255 - 0.5)
        # pixel centres at whole numbers: x' = (x + 0.5) s - 0.5
        keypoints.append(((record['keypoints'] + 0.5) * SCALE - 0.5).astype(np.float32))
        visible.append(record['keypoints_visible'])
    return torch.stack(images), keypoints, visible


def test_dlcrnet_head_trains_on_multi_animal_records_and_predicts_individuals():
    torch.manual_seed(0)
    model = tiny_paf_model()
    model.init_weights()
    img, keypoints, visible = synthetic_batch()
    assert [len(k) for k in keypoints] == [3, 2]  # frame 1 lacks an individual
    metas = [dict(image_file=f'{i}.png', image_id=i) for i in range(len(img))]
    batch = dict(keypoints=keypoints, keypoints_visible=visible, img_metas=metas)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    losses = []
    for _ in range(40):
        out = model(img, mode='loss', **batch)
        assert {'total_loss', 'heatmap', 'locref', 'paf'} <= set(out)
        optimizer.zero_grad()
        out['total_loss'].backward()
        optimizer.step()
        losses.append(float(out['total_loss']))
    assert losses[-1] < 0.5 * losses[0], losses
    model.eval()
    with torch.no_grad():
        preds = model(img, mode='predict', img_metas=metas)
    assert len(preds) == 2
    for pred, truth in zip(preds, keypoints):
        points, scores = pred['keypoints'], pred['keypoint_scores']
        assert points.dtype == np.float32 and points.shape[1:] == (4, 2)
        assert scores.shape == points.shape[:2] and len(points) <= 3
        assert len(points) >= 1, 'no individual found'
        # every keypoint found lies on a labelled keypoint of the same bodypart (grouping is
        # tested on constructed maps in tests/test_codecs/test_paf_assembly.py: bodyparts a-d of
        # this project are ~1 heatmap cell apart, too close for PAFs to tell animals apart)
        found = scores > 0.1
        assert found.sum() >= 3
        distance = np.linalg.norm(points[:, None] - truth[None], axis=-1).min(axis=1)  # (N, K)
        assert (distance[found] < 4).all(), distance


def test_predicts_under_a_bf16_autocast_forward():
    """runtime.autocast='auto' evaluates under a bfloat16 autocast on CPUs with native bf16:
    the head's maps come out bfloat16, and the PAF assembly (its smoothing convolution, numpy)
    must still run in float32 (it crashed on 'unsupported ScalarType BFloat16')."""
    torch.manual_seed(0)
    model = tiny_paf_model()
    model.init_weights()
    model.eval()
    img = torch.rand(2, 3, 64, 64) - 0.5
    metas = [dict(image_file=f'{i}.png', image_id=i) for i in range(2)]
    with torch.no_grad():
        plain = model(img, mode='predict', img_metas=metas)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            assert model(img, mode='tensor')['heatmap'].dtype == torch.bfloat16
            reduced = model(img, mode='predict', img_metas=metas)
    for a, b in zip(plain, reduced):
        assert b['keypoints'].dtype == np.float32 and b['keypoints'].shape == a['keypoints'].shape


def test_a_keypoint_missing_from_an_assembly_stays_nan_with_score_zero(monkeypatch):
    """DeepLabCut 3 (core/inferenceutils.py Assembly: data starts NaN, its confidence setter
    zeroes column 2; paf_predictor.py copies it to ``poses``) keeps NaN x, y and likelihood 0
    for a keypoint an assembled individual lacks; the prediction keeps them (no (0, 0) point)
    and its box spans the keypoints it has."""
    model = tiny_paf_model()
    model.eval()
    poses = -np.ones((1, 3, 4, 5), np.float32)  # DeepLabCut's -1: individuals not found
    poses[0, 0] = [[10, 20, .9, -1, .7], [30, 24, .8, -1, .7], [40, 50, .7, -1, .7],
                   [np.nan, np.nan, 0, np.nan, .7]]

    class Assembled:
        def predict_poses(self, outputs):
            return dict(poses=poses, found=np.array([[True, False, False]]))

    monkeypatch.setattr(model.bodypart.predictor, 'at', lambda stride: Assembled())
    with torch.no_grad():
        pred, = model(torch.zeros(1, 3, 64, 64), mode='predict',
                      img_metas=[dict(image_file='0.png', image_id=0)])
    assert pred['keypoints'].shape == (1, 4, 2)
    assert np.isnan(pred['keypoints'][0, 3]).all() and pred['keypoint_scores'][0, 3] == 0
    np.testing.assert_allclose(pred['keypoints'][0, :3], [[10, 20], [30, 24], [40, 50]])
    np.testing.assert_allclose(pred['bboxes'], [[10, 20, 30, 30]])
    np.testing.assert_allclose(pred['individual_affinities'], [.7])
