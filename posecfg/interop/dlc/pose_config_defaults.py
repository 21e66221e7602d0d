"""The defaults DeepLabCut 3.0.2 builds a ``pytorch_config.yaml`` from, as data.

Each constant restates one of DeepLabCut's YAML sources under
``deeplabcut/pose_estimation_pytorch/config/`` (identical in 3.0.1 and 3.0.2): same keys, same
order, same values, with the YAML 1.2 reading DeepLabCut applies (``5e-4`` is the float
0.0005). Strings such as ``'num_bodyparts x 2'`` are DeepLabCut's placeholders, filled in by
:func:`~.pose_config.fill_placeholders` as ``config/utils.py replace_default_values`` does.

The schema constants restate the pydantic models DeepLabCut 3.0.2 validates and dumps the file
through (``config/pose.py`` ``PoseConfig`` and the classes it nests): the order of their fields
is the order of the keys in the written file, and their defaults fill keys the YAML sources do
not set. A mapping-valued field (``model.backbone``, ``runner.optimizer.params``, ...) is kept
as built.
"""
from __future__ import annotations

from typing import Any, Dict

# -- config/base/base.yaml --------------------------------------------------------------------
BASE = {
    'device': 'auto',
    'method': 'bu',
    'runner': {
        'type': 'PoseTrainingRunner',
        'gpus': None,
        'key_metric': 'test.mAP',
        'key_metric_asc': True,
        'eval_interval': 10,
        'optimizer': {'type': 'AdamW', 'params': {'lr': 0.0001}},
        'scheduler': {'type': 'LRListScheduler',
                      'params': {'lr_list': [[1e-5], [1e-6]], 'milestones': [160, 190]}},
        'snapshots': {'max_snapshots': 5, 'save_epochs': 25, 'save_optimizer_state': False},
    },
    'train_settings': {
        'batch_size': 8, 'dataloader_workers': 0, 'dataloader_pin_memory': False,
        'display_iters': 500, 'epochs': 200, 'seed': 42,
    },
}

# -- config/base/aug_default.yaml (bottom-up models) -----------------------------------------
AUG_DEFAULT = {
    'bbox_margin': 20,
    'colormode': 'RGB',
    'inference': {'normalize_images': True},
    'train': {
        'affine': {'p': 0.5, 'rotation': 30, 'scaling': [0.5, 1.25], 'translation': 0},
        'crop_sampling': {'width': 448, 'height': 448, 'max_shift': 0.1, 'method': 'hybrid'},
        'gaussian_noise': 12.75,
        'motion_blur': True,
        'normalize_images': True,
    },
}

# -- config/base/head_bodyparts.yaml ------------------------------------------------------------
HEAD_BODYPARTS = {
    'type': 'HeatmapHead',
    'weight_init': 'normal',
    'predictor': {'type': 'HeatmapPredictor', 'apply_sigmoid': False, 'clip_scores': True,
                  'location_refinement': True, 'locref_std': 7.2801},
    'target_generator': {'type': 'HeatmapGaussianGenerator', 'num_heatmaps': 'num_bodyparts',
                         'pos_dist_thresh': 17, 'heatmap_mode': 'KEYPOINT',
                         'gradient_masking': False, 'generate_locref': True,
                         'locref_std': 7.2801},
    'criterion': {'heatmap': {'type': 'WeightedMSECriterion', 'weight': 1.0},
                  'locref': {'type': 'WeightedHuberCriterion', 'weight': 0.05}},
    'heatmap_config': {'channels': ['backbone_output_channels', 'num_bodyparts'],
                       'kernel_size': [3], 'strides': [2]},
    'locref_config': {'channels': ['backbone_output_channels', 'num_bodyparts x 2'],
                      'kernel_size': [3], 'strides': [2]},
}

