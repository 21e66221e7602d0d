"""A tiny real training setup shared by the engine tests: a ResNet-18 stub on a generated
dataset (12 train / 6 val images), its config text, and a way to run the tools."""
import os
import subprocess
import sys

from posecfg.datasets.synthetic import generate_dataset

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS = os.path.join(REPO, 'tools')

TINY = '''
_base_ = ['{base}/default_runtime.py', '{base}/datasets/synthetic_animal.py']
data_root = '{data}'
evaluation = dict(interval=1, metric='mAP', save_best='AP')
optimizer = dict(type='Adam', lr=2e-3)
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy='step', warmup='linear', warmup_iters=4, warmup_ratio=0.1, step=[2])
total_epochs = 2
checkpoint_config = dict(interval=1)
log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook'),
                                     dict(type='TensorboardLoggerHook')])
seed = 0
runtime = dict(threads=1)  # bitwise-exact comparisons need one thread count throughout
model = dict(
    type='TopDown',
    pretrained=None,
    backbone=dict(type='ResNet', depth=18, stem_channels=16, base_channels=16),
    keypoint_head=dict(type='TopdownHeatmapSimpleHead', in_channels=128, out_channels=14,
                       num_deconv_filters=(32, 32, 32),
                       loss_keypoint=dict(type='JointsMSELoss', use_target_weight=True)),
    train_cfg=dict(),
    test_cfg=dict(flip_test=True, post_process='default', shift_heatmap=True))
data_cfg = dict(image_size=[64, 64], heatmap_size=[16, 16], num_output_channels=14,
                num_joints=14, dataset_channel=[list(range(14))],
                inference_channel=list(range(14)), soft_nms=False, nms_thr=1.0, oks_thr=0.9,
                vis_thr=0.2, use_gt_bbox=True, det_bbox_thr=0.0,
                bbox_file=f'{{data_root}}/annotations/val_detections.json')
norm = dict(type='NormalizeTensor', mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
train_pipeline = [
    dict(type='LoadImageFromFile'), dict(type='TopDownAffine'), dict(type='ToTensor'), norm,
    dict(type='TopDownGenerateTarget', sigma=2),
    dict(type='Collect', keys=['img', 'target', 'target_weight'],
         meta_keys=['image_file', 'joints_3d', 'joints_3d_visible', 'center', 'scale',
                    'rotation', 'bbox_score', 'flip_pairs']),
]
val_pipeline = [
    dict(type='LoadImageFromFile'), dict(type='TopDownAffine'), dict(type='ToTensor'), norm,
    dict(type='Collect', keys=['img'],
         meta_keys=['image_file', 'center', 'scale', 'rotation', 'bbox_score', 'flip_pairs']),
]
data = dict(
    samples_per_gpu=8, workers_per_gpu=0,
    val_dataloader=dict(samples_per_gpu=16), test_dataloader=dict(samples_per_gpu=16),
    train=dict(type='TopDownCocoDataset', ann_file=f'{{data_root}}/annotations/train.json',
               img_prefix=f'{{data_root}}/images/train/', data_cfg=data_cfg,
               pipeline=train_pipeline, dataset_info={{{{_base_.dataset_info}}}}),
    val=dict(type='TopDownCocoDataset', ann_file=f'{{data_root}}/annotations/val.json',
             img_prefix=f'{{data_root}}/images/val/', data_cfg=data_cfg,
             pipeline=val_pipeline, dataset_info={{{{_base_.dataset_info}}}}),
    test=dict(type='TopDownCocoDataset', ann_file=f'{{data_root}}/annotations/val.json',
              img_prefix=f'{{data_root}}/images/val/', data_cfg=data_cfg,
              pipeline=val_pipeline, dataset_info={{{{_base_.dataset_info}}}}),
)
'''


def make_tiny(root):
    """(config path, data dir) of a 2-epoch run on 12 train / 6 val generated images in
    ``root``."""
    data = root / 'data'
    generate_dataset(data, num_train=12, num_val=6, image_size=(128, 96), seed=3)
    path = root / 'tiny.py'
    path.write_text(TINY.format(base=os.path.join(REPO, 'configs', '_base_'), data=data))
    return str(path), data


def logged_lrs(work_dir):
    """{epoch: [lr of each logged iteration]} from the newest run's scalars.json in
    ``work_dir`` (run folders are named after the timestamp or ``experiment_name``)."""
    import json
    runs = sorted((d for d in os.listdir(work_dir)
                   if os.path.isfile(os.path.join(work_dir, d, 'vis_data', 'scalars.json'))),
                  key=lambda d: os.path.getmtime(os.path.join(work_dir, d)))
    out = {}
    for line in open(os.path.join(work_dir, runs[-1], 'vis_data', 'scalars.json')):
        record = json.loads(line)
        if 'lr' in record:
            out.setdefault(record['epoch'], []).append(record['lr'])
    return out


def run_tool(*args, env=None, timeout=600):
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO,
                            timeout=timeout, env=env)
    return result
