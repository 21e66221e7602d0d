# MobileNetV2 (Sandler et al., CVPR 2018) on COCO: a small, fast model for CPU training and
# inference (about 1/4 of ResNet-50's compute at 256x192). Everything but the model is
# res50_coco_256x192.py.
_base_ = ['./res50_coco_256x192.py']

model = dict(
    _delete_=True,
    type='TopDown',
    # ImageNet weights: 'mmcls://mobilenet_v2' (mmcls' mobilenet_v2_batch256_imagenet checkpoint,
    # fetched into the torch hub cache) or a local file path. None trains from scratch, which is
    # what works offline.
    pretrained=None,
    backbone=dict(type='MobileNetV2', widen_factor=1., out_indices=(7, )),
    keypoint_head=dict(
        type='TopdownHeatmapSimpleHead',
        in_channels=1280,
        out_channels=_base_.channel_cfg['num_output_channels'],
        loss_keypoint=dict(type='JointsMSELoss', use_target_weight=True)),
    train_cfg=dict(),
    test_cfg=dict(
        flip_test=True,
        post_process='default',
        shift_heatmap=True,
        modulate_kernel=11))
