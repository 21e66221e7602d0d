"""End to end: a tiny DEKR ``BottomUp`` with DeepLabCut's unique-bodypart and identity heads
learns on frames of the synthetic DeepLabCut multi-animal project (3 individuals, bodyparts a-d,
unique bodypart ``unique_a``) and predicts individuals, the unique bodypart and identities.

The heads are configured as DeepLabCut 3.0.2 writes them for a multi-animal shuffle
(config/dekr/dekr_w18.yaml's ``bodypart`` head, config/base/head_bodyparts.yaml with
``label_keypoint_key: keypoints_unique`` for ``unique_bodypart``, config/base/head_identity.yaml
for ``identity``), with small channel counts.
"""
import numpy as np
import pytest
import torch

from posecfg.registry import DATASETS, FUNCTIONS, MODELS
from tests.conftest import shared_path

pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py

K, U, INDIVIDUALS, C = 4, 1, 3, 24
SIZE = 96  # frames are 256 × 256: the model sees them at 3/8 of it
KEYS = ['img', 'keypoints', 'keypoints_visible', 'unique_keypoints', 'unique_keypoints_visible',
        'bboxes', 'identities']


def tiny_hrnet():
    """An HRNet of two branches (8 and 16 channels), DEKR's interpolated output: 24 channels
    at stride 4."""
    def stage(block, blocks, channels, **extra):
        return dict(num_modules=1, num_branches=len(channels), block=block,
                    num_blocks=blocks, num_channels=channels, **extra)
    return dict(type='HRNet', interpolate_branches=True, extra=dict(
        stage1=stage('BOTTLENECK', (1,), (8,)), stage2=stage('BASIC', (1, 1), (8, 16)),
        stage3=stage('BASIC', (1, 1), (8, 16)),
        stage4=stage('BASIC', (1, 1), (8, 16), multiscale_output=True)))


def heads():
    return dict(
        bodypart=dict(
            type='DEKRHead', weight_init='dekr',
            target_generator=dict(type='DEKRGenerator', num_joints=K, pos_dist_thresh=17,
                                  bg_weight=0.1),
            criterion=dict(heatmap=dict(type='DEKRHeatmapLoss', weight=1),
                           offset=dict(type='DEKROffsetLoss', weight=0.03)),
            predictor=dict(type='DEKRPredictor', apply_sigmoid=False, use_heatmap=False,
                           clip_scores=True, num_animals=INDIVIDUALS,
                           keypoint_score_type='combined', max_absorb_distance=75,
                           nms_threshold=0.05, apply_pose_nms=True),
            heatmap_config=dict(channels=[C, 8, K + 1], num_blocks=1, dilation_rate=1,
                                final_conv_kernel=1),
            offset_config=dict(channels=[C, K * 4, K], num_offset_per_kpt=4, num_blocks=1,
                               dilation_rate=1, final_conv_kernel=1)),
        unique_bodypart=dict(
            type='DLCHeatmapHead', weight_init='normal',
            predictor=dict(type='HeatmapPredictor', apply_sigmoid=False, clip_scores=True,
                           location_refinement=True, locref_std=7.2801),
            target_generator=dict(type='HeatmapGaussianGenerator', num_heatmaps=U,
                                  pos_dist_thresh=17, heatmap_mode='KEYPOINT',
                                  gradient_masking=False, generate_locref=True,
                                  locref_std=7.2801, label_keypoint_key='keypoints_unique'),
            criterion=dict(heatmap=dict(type='WeightedMSECriterion', weight=1.0),
                           locref=dict(type='WeightedHuberCriterion', weight=0.05)),
            heatmap_config=dict(channels=[C, U], kernel_size=[3], strides=[2]),
            locref_config=dict(channels=[C, 2 * U], kernel_size=[3], strides=[2])),
        identity=dict(
            type='DLCHeatmapHead',
            predictor=dict(type='IdentityPredictor', apply_sigmoid=True),
            target_generator=dict(type='HeatmapPlateauGenerator', num_heatmaps=INDIVIDUALS,
                                  pos_dist_thresh=17, heatmap_mode='INDIVIDUAL',
                                  gradient_masking=False, generate_locref=False),
            criterion=dict(heatmap=dict(type='WeightedBCECriterion', weight=1.0)),
            heatmap_config=dict(channels=[C, INDIVIDUALS], kernel_size=[3], strides=[2])))


