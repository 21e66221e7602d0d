"""Multi-animal pytorch_config.yaml for every bottom-up net type, key by key (DeepLabCut 3.0.x).

Oracles written out from DeepLabCut's sources (mirror HEAD 2df0f46c8, ``version 3.0.1``; the
config folder is the same in 3.0.2), deeplabcut/pose_estimation_pytorch/config/:

* make_pose_config.py ``build_pose_config_defaults``: a backbone net type gets
  ``base/head_bodyparts_with_paf.yaml`` (``_create_backbone_with_paf_model``); ``dekr_*`` and
  ``dlcrnet_*`` read ``<arch>/<net_type>.yaml`` whole, placeholders filled everywhere (DLCRNet
  with the PAF parameters); then ``aug_default.yaml`` and ``base.yaml`` merged under it; a
  ``unique_bodypart`` head = ``base/head_bodyparts.yaml`` with ``num_bodyparts`` = number of
  unique bodyparts and ``label_keypoint_key: keypoints_unique`` (``_add_unique_bodypart_head``);
  an ``identity`` head = ``base/head_identity.yaml`` (``_add_identity_head``);
* paf_parameters.py: graph = every pair ``[i, j]``, i < j; ``num_limbs`` = its length;
  ``paf_edges_to_keep`` = ``paf_best`` or ``range(num_limbs)``;
* dlcrnet/dlcrnet_stride16_ms5.yaml, dlcrnet_stride32_ms5.yaml; dekr/dekr_w18.yaml, w32, w48;
* enums.py: ``dlcrnet_ms5`` is an alias of ``dlcrnet_stride16_ms5``.

The synthetic project: bodyparts a, b, c, d; individuals animal_0..2; unique bodypart unique_a.
"""
import pytest

from posecfg.interop.dlc.pose_config import NET_TYPES, build_pose_config, pose_config_text
from posecfg.interop.dlc.yaml_io import ConfigFileError, parse_yaml
from tests.test_interop.test_dlc.test_pose_config import _ordered_items, expected_resnet50

