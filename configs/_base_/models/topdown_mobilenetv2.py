# MobileNetV2 (Sandler et al., CVPR 2018) with SimpleBaseline's deconvolution head: a small,
# fast model for CPUs (about 1/4 of ResNet-50's compute at 256x192). The experiment sets
# keypoint_head.out_channels (its keypoints).
model = dict(
    type='TopDown',
    # ImageNet weights: 'mmcls://mobilenet_v2' (mmcls' mobilenet_v2_batch256_imagenet checkpoint,
    # fetched into the torch hub cache) or a local file path. None trains from scratch, which is
    # what works offline.
    pretrained=None,
    backbone=dict(type='MobileNetV2', widen_factor=1., out_indices=(7, )),
    keypoint_head=dict(
        type='TopdownHeatmapSimpleHead',
        in_channels=1280,
        loss_keypoint=dict(type='JointsMSELoss', use_target_weight=True)),
    train_cfg=dict(),
    test_cfg=dict(
        flip_test=True,
        post_process='default',
        shift_heatmap=True,
        modulate_kernel=11))
