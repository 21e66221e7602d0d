"""DLCHeatmapHead: DeepLabCut 3's HeatmapHead (models/heads/simple_head.py of 3.0.2) in posecfg.

Facts: simple_head.py:129-210 ``DeconvModule``: ``ConvTranspose2d(c_in, c_out, k, stride=s)``
(padding 0) and ``ReLU`` per layer, the last ReLU dropped (``layers[:-1]``), then ``final_conv``
(``Conv2d(channels[-1], out_channels, kernel_size, stride=1)``) or Identity; head stride = product
of strides; modules ``heatmap_head`` / ``locref_head`` (simple_head.py:88-96); weight_init.py:43-60
``Normal``: parameters named ``*bias*`` 0, others N(0, 0.001); model.py:262-267 model stride =
backbone stride / head stride; model.py:183-194: a criterion dict without ``type`` → one
criterion per output with its ``weight`` for the ``WeightedLossAggregator``.
"""
import numpy as np
import pytest
import torch

from posecfg.registry import MODELS

K = 3
CRITERION = dict(heatmap=dict(type='WeightedMSECriterion', weight=1.0),
                 locref=dict(type='WeightedHuberCriterion', weight=0.05))


def head_cfg(channels=32, k=K, **kwargs):
    cfg = dict(type='DLCHeatmapHead',
               predictor=dict(type='HeatmapPredictor', apply_sigmoid=False, clip_scores=True,
                              location_refinement=True, locref_std=7.2801),
               target_generator=dict(type='HeatmapGaussianGenerator', num_heatmaps=k,
                                     pos_dist_thresh=17, heatmap_mode='KEYPOINT',
                                     gradient_masking=False, generate_locref=True,
                                     locref_std=7.2801),
               criterion=CRITERION,
               heatmap_config=dict(channels=[channels, k], kernel_size=[3], strides=[2]),
               locref_config=dict(channels=[channels, 2 * k], kernel_size=[3], strides=[2]),
               weight_init='normal')
    cfg.update(kwargs)
    return cfg


def test_state_dict_keys_and_shapes_are_deeplabcuts():
    torch.manual_seed(0)
    head = MODELS.build(head_cfg(
        heatmap_config=dict(channels=[16, 8, K], kernel_size=[3, 2], strides=[2, 2]),
        locref_config=dict(channels=[16, 8, 8], kernel_size=[3, 2], strides=[2, 2],
                           final_conv=dict(out_channels=2 * K, kernel_size=1))))
    shapes = {k: tuple(v.shape) for k, v in head.state_dict().items()}
    assert shapes == {
        'heatmap_head.deconv_layers.0.weight': (16, 8, 3, 3),  # ConvTranspose2d: in × out
        'heatmap_head.deconv_layers.0.bias': (8,),
        'heatmap_head.deconv_layers.2.weight': (8, K, 2, 2),  # index 1 is the ReLU
        'heatmap_head.deconv_layers.2.bias': (K,),
        'locref_head.deconv_layers.0.weight': (16, 8, 3, 3),
        'locref_head.deconv_layers.0.bias': (8,),
        'locref_head.deconv_layers.2.weight': (8, 8, 2, 2),
        'locref_head.deconv_layers.2.bias': (8,),
        'locref_head.final_conv.weight': (2 * K, 8, 1, 1),
        'locref_head.final_conv.bias': (2 * K,)}
    assert len(head.heatmap_head.deconv_layers) == 3  # no ReLU after the last layer
    out = head(torch.randn(2, 16, 5, 6))
    # (H - 1)·s + k per layer: 5 → 11 → 22, 6 → 13 → 26
    assert out['heatmap'].shape == (2, K, 22, 26) and out['locref'].shape == (2, 2 * K, 22, 26)
    assert head.head_stride == 4
    # weight_init 'normal': biases 0, weights N(0, 0.001)
    assert all(v.abs().max() == 0 for k, v in head.state_dict().items() if 'bias' in k)
    weights = torch.cat([v.flatten() for k, v in head.state_dict().items() if 'weight' in k])
    assert 0.0007 < weights.std().item() < 0.0013


