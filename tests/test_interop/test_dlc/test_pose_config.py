"""pytorch_config.yaml / pose_cfg.yaml for every supported net type, against facts of DLC 3.0.2.

The expected files below are written out by hand from DeepLabCut 3.0.2's sources
(deeplabcut/pose_estimation_pytorch/config/): base/base.yaml, base/aug_default.yaml,
base/head_bodyparts.yaml, base/head_bodyparts_with_paf.yaml, backbones/<net>.yaml, merged by
make_pose_config.py (backbone runner sections replace base.yaml's optimizer/scheduler) and
dumped through pose.py's pydantic PoseConfig (field order = key order, defaults added). The
generated files were also compared byte for byte with files DeepLabCut 3.0.2 itself wrote for
the openfield and synthetic projects (all 8 net types; identical), outside this test suite.
"""
import copy

import pytest
import yaml

from posecfg.interop.dlc.pose_config import (NET_TYPES, build_pose_config, build_test_config,
                                             fill_placeholders, pose_config_text)
from posecfg.interop.dlc.yaml_io import dump_yaml, parse_yaml

BODYPARTS = ['snout', 'leftear', 'rightear', 'tailbase']
#: backbone + heatmap head net types (dekr/dlcrnet: test_pose_config_multianimal.py)
BACKBONE_NET_TYPES = [n for n in NET_TYPES if not n.startswith(('dekr', 'dlcrnet'))]

# data.train / data.inference: DataTransformationConfig's 17 fields (config/data.py) with
# aug_default.yaml's values
_TRANSFORM_KEYS = ['resize', 'longest_max_size', 'hflip', 'affine', 'random_bbox_transform',
                   'crop_sampling', 'hist_eq', 'motion_blur', 'covering', 'elastic_transform',
                   'grayscale', 'gaussian_noise', 'auto_padding', 'normalize_images',
                   'scale_to_unit_range', 'top_down_crop', 'collate']


def _transforms(**values):
    out = {k: None for k in _TRANSFORM_KEYS}
    out.update(hist_eq=False, motion_blur=False, normalize_images=True, scale_to_unit_range=False)
    out.update(values)
    return out


def expected_resnet50(root, pose_path):
    """The openfield project's resnet_50 pytorch_config.yaml, key by key, in file order."""
    head = {
        # base/head_bodyparts.yaml with num_bodyparts=4, backbone_output_channels=2048
        'type': 'HeatmapHead', 'weight_init': 'normal',
        'predictor': {'type': 'HeatmapPredictor', 'apply_sigmoid': False, 'clip_scores': True,
                      'location_refinement': True, 'locref_std': 7.2801},
        'target_generator': {'type': 'HeatmapGaussianGenerator', 'num_heatmaps': 4,
                             'pos_dist_thresh': 17, 'heatmap_mode': 'KEYPOINT',
                             'gradient_masking': False, 'generate_locref': True,
                             'locref_std': 7.2801},
        'criterion': {'heatmap': {'type': 'WeightedMSECriterion', 'weight': 1.0},
                      'locref': {'type': 'WeightedHuberCriterion', 'weight': 0.05}},
        'heatmap_config': {'channels': [2048, 4], 'kernel_size': [3], 'strides': [2]},
        'locref_config': {'channels': [2048, 8], 'kernel_size': [3], 'strides': [2]},
    }
    return {
        'config_version': 0,
        'model': {
            # backbones/resnet_50.yaml
            'backbone': {'type': 'ResNet', 'model_name': 'resnet50_gn', 'output_stride': 16,
                         'freeze_bn_stats': False, 'freeze_bn_weights': False},
            'heads': {'bodypart': head},
            'backbone_output_channels': 2048, 'neck': None, 'pose_model': None},
        'net_type': 'resnet_50', 'method': 'bu', 'device': 'auto',
        'metadata': {'project_path': str(root), 'pose_config_path': str(pose_path),
                     'bodyparts': BODYPARTS, 'unique_bodyparts': [],
                     'individuals': ['individual_1'], 'with_identity': None},
        'data': {
            # base/aug_default.yaml over DataConfig (config/data.py)
            'bbox_margin': 20, 'colormode': 'RGB', 'gen_sampling': None,
            'inference': _transforms(),
            'train': _transforms(
                affine={'p': 0.5, 'rotation': 30, 'scaling': [0.5, 1.25], 'translation': 0},
                crop_sampling={'width': 448, 'height': 448, 'max_shift': 0.1,
                               'method': 'hybrid'},
                motion_blur=True, gaussian_noise=12.75),
            'loader': None},
        'runner': {
            # base/base.yaml, optimizer/scheduler from backbones/resnet_50.yaml
            'type': 'PoseTrainingRunner', 'gpus': None, 'device': 'auto',
            'key_metric': 'test.mAP', 'key_metric_asc': True, 'eval_interval': 10,
            'optimizer': {'type': 'AdamW', 'params': {'lr': 0.0005}},
            'scheduler': {'type': 'LRListScheduler',
                          'params': {'lr_list': [[0.0001], [1e-05]], 'milestones': [90, 120]}},
            'snapshots': {'max_snapshots': 5, 'save_epochs': 25, 'save_optimizer_state': False},
            'snapshot_prefix': None, 'load_weights_only': None},
        'train_settings': {'batch_size': 8, 'dataloader_workers': 0,
                           'dataloader_pin_memory': False, 'display_iters': 500, 'epochs': 200,
                           'seed': 42, 'weight_init': None},
        'inference': {  # config/inference.py InferenceConfig defaults
            'multithreading': {'enabled': True, 'queue_length': 4, 'timeout': 30.0},
            'compile': {'enabled': False, 'backend': 'inductor'},
            'autocast': {'enabled': False}, 'conditions': None, 'snapshot': None,
            'eval': {'mode': 'all', 'pcutoff': 0.6, 'comparison_bodyparts': 'all',
                     'per_keypoint_evaluation': False, 'force_multi_animal': False},
            'output_dir': None},
        'logger': None, 'with_center_keypoints': False, 'detector': None,
        'resume_training_from': None,
    }


