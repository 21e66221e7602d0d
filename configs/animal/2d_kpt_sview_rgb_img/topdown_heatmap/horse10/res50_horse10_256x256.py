# SimpleBaseline ResNet-50 on Horse-10 (22 keypoints), split 1 (for splits 2 and 3 change the
# -split1 in the ann_file names). Evaluated with PCK@0.3 of the Nose-Eye distance (set by
# AnimalHorse10Dataset, as MMPose 0.x), plus AUC and EPE; no OKS sigmas, so no mAP.
_base_ = [
    '../../../../_base_/topdown_heatmap/horse10_256x256.py',
    '../../../../_base_/models/topdown_res50.py',
]
model = dict(keypoint_head=dict(out_channels=_base_.channel_cfg['num_output_channels']))
