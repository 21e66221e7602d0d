"""PCKAccuracy, AUC and EPE read predictions and data_batch['gt'] (hand-computed values)."""
import pickle

import numpy as np
import pytest

from posecfg.evaluation.metrics import AUC, EPE, PCKAccuracy
from posecfg.registry import METRICS


def batch():
    """Two instances, three keypoints. Errors in pixels: instance 0: 1, 3, (unlabelled);
    instance 1: 10, 0, 4. Boxes 10 x 5 and 40 x 20 px; head sizes 5 and 20 px."""
    gt_xy = np.zeros((3, 2), dtype=np.float32)
    preds = [dict(preds=np.array([[1, 0, 1], [3, 0, 1], [50, 0, 1]], np.float32)),
             dict(preds=np.array([[10, 0, 1], [0, 0, 1], [0, 4, 1]], np.float32))]
    gts = [dict(keypoints=gt_xy, keypoints_visible=np.array([1, 1, 0]), bbox=[0, 0, 10, 5],
                head_size=5.0),
           dict(keypoints=gt_xy, keypoints_visible=np.array([1, 1, 1]), bbox=[0, 0, 40, 20],
                head_size=20.0)]
    return dict(gt=gts), preds


def run(metric, data=None, meta=None):
    data_batch, preds = data or batch()
    metric.dataset_meta = meta or {}
    metric.process(data_batch, preds)
    return metric.compute_metrics(pickle.loads(pickle.dumps(metric.results)))


def test_pck_normalized_by_the_bbox():
    # thr 0.2 of max(w, h): 2 px and 8 px. Instance 0: 1 hit, 3 miss; instance 1: 10 miss,
    # 0 hit, 4 hit -> per keypoint 1/2, 1/2, 1/1 -> mean 2/3
    assert run(METRICS.build(dict(type='PCKAccuracy', thr=0.2))) == {'PCK': pytest.approx(2 / 3)}


def test_pckh_normalized_by_the_head_size():
    # thr 0.5 of the head size: 2.5 px and 10 px: hits 1, miss; miss (10 is not < 10), 0, 4
    assert run(PCKAccuracy(thr=0.5, norm_item='head')) == {'PCKh': pytest.approx(2 / 3)}


def test_torso_pck_uses_shoulder_to_hip_from_dataset_meta():
    data_batch, preds = batch()
    for gt in data_batch['gt']:
        gt['keypoints'] = np.array([[0, 0], [0, 0], [0, 10]], np.float32)  # torso 10 px
    for p in preds:
        p['preds'][:, 1] += [0, 0, 10]
    names = ['left_shoulder', 'right_hip', 'right_shoulder']  # no left_hip
    with pytest.raises(KeyError, match='needs keypoints named left_shoulder'):
        run(PCKAccuracy(norm_item='torso'), (data_batch, preds), dict(keypoint_names=names))
    meta = dict(keypoint_name2id=dict(left_shoulder=0, right_hip=2, right_shoulder=1,
                                      left_hip=2))
    # thr 0.2 x 10 px = 2 px: errors 1 hit, 3 miss; 10 miss, 0 hit, 4 miss -> 1/2, 1/2, 0/1
    assert run(PCKAccuracy(norm_item=['torso', 'bbox']), (data_batch, preds), meta) == \
        {'tPCK': pytest.approx(1 / 3), 'PCK': pytest.approx(2 / 3)}


def test_pck_normalized_by_a_keypoint_distance():
    data_batch, preds = batch()
    for gt in data_batch['gt']:
        gt['keypoints'] = np.array([[0, 0], [0, 0], [0, 20]], np.float32)  # 0 -> 2: 20 px
    for p in preds:
        p['preds'][:, 1] += [0, 0, 20]
    # thr 0.3 x 20 px = 6 px: errors 1 hit, 3 hit; 10 miss, 0 hit, 4 hit -> 1/2, 1, 1
    metric = PCKAccuracy(thr=0.3, norm_item='keypoint_distance', keypoint_indices=[0, 2])
    assert run(metric, (data_batch, preds)) == {'PCK': pytest.approx(5 / 6)}
    with pytest.raises(ValueError, match=r'needs keypoint_indices=\[i, j\]'):
        PCKAccuracy(norm_item='keypoint_distance')
    with pytest.raises(ValueError, match='gives two results of one name'):
        PCKAccuracy(norm_item=['bbox', 'keypoint_distance'], keypoint_indices=[0, 1])


def test_auc_and_epe():
    # thresholds 0, .25, .5, .75 of 8 px = 0, 2, 4, 6 px; per keypoint errors (1, 10),
    # (3, 0), (4): PCK at 0 px: 0 (d < 0 never); 2: 1/2, 1/2, 0 -> 1/3; 4: 1/2, 1, 0 -> 1/2
    # (4 is not < 4); 6: 1/2, 1, 1 -> 5/6. AUC = (0 + 1/3 + 1/2 + 5/6) / 4 = 5/12
    assert run(AUC(norm_factor=8, num_thrs=4)) == {'AUC': pytest.approx(5 / 12)}
    assert run(EPE()) == {'EPE': pytest.approx((1 + 3 + 10 + 0 + 4) / 5)}


