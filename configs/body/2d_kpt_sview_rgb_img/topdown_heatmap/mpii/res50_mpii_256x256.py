# SimpleBaseline ResNet-50 on MPII, evaluated with PCKh@0.5 (0.5 x head size) on the
# validation split. MPII crops are square (256x256); the crop is the annotated centre and scale,
# so data_cfg has no box or NMS settings and there is no half-body augmentation.
_base_ = [
    '../../../../_base_/topdown_heatmap/mpii_256x256.py',
    '../../../../_base_/models/topdown_res50.py',
]
model = dict(keypoint_head=dict(out_channels=_base_.channel_cfg['num_output_channels']))
