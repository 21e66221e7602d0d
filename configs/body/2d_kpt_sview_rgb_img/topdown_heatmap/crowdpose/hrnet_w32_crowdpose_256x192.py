# HRNet-W32 (Sun et al., CVPR 2019) on CrowdPose: the experiment of res50_crowdpose_256x192.py with
# HRNet-W32.
_base_ = [
    '../../../../_base_/topdown_heatmap/crowdpose_256x192.py',
    '../../../../_base_/models/topdown_hrnet_w32.py',
]
model = dict(keypoint_head=dict(out_channels=_base_.channel_cfg['num_output_channels']))
