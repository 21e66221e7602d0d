# SimpleBaseline ResNet-50 on the DeepPoseKit vinegar fly (32 keypoints). The 192x192 images
# are centred on one fly, so AnimalFlyDataset crops 0.8 x the whole image (no boxes), and the
# augmentation rotates further (+-2 x 90 degrees) and scales less (0.7-1.3) than for bodies.
# Evaluated with PCK@0.2 of the box size, AUC and EPE; no OKS sigmas, so no mAP.
_base_ = [
    '../../../../_base_/topdown_heatmap/fly_192x192.py',
    '../../../../_base_/models/topdown_res50.py',
]
model = dict(keypoint_head=dict(out_channels=_base_.channel_cfg['num_output_channels']))
