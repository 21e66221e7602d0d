# A top-down heatmap experiment on zebra at 160x160: everything but the model (data,
# pipelines, schedule, evaluation); the zoo's res50_/hrnet_w32_ configs add one from ../models/.
_base_ = [
    '../default_runtime.py',
    '../datasets/zebra.py',
    '../schedules/adam_step_210e.py',
    '../pipelines/topdown_heatmap_whole_image.py',
]
evaluation = dict(interval=10, metric=['PCK', 'AUC', 'EPE'], save_best='PCK')
channel_cfg = dict(
    num_output_channels=9,
    dataset_joints=9,
    dataset_channel=[
        [0, 1, 2, 3, 4, 5, 6, 7, 8],
    ],
    inference_channel=[0, 1, 2, 3, 4, 5, 6, 7, 8])

data_cfg = dict(
    image_size=[160, 160],
    heatmap_size=[40, 40],
    num_output_channels=channel_cfg['num_output_channels'],
    num_joints=channel_cfg['dataset_joints'],
    dataset_channel=channel_cfg['dataset_channel'],
    inference_channel=channel_cfg['inference_channel'],
)

data_root = 'data/zebra'
data = dict(
    samples_per_gpu=64,
    workers_per_gpu=2,
    val_dataloader=dict(samples_per_gpu=32),
    test_dataloader=dict(samples_per_gpu=32),
    train=dict(
        type='AnimalZebraDataset',
        ann_file=f'{data_root}/annotations/zebra_train.json',
        img_prefix=f'{data_root}/images/',
        data_cfg=data_cfg,
        pipeline=_base_.train_pipeline,
        dataset_info={{_base_.dataset_info}}),
    val=dict(
        type='AnimalZebraDataset',
        ann_file=f'{data_root}/annotations/zebra_test.json',
        img_prefix=f'{data_root}/images/',
        data_cfg=data_cfg,
        pipeline=_base_.val_pipeline,
        dataset_info={{_base_.dataset_info}}),
    test=dict(
        type='AnimalZebraDataset',
        ann_file=f'{data_root}/annotations/zebra_test.json',
        img_prefix=f'{data_root}/images/',
        data_cfg=data_cfg,
        pipeline=_base_.test_pipeline,
        dataset_info={{_base_.dataset_info}}),
)
