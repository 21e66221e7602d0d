"""A DEKR BottomUp (with DeepLabCut's unique-bodypart and identity heads) through the runner on
the synthetic DeepLabCut multi-animal project: trains, logs each head's DeepLabCut loss names,
validates with DeepLabCut's RMSE and mAP."""
from posecfg.config import Config
from posecfg.engine import build_runner
from tests.conftest import shared_path
from tests.test_models.test_bottomup_dekr import KEYS, heads, tiny_hrnet

SIZE = 96


def test_dekr_trains_and_validates_with_deeplabcuts_metrics(tmp_path, tiny_run):
    settings = tiny_run[0]
    project = str(shared_path('dlc-synthetic-multianimal', 'config.yaml'))
    resize = [dict(type='LoadImageFromFile'), dict(type='Resize', height=SIZE, width=SIZE),
              dict(type='NormalizeImage'), dict(type='ToTensor')]
    meta = ['image_file', 'image_id', 'warp_mat']
    train = resize + [dict(type='Collect', keys=KEYS, meta_keys=meta)]
    test = resize + [dict(type='Collect', keys=['img'], meta_keys=meta)]

    def dataset(split, pipeline):
        return dict(type='DLCProjectDataset', project_config=project, split=split,
                    train_indices=[0, 3, 4, 5], test_indices=[1, 2], data_mode='bottomup',
                    pipeline=pipeline)

    single = dict(samples_per_gpu=1, collate_fn='pose_collate')
    cfg = Config.fromdict(dict(
        model=dict(type='BottomUp', backbone=tiny_hrnet(), heads=heads()),
        data=dict(samples_per_gpu=2, workers_per_gpu=0, collate_fn='pose_collate',
                  train=dataset('train', train), val=dataset('test', test),
                  test=dataset('test', test), val_dataloader=single, test_dataloader=single),
        evaluation=dict(interval=1, metric=['RMSE', 'mAP']),
        **settings(tmp_path / 'work', lr=5e-3)))
    runner = build_runner(cfg)
    runner.train()
    logged = set(runner.message_hub.log_scalars)
    assert {'train/bodypart_total_loss', 'train/bodypart_heatmap', 'train/bodypart_offset',
            'train/unique_bodypart_total_loss', 'train/identity_total_loss'} <= logged
    metrics = runner.val_loop.run()
    assert {'rmse', 'rmse_pcutoff', 'mAP', 'mAR'} <= set(metrics), metrics
    assert metrics['rmse'] > 0 and 0 <= metrics['mAP'] <= 100