def test_loss_is_deeplabcuts_aggregate():
    torch.manual_seed(0)
    head = MODELS.build(head_cfg(channels=8))
    feats = (torch.randn(2, 8, 4, 5),)
    keypoints = [np.array([[[10.0, 20.0], [30.0, 12.0], [0.0, 0.0]]], np.float32),
                 np.array([[[50.0, 40.0], [5.0, 5.0], [20.0, 20.0]]], np.float32)]
    visible = [np.array([[1.0, 1.0, 0.0]], np.float32), np.ones((1, K), np.float32)]
    batch = dict(img=torch.zeros(2, 3, 64, 80), keypoints=keypoints, keypoints_visible=visible)
    losses = head.loss(feats, batch)
    assert set(losses) == {'total_loss', 'heatmap', 'locref'}
    # the targets written out: stride 16 / 2 = 8 on the (2·4+1, 2·5+1) output
    out = head(feats)
    assert out['heatmap'].shape[-2:] == (9, 11)
    targets = head.target_generator.at(8, (11, 9)).encode_batch(keypoints, visible)
    t = {k: torch.from_numpy(v) for k, v in targets.items()}
    mse = ((out['heatmap'] - t['heatmaps']) ** 2).sum() / out['heatmap'].numel()
    diff = (out['locref'] - t['locref_maps']).abs()
    huber = torch.where(diff < 1, 0.5 * diff ** 2, diff - 0.5)
    huber = (huber * t['locref_weights']).sum() / (t['locref_weights'] != 0).sum()
    torch.testing.assert_close(losses['heatmap'], mse.detach())
    torch.testing.assert_close(losses['locref'], huber.detach())
    torch.testing.assert_close(losses['total_loss'], (mse + 0.05 * huber) / 2)


def test_configuration_errors():
    with pytest.raises(ValueError, match='outputs 4 channels but target_generator.num_heatmaps'):
        MODELS.build(head_cfg(heatmap_config=dict(channels=[32, 4], kernel_size=[3],
                                                  strides=[2])))
    with pytest.raises(ValueError, match='same stride'):
        MODELS.build(head_cfg(locref_config=dict(channels=[32, 2 * K], kernel_size=[3],
                                                 strides=[1])))
    with pytest.raises(ValueError, match="criterion has entries \\['heatmap'\\]"):
        MODELS.build(head_cfg(criterion=dict(heatmap=CRITERION['heatmap'])))
    with pytest.raises(ValueError, match='generate_locref'):
        MODELS.build(head_cfg(locref_config=None))
    with pytest.raises(KeyError, match="did you mean 'locref_std'"):
        MODELS.build(head_cfg(test_cfg=dict(locref_sd=1.0)))
    head = MODELS.build(head_cfg())
    with pytest.raises(ValueError, match='channels\\[0\\] is 32 but the selected feature map'):
        head(torch.zeros(1, 16, 4, 4))


def test_head_without_locref_and_test_cfg_override():
    head = MODELS.build(head_cfg(
        locref_config=None, criterion=dict(type='WeightedMSECriterion'),
        target_generator=dict(type='HeatmapPlateauGenerator', num_heatmaps=K,
                              pos_dist_thresh=17, generate_locref=False),
        predictor=dict(type='HeatmapPredictor', location_refinement=False),
        test_cfg=dict(apply_sigmoid=False)))
    assert head.predictor.apply_sigmoid is False
    outputs = {'heatmap': torch.zeros(1, K, 9, 9)}
    outputs['heatmap'][0, :, 2, 3] = 1
    (result,) = head.decode(outputs, (64, 64))  # features 4 × 4 → stride 16 / 2 = 8
    np.testing.assert_allclose(result['keypoints'], [[[28, 20]] * K])
    assert result['keypoint_scores'].shape == (1, K)
    batch = dict(img=torch.zeros(1, 3, 64, 64), keypoints=[np.full((1, K, 2), 20.0)],
                 keypoints_visible=[np.ones((1, K))])
    assert set(head.loss((torch.zeros(1, 32, 4, 4),), batch)) == {'total_loss'}


def test_bottomup_with_a_tiny_resnet_trains_and_predicts():
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = MODELS.build(dict(
            type='BottomUp',
            backbone=dict(type='ResNet', depth=18, stem_channels=16, base_channels=16,
                          out_indices=(1,)),  # stride 8, 32 channels
            heads=dict(bodypart=head_cfg(channels=32))))
        model.init_weights()
        rng = np.random.default_rng(0)
        img = torch.randn(2, 3, 64, 80)
        keypoints = [rng.uniform(4, 60, (1, K, 2)).astype(np.float32) for _ in range(2)]
        visible = [np.ones((1, K), np.float32) for _ in range(2)]
        optim = torch.optim.Adam(model.parameters(), lr=1e-3)
        losses = []
        for _ in range(8):
            loss = model(img, mode='loss', keypoints=keypoints, keypoints_visible=visible)
            assert set(loss) == {'total_loss', 'heatmap', 'locref'}
            optim.zero_grad()
            loss['total_loss'].backward()
            optim.step()
            losses.append(loss['total_loss'].item())
        assert np.isfinite(losses).all() and losses[-1] < 0.85 * losses[0]
        assert 'bodypart.heatmap_head.deconv_layers.0.weight' in model.state_dict()

        model.eval()
        metas = [dict(image_file=f'{i}.png', image_id=i) for i in range(2)]
        with torch.no_grad():
            results = model(img, mode='predict', img_metas=metas)
            outputs = model(img, mode='tensor')
        assert outputs['heatmap'].shape == (2, K, 17, 21)  # 8·2+1, 10·2+1
        for i, result in enumerate(results):
            assert result['keypoints'].shape == (1, K, 2)
            assert result['keypoints'].dtype == np.float32
            assert result['keypoint_scores'].shape == (1, K)
            assert ((result['keypoint_scores'] >= 0) & (result['keypoint_scores'] <= 1)).all()
            assert result['image_id'] == i and result['bboxes'].shape == (1, 4)
    finally:
        torch.set_num_threads(threads)


