# What every Lightning Pose model trained by posecfg shares: Lightning Pose 2.4.3's
# scripts/configs/config_default.yaml (optimizer, schedule, batch sizes, logging) and the
# estimator's settings, in posecfg's keys. The config.yaml key each value stands for is in the
# comment; posecfg/interop/lp/to_config.py translates a config.yaml, and
# `tools/print_config.py config.yaml --format py` prints a config inheriting from this one.

model = dict(type='BottomUp', test_cfg=dict(flip_test=False))  # model.model_type: one head
data = dict(
    samples_per_gpu=16,  # training.train_batch_size (÷ training.num_gpus)
    val_dataloader=dict(samples_per_gpu=32),  # training.val_batch_size
    test_dataloader=dict(samples_per_gpu=32),  # training.test_batch_size
)
optimizer = dict(type='Adam', lr=0.001)  # training.optimizer, optimizer_params.learning_rate
# training.lr_scheduler_params.multisteplr (MultiStepLR stepped per epoch)
lr_config = dict(policy='step', step=[150, 200, 250], gamma=0.5)
total_epochs = 300  # training.max_epochs
seed = 0  # training.rng_seed_model_pt
# training.check_val_every_n_epoch: Lightning Pose's pixel error on the validation frames
evaluation = dict(interval=5, metric='pixel_error')
log_config = dict(interval=10, hooks=[dict(type='TextLoggerHook')])  # training.log_every_n_steps
default_hooks = dict(checkpoint=None)  # ModelCheckpointHook writes Lightning Pose's .ckpt files
