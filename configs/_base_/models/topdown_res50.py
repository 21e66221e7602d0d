# SimpleBaseline (Xiao et al., ECCV 2018): ResNet-50 and three 256-channel deconvolutions to a
# heatmap at 1/4 of the input. The experiment sets keypoint_head.out_channels (its keypoints).
model = dict(
    type='TopDown',
    # ImageNet weights: 'torchvision://resnet50' (resnet50-0676ba61.pth, fetched into the torch hub
    # cache) or a local file path. None trains from scratch, which is what works offline.
    pretrained=None,
    backbone=dict(type='ResNet', depth=50),
    keypoint_head=dict(
        type='TopdownHeatmapSimpleHead',
        in_channels=2048,
        loss_keypoint=dict(type='JointsMSELoss', use_target_weight=True)),
    train_cfg=dict(),
    test_cfg=dict(
        flip_test=True,
        post_process='default',
        shift_heatmap=True,
        modulate_kernel=11))