# -- config/base/head_bodyparts_with_paf.yaml (multi-animal bottom-up) --------------------------
HEAD_BODYPARTS_WITH_PAF = {
    'type': 'DLCRNetHead',
    'predictor': {'type': 'PartAffinityFieldPredictor', 'num_animals': 'num_individuals',
                  'num_multibodyparts': 'num_bodyparts', 'num_uniquebodyparts': 0,
                  'nms_radius': 5, 'sigma': 1.0, 'locref_stdev': 7.2801, 'min_affinity': 0.05,
                  'graph': 'paf_graph', 'edges_to_keep': 'paf_edges_to_keep',
                  'apply_sigmoid': True, 'clip_scores': False},
    'target_generator': {'type': 'SequentialGenerator', 'generators': [
        {'type': 'HeatmapPlateauGenerator', 'num_heatmaps': 'num_bodyparts',
         'pos_dist_thresh': 17, 'heatmap_mode': 'KEYPOINT', 'gradient_masking': False,
         'generate_locref': True, 'locref_std': 7.2801},
        {'type': 'PartAffinityFieldGenerator', 'graph': 'paf_graph', 'width': 20},
    ]},
    'criterion': {'heatmap': {'type': 'WeightedBCECriterion', 'weight': 1.0},
                  'locref': {'type': 'WeightedHuberCriterion', 'weight': 0.05},
                  'paf': {'type': 'WeightedHuberCriterion', 'weight': 0.1}},
    'heatmap_config': {'channels': ['backbone_output_channels', 'num_bodyparts'],
                       'kernel_size': [3], 'strides': [2]},
    'locref_config': {'channels': ['backbone_output_channels', 'num_bodyparts x 2'],
                      'kernel_size': [3], 'strides': [2]},
    'paf_config': {'channels': ['backbone_output_channels', 'num_limbs x 2'],
                   'kernel_size': [3], 'strides': [2]},
    'num_stages': 5,
}

# -- config/base/head_identity.yaml -------------------------------------------------------------
HEAD_IDENTITY = {
    'type': 'HeatmapHead',
    'predictor': {'type': 'IdentityPredictor', 'apply_sigmoid': True},
    'target_generator': {'type': 'HeatmapPlateauGenerator', 'num_heatmaps': 'num_individuals',
                         'pos_dist_thresh': 17, 'heatmap_mode': 'INDIVIDUAL',
                         'gradient_masking': False, 'generate_locref': False},
    'criterion': {'heatmap': {'type': 'WeightedBCECriterion', 'weight': 1.0}},
    'heatmap_config': {'channels': ['backbone_output_channels', 'num_individuals'],
                       'kernel_size': [3], 'strides': [2]},
}


# -- config/backbones/<net_type>.yaml -----------------------------------------------------------
def _resnet(model_name: str) -> Dict[str, Any]:
    # backbones/resnet_50.yaml, resnet_101.yaml
    return {
        'model': {'backbone': {'type': 'ResNet', 'model_name': model_name, 'output_stride': 16,
                               'freeze_bn_stats': False, 'freeze_bn_weights': False},
                  'backbone_output_channels': 2048},
        'runner': {'optimizer': {'type': 'AdamW', 'params': {'lr': 5e-4}},
                   'scheduler': {'type': 'LRListScheduler',
                                 'params': {'lr_list': [[1e-4], [1e-5]],
                                            'milestones': [90, 120]}}},
    }


def _hrnet(width: int) -> Dict[str, Any]:
    # backbones/hrnet_w18.yaml, hrnet_w32.yaml, hrnet_w48.yaml (no runner section)
    padding = {'pad_width_divisor': 32, 'pad_height_divisor': 32}
    return {
        'data': {'inference': {'auto_padding': dict(padding)},
                 'train': {'auto_padding': dict(padding)}},
        'model': {'backbone': {'type': 'HRNet', 'model_name': f'hrnet_w{width}',
                               'freeze_bn_stats': True, 'freeze_bn_weights': False,
                               'interpolate_branches': False, 'increased_channel_count': False},
                  'backbone_output_channels': width},
    }


