# A top-down heatmap experiment on ak at 256x256: everything but the model (data,
# pipelines, schedule, evaluation); the zoo's res50_/hrnet_w32_ configs add one from ../models/.
_base_ = [
    '../default_runtime.py',
    '../datasets/ak.py',
    '../schedules/adam_step_210e.py',
    '../pipelines/topdown_heatmap.py',
]
evaluation = dict(interval=10, metric=['PCK', 'AUC'], save_best='PCK')
# AdamW, as MMPose 1.x's Animal Kingdom recipe
optimizer = dict(type='AdamW')
channel_cfg = dict(
    num_output_channels=23,
    dataset_joints=23,
    dataset_channel=[list(range(23))],
    inference_channel=list(range(23)))

data_cfg = dict(
    image_size=[256, 256],
    heatmap_size=[64, 64],
    num_output_channels=channel_cfg['num_output_channels'],
    num_joints=channel_cfg['dataset_joints'],
    dataset_channel=channel_cfg['dataset_channel'],
    inference_channel=channel_cfg['inference_channel'],
)

data_root = 'data/ak'
data = dict(
    samples_per_gpu=64,
    workers_per_gpu=2,
    val_dataloader=dict(samples_per_gpu=32),
    test_dataloader=dict(samples_per_gpu=32),
    train=dict(
        type='AnimalKingdomDataset',
        ann_file=f'{data_root}/ak_P1/train.json',
        img_prefix=f'{data_root}/image/',
        data_cfg=data_cfg,
        pipeline=_base_.train_pipeline,
        dataset_info={{_base_.dataset_info}}),
    val=dict(
        type='AnimalKingdomDataset',
        ann_file=f'{data_root}/ak_P1/test.json',
        img_prefix=f'{data_root}/image/',
        data_cfg=data_cfg,
        pipeline=_base_.val_pipeline,
        dataset_info={{_base_.dataset_info}}),
    test=dict(
        type='AnimalKingdomDataset',
        ann_file=f'{data_root}/ak_P1/test.json',
        img_prefix=f'{data_root}/image/',
        data_cfg=data_cfg,
        pipeline=_base_.test_pipeline,
        dataset_info={{_base_.dataset_info}}),
)
