"""DeepLabCut's HeatmapHead (DLCHeatmapHead) in a BottomUp config through the runner: trains on
whole images with targets it builds itself, logs DeepLabCut's loss names, validates and tests."""
from test_bottomup_run import bottomup_config

from posecfg.config import Config
from posecfg.datasets.synthetic import generate_dataset
from posecfg.engine import build_runner

K = 14


def dlc_head(channels=32, num_keypoints=K):
    K = num_keypoints  # noqa: N806  (the bodypart count of the heads below)
    return dict(
        type='DLCHeatmapHead',
        predictor=dict(type='HeatmapPredictor', apply_sigmoid=False, clip_scores=True,
                       location_refinement=True, locref_std=7.2801),
        target_generator=dict(type='HeatmapGaussianGenerator', num_heatmaps=K,
                              pos_dist_thresh=17, heatmap_mode='KEYPOINT',
                              generate_locref=True, locref_std=7.2801),
        criterion=dict(heatmap=dict(type='WeightedMSECriterion', weight=1.0),
                       locref=dict(type='WeightedHuberCriterion', weight=0.05)),
        heatmap_config=dict(channels=[channels, K], kernel_size=[3], strides=[2]),
        locref_config=dict(channels=[channels, 2 * K], kernel_size=[3], strides=[2]),
        weight_init='normal')


def test_dlc_heatmap_head_trains_validates_and_tests(tmp_path, tiny_run):
    data = tmp_path / 'data'
    generate_dataset(data, num_train=4, num_val=2, image_size=(96, 64), seed=4)
    cfg = bottomup_config(data, tmp_path / 'work', tiny_run).to_dict()
    cfg['model']['heads']['bodypart'] = dlc_head()
    cfg['model']['test_cfg'] = dict(flip_test=False)
    cfg = Config.fromdict(cfg)
    runner = build_runner(cfg)
    runner.train()
    logged = set(runner.message_hub.log_scalars)
    assert {'train/total_loss', 'train/heatmap', 'train/locref'} <= logged
    metrics = runner.val_loop.run()
    assert {'AP', 'EPE'} <= set(metrics) and metrics['EPE'] > 0
    tester = build_runner(cfg, test=True, checkpoint=str(tmp_path / 'work' / 'epoch_1.pth'))
    assert tester.test() == metrics
