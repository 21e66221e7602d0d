"""evaluation_metrics: the seed's metric names → metric configs, per dataset."""
import pytest

from posecfg.registry import DATASETS

BBOX_PCK = dict(type='PCKAccuracy', thr=0.2, norm_item='bbox')
AUC = dict(type='AUC', norm_factor=30, num_thrs=20)
EPE = dict(type='EPE')


def build(mmpose_tests, make_data_cfg, type_name, folder, ann, num, **cfg):
    return DATASETS.build(dict(type=type_name, ann_file=str(mmpose_tests / folder / ann),
                               img_prefix=str(mmpose_tests / folder),
                               data_cfg=make_data_cfg(num, **cfg), pipeline=[], test_mode=True))


def test_coco_map_uses_data_cfg_nms_settings(mmpose_tests, make_data_cfg):
    ds = build(mmpose_tests, make_data_cfg, 'TopDownCocoDataset', 'coco', 'test_coco.json', 17,
               soft_nms=True, oks_thr=0.8, vis_thr=0.3, nms_thr=1.0)
    assert ds.evaluation_metrics('mAP') == [dict(
        type='CocoKeypointMetric', ann_file=str(mmpose_tests / 'coco' / 'test_coco.json'),
        use_area=True, keypoint_score_thr=0.3, nms_mode='soft_oks_nms', nms_thr=0.8)]
    no_nms = build(mmpose_tests, make_data_cfg, 'TopDownCocoDataset', 'coco', 'test_coco.json',
                   17, use_nms=False)
    assert no_nms.evaluation_metrics(['mAP'])[0]['nms_mode'] == 'none'
    plain = build(mmpose_tests, make_data_cfg, 'TopDownCocoDataset', 'coco', 'test_coco.json', 17)
    assert plain.evaluation_metrics('mAP')[0]['nms_mode'] == 'oks_nms'
    # with ground-truth boxes the PCK family works on COCO too
    assert plain.evaluation_metrics(['mAP', 'PCK', 'PCK'])[1:] == [BBOX_PCK]


def test_crowdpose_map_uses_box_areas(mmpose_tests, make_data_cfg):
    ds = build(mmpose_tests, make_data_cfg, 'TopDownCrowdPoseDataset', 'crowdpose',
               'test_crowdpose.json', 14)
    assert ds.evaluation_metrics('mAP')[0]['use_area'] is False


@pytest.mark.parametrize('type_name,folder,ann,num,pck', [
    ('AnimalFlyDataset', 'fly', 'test_fly.json', 32, BBOX_PCK),
    ('AnimalLocustDataset', 'locust', 'test_locust.json', 35, BBOX_PCK),
    ('AnimalZebraDataset', 'zebra', 'test_zebra.json', 9, BBOX_PCK),
    ('AnimalHorse10Dataset', 'horse10', 'test_horse10.json', 22,
     dict(type='PCKAccuracy', thr=0.3, norm_item='keypoint_distance', keypoint_indices=[0, 1])),
    ('AnimalKingdomDataset', 'ak', 'test_animalkingdom.json', 23,
     dict(type='PCKAccuracy', thr=0.05, norm_item='bbox')),
])
def test_pck_family(mmpose_tests, make_data_cfg, type_name, folder, ann, num, pck):
    ds = build(mmpose_tests, make_data_cfg, type_name, folder, ann, num)
    assert ds.evaluation_metrics(['PCK', 'AUC', 'EPE']) == [pck, AUC, EPE]


def test_map_needs_sigmas(mmpose_tests, make_data_cfg):
    ds = build(mmpose_tests, make_data_cfg, 'AnimalFlyDataset', 'fly', 'test_fly.json', 32)
    with pytest.raises(ValueError, match=r"AnimalFlyDataset: evaluation metric 'mAP' is not "
                                         r"supported \(COCO keypoint AP needs OKS sigmas and "
                                         r".*fly\.py defines none \(sigmas=\[\]\)\); supported: "
                                         r"'PCK', 'AUC', 'EPE'"):
        ds.evaluation_metrics(['PCK', 'mAP'])


def test_unknown_names_list_the_supported_ones(mmpose_tests, make_data_cfg):
    ds = build(mmpose_tests, make_data_cfg, 'TopDownCocoDataset', 'coco', 'test_coco.json', 17)
    with pytest.raises(ValueError, match=r"TopDownCocoDataset: evaluation metric 'PCKh' is not "
                                         r"supported; supported: 'mAP', 'PCK', 'AUC', 'EPE'"):
        ds.evaluation_metrics('PCKh')
    with pytest.raises(TypeError, match=r'evaluation.metric must be a name or a list of names'):
        ds.evaluation_metrics(dict(metric='mAP'))


