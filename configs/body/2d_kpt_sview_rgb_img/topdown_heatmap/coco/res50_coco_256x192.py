_base_ = [
    '../../../../_base_/topdown_heatmap/coco_256x192.py',
    '../../../../_base_/models/topdown_res50.py',
]
model = dict(keypoint_head=dict(out_channels=_base_.channel_cfg['num_output_channels']))
