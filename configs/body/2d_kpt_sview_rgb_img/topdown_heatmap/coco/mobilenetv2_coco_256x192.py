# MobileNetV2 (Sandler et al., CVPR 2018) on COCO: a small, fast model for CPU training and
# inference (about 1/4 of ResNet-50's compute at 256x192). The experiment of res50_coco_256x192.py
# with MobileNetV2.
_base_ = [
    '../../../../_base_/topdown_heatmap/coco_256x192.py',
    '../../../../_base_/models/topdown_mobilenetv2.py',
]
model = dict(keypoint_head=dict(out_channels=_base_.channel_cfg['num_output_channels']))
