# SimpleBaseline ResNet-50 on AP-10K (17 keypoints, 54 species), COCO-style mAP on the
# ground-truth boxes of split 1.
_base_ = [
    '../../../../_base_/topdown_heatmap/ap10k_256x256.py',
    '../../../../_base_/models/topdown_res50.py',
]
model = dict(keypoint_head=dict(out_channels=_base_.channel_cfg['num_output_channels']))