def expected_for(net, root, pose_path):
    cfg = expected_resnet50(root, pose_path)
    cfg['net_type'] = net
    model, head = cfg['model'], cfg['model']['heads']['bodypart']
    if net == 'resnet_101':  # backbones/resnet_101.yaml
        model['backbone']['model_name'] = 'resnet101'
        channels = 2048
    elif net.startswith('hrnet'):  # backbones/hrnet_w*.yaml
        width = int(net[len('hrnet_w'):])
        channels = width
        model['backbone'] = {'type': 'HRNet', 'model_name': net, 'freeze_bn_stats': True,
                             'freeze_bn_weights': False, 'interpolate_branches': False,
                             'increased_channel_count': False}
        for split in ('inference', 'train'):
            cfg['data'][split]['auto_padding'] = {'pad_width_divisor': 32,
                                                  'pad_height_divisor': 32}
        # no runner section in the hrnet files: base.yaml's optimizer and scheduler stay
        cfg['runner']['optimizer']['params']['lr'] = 0.0001
        cfg['runner']['scheduler']['params'] = {'lr_list': [[1e-05], [1e-06]],
                                                'milestones': [160, 190]}
    elif net.startswith('cspnext'):  # backbones/cspnext_*.yaml
        deepen, widen, channels = {'s': (0.33, 0.5, 512), 'm': (0.67, 0.75, 768),
                                   'x': (1.33, 1.25, 1280)}[net[-1]]
        model['backbone'] = {'type': 'CSPNeXt', 'model_name': net, 'freeze_bn_stats': False,
                             'freeze_bn_weights': False, 'deepen_factor': deepen,
                             'widen_factor': widen}
    else:
        channels = 2048
    model['backbone_output_channels'] = channels
    head['heatmap_config']['channels'] = [channels, 4]
    head['locref_config']['channels'] = [channels, 8]
    return cfg


def _ordered_items(obj):
    """Nested (key, value) lists: compares key order as well as values."""
    if isinstance(obj, dict):
        return [(k, _ordered_items(v)) for k, v in obj.items()]
    if isinstance(obj, list):
        return [_ordered_items(v) for v in obj]
    return (type(obj).__name__, obj)


@pytest.mark.parametrize('net', BACKBONE_NET_TYPES)
def test_pose_config_per_net_type(openfield, net):
    pose_path = openfield / f'dlc-models-pytorch/iteration-0/openfieldOct30-trainset95shuffle1/train/pytorch_config.yaml'
    with pytest.warns(UserWarning, match='multianimalproject'):
        cfg = build_pose_config(openfield / 'config.yaml', net, pose_config_path=pose_path)
    expected = expected_for(net, openfield, pose_path)
    assert _ordered_items(cfg) == _ordered_items(expected)
    text = pose_config_text(cfg)
    # the written text reads back (YAML 1.2) to the same data, keys in the same order
    assert _ordered_items(parse_yaml(text)) == _ordered_items(expected)
    # DeepLabCut's layout (ruamel round trip): comment, empty values, dashes at key column
    assert text.startswith('# Config schema version. Do not edit manually.\nconfig_version: 0\n'
                           'model:\n  backbone:\n')
    assert '\n  neck:\n  pose_model:\n' in text and text.endswith('\nresume_training_from:\n')
    assert '      lr_list:\n      - - ' in text and '        channels:\n        - ' in text
    test_cfg = build_test_config(cfg)
    assert dump_yaml(test_cfg) == (
        f'dataset: {openfield}\nnum_joints: 4\nall_joints:\n- - 0\n- - 1\n- - 2\n- - 3\n'
        'all_joints_names:\n- snout\n- leftear\n- rightear\n- tailbase\n'
        f'net_type: {net}\ndataset_type: multi-animal-imgaug\nglobal_scale: 1.0\n'
        'scoremap_dir: test\n')


