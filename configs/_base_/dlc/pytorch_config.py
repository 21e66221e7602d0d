# What every DeepLabCut 3 pose model trained by posecfg shares: DeepLabCut 3.0.2's
# config/base/base.yaml (optimizer, scheduler, train_settings, runner) in posecfg's keys, and
# the DeepLabCut runtime (DLCRMSEMetric evaluation, DeepLabCut's snapshots and
# learning_stats.csv instead of posecfg checkpoints). The pytorch_config.yaml key each value
# stands for is in the comment; posecfg/interop/dlc/to_config.py translates a shuffle's file
# and `tools/print_config.py pytorch_config.yaml` prints a config inheriting from this one.

# DeepLabCut 3.0.2 minimises the mean of its heads' total losses (models/model.py:93-102)
model = dict(head_loss_reduction='mean')
optimizer = dict(type='AdamW', lr=0.0001)  # runner.optimizer (type, params)
# runner.scheduler: LRListScheduler (or TorchLRScheduler for any torch scheduler)
param_scheduler = [
    dict(type='LRListScheduler', milestones=[160, 190], lr_list=[[1e-05], [1e-06]]),
]
total_epochs = 200  # train_settings.epochs
seed = 42  # train_settings.seed
data = dict(
    samples_per_gpu=8,  # train_settings.batch_size
    workers_per_gpu=0,  # train_settings.dataloader_workers
    pin_memory=False,  # train_settings.dataloader_pin_memory
    # DeepLabCut evaluates image by image (image sizes may differ)
    val_dataloader=dict(samples_per_gpu=1, collate_fn='pose_collate'),
    test_dataloader=dict(samples_per_gpu=1, collate_fn='pose_collate'),
)
# runner.eval_interval; DeepLabCut's rmse, rmse_pcutoff, mAP, mAR (DLCRMSEMetric)
evaluation = dict(interval=10, metric=['RMSE', 'mAP'])
# train_settings.display_iters; TensorBoard always (logger: WandbLogger adds WandbLoggerHook)
log_config = dict(interval=500, hooks=[dict(type='TextLoggerHook'),
                                       dict(type='TensorboardLoggerHook')])
default_hooks = dict(checkpoint=None)  # DLCSnapshotHook writes the snapshots
custom_hooks = [
    dict(
        type='DLCSnapshotHook',
        snapshot_prefix='snapshot',  # runner.snapshot_prefix
        key_metric='mAP',  # runner.key_metric: test.mAP
        key_metric_asc=True,  # runner.key_metric_asc
        max_snapshots=5,  # runner.snapshots.max_snapshots
        save_epochs=25,  # runner.snapshots.save_epochs
        save_optimizer_state=False,  # runner.snapshots.save_optimizer_state
        metric_names=dict(rmse='test.rmse', rmse_pcutoff='test.rmse_pcutoff', mAP='test.mAP',
                          mAR='test.mAR'),
        # log_vars name → DeepLabCut's loss name for the bodypart head (models/model.py:88-103)
        loss_names=dict(loss='total_loss', total_loss='bodypart_total_loss',
                        heatmap='bodypart_heatmap', locref='bodypart_locref'),
    ),
    dict(
        type='DLCLearningStatsHook',  # learning_stats.csv
        metric_names=dict(rmse='test.rmse', rmse_pcutoff='test.rmse_pcutoff', mAP='test.mAP',
                          mAR='test.mAR'),
        # log_vars name → DeepLabCut's loss name for the bodypart head (models/model.py:88-103)
        loss_names=dict(loss='total_loss', total_loss='bodypart_total_loss',
                        heatmap='bodypart_heatmap', locref='bodypart_locref'),
    ),
    # tools/test.py: evaluation-results-pytorch/ files; net_type names the scorer;
    # inference.eval.mode all (train and test errors), .per_keypoint_evaluation
    dict(type='DLCEvaluationHook', net_type='resnet_50', evaluate_train=True,
         per_keypoint=False),
]
