# SimpleBaseline ResNet-50 on Animal Kingdom (23 keypoints, 850 species), protocol 1 (ak_P1;
# for P2 or a P3 class change the ann_file folder). MMPose has AK configs only in 1.x
# (td-hm_hrnet-w32_8xb64-210e_animalkingdom_P1-256x256.py); this is that recipe (AdamW,
# 210 epochs, half-body, flip) in the 0.x schema. AK's benchmark metric is PCK@0.05 of the
# box size (set by AnimalKingdomDataset), with AUC.
_base_ = [
    '../../../../_base_/topdown_heatmap/ak_256x256.py',
    '../../../../_base_/models/topdown_res50.py',
]
model = dict(keypoint_head=dict(out_channels=_base_.channel_cfg['num_output_channels']))
