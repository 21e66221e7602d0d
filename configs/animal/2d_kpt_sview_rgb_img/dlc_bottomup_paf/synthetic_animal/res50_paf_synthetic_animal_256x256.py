# DeepLabCut 3's default multi-animal model, resnet_50 with a DLCRNetHead (heatmaps, location
# refinement and part affinity fields over every pair of bodyparts), on posecfg's synthetic
# quadrupeds written as a DeepLabCut multi-animal project (1-4 animals per frame, occluding each
# other). The same model DeepLabCut 3.0.2's create_training_dataset writes in the shuffle's
# pytorch_config.yaml for that project, as a posecfg config (DeepLabCut's keys in comments);
# crops of 256x256 (the frames are 320x240) instead of DeepLabCut's 448.
#
#   python tools/make_synthetic_dataset.py data/synthetic_animal_dlc --format dlc
#   python tools/dlc_create_training_dataset.py data/synthetic_animal_dlc/config.yaml \
#       --net-type resnet_50 --shuffle 1
#   python tools/train.py THIS_CONFIG      (tools/test.py THIS_CONFIG CHECKPOINT evaluates
#                                           into the project's evaluation-results-pytorch/)
_base_ = [
    '../../../../_base_/dlc/pytorch_config.py',
    '../../../../_base_/datasets/synthetic_animal.py',
]
data_root = 'data/synthetic_animal_dlc'
num_bodyparts = 14
num_individuals = 4  # the project's individuals: the most animals a frame holds
# config/paf_parameters.py: every pair of bodyparts (91 limbs, below the pruning threshold 105)
paf_graph = [[a, b] for a in range(num_bodyparts) for b in range(a + 1, num_bodyparts)]
crop = 256

model = dict(
    type='BottomUp',
    # backbones/resnet_50.yaml: timm resnet50_gn (GroupNorm), output stride 16 by dilation
    backbone=dict(
        type='ResNet',
        depth=50,
        norm_cfg=dict(type='GN', num_groups=32),
        output_stride=16,
        drop_path_rate=0.0,
        drop_block_rate=0.0,
        norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint='timm://resnet50_gn'),
    ),
    heads=dict(
        # base/head_bodyparts_with_paf.yaml
        bodypart=dict(
            type='DLCRNetHead',
            predictor=dict(
                type='PartAffinityFieldPredictor',
                num_animals=num_individuals,
                num_multibodyparts=num_bodyparts,
                num_uniquebodyparts=0,
                nms_radius=5,
                sigma=1.0,
                locref_stdev=7.2801,
                min_affinity=0.05,
                graph=paf_graph,
                edges_to_keep=list(range(len(paf_graph))),
                apply_sigmoid=True,
                clip_scores=False,
            ),
            target_generator=dict(
                type='SequentialGenerator',
                generators=[
                    dict(type='HeatmapPlateauGenerator', num_heatmaps=num_bodyparts,
                         pos_dist_thresh=17, heatmap_mode='KEYPOINT', gradient_masking=False,
                         generate_locref=True, locref_std=7.2801),
                    dict(type='PartAffinityFieldGenerator', graph=paf_graph, width=20),
                ],
            ),
            criterion=dict(
                heatmap=dict(type='WeightedBCECriterion', weight=1.0),
                locref=dict(type='WeightedHuberCriterion', weight=0.05),
                paf=dict(type='WeightedHuberCriterion', weight=0.1),
            ),
            heatmap_config=dict(channels=[2048, num_bodyparts], kernel_size=[3], strides=[2]),
            locref_config=dict(channels=[2048, 2 * num_bodyparts], kernel_size=[3],
                               strides=[2]),
            paf_config=dict(channels=[2048, 2 * len(paf_graph)], kernel_size=[3], strides=[2]),
            num_stages=5,
        ),
    ),
)


def _dataset(split, pipeline):
    return dict(type='DLCProjectDataset', project_config=f'{data_root}/config.yaml', shuffle=1,
                trainset_index=0, split=split, data_mode='bottomup', bbox_margin=20,
                dataset_info={{_base_.dataset_info}}, pipeline=pipeline)


test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='NormalizeImage'),
    dict(type='ToTensor'),
    dict(type='Collect', keys=['img'], meta_keys=['image_file', 'image_id']),
]
data = dict(
    # base/aug_default.yaml (crop_sampling at 256)
    train=_dataset('train', [
        dict(type='LoadImageFromFile'),
        dict(type='RandomAffine', p=0.5, rotation=30, scaling=[0.5, 1.25], translation=0),
        dict(type='PadIfNeeded', min_height=crop, min_width=crop, pad_height_divisor=None,
             pad_width_divisor=None, position='center', border_mode='constant'),
        dict(type='KeypointAwareCrop', width=crop, height=crop, max_shift=0.1, method='hybrid'),
        dict(type='MotionBlur', blur_limit=7, p=0.5),
        dict(type='GaussianNoise', std=12.75, p=0.5),
        dict(type='NormalizeImage'),
        dict(type='ToTensor'),
        dict(type='Collect', keys=['img', 'keypoints', 'keypoints_visible'],
             meta_keys=['image_file', 'image_id']),
    ]),
    val=_dataset('test', test_pipeline),
    test=_dataset('test', test_pipeline),
)
# backbones/resnet_50.yaml runner section
optimizer = dict(lr=0.0005)
param_scheduler = [dict(type='LRListScheduler', milestones=[90, 120],
                        lr_list=[[0.0001], [1e-05]])]
_metric_names = dict(rmse='test.rmse', rmse_pcutoff='test.rmse_pcutoff', mAP='test.mAP',
                     mAR='test.mAR')
# models/model.py get_loss: <head>_<criterion key>
_loss_names = dict(loss='total_loss', total_loss='bodypart_total_loss',
                   heatmap='bodypart_heatmap', locref='bodypart_locref', paf='bodypart_paf')
custom_hooks = [
    dict(type='DLCSnapshotHook', snapshot_prefix='snapshot', key_metric='mAP',
         key_metric_asc=True, max_snapshots=5, save_epochs=25, save_optimizer_state=False,
         metric_names=_metric_names, loss_names=_loss_names),
    dict(type='DLCLearningStatsHook', metric_names=_metric_names, loss_names=_loss_names),
    dict(type='DLCEvaluationHook'),  # the scorer's net type: dlc_net_type below
]
# DLC_<NetType>_... of the evaluation files and video outputs (DLCEvaluationHook); a child
# config with another backbone overrides this one variable
dlc_net_type = 'resnet_50'
