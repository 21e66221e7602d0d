# HRNet-W32 (Sun et al., CVPR 2019): the highest-resolution branch (1/4 of the input) through a
# 1x1 conv to the heatmaps. The experiment sets keypoint_head.out_channels (its keypoints).
model = dict(
    type='TopDown',
    # ImageNet weights: 'https://download.openmmlab.com/mmpose/pretrain_models/'
    # 'hrnet_w32-36af842e.pth' (fetched into the torch hub cache) or a local file path. None
    # trains from scratch, which is what works offline.
    pretrained=None,
    backbone=dict(
        type='HRNet',
        in_channels=3,
        extra=dict(
            stage1=dict(
                num_modules=1,
                num_branches=1,
                block='BOTTLENECK',
                num_blocks=(4, ),
                num_channels=(64, )),
            stage2=dict(
                num_modules=1,
                num_branches=2,
                block='BASIC',
                num_blocks=(4, 4),
                num_channels=(32, 64)),
            stage3=dict(
                num_modules=4,
                num_branches=3,
                block='BASIC',
                num_blocks=(4, 4, 4),
                num_channels=(32, 64, 128)),
            stage4=dict(
                num_modules=3,
                num_branches=4,
                block='BASIC',
                num_blocks=(4, 4, 4, 4),
                num_channels=(32, 64, 128, 256))),
    ),
    # the highest-resolution branch (1/4 of the input) is already heatmap-sized: no deconvs
    keypoint_head=dict(
        type='TopdownHeatmapSimpleHead',
        in_channels=32,
        num_deconv_layers=0,
        extra=dict(final_conv_kernel=1, ),
        loss_keypoint=dict(type='JointsMSELoss', use_target_weight=True)),
    train_cfg=dict(),
    test_cfg=dict(
        flip_test=True,
        post_process='default',
        shift_heatmap=True,
        modulate_kernel=11))