def test_yaml_float_layout():
    # ruamel writes Python's repr, lower-case: 1e-05, not PyYAML's 1.0e-05
    assert dump_yaml({'a': [[1e-5], [0.0005]], 'b': None, 'c': {}, 'd': 30.0, 'e': 'x: y'}) == (
        "a:\n- - 1e-05\n- - 0.0005\nb:\nc: {}\nd: 30.0\ne: 'x: y'\n")
    assert yaml.safe_load('a: 1e-05')['a'] == '1e-05'  # why parse_yaml exists


def test_multianimal_pose_config(synthetic_ma):
    """Multi-animal default: backbone + DLCRNetHead with PAFs + unique-bodypart head
    (make_pose_config.py _create_backbone_with_paf_model, _add_unique_bodypart_head)."""
    cfg = build_pose_config(synthetic_ma, 'resnet_50')
    heads = cfg['model']['heads']
    assert list(heads) == ['bodypart', 'unique_bodypart']
    graph = [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]  # complete graph, 4 bodyparts
    assert heads['bodypart']['type'] == 'DLCRNetHead'
    assert heads['bodypart']['predictor'] == {
        'type': 'PartAffinityFieldPredictor', 'num_animals': 3, 'num_multibodyparts': 4,
        'num_uniquebodyparts': 0, 'nms_radius': 5, 'sigma': 1.0, 'locref_stdev': 7.2801,
        'min_affinity': 0.05, 'graph': graph, 'edges_to_keep': list(range(6)),
        'apply_sigmoid': True, 'clip_scores': False}
    gens = heads['bodypart']['target_generator']['generators']
    assert gens[0]['type'] == 'HeatmapPlateauGenerator' and gens[0]['num_heatmaps'] == 4
    assert gens[1] == {'type': 'PartAffinityFieldGenerator', 'graph': graph, 'width': 20}
    assert heads['bodypart']['paf_config']['channels'] == [2048, 12]  # num_limbs x 2
    assert heads['bodypart']['criterion']['heatmap']['type'] == 'WeightedBCECriterion'
    assert heads['bodypart']['num_stages'] == 5
    unique = heads['unique_bodypart']
    assert unique['target_generator']['num_heatmaps'] == 1
    assert list(unique['target_generator'])[-1] == 'label_keypoint_key'
    assert unique['target_generator']['label_keypoint_key'] == 'keypoints_unique'
    assert unique['locref_config']['channels'] == [2048, 2]
    assert 'method' in cfg and cfg['method'] == 'bu'
    assert cfg['metadata']['individuals'] == ['animal_0', 'animal_1', 'animal_2']
    assert cfg['metadata']['unique_bodyparts'] == ['unique_a']
    assert cfg['metadata']['with_identity'] is False
    assert build_test_config(cfg)['all_joints_names'] == ['a', 'b', 'c', 'd', 'unique_a']


def test_identity_head(synthetic_ma):
    cfg_file = synthetic_ma / 'config.yaml'
    cfg_file.write_text(cfg_file.read_text().replace('identity: false', 'identity: true'))
    heads = build_pose_config(synthetic_ma, 'hrnet_w32')['model']['heads']
    assert list(heads) == ['bodypart', 'unique_bodypart', 'identity']
    # base/head_identity.yaml with num_individuals=3, backbone_output_channels=32
    assert heads['identity'] == {
        'type': 'HeatmapHead',
        'predictor': {'type': 'IdentityPredictor', 'apply_sigmoid': True},
        'target_generator': {'type': 'HeatmapPlateauGenerator', 'num_heatmaps': 3,
                             'pos_dist_thresh': 17, 'heatmap_mode': 'INDIVIDUAL',
                             'gradient_masking': False, 'generate_locref': False},
        'criterion': {'heatmap': {'type': 'WeightedBCECriterion', 'weight': 1.0}},
        'heatmap_config': {'channels': [32, 3], 'kernel_size': [3], 'strides': [2]}}


def test_placeholders():
    # config/utils.py replace_default_values: names, "x", "+", "//"
    cfg = {'a': ['num_bodyparts', 'num_bodyparts x 2', 'num_bodyparts + 1'],
           'b': {'c': 'backbone_output_channels // 2', 'd': 'other'}}
    assert fill_placeholders(copy.deepcopy(cfg), num_bodyparts=5,
                             backbone_output_channels=64) == {
        'a': [5, 10, 6], 'b': {'c': 32, 'd': 'other'}}
    with pytest.raises(ValueError, match='num_individuals'):
        fill_placeholders({'a': 'num_individuals'}, num_individuals=None)


def test_unsupported_net_type(openfield):
    for net in ('rtmpose_m', 'top_down_resnet_50'):
        with pytest.raises(ValueError, match=f'{net}.*not supported.*resnet_50.*dekr_w32'), \
                pytest.warns(UserWarning):
            build_pose_config(openfield, net)