def _cspnext(size: str, deepen: float, widen: float, channels: int) -> Dict[str, Any]:
    # backbones/cspnext_s.yaml, cspnext_m.yaml, cspnext_x.yaml
    return {
        'model': {'backbone': {'type': 'CSPNeXt', 'model_name': f'cspnext_{size}',
                               'freeze_bn_stats': False, 'freeze_bn_weights': False,
                               'deepen_factor': deepen, 'widen_factor': widen},
                  'backbone_output_channels': channels},
        'runner': {'optimizer': {'type': 'AdamW', 'params': {'lr': 5e-4}},
                   'scheduler': {'type': 'LRListScheduler',
                                 'params': {'lr_list': [[1e-4], [1e-5]],
                                            'milestones': [90, 120]}}},
    }


BACKBONES: Dict[str, Dict[str, Any]] = {
    'resnet_50': _resnet('resnet50_gn'),
    'resnet_101': _resnet('resnet101'),
    'hrnet_w18': _hrnet(18),
    'hrnet_w32': _hrnet(32),
    'hrnet_w48': _hrnet(48),
    'cspnext_s': _cspnext('s', 0.33, 0.5, 512),
    'cspnext_m': _cspnext('m', 0.67, 0.75, 768),
    'cspnext_x': _cspnext('x', 1.33, 1.25, 1280),
}

# -- config/dlcrnet/<net_type>.yaml, config/dekr/<net_type>.yaml --------------------------------
# Whole model files (not a backbone plus a base head): make_pose_config.py
# ``build_pose_config_defaults`` reads ``<architecture>/<net_type>.yaml`` and fills its
# placeholders (num_bodyparts, num_individuals, and for DLCRNet the PAF parameters) everywhere.
def _deconv(channels, kernels):
    return {'channels': channels, 'kernel_size': [3] * kernels, 'strides': [2] * kernels}


def _dlcrnet(output_stride: int) -> Dict[str, Any]:
    # dlcrnet/dlcrnet_stride16_ms5.yaml, dlcrnet_stride32_ms5.yaml: stride 32 upsamples twice
    # (channels 2304 → 1152 → output); the predictor has no apply_sigmoid/clip_scores keys
    mid = [2304] if output_stride == 16 else [2304, 1152]
    kernels = len(mid)
    return {
        'model': {
            'backbone': {'type': 'DLCRNet', 'model_name': 'resnet50', 'pretrained': True,
                         'output_stride': output_stride},
            'backbone_output_channels': 2304,
            'pose_model': {'stride': 8},
            'heads': {'bodypart': {
                'type': 'DLCRNetHead',
                'predictor': {'type': 'PartAffinityFieldPredictor',
                              'num_animals': 'num_individuals',
                              'num_multibodyparts': 'num_bodyparts', 'num_uniquebodyparts': 0,
                              'nms_radius': 5, 'sigma': 1.0, 'locref_stdev': 7.2801,
                              'min_affinity': 0.05, 'graph': 'paf_graph',
                              'edges_to_keep': 'paf_edges_to_keep'},
                'target_generator': {'type': 'SequentialGenerator', 'generators': [
                    {'type': 'HeatmapPlateauGenerator', 'num_heatmaps': 'num_bodyparts',
                     'pos_dist_thresh': 17, 'heatmap_mode': 'KEYPOINT', 'generate_locref': True,
                     'locref_std': 7.2801},
                    {'type': 'PartAffinityFieldGenerator', 'graph': 'paf_graph', 'width': 20},
                ]},
                'criterion': {'heatmap': {'type': 'WeightedBCECriterion', 'weight': 1.0},
                              'locref': {'type': 'WeightedHuberCriterion', 'weight': 0.05},
                              'paf': {'type': 'WeightedHuberCriterion', 'weight': 0.1}},
                'heatmap_config': _deconv(mid + ['num_bodyparts'], kernels),
                'locref_config': _deconv(mid + ['num_bodyparts x 2'], kernels),
                'paf_config': _deconv(mid + ['num_limbs x 2'], kernels),
                'num_stages': 5,
            }},
        },
        'runner': {'eval_interval': 25},
    }


