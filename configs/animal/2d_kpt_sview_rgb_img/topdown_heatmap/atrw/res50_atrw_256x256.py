# SimpleBaseline ResNet-50 on ATRW (15 keypoints, Amur tigers), COCO-style mAP with the
# dataset's own OKS sigmas on the ground-truth boxes of the validation split.
# AnimalATRWDataset crops the box without MMPose's usual 1.25 padding (its boxes are loose).
_base_ = [
    '../../../../_base_/topdown_heatmap/atrw_256x256.py',
    '../../../../_base_/models/topdown_res50.py',
]
model = dict(keypoint_head=dict(out_channels=_base_.channel_cfg['num_output_channels']))