GRAPH = [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
INDIVIDUALS = ['animal_0', 'animal_1', 'animal_2']


def unique_head(channels):
    """base/head_bodyparts.yaml (the single-animal head of test_pose_config) for 1 unique
    bodypart, + label_keypoint_key."""
    head = expected_resnet50('', None)['model']['heads']['bodypart']
    head['target_generator'].update(num_heatmaps=1, label_keypoint_key='keypoints_unique')
    head['heatmap_config']['channels'] = [channels, 1]
    head['locref_config']['channels'] = [channels, 2]
    return head


def paf_head(mid, dlcrnet=False):
    """base/head_bodyparts_with_paf.yaml (or the dlcrnet files: no apply_sigmoid/clip_scores,
    no gradient_masking) for 4 bodyparts, 3 animals, 6 limbs; ``mid`` = deconv channels."""
    n = len(mid)
    predictor = {'type': 'PartAffinityFieldPredictor', 'num_animals': 3,
                 'num_multibodyparts': 4, 'num_uniquebodyparts': 0, 'nms_radius': 5,
                 'sigma': 1.0, 'locref_stdev': 7.2801, 'min_affinity': 0.05, 'graph': GRAPH,
                 'edges_to_keep': [0, 1, 2, 3, 4, 5]}
    plateau = {'type': 'HeatmapPlateauGenerator', 'num_heatmaps': 4, 'pos_dist_thresh': 17,
               'heatmap_mode': 'KEYPOINT', 'gradient_masking': False, 'generate_locref': True,
               'locref_std': 7.2801}
    if dlcrnet:
        del plateau['gradient_masking']
    else:
        predictor.update(apply_sigmoid=True, clip_scores=False)
    return {
        'type': 'DLCRNetHead', 'predictor': predictor,
        'target_generator': {'type': 'SequentialGenerator', 'generators': [
            plateau, {'type': 'PartAffinityFieldGenerator', 'graph': GRAPH, 'width': 20}]},
        'criterion': {'heatmap': {'type': 'WeightedBCECriterion', 'weight': 1.0},
                      'locref': {'type': 'WeightedHuberCriterion', 'weight': 0.05},
                      'paf': {'type': 'WeightedHuberCriterion', 'weight': 0.1}},
        'heatmap_config': {'channels': mid + [4], 'kernel_size': [3] * n, 'strides': [2] * n},
        'locref_config': {'channels': mid + [8], 'kernel_size': [3] * n, 'strides': [2] * n},
        'paf_config': {'channels': mid + [12], 'kernel_size': [3] * n, 'strides': [2] * n},
        'num_stages': 5,
    }


def dekr_head(width):
    c = 15 * width
    return {
        'type': 'DEKRHead', 'weight_init': 'dekr',
        'target_generator': {'type': 'DEKRGenerator', 'num_joints': 4, 'pos_dist_thresh': 17,
                             'bg_weight': 0.1},
        'criterion': {'heatmap': {'type': 'DEKRHeatmapLoss', 'weight': 1},
                      'offset': {'type': 'DEKROffsetLoss', 'weight': 0.03}},
        'predictor': {'type': 'DEKRPredictor', 'apply_sigmoid': False, 'use_heatmap': False,
                      'clip_scores': True, 'num_animals': 3, 'keypoint_score_type': 'combined',
                      'max_absorb_distance': 75, 'nms_threshold': 0.05, 'apply_pose_nms': True},
        'heatmap_config': {'channels': [c, width, 5], 'num_blocks': 1, 'dilation_rate': 1,
                           'final_conv_kernel': 1},
        'offset_config': {'channels': [c, 60, 4], 'num_offset_per_kpt': 15, 'num_blocks': 2,
                          'dilation_rate': 1, 'final_conv_kernel': 1},
    }


def expected(net, root):
    """The whole file for the synthetic project, in file order."""
    lr, milestones = ([[0.0001], [1e-05]], [90, 120])
    optimizer_lr = 0.0005
    padding = None
    data_train_padding = None
    center = False
    eval_interval = 10
    pose_model = None
    if net in ('resnet_50', 'resnet_101'):
        backbone = {'type': 'ResNet', 'model_name': 'resnet50_gn' if net == 'resnet_50'
                    else 'resnet101', 'output_stride': 16, 'freeze_bn_stats': False,
                    'freeze_bn_weights': False}
        channels, head = 2048, paf_head([2048])
    elif net.startswith('hrnet'):
        width = int(net[len('hrnet_w'):])
        backbone = {'type': 'HRNet', 'model_name': net, 'freeze_bn_stats': True,
                    'freeze_bn_weights': False, 'interpolate_branches': False,
                    'increased_channel_count': False}
        channels, head = width, paf_head([width])
        padding = data_train_padding = {'pad_width_divisor': 32, 'pad_height_divisor': 32}
        lr, milestones, optimizer_lr = [[1e-05], [1e-06]], [160, 190], 0.0001  # base.yaml
    elif net.startswith('dlcrnet'):
        stride = 16 if 'stride16' in net else 32
        backbone = {'type': 'DLCRNet', 'model_name': 'resnet50', 'pretrained': True,
                    'output_stride': stride}
        channels = 2304
        head = paf_head([2304] if stride == 16 else [2304, 1152], dlcrnet=True)
        lr, milestones, optimizer_lr = [[1e-05], [1e-06]], [160, 190], 0.0001  # base.yaml
        eval_interval, pose_model = 25, {'stride': 8}
    else:  # dekr
        width = int(net[len('dekr_w'):])
        backbone = {'type': 'HRNet', 'model_name': f'hrnet_w{width}', 'freeze_bn_stats': False,
                    'freeze_bn_weights': False, 'interpolate_branches': True,
                    'increased_channel_count': False}
        channels, head = 15 * width, dekr_head(width)
        padding = {'pad_width_divisor': 32, 'pad_height_divisor': 32}  # inference only
        center = True
    # the parts every bottom-up file shares (base.yaml, aug_default.yaml, pydantic defaults)
    cfg = expected_resnet50(root, None)
    cfg['model'] = {'backbone': backbone,
                    'heads': {'bodypart': head, 'unique_bodypart': unique_head(channels)},
                    'backbone_output_channels': channels, 'neck': None,
                    'pose_model': pose_model}
    cfg['net_type'] = net
    cfg['metadata'].update(pose_config_path=None, bodyparts=['a', 'b', 'c', 'd'], unique_bodyparts=['unique_a'],
                           individuals=INDIVIDUALS, with_identity=False)
    cfg['data']['inference']['auto_padding'] = padding
    cfg['data']['train']['auto_padding'] = data_train_padding
    runner = cfg['runner']
    runner['eval_interval'] = eval_interval
    runner['optimizer']['params']['lr'] = optimizer_lr
    runner['scheduler']['params'] = {'lr_list': lr, 'milestones': milestones}
    cfg['with_center_keypoints'] = center
    return cfg


MA_NETS = ['resnet_50', 'resnet_101', 'hrnet_w18', 'hrnet_w32', 'hrnet_w48',
           'dlcrnet_stride16_ms5', 'dlcrnet_stride32_ms5', 'dekr_w18', 'dekr_w32', 'dekr_w48']


def test_every_multi_animal_net_type_is_offered():
    assert set(MA_NETS) <= set(NET_TYPES)


@pytest.mark.parametrize('net', MA_NETS)
def test_multi_animal_pose_config_key_by_key(synthetic_ma, net):
    cfg = build_pose_config(synthetic_ma, net)
    assert _ordered_items(cfg) == _ordered_items(expected(net, synthetic_ma))
    # written and read back (YAML 1.2) unchanged, keys in the same order
    assert _ordered_items(parse_yaml(pose_config_text(cfg))) == _ordered_items(cfg)


def test_dlcrnet_alias(synthetic_ma):
    assert build_pose_config(synthetic_ma, 'dlcrnet_ms5')['net_type'] == 'dlcrnet_stride16_ms5'


@pytest.mark.parametrize('net', ['dekr_w32', 'dlcrnet_stride32_ms5'])
def test_identity_head_on_whole_model_files(synthetic_ma, net):
    cfg_file = synthetic_ma / 'config.yaml'
    cfg_file.write_text(cfg_file.read_text().replace('identity: false', 'identity: true'))
    cfg = build_pose_config(synthetic_ma, net)
    channels = 480 if net == 'dekr_w32' else 2304
    assert list(cfg['model']['heads']) == ['bodypart', 'unique_bodypart', 'identity']
    assert cfg['model']['heads']['identity'] == {
        'type': 'HeatmapHead',
        'predictor': {'type': 'IdentityPredictor', 'apply_sigmoid': True},
        'target_generator': {'type': 'HeatmapPlateauGenerator', 'num_heatmaps': 3,
                             'pos_dist_thresh': 17, 'heatmap_mode': 'INDIVIDUAL',
                             'gradient_masking': False, 'generate_locref': False},
        'criterion': {'heatmap': {'type': 'WeightedBCECriterion', 'weight': 1.0}},
        'heatmap_config': {'channels': [channels, 3], 'kernel_size': [3], 'strides': [2]}}
    assert cfg['metadata']['with_identity'] is True


def test_dekr_on_a_single_animal_project_and_dlcrnet_refused(openfield):
    with pytest.warns(UserWarning):
        cfg = build_pose_config(openfield, 'dekr_w18')
    head = cfg['model']['heads']['bodypart']
    assert head['predictor']['num_animals'] == 1  # ['individual_1']
    assert head['heatmap_config']['channels'] == [270, 18, 5]
    assert head['offset_config']['channels'] == [270, 60, 4]
    with pytest.raises(ConfigFileError, match='dlcrnet_stride16_ms5.*multi-animal'), \
            pytest.warns(UserWarning):
        build_pose_config(openfield, 'dlcrnet_stride16_ms5')
