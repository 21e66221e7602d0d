# Runtime settings shared by every config (MMPose 0.x schema; see README "The config schema").
log_level = 'INFO'
load_from = None  # weights only: initialise the model from a checkpoint, then train from epoch 0
resume_from = None  # weights, optimizer, scheduler, epoch and iteration: continue where it stopped
# 'nccl' needs GPUs; on a CPU-only machine posecfg uses 'gloo' and says so
dist_params = dict(backend='nccl')
workflow = [('train', 1)]  # add ('val', 1) to run a validation-loss epoch after each train epoch
checkpoint_config = dict(interval=10)
log_config = dict(
    interval=50,
    hooks=[
        dict(type='TextLoggerHook'),
        dict(type='TensorboardLoggerHook'),
    ])
