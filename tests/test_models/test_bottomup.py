"""BottomUp end to end on a tiny whole-image dataset: a registered heatmap head with the
ArgmaxHeatmap codec learns from targets it builds at its own output stride, predicts keypoints
in original-image pixels, runs flip test, and shares the backbone with a second head."""
import numpy as np
import pytest
import torch
from mmengine.optim import OptimWrapper

from posecfg.datasets.synthetic import generate_dataset
from posecfg.registry import DATASETS, MODELS
from posecfg.transforms import pose_pad_collate

K = 14
NORM = dict(type='NormalizeTensor', mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])


def centroid_of_first_animal(results):
    """A per-image point for a second head to learn (as DeepLabCut's unique bodyparts are)."""
    visible = results['keypoints_visible'][0] > 0
    results['unique_keypoints'] = results['keypoints'][:1, visible].mean(axis=1, keepdims=True)
    results['unique_keypoints_visible'] = np.ones((1, 1), np.float32)
    return results


pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp('bottomup') / 'data'
    generate_dataset(root, num_train=4, num_val=1, image_size=(96, 64), seed=5)
    data_cfg = dict(image_size=[96, 64], heatmap_size=[24, 16], num_output_channels=K,
                    num_joints=K, dataset_channel=[list(range(K))],
                    inference_channel=list(range(K)))
    pipeline = [dict(type='LoadImageFromFile'), centroid_of_first_animal, dict(type='ToTensor'),
                NORM, dict(type='Collect',
                           keys=['img', 'keypoints', 'keypoints_visible', 'unique_keypoints',
                                 'unique_keypoints_visible'],
                           meta_keys=['image_file', 'image_id', 'flip_pairs'])]
    return DATASETS.build(dict(
        type='TopDownCocoDataset', ann_file=str(root / 'annotations' / 'train.json'),
        img_prefix=str(root / 'images' / 'train'), data_cfg=data_cfg, pipeline=pipeline,
        data_mode='bottomup', dataset_info='configs/_base_/datasets/synthetic_animal.py'))


def heatmap_head(out_channels, **kwargs):
    return dict(type='HeatmapHead', in_channels=32, out_channels=out_channels,
                deconv_out_channels=(16,), deconv_kernel_sizes=(4,),
                codec=dict(type='ArgmaxHeatmap', sigma=1.5), **kwargs)


def build(heads, **kwargs):
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='BottomUp', backbone=dict(type='ResNet', depth=18, stem_channels=16,
                                       base_channels=16, out_indices=(1,)),
        heads=heads, **kwargs))
    model.init_weights()
    return model


def test_bottomup_trains_and_predicts_whole_images(dataset):
    batch = pose_pad_collate([dataset[i] for i in range(4)], size_divisor=8)
    assert batch['img'].shape == (4, 3, 64, 96)
    assert [len(k) for k in batch['keypoints']] == [len(dataset.image_record(i)['keypoints'])
                                                    for i in range(4)]
    model = build(dict(bodypart=heatmap_head(K)))
    wrapper = OptimWrapper(torch.optim.Adam(model.parameters(), lr=3e-3))
    losses = [model.train_step(batch, wrapper)['loss'].item() for _ in range(20)]
    assert all(np.isfinite(losses)) and losses[-1] < 0.5 * losses[0]

    model.eval()
    outputs = model(model.data_preprocessor(batch)['img'], mode='tensor')
    assert outputs.shape == (4, K, 16, 24)  # stride 8 backbone, one ×2 deconvolution
    results = model.val_step(batch)
    assert len(results) == 4
    for i, result in enumerate(results):
        assert result['keypoints'].shape == (1, K, 2) and result['keypoints'].dtype == np.float32
        assert result['keypoint_scores'].shape == (1, K)
        assert result['bboxes'].shape == (1, 4) and result['bbox_scores'].shape == (1,)
        assert result['image_id'] == dataset.image_record(i)['image_id']
        # the arg-max cell's centre: x = 4 c + 1.5 at stride 4, inside the image
        cells = (result['keypoints'] - 1.5) / 4
        np.testing.assert_allclose(cells, np.round(cells), atol=1e-5)
        assert (result['keypoints'] >= 0).all() and (result['keypoints'] <= [95, 63]).all()


def test_flip_test_and_warp_back_to_the_original_image(dataset):
    batch = pose_pad_collate([dataset[i] for i in range(2)])
    model = build(dict(bodypart=heatmap_head(K)), test_cfg=dict(flip_test=True)).eval()
    img = model.data_preprocessor(batch)['img']
    with torch.no_grad():
        plain = model(img, mode='tensor')
        mirrored = model(img.flip(-1), mode='tensor')
    pairs = batch['img_metas'][0]['flip_pairs']
    perm = np.arange(K)
    for left, right in pairs:
        perm[left], perm[right] = right, left
    expected = (plain + mirrored[:, perm].flip(-1)) / 2  # the flip-back written out
    averaged = model.head_outputs(img, batch['img_metas'])['bodypart']
    torch.testing.assert_close(averaged, expected)
    # a pipeline that resized by 1/2 records warp_mat: predictions come back doubled
    plain_model = build(dict(bodypart=heatmap_head(K))).eval()
    plain_results = plain_model.val_step(batch)
    halved = dict(batch, img_metas=[dict(m, warp_mat=np.array([[0.5, 0, 0], [0, 0.5, 0]]))
                                    for m in batch['img_metas']])
    for a, b in zip(plain_results, plain_model.val_step(halved)):
        np.testing.assert_allclose(b['keypoints'], 2 * a['keypoints'], rtol=1e-6)