def test_a_config_with_deeplabcuts_keys_validates_and_typos_are_named():
    from posecfg.config import Config
    from posecfg.engine.validate import ConfigValidationError, validate_config
    from posecfg.models.heads import DLC_TYPE_NAMES
    from posecfg.registry import KEYPOINT_CODECS, accepts_key
    for dlc, ours in DLC_TYPE_NAMES.items():
        assert MODELS.get(ours) is not None or KEYPOINT_CODECS.get(ours) is not None, dlc
    model = dict(type='BottomUp', backbone=dict(type='ResNet', depth=18),
                 heads=dict(bodypart=head_cfg(channels=512)), test_cfg=dict(locref_std=7.28))
    validate_config(Config.fromdict(dict(model=model)))
    assert accepts_key('BottomUp', ('test_cfg', 'clip_scores'))
    model['heads']['bodypart']['heatmap_config']['stride'] = [2]
    model['heads']['bodypart']['criterion'] = dict(
        heatmap=dict(type='WeightedMSECriterion', wieght=1.0), locref=CRITERION['locref'])
    with pytest.raises(ConfigValidationError) as error:
        validate_config(Config.fromdict(dict(model=model)))
    assert 'heatmap_config.stride: DLCHeatmapHead does not read heatmap_config.stride; did ' \
           'you mean strides?' in str(error.value)
    assert "criterion.heatmap.wieght: WeightedMSECriterion does not take 'wieght'" in \
        str(error.value)


def test_model_test_cfg_reaches_the_predictor():
    model = MODELS.build(dict(
        type='BottomUp', backbone=dict(type='ResNet', depth=18, stem_channels=16,
                                       base_channels=16, out_indices=(1,)),
        heads=dict(bodypart=head_cfg(channels=32)),
        test_cfg=dict(locref_std=3.0, clip_scores=False)))
    assert model.bodypart.predictor.locref_std == 3.0
    assert model.bodypart.predictor.clip_scores is False
    assert model.bodypart.predictor.apply_sigmoid is False  # from the predictor config


def test_unique_bodypart_and_identity_style_heads_read_their_labels():
    # DeepLabCut's unique_bodypart head: label_keypoint_key 'keypoints_unique' = posecfg's
    # unique_keypoints; its identity head: INDIVIDUAL plateau maps, BCE, no locref
    # (config/base/head_identity.yaml)
    unique = MODELS.build(head_cfg(k=2, target_generator=dict(
        type='HeatmapGaussianGenerator', num_heatmaps=2, pos_dist_thresh=17,
        label_keypoint_key='keypoints_unique')))
    feats = (torch.zeros(1, 32, 4, 4),)
    batch = dict(img=torch.zeros(1, 3, 64, 64), unique_keypoints=[np.full((1, 2, 2), 20.0)],
                 unique_keypoints_visible=[np.ones((1, 2))])
    assert torch.isfinite(unique.loss(feats, batch)['total_loss'])
    with pytest.raises(ValueError, match="needs 'unique_keypoints'"):
        unique.loss(feats, dict(batch, unique_keypoints=None))
    identity = MODELS.build(head_cfg(
        k=3, locref_config=None,
        predictor=dict(type='HeatmapPredictor', location_refinement=False),
        target_generator=dict(type='HeatmapPlateauGenerator', num_heatmaps=3,
                              pos_dist_thresh=17, heatmap_mode='INDIVIDUAL',
                              generate_locref=False),
        criterion=dict(heatmap=dict(type='WeightedBCECriterion', weight=1.0))))
    batch = dict(img=torch.zeros(1, 3, 64, 64), keypoints=[np.full((2, 4, 2), 20.0)],
                 keypoints_visible=[np.ones((2, 4))], identities=[np.array([0, 2])])
    losses = identity.loss(feats, batch)
    assert set(losses) == {'total_loss', 'heatmap'}
    # one criterion through the aggregator: mean of [1.0 · L] = L
    torch.testing.assert_close(losses['total_loss'].detach(), losses['heatmap'])
    with pytest.raises(ValueError, match="needs 'identities'"):
        identity.loss(feats, dict(batch, identities=None))
