"""A whole-image model through the runner: a BottomUp config on whole images (data_mode=
'bottomup', padded batches) trains, validates with the evaluators evaluation.metric expands into
(COCO AP over each image's instances, EPE after pairing), and tests."""
import json


from posecfg.config import Config
from posecfg.datasets.synthetic import generate_dataset
from posecfg.engine import build_runner

def bottomup_config(data, work_dir, tiny_run):
    settings, backbone, norm, info = tiny_run
    data_cfg = dict(image_size=[96, 64], heatmap_size=[24, 16], num_output_channels=14,
                    num_joints=14, dataset_channel=[list(range(14))],
                    inference_channel=list(range(14)), use_gt_bbox=True)
    train_pipeline = [dict(type='LoadImageFromFile'), dict(type='ToTensor'), norm,
                      dict(type='Collect', keys=['img', 'keypoints', 'keypoints_visible'],
                           meta_keys=['image_file', 'image_id'])]
    test_pipeline = [dict(type='LoadImageFromFile'), dict(type='ToTensor'), norm,
                     dict(type='Collect', keys=['img'],
                          meta_keys=['image_file', 'image_id', 'flip_pairs'])]

    def dataset(split, pipeline):
        return dict(type='TopDownCocoDataset', ann_file=f'{data}/annotations/{split}.json',
                    img_prefix=f'{data}/images/{split}/', data_cfg=data_cfg, dataset_info=info,
                    data_mode='bottomup', pipeline=pipeline)

    return Config.fromdict(dict(
        model=dict(type='BottomUp',
                   backbone=backbone,
                   heads=dict(bodypart=dict(type='HeatmapHead', in_channels=32, out_channels=14,
                                            deconv_out_channels=(16,),
                                            deconv_kernel_sizes=(4,),
                                            codec=dict(type='ArgmaxHeatmap', sigma=1.5))),
                   test_cfg=dict(flip_test=True)),
        data=dict(samples_per_gpu=2, workers_per_gpu=0,
                  collate_fn=dict(type='pose_pad_collate', size_divisor=8),
                  train=dataset('train', train_pipeline), val=dataset('val', test_pipeline),
                  test=dataset('val', test_pipeline)),
        evaluation=dict(interval=1, metric=['mAP', 'EPE']),
        **settings(work_dir, lr=3e-3)))


def test_bottomup_trains_validates_and_tests_through_the_runner(tmp_path, tiny_run):
    data = tmp_path / 'data'
    generate_dataset(data, num_train=4, num_val=2, image_size=(96, 64), seed=4)
    cfg = bottomup_config(data, tmp_path / 'work', tiny_run)
    runner = build_runner(cfg)
    assert [m['type'] for m in runner.cfg['val_evaluator']] == ['CocoKeypointMetric', 'EPE']
    runner.train()
    metrics = runner.val_loop.run()
    assert {'AP', 'AR', 'EPE'} <= set(metrics)
    assert 0 <= metrics['AP'] <= 1 and metrics['EPE'] > 0
    tester = build_runner(cfg, test=True, checkpoint=str(tmp_path / 'work' / 'epoch_1.pth'),
                          out=str(tmp_path / 'predictions.json'))
    assert tester.test() == metrics  # the same weights, the same numbers

    records = json.load(open(tmp_path / 'predictions.json'))
    assert len(records) == 2 and len(records[0]['keypoints']) == 14  # one instance per image
    assert {'image_id', 'bbox_id', 'bbox', 'score'} <= set(records[0])