def test_several_heads_share_the_backbone(dataset):
    batch = pose_pad_collate([dataset[i] for i in range(2)])
    model = build(dict(bodypart=heatmap_head(K),
                       centroid=heatmap_head(1, keypoint_key='unique_keypoints')))
    assert {'bodypart.final_layer.weight', 'centroid.final_layer.weight'} <= set(
        model.state_dict())
    losses = model(**model.data_preprocessor(batch, True), mode='loss')
    assert set(losses) == {'bodypart_heatmap_loss', 'centroid_heatmap_loss'}
    outputs = model(model.data_preprocessor(batch)['img'], mode='tensor')
    assert outputs['centroid'].shape == (2, 1, 16, 24)
    (result, _) = model.eval().val_step(batch)
    assert result['keypoints'].shape == (1, K, 2)
    assert result['centroid']['keypoints'].shape == (1, 1, 2)
    with pytest.raises(ValueError, match="needs 'unique_keypoints' and 'unique_keypoints_visible'"):
        model.train()(**model.data_preprocessor(
            {k: v for k, v in batch.items() if not k.startswith('unique')}, True), mode='loss')


def test_several_heads_evaluate_folded(dataset):
    from posecfg.engine.loops import prepare_for_inference
    batch = pose_pad_collate([dataset[0]])
    model = build(dict(bodypart=heatmap_head(K),
                       centroid=heatmap_head(1, keypoint_key='unique_keypoints'))).eval()
    folded = prepare_for_inference(model, (3, 64, 96), fold_bn=True)
    assert folded is not model  # the BatchNorms were folded into a copy
    img = model.data_preprocessor(batch)['img']
    with torch.no_grad():
        for name, outputs in model(img, mode='tensor').items():
            torch.testing.assert_close(folded(img, mode='tensor')[name], outputs, rtol=1e-3,
                                       atol=1e-4)


def test_batchnorms_fold_for_a_bf16_autocast_evaluation(dataset):
    """runtime.autocast='auto' evaluates under bf16 autocast where bf16 is native: the fold is
    still found and checked in float32 (in bf16 the folded and unfolded convolutions round
    differently, and the check used to refuse every fold on such CPUs)."""
    from posecfg.engine.loops import prepare_for_inference
    model = build(dict(bodypart=heatmap_head(K))).eval()
    folded = prepare_for_inference(model, (3, 64, 96), fold_bn=True, fp16=True)
    assert folded is not model
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    img = model.data_preprocessor(pose_pad_collate([dataset[0]]))['img']
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        ours, theirs = folded(img, mode='tensor').float(), model(img, mode='tensor').float()
    torch.testing.assert_close(ours, theirs, rtol=0.05, atol=0.05 * theirs.abs().max().item())


def test_bf16_autocast_predictions_decode_in_float32(dataset):
    """Under bf16 autocast (runtime.autocast on CPUs with native bf16) heads decode float32
    maps with autocast off: NumPy has no bfloat16 (DeepLabCut's PAF predictor failed with
    'Got unsupported ScalarType BFloat16') and bf16 would round scores and offsets."""
    batch = pose_pad_collate([dataset[0]])
    model = build(dict(bodypart=heatmap_head(K))).eval()
    head = model.heads['bodypart']
    seen = []
    decode = head.decode

    def spy(outputs, input_size):
        seen.append((outputs.dtype, torch.is_autocast_enabled('cpu')))
        return decode(outputs, input_size)
    head.decode = spy
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        (result,) = model.val_step(batch)
    assert seen == [(torch.float32, False)]
    assert result['keypoints'].dtype == np.float32


def test_head_loss_reduction_mean_is_deeplabcuts_objective(dataset):
    """DeepLabCut 3.0.2's PoseModel.get_loss (models/model.py:93-102): ``total_loss =
    mean(stack([head_losses['total_loss'] for each head]))``; the per-head terms are logged
    unchanged. mmengine's rule (the default 'sum') adds every ``*loss*`` key."""
    batch = pose_pad_collate([dataset[i] for i in range(2)])
    heads = dict(bodypart=heatmap_head(K),
                 centroid=heatmap_head(1, keypoint_key='unique_keypoints'))
    summed, averaged = build(heads), build(heads, head_loss_reduction='mean')
    losses = averaged(**averaged.data_preprocessor(batch, True), mode='loss')
    a, b = losses['bodypart_heatmap_loss'], losses['centroid_heatmap_loss']
    assert not torch.isclose(a, b)
    loss, log_vars = averaged.parse_losses(losses)
    torch.testing.assert_close(loss, (a + b) / 2)
    torch.testing.assert_close(log_vars['loss'], (a + b) / 2)
    torch.testing.assert_close(log_vars['bodypart_heatmap_loss'], a)
    torch.testing.assert_close(log_vars['centroid_heatmap_loss'], b)
    # an unlabeled-stream term is added to the mean, not averaged with the heads
    loss, _ = averaged.parse_losses(dict(losses, unlabeled_pca_loss=torch.tensor(3.0)))
    torch.testing.assert_close(loss, (a + b) / 2 + 3)
    # the same weights (same seed) under the default: the sum
    loss, _ = summed.parse_losses(summed(**summed.data_preprocessor(batch, True), mode='loss'))
    torch.testing.assert_close(loss, a + b)
    # and train_step minimises the mean (its returned 'loss' is the objective)
    wrapper = OptimWrapper(torch.optim.SGD(averaged.parameters(), lr=0.0))
    torch.testing.assert_close(averaged.train_step(batch, wrapper)['loss'], (a + b) / 2)
    with pytest.raises(ValueError, match="head_loss_reduction must be one of sum, mean"):
        build(heads, head_loss_reduction='avg')
