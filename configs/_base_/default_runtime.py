# Runtime settings shared by every config (MMPose 0.x schema; see README "The config schema").
log_level = 'INFO'
load_from = None  # weights only: initialise the model from a checkpoint, then train from epoch 0
# load_from must fit the model exactly; True loads the tensors whose name and shape fit (fine-
# tuning from another model) and logs what was and was not loaded
load_partial = False
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
# hardware switches (posecfg; README "Performance switches"): bf16 autocast where the CPU has
# native bf16, NHWC memory order, torch.compile for runs of 2000+ iterations, threads
# probed per process within its share of the cores, evaluations of 64+ samples run a copy with
# BatchNorms folded into convs (and bf16 weights), freed memory kept for reuse
runtime = dict(autocast='auto', channels_last=True, compile='auto', threads='auto', fold_bn='auto',
               compile_eval='auto', reuse_memory=True)