def test_detections_have_no_per_instance_ground_truth(mmpose_tests, make_data_cfg):
    ds = build(mmpose_tests, make_data_cfg, 'TopDownCocoDataset', 'coco', 'test_coco.json', 17,
               use_gt_bbox=False,
               bbox_file=str(mmpose_tests / 'coco' / 'test_coco_det_AP_H_56.json'))
    assert [m['type'] for m in ds.evaluation_metrics('mAP')] == ['CocoKeypointMetric']
    with pytest.raises(ValueError, match=r"'PCK' is not supported \(the samples are detections "
                                         r"\(data_cfg.use_gt_bbox=False\) without per-instance "
                                         r"ground truth; set data_cfg.use_gt_bbox=True\); "
                                         r"supported: 'mAP'"):
        ds.evaluation_metrics(['mAP', 'PCK'])


@pytest.mark.parametrize('type_name,folder,ann,num,names', [
    ('TopDownCocoDataset', 'coco', 'test_coco.json', 17, ['mAP', 'PCK', 'AUC', 'EPE']),
    ('AnimalFlyDataset', 'fly', 'test_fly.json', 32, ['PCK', 'AUC', 'EPE']),
    ('AnimalKingdomDataset', 'ak', 'test_animalkingdom.json', 23, ['mAP', 'PCK']),
    ('AnimalHorse10Dataset', 'horse10', 'test_horse10.json', 22, ['PCK']),
])
def test_configs_build_in_the_metric_registry(mmpose_tests, make_data_cfg, type_name, folder,
                                              ann, num, names):
    ds = build(mmpose_tests, make_data_cfg, type_name, folder, ann, num)
    assert_built_as_configured(ds.evaluation_metrics(names), len(names))


def test_mpii_configs_build_in_the_metric_registry(mmpose_tests, make_data_cfg):
    ds = build(mmpose_tests, make_data_cfg, 'TopDownMpiiDataset', 'mpii', 'test_mpii.json', 16)
    configs = ds.evaluation_metrics(['PCKh', 'PCK', 'AUC', 'EPE'])
    assert [(c['type'], c.get('norm_item')) for c in configs] == [
        ('PCKAccuracy', 'head'), ('PCKAccuracy', 'bbox'), ('AUC', None), ('EPE', None)]
    assert_built_as_configured(configs, 4)


def assert_built_as_configured(configs, count):
    """Each metric config builds to an object of its type holding every configured value."""
    from posecfg.registry import METRICS
    assert len(configs) == count
    for cfg in configs:
        metric = METRICS.build(cfg)
        assert type(metric).__name__ == cfg['type']
        for key, value in cfg.items():
            if key != 'type':
                assert getattr(metric, key) == value, (cfg['type'], key)


@pytest.mark.parametrize('type_name,folder,ann,num,names,cfg', [
    ('TopDownCocoDataset', 'coco', 'test_coco.json', 17, ['mAP', 'PCK', 'AUC', 'EPE'],
     dict(soft_nms=True, oks_thr=0.8)),
    ('TopDownCrowdPoseDataset', 'crowdpose', 'test_crowdpose.json', 14, ['mAP'], {}),
    ('AnimalHorse10Dataset', 'horse10', 'test_horse10.json', 22, ['PCK', 'EPE'], {}),
    ('TopDownMpiiDataset', 'mpii', 'test_mpii.json', 16, ['PCKh', 'PCK'], {}),
])
def test_config_level_expansion_equals_the_loaded_datasets(mmpose_tests, make_data_cfg,
                                                           type_name, folder, ann, num, names,
                                                           cfg):
    """What runner_config expands evaluation.metric into, from the config dict alone, is what
    the loaded dataset says."""
    spec = dict(type=type_name, ann_file=str(mmpose_tests / folder / ann),
                img_prefix=str(mmpose_tests / folder), data_cfg=make_data_cfg(num, **cfg),
                pipeline=[], test_mode=True)
    cls = DATASETS.get(type_name)
    assert cls.metric_configs(names, spec) == DATASETS.build(spec).evaluation_metrics(names)


def test_config_level_expansion_refuses_what_the_config_rules_out(mmpose_tests, make_data_cfg):
    spec = dict(ann_file=str(mmpose_tests / 'coco' / 'test_coco.json'),
                data_cfg=make_data_cfg(17, use_gt_bbox=False, bbox_file='dets.json'))
    cls = DATASETS.get('TopDownCocoDataset')
    with pytest.raises(ValueError, match=r"'PCK' is not supported \(the samples are detections"):
        cls.metric_configs(['mAP', 'PCK'], spec)
    with pytest.raises(ValueError, match=r"'mAP' is not supported \(MPII has no COCO-format"):
        DATASETS.get('TopDownMpiiDataset').metric_configs('mAP', dict(
            data_cfg=make_data_cfg(16)))


def test_loaded_dataset_checks_an_explicit_evaluator(mmpose_tests, make_data_cfg):
    ds = build(mmpose_tests, make_data_cfg, 'TopDownCocoDataset', 'coco', 'test_coco.json', 17,
               use_gt_bbox=False,
               bbox_file=str(mmpose_tests / 'coco' / 'test_coco_det_AP_H_56.json'))
    ds.check_evaluator([dict(type='CocoKeypointMetric')])
    with pytest.raises(ValueError, match="evaluator EPE reads the samples' ground truth, but the "
                                         "samples are detections"):
        ds.check_evaluator([dict(type='EPE')])