def test_instances_without_ground_truth_are_skipped():
    data_batch, preds = batch()
    data_batch['gt'][1] = None
    assert run(EPE(), (data_batch, preds)) == {'EPE': pytest.approx(2.0)}


def test_errors_name_what_is_missing():
    data_batch, preds = batch()
    with pytest.raises(KeyError, match=r"EPE reads ground truth from data_batch\['gt'\] .* "
                                       r"but the batch has \['img'\]"):
        EPE().process(dict(img=None), preds)
    with pytest.raises(ValueError, match=r"data_batch\['gt'\] has 1 entries for 2 predictions"):
        EPE().process(dict(gt=data_batch['gt'][:1]), preds)
    del data_batch['gt'][0]['head_size']
    with pytest.raises(KeyError, match=r"needs data_batch\['gt'\]\[i\]\['head_size'\]"):
        run(PCKAccuracy(norm_item='head'), (data_batch, preds))
    with pytest.raises(ValueError, match="norm_item must be 'bbox', 'head', 'torso' or"):
        PCKAccuracy(norm_item='box')
    with pytest.raises(ValueError, match='no prediction had ground truth'):
        run(EPE(), (dict(gt=[None, None]), preds))
    del preds[0]['preds']
    with pytest.raises(KeyError, match=r"prediction 0 has neither 'keypoints' \(N, K, 2\) nor "
                                       r"'preds' \(K, 3\)"):
        EPE().process(batch()[0], preds)


def image_level(data_batch, preds, order=(1, 0)):
    """The two instances of ``batch()`` as one image: gt (2, K, 2) with bboxes and head sizes,
    predictions (2, K, 2) listed in ``order``."""
    gts = data_batch['gt']
    gt = dict(keypoints=np.stack([g['keypoints'] for g in gts]),
              keypoints_visible=np.stack([np.asarray(g['keypoints_visible'], np.float32)
                                          for g in gts]),
              bboxes=np.array([g['bbox'] for g in gts], np.float32),
              head_sizes=np.array([g['head_size'] for g in gts], np.float32), image_id=1)
    points = np.stack([preds[i]['preds'] for i in order])
    return dict(gt=[gt]), [dict(keypoints=points[..., :2], keypoint_scores=points[..., 2],
                                image_id=1)]


@pytest.mark.parametrize('metric', [PCKAccuracy(thr=0.2), PCKAccuracy(thr=0.5, norm_item='head'),
                                    AUC(norm_factor=8, num_thrs=4), EPE()],
                         ids=lambda m: type(m).__name__)
def test_image_level_predictions_are_paired_with_their_ground_truth(metric):
    """Several instances per image in any order score as the same instances one by one."""
    per_instance = run(type(metric)(**_args(metric)))
    # the ground truths differ (boxes, head sizes), so a wrong pairing would change the result
    data_batch, preds = batch()
    for gt, shift in zip(data_batch['gt'], (0, 100)):
        gt['keypoints'] = gt['keypoints'] + shift
    for p, shift in zip(preds, (0, 100)):
        p['preds'][:, :2] += shift
    assert run(type(metric)(**_args(metric)), (data_batch, preds)) == per_instance
    for order in ((0, 1), (1, 0)):
        assert run(type(metric)(**_args(metric)), image_level(data_batch, preds, order)) == \
            per_instance


def _args(metric):
    if isinstance(metric, PCKAccuracy):
        return dict(thr=metric.thr, norm_item=metric.norm_item)
    if isinstance(metric, AUC):
        return dict(norm_factor=metric.norm_factor, num_thrs=metric.num_thrs)
    return {}


def test_unpaired_ground_truth_is_left_out_and_one_entry_is_kept_per_sample():
    data_batch, preds = batch()
    for gt, shift in zip(data_batch['gt'], (0, 100)):
        gt['keypoints'] = gt['keypoints'] + shift
    preds[1]['preds'][:, :2] += 100
    image_batch, image_preds = image_level(data_batch, preds)
    image_preds[0]['keypoints'] = image_preds[0]['keypoints'][:1]  # instance 1 only
    image_preds[0]['keypoint_scores'] = image_preds[0]['keypoint_scores'][:1]
    metric = EPE()
    metric.dataset_meta = {}
    metric.process(image_batch, image_preds)
    assert len(metric.results) == 1  # mmengine cuts results at the dataset's length
    assert metric.compute_metrics(metric.results) == {'EPE': pytest.approx((10 + 0 + 4) / 3)}
