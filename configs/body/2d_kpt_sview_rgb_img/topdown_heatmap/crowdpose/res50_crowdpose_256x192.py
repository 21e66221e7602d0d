# SimpleBaseline ResNet-50 on CrowdPose (14 keypoints), COCO-style mAP on detected boxes of
# the test split. As MMPose 0.x, the half-body augmentation needs 6 labelled keypoints (COCO: 8).
_base_ = [
    '../../../../_base_/topdown_heatmap/crowdpose_256x192.py',
    '../../../../_base_/models/topdown_res50.py',
]
model = dict(keypoint_head=dict(out_channels=_base_.channel_cfg['num_output_channels']))
