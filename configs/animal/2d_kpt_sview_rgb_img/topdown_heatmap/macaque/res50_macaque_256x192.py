# SimpleBaseline ResNet-50 on MacaquePose (17 keypoints in COCO's layout), COCO-style mAP on
# the ground-truth boxes of the test split. Upright-primate crops: 256x192 like COCO bodies.
_base_ = [
    '../../../../_base_/topdown_heatmap/macaque_256x192.py',
    '../../../../_base_/models/topdown_res50.py',
]
model = dict(keypoint_head=dict(out_channels=_base_.channel_cfg['num_output_channels']))