def _dekr(width: int) -> Dict[str, Any]:
    # dekr/dekr_w18.yaml, dekr_w32.yaml, dekr_w48.yaml (HRNet output concatenated: 15 x width)
    channels = 15 * width
    return {
        'data': {'inference': {'auto_padding': {'pad_width_divisor': 32,
                                                'pad_height_divisor': 32}}},
        'model': {
            'backbone': {'type': 'HRNet', 'model_name': f'hrnet_w{width}',
                         'freeze_bn_stats': False, 'freeze_bn_weights': False,
                         'interpolate_branches': True, 'increased_channel_count': False},
            'backbone_output_channels': channels,
            'heads': {'bodypart': {
                'type': 'DEKRHead',
                'weight_init': 'dekr',
                'target_generator': {'type': 'DEKRGenerator', 'num_joints': 'num_bodyparts',
                                     'pos_dist_thresh': 17, 'bg_weight': 0.1},
                'criterion': {'heatmap': {'type': 'DEKRHeatmapLoss', 'weight': 1},
                              'offset': {'type': 'DEKROffsetLoss', 'weight': 0.03}},
                'predictor': {'type': 'DEKRPredictor', 'apply_sigmoid': False,
                              'use_heatmap': False, 'clip_scores': True,
                              'num_animals': 'num_individuals',
                              'keypoint_score_type': 'combined', 'max_absorb_distance': 75,
                              'nms_threshold': 0.05, 'apply_pose_nms': True},
                'heatmap_config': {'channels': [channels, width, 'num_bodyparts + 1'],
                                   'num_blocks': 1, 'dilation_rate': 1,
                                   'final_conv_kernel': 1},
                'offset_config': {'channels': [channels, 'num_bodyparts x 15', 'num_bodyparts'],
                                  'num_offset_per_kpt': 15, 'num_blocks': 2,
                                  'dilation_rate': 1, 'final_conv_kernel': 1},
            }},
        },
        'runner': {'optimizer': {'type': 'AdamW', 'params': {'lr': 5e-4}},
                   'scheduler': {'type': 'LRListScheduler',
                                 'params': {'lr_list': [[1e-4], [1e-5]],
                                            'milestones': [90, 120]}}},
        'with_center_keypoints': True,
    }


#: net types whose file is a whole model (make_pose_config.py: not in backbones/)
ARCHITECTURES: Dict[str, Dict[str, Any]] = {
    'dekr_w18': _dekr(18),
    'dekr_w32': _dekr(32),
    'dekr_w48': _dekr(48),
    'dlcrnet_stride16_ms5': _dlcrnet(16),
    'dlcrnet_stride32_ms5': _dlcrnet(32),
}
#: config/enums.py NetType aliases (the canonical name is what the file records)
NET_TYPE_ALIASES = {'dlcrnet_ms5': 'dlcrnet_stride16_ms5'}

# -- deeplabcut/inference_cfg.yaml (written for multi-animal shuffles, keys in its order) -------
INFERENCE_CFG = {
    'variant': 0, 'pafthreshold': 0.1, 'method': 'm1',
    'minimalnumberofconnections': None,  # int(len(multianimalbodyparts) / 2)
    'pcutoff': 0.1,
    'topktoretain': None,  # len(individuals)
    'withid': False,
    'boundingboxslack': 0, 'iou_threshold': 0.6, 'max_age': 1, 'min_hits': 1,
}

# -- pydantic schema: field order and defaults of the written file ------------------------------
# A value that is a ``Schema`` is a nested model (dumped with all its fields); anything else is
# the field's default. ``OPTIONAL(schema)`` marks a nested model that defaults to None.


