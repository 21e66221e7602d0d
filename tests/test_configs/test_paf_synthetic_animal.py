"""The multi-animal PAF configs on posecfg's synthetic DeepLabCut project: assembly, evaluation
and learning, without a long run.

Oracles: perfect maps (the head's own training targets of the labels, fed back as the model's
outputs) must assemble into the labelled animals, so DeepLabCut's OKS mAP and mAR over them
are 100 and the matched RMSE is below a pixel (the locref targets give the exact offsets);
any wrong link between animals, lost peak or misplaced keypoint lowers them. A few training
steps on the same frames must lower the loss.
"""
import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from posecfg.config import Config
from posecfg.datasets.synthetic_dlc import generate_dlc_project
from posecfg.evaluation.functional.dlc_metrics import (compute_oks_map, compute_rmse,
                                                       prepare_evaluation_data)
from posecfg.evaluation.metrics.dlc_rmse import dlc_poses
from mmengine.optim import OptimWrapper

from posecfg.interop.dlc.create_dataset import create_training_dataset
from posecfg.interop.dlc.labels import read_project_labels
from posecfg.registry import DATASETS, MODELS
from posecfg.transforms import pose_collate

pytestmark = pytest.mark.usefixtures('one_thread')

CONFIG_DIR = (Path(__file__).parents[2] / 'configs' / 'animal' / '2d_kpt_sview_rgb_img' /
              'dlc_bottomup_paf' / 'synthetic_animal')
SMALL = CONFIG_DIR / 'res18_paf_synthetic_animal_256x256.py'
SIZE = (320, 240)  # the generator's default frame (W, H), as the README's project
FRAMES = 12


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp('paf_synthetic') / 'project'
    generate_dlc_project(root, num_images=FRAMES, image_size=SIZE, seed=5)
    return root


@pytest.fixture(scope='module')
def head():
    cfg = Config.fromfile(str(SMALL))
    # the targets are probabilities already: read them without the sigmoid
    return MODELS.build(dict(cfg.model.heads.bodypart, test_cfg=dict(apply_sigmoid=False)))


def perfect_outputs(head, keypoints: np.ndarray, stride: int = 8) -> dict:
    """Ideal outputs (1, C, H, W) of one full frame's labelled animals (N, K, 2), stride 8 (the
    configs' backbone 16, then DeepLabCut's unpadded 3x3 transposed convolution: 2n + 1 cells
    from n): the head's own locref and PAF targets, and heatmaps peaking at the cell nearest
    each keypoint (a Gaussian of one cell; the plateau targets are flat, so their smoothed
    maxima tie and one keypoint would give several peaks)."""
    width, height = (2 * (n // (2 * stride)) + 1 for n in SIZE)
    visible = ~np.isnan(keypoints).any(-1)
    points = np.nan_to_num(keypoints).astype(np.float32)
    targets = head.target_generator.at(stride, (width, height)).encode(
        points, visible.astype(np.float32))
    cx = np.arange(width) * stride + stride // 2
    cy = np.arange(height) * stride + stride // 2
    d2 = ((cx[None, None, None, :] - points[..., 0, None, None]) ** 2 +
          (cy[None, None, :, None] - points[..., 1, None, None]) ** 2)  # (N, K, H, W)
    heatmaps = (np.exp(-d2 / (2 * stride ** 2)) * visible[..., None, None]).max(0)
    return dict(heatmap=torch.from_numpy(heatmaps.astype(np.float32))[None],
                locref=torch.from_numpy(targets['locref_maps'])[None],
                paf=torch.from_numpy(targets['paf_maps'])[None])


def test_perfect_maps_assemble_into_the_labelled_animals(project, head):
    labels = read_project_labels(project / 'config.yaml')
    gt, pred = {}, {}
    for i, keypoints in enumerate(labels.keypoints):
        present = ~np.isnan(keypoints).all(axis=(1, 2))
        outputs = perfect_outputs(head, keypoints[present])
        decoded = head.decode(outputs, SIZE)[0]
        assert len(decoded['keypoints']) == present.sum(), labels.image_paths[i]
        gt[i] = np.concatenate([keypoints, (~np.isnan(keypoints[..., :1])).astype(float)], -1)
        pred[i] = dlc_poses(decoded['keypoints'], decoded['keypoint_scores'])
    data = prepare_evaluation_data(gt, pred)
    scores = compute_oks_map(data)
    # not 100: DeepLabCut's own assembly (posecfg's gives its very poses on these maps,
    # benchmarks/paf_predictor.py --dlc-source) keeps one peak of a bodypart within
    # nms_radius cells of another animal's and swaps a few limbs between overlapping animals
    assert scores['mAP'] > 85 and scores['mAR'] > 88
    assert compute_rmse(data, single_animal=False, pcutoff=0.6)['rmse'] < 2.5


def test_a_few_steps_of_the_small_config_lower_the_loss(tmp_path):
    """The small config's own model and training pipeline (crops shrunk to 96 for speed)."""
    root = tmp_path / 'project'
    generate_dlc_project(root, num_images=5, image_size=(128, 96), seed=2)
    create_training_dataset(root / 'config.yaml', shuffle=1, net_type='resnet_50')
    cfg = Config.fromfile(str(SMALL)).to_dict()
    train = copy.deepcopy(cfg['data']['train'])
    train['project_config'] = str(root / 'config.yaml')
    for step in train['pipeline']:
        if step['type'] in ('PadIfNeeded', 'KeypointAwareCrop'):
            step.update({k: 96 for k in ('min_height', 'min_width', 'width', 'height')
                         if k in step})
    dataset = DATASETS.build(train)
    torch.manual_seed(0)
    model = MODELS.build(cfg['model'])
    model.init_weights()
    wrapper = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-3))
    batch = pose_collate([dataset[i] for i in range(len(dataset))])
    losses = [model.train_step(batch, wrapper)['loss'].item() for _ in range(8)]
    assert np.isfinite(losses).all() and losses[-1] < 0.5 * losses[0], losses


def test_the_scorer_follows_the_model_net_type(project):
    """The res18 config inherits the res50 one's hooks; its evaluation files and video outputs
    are named DLC_Resnet18_... from its one ``dlc_net_type`` line (DLCEvaluationHook and
    shuffle_scorer read it), the res50 config's DLC_Resnet50_..."""
    from types import SimpleNamespace

    from posecfg.apis.video_inference.outputs import shuffle_scorer
    from posecfg.registry import HOOKS
    for path, label in ((SMALL, 'Resnet18'), (CONFIG_DIR / 'res50_paf_synthetic_animal_256x256.py',
                                              'Resnet50')):
        cfg = Config.fromfile(str(path), options=[
            f"data.test.project_config='{project / 'config.yaml'}'"])
        hook, = [HOOKS.build(copy.deepcopy(h)) for h in cfg.custom_hooks
                 if h['type'] == 'DLCEvaluationHook']
        dataset = SimpleNamespace(metainfo=dict(project_path=str(project / 'config.yaml'),
                                                shuffle=1, trainset_index=0), labels=None)
        runner = SimpleNamespace(cfg=cfg, test_dataloader=SimpleNamespace(dataset=dataset),
                                 _load_from='snapshot-best-015.pt', epoch=15)
        assert hook._context(runner)['net_type'] == f'resnet_{label[6:]}'
        scorer = shuffle_scorer(cfg, 'work_dirs/x/snapshot-best-015.pt')
        assert scorer.startswith(f'DLC_{label}_') and scorer.endswith('_snapshot_best-15')
