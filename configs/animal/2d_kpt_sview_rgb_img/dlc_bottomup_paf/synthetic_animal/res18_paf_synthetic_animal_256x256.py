# The multi-animal demo: the res50 PAF config's model and data at a size that trains on 2 CPU
# cores in minutes: a half-width ResNet-18 from scratch (no download) with BatchNorm, the same
# DLCRNetHead (heatmaps, location refinement, part affinity fields over every bodypart pair).
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
total_epochs = 60
param_scheduler = [dict(type='LRListScheduler', milestones=[45, 55],
                        lr_list=[[2e-4], [4e-5]])]
evaluation = dict(interval=20)
