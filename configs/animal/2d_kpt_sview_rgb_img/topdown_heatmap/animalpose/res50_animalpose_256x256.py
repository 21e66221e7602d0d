# SimpleBaseline ResNet-50 on Animal-Pose (20 keypoints; cats, dogs, horses, sheep, cows),
# COCO-style mAP on the ground-truth boxes of the validation split.
_base_ = [
    '../../../../_base_/topdown_heatmap/animalpose_256x256.py',
    '../../../../_base_/models/topdown_res50.py',
]
model = dict(keypoint_head=dict(out_channels=_base_.channel_cfg['num_output_channels']))
