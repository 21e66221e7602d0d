# The multi-animal demo: the res50 PAF config's data, targets, losses and assembly (DeepLabCut
# 3's DLCRNetHead: heatmaps, location refinement and part affinity fields over every pair of the
# 14 bodyparts) with a model that learns on 2 CPU cores in about 20 minutes: a half-width ResNet-18
# (BatchNorm, output stride 16 by dilation) trained from scratch, so nothing is downloaded, and
# the head without DeepLabCut's five refinement stages (num_stages=0: the stages read 324
# channels at the feature resolution and cost twice the backbone here). 15 epochs of the 320
# training frames of a 400-frame project, batches of 8 (600 steps), AdamW 1e-3 then 2e-4, 4e-5.
#
#   python tools/make_synthetic_dataset.py data/synthetic_animal_dlc --format dlc --num-images 400
#   python tools/dlc_create_training_dataset.py data/synthetic_animal_dlc/config.yaml \
#       --net-type resnet_50 --shuffle 1
#   python tools/train.py THIS_CONFIG --work-dir work_dirs/res18_paf
#   python tools/test.py THIS_CONFIG work_dirs/res18_paf/snapshot-best-015.pt
#
# Measured (README.md, "Multi-animal demo"; 2 shared vCPUs of an Intel Xeon, AVX-512 BF16/AMX,
# bf16 autocast): test frames mAP 37.2, mAR 44.2, RMSE 25.1 px (6.7 px above pcutoff 0.6);
# training 44 min wall clock under a load average of ~16 (about 20 min on an idle machine).
_base_ = ['./res50_paf_synthetic_animal_256x256.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=18,
        stem_channels=32,
        base_channels=32,
        output_stride=16,
        init_cfg=None,
    ),
    heads=dict(
        bodypart=dict(
            heatmap_config=dict(channels=[256, 14]),
            locref_config=dict(channels=[256, 28]),
            paf_config=dict(channels=[256, 182]),
            num_stages=0,
        ),
    ),
)
optimizer = dict(lr=1e-3)
total_epochs = 15
param_scheduler = [dict(type='LRListScheduler', milestones=[11, 14],
                        lr_list=[[2e-4], [4e-5]])]
evaluation = dict(interval=5)
dlc_net_type = 'resnet_18'  # evaluation files DLC_Resnet18_... (the base's are Resnet50)