class Schema(dict):
    """Fields of one pydantic model, in declaration order, with their defaults."""


class OPTIONAL:
    """A nested model field whose default is None (``X | None = None``)."""

    def __init__(self, schema: Schema):
        self.schema = schema


# config/data.py DataTransformationConfig
TRANSFORMS = Schema(
    resize=None, longest_max_size=None, hflip=None, affine=None, random_bbox_transform=None,
    crop_sampling=None, hist_eq=False, motion_blur=False, covering=None,
    elastic_transform=None, grayscale=None, gaussian_noise=None, auto_padding=None,
    normalize_images=True, scale_to_unit_range=False, top_down_crop=None, collate=None)
# config/data.py GenSamplingConfig
GEN_SAMPLING = Schema(keypoint_sigmas=0.1, keypoints_symmetry=None, jitter_prob=0.16,
                      swap_prob=0.08, inv_prob=0.03, miss_prob=0.10)
# config/runner.py
OPTIMIZER = Schema(type='', params=None)
SNAPSHOTS = Schema(max_snapshots=5, save_epochs=25, save_optimizer_state=False)
RUNNER = Schema(type='PoseTrainingRunner', gpus=None, device='auto', key_metric='test.mAP',
                key_metric_asc=True, eval_interval=10, optimizer=OPTIONAL(OPTIMIZER),
                scheduler=OPTIONAL(OPTIMIZER), snapshots=OPTIONAL(SNAPSHOTS),
                snapshot_prefix=None, load_weights_only=None)
# config/training.py TrainSettingsConfig
TRAIN_SETTINGS = Schema(batch_size=8, dataloader_workers=0, dataloader_pin_memory=False,
                        display_iters=500, epochs=200, seed=42, weight_init=None)
# config/inference.py
INFERENCE = Schema(
    multithreading=Schema(enabled=True, queue_length=4, timeout=30.0),
    compile=Schema(enabled=False, backend='inductor'),
    autocast=Schema(enabled=False),
    conditions=None, snapshot=None,
    eval=Schema(mode='all', pcutoff=0.6, comparison_bodyparts='all',
                per_keypoint_evaluation=False, force_multi_animal=False),
    output_dir=None)
# config/model.py ModelConfig
MODEL = Schema(backbone={}, heads={}, backbone_output_channels=None, neck=None,
               pose_model=None)
# config/metadata.py PoseMetadata
METADATA = Schema(project_path=None, pose_config_path=None, bodyparts=[], unique_bodyparts=[],
                  individuals=['individual_1'], with_identity=None)
# config/data.py DataConfig (``loader`` is a DLCLoader/COCOLoader config or None)
DATA = Schema(bbox_margin=25, colormode='RGB', gen_sampling=OPTIONAL(GEN_SAMPLING),
              inference=OPTIONAL(TRANSFORMS), train=OPTIONAL(TRANSFORMS), loader=None)
# config/pose.py PoseConfig, after DLCVersionedConfig.config_version
POSE_CONFIG = Schema(
    config_version=0, model=MODEL, net_type='resnet_50', method='bu', device='auto',
    metadata=METADATA, data=DATA, runner=RUNNER, train_settings=TRAIN_SETTINGS,
    inference=INFERENCE, logger=None, with_center_keypoints=False, detector=None,
    resume_training_from=None)
#: the comment DeepLabCut writes above ``config_version`` (json_schema_extra "comment")
CONFIG_VERSION_COMMENT = 'Config schema version. Do not edit manually.'

# config/pose.py TestConfig (test/pose_cfg.yaml)
TEST_CONFIG = Schema(dataset='', num_joints=0, all_joints=[], all_joints_names=[],
                     net_type='resnet_50', dataset_type='multi-animal-imgaug', global_scale=1.0,
                     scoremap_dir='')