def test_tiny_dekr_with_unique_and_identity_heads_learns_and_predicts():
    project = shared_path('dlc-synthetic-multianimal', 'config.yaml')
    pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', height=SIZE, width=SIZE),
                dict(type='NormalizeImage'), dict(type='ToTensor'),
                dict(type='Collect', keys=KEYS, meta_keys=['image_file', 'image_id',
                                                           'warp_mat'])]
    dataset = DATASETS.build(dict(type='DLCProjectDataset', project_config=str(project),
                                  split='all', pipeline=pipeline))
    frames = [0, 3]  # three individuals, and two
    torch.manual_seed(0)
    model = MODELS.build(dict(type='BottomUp', backbone=tiny_hrnet(), heads=heads()))
    batch = model.data_preprocessor(FUNCTIONS.get('pose_collate')(
        [dataset[i] for i in frames]), True)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    model.train()
    history = []
    for _ in range(25):
        losses = model(mode='loss', **batch)
        history.append({k: float(v.detach()) for k, v in losses.items()})
        optimizer.zero_grad()
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        optimizer.step()
    for name in ('bodypart_heatmap', 'unique_bodypart_heatmap', 'identity_heatmap'):
        assert history[-1][name] < 0.7 * history[0][name], name
    model.eval()
    with torch.no_grad():
        preds = model(mode='predict', **batch)
    for pred, frame in zip(preds, frames):
        record = dataset.image_record(frame)
        n = len(pred['keypoints'])
        assert 1 <= n <= INDIVIDUALS
        assert pred['keypoints'].shape == (n, K, 2) and pred['keypoint_scores'].shape == (n, K)
        # the unique bodypart, in original (256 px) pixels, from its own head
        assert pred['unique_keypoints'].shape == (1, U, 2)
        assert pred['unique_keypoint_scores'].shape == (1, U)
        assert np.abs(pred['unique_keypoints'] - record['unique_keypoints']).max() < 24
        # identities: one per pose, distinct, with the identity maps' scores at each keypoint
        assert pred['identity_scores'].shape == (n, K, INDIVIDUALS)
        assert sorted(pred['identities'].tolist()) == sorted(set(pred['identities'].tolist()))
        assert ((pred['identity_scores'] >= 0) & (pred['identity_scores'] <= 1)).all()
        assert 'identity' not in pred and 'unique_bodypart' not in pred
        # every labelled individual has a pose whose centre is within 16 px of its own
        found = pred['keypoints'].mean(1)
        for centre in record['keypoints'].mean(1):
            assert np.linalg.norm(found - centre, axis=1).min() < 16


def test_identity_scores_order_the_instances_by_identity():
    """DeepLabCut's PredictKeypointIdentities + AssignIndividualIdentities
    (data/postprocessor.py:474-545): the identity maps at each keypoint, the assignment, and the
    predictions reordered so that row i is identity i."""
    model = MODELS.build(dict(type='BottomUp', backbone=tiny_hrnet(), heads=heads()))
    maps = np.zeros((40, 40, INDIVIDUALS), np.float32)
    maps[:20, :, 2] = 0.9  # identity 2 lives in the top half, identity 0 in the bottom half
    maps[20:, :, 0] = 0.8
    maps[:, :, 1] = 0.1
    top = np.full((K, 2), [10.0, 5.0])
    bottom = np.full((K, 2), [10.0, 30.0])
    per_head = dict(
        bodypart=dict(keypoints=np.stack([top, bottom]).astype(np.float32),
                      keypoint_scores=np.array([[1.0] * K, [0.5] * K], np.float32)),
        unique_bodypart=dict(unique_keypoints=np.zeros((1, U, 2), np.float32),
                             unique_keypoint_scores=np.ones((1, U), np.float32)),
        identity=dict(identity_maps=torch.from_numpy(maps)))
    out = model.combine_heads(per_head)
    first = out['bodypart']
    assert first['identities'].tolist() == [0, 2]
    np.testing.assert_array_equal(first['keypoints'][0], bottom)
    np.testing.assert_array_equal(first['keypoint_scores'][:, 0], [0.5, 1.0])
    np.testing.assert_allclose(first['identity_scores'][1, 0], [0, 0.1, 0.9])
    packed = model.pack(out, dict(image_file='a.png', image_id=3))
    assert 'identity' not in packed and 'unique_bodypart' not in packed
    assert packed['unique_keypoints'].shape == (1, U, 2)
    assert packed['identities'].tolist() == [0, 2] and packed['bboxes'].shape == (2, 4)
