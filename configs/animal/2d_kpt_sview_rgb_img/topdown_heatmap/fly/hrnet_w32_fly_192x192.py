# HRNet-W32 (Sun et al., CVPR 2019) on the DeepPoseKit fly: the experiment of res50_fly_192x192.py
# with HRNet-W32. (MMPose 0.x ships only ResNets for this dataset; this is its HRNet recipe for the
# other animal datasets.)
_base_ = [
    '../../../../_base_/topdown_heatmap/fly_192x192.py',
    '../../../../_base_/models/topdown_hrnet_w32.py',
]
model = dict(keypoint_head=dict(out_channels=_base_.channel_cfg['num_output_channels']))
