# A top-down heatmap experiment on horse10 at 256x256: everything but the model (data,
# pipelines, schedule, evaluation); the zoo's res50_/hrnet_w32_ configs add one from ../models/.
_base_ = [
    '../default_runtime.py',
    '../datasets/horse10.py',
    '../schedules/adam_step_210e.py',
    '../pipelines/topdown_heatmap.py',
]
evaluation = dict(interval=10, metric=['PCK', 'AUC', 'EPE'], save_best='PCK')
channel_cfg = dict(
    num_output_channels=22,
    dataset_joints=22,
    dataset_channel=[list(range(22))],
    inference_channel=list(range(22)))

data_cfg = dict(
    image_size=[256, 256],
    heatmap_size=[64, 64],
    num_output_channels=channel_cfg['num_output_channels'],
    num_joints=channel_cfg['dataset_joints'],
    dataset_channel=channel_cfg['dataset_channel'],
    inference_channel=channel_cfg['inference_channel'],
)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TopDownRandomFlip', flip_prob=0.5),
    dict(
        type='TopDownGetRandomScaleRotation', rot_factor=40, scale_factor=0.5),
    dict(type='TopDownAffine'),
    dict(type='ToTensor'),
    dict(
        type='NormalizeTensor',
        mean=[0.485, 0.456, 0.406],
        std=[0.229, 0.224, 0.225]),
    dict(type='TopDownGenerateTarget', sigma=2),
    dict(
        type='Collect',
        keys=['img', 'target', 'target_weight'],
        meta_keys=[
            'image_file', 'joints_3d', 'joints_3d_visible', 'center', 'scale',
            'rotation', 'bbox_score', 'flip_pairs'
        ]),
]

data_root = 'data/horse10'
data = dict(
    samples_per_gpu=64,
    workers_per_gpu=2,
    val_dataloader=dict(samples_per_gpu=32),
    test_dataloader=dict(samples_per_gpu=32),
    train=dict(
        type='AnimalHorse10Dataset',
        ann_file=f'{data_root}/annotations/horse10-train-split1.json',
        img_prefix=f'{data_root}/',
        data_cfg=data_cfg,
        pipeline=train_pipeline,
        dataset_info={{_base_.dataset_info}}),
    val=dict(
        type='AnimalHorse10Dataset',
        ann_file=f'{data_root}/annotations/horse10-test-split1.json',
        img_prefix=f'{data_root}/',
        data_cfg=data_cfg,
        pipeline=_base_.val_pipeline,
        dataset_info={{_base_.dataset_info}}),
    test=dict(
        type='AnimalHorse10Dataset',
        ann_file=f'{data_root}/annotations/horse10-test-split1.json',
        img_prefix=f'{data_root}/',
        data_cfg=data_cfg,
        pipeline=_base_.test_pipeline,
        dataset_info={{_base_.dataset_info}}),
)
