"""CocoKeypointMetric on MMPose's COCO test annotations (4 images, 12 labelled people)."""
import json
import pickle

import numpy as np
import pytest

from posecfg.evaluation.metrics import CocoKeypointMetric
from posecfg.registry import METRICS

COCO_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87,
                        .87, .89, .89]) / 10.0


@pytest.fixture
def ann_file(mmpose_tests):
    return str(mmpose_tests / 'coco' / 'test_coco.json')


def annotations(ann_file):
    data = json.load(open(ann_file))
    names = {img['id']: img['file_name'] for img in data['images']}
    # as MMPose's top-down COCO dataset: people with at least one labelled keypoint
    return [a for a in data['annotations'] if max(a['keypoints']) > 0], names


def predictions(ann_file, noise=0.0, seed=0):
    """The ground truth as model outputs: (K, 3) with score 1 and boxes from the GT box."""
    rng = np.random.default_rng(seed)
    anns, names = annotations(ann_file)
    out = []
    for a in anns:
        keypoints = np.array(a['keypoints'], dtype=np.float32).reshape(-1, 3)
        keypoints[:, 2] = 1.0
        keypoints[:, :2] += rng.normal(0, noise, size=(len(keypoints), 2))
        x, y, w, h = a['bbox']
        out.append(dict(preds=keypoints, boxes=np.array([x + w / 2, y + h / 2, w / 200, h / 200,
                                                         w * h, 1.0], dtype=np.float32),
                        image_id=a['image_id'], bbox_id=a['id'],
                        image_file=f'data/coco/val2017/{names[a["image_id"]]}'))
    return out


def evaluate(metric, preds, data_batch=None, meta=None):
    metric.dataset_meta = dict(sigmas=COCO_SIGMAS) if meta is None else meta
    metric.process(data_batch or {}, preds)
    return metric.compute_metrics(metric.results)


def test_ground_truth_as_predictions_scores_one(ann_file):
    metrics = evaluate(METRICS.build(dict(type='CocoKeypointMetric', ann_file=ann_file)),
                       predictions(ann_file))
    assert list(metrics) == ['AP', 'AP .5', 'AP .75', 'AP (M)', 'AP (L)', 'AR', 'AR .5',
                             'AR .75', 'AR (M)', 'AR (L)']
    assert metrics['AP'] == 1.0 and metrics['AR'] == 1.0


def test_perturbed_predictions_score_lower(ann_file):
    metrics = evaluate(CocoKeypointMetric(ann_file), predictions(ann_file, noise=5.0))
    assert 0.0 < metrics['AP'] < 0.9


def test_image_file_stands_in_for_a_missing_image_id(ann_file):
    preds = predictions(ann_file)
    for p in preds:
        p['image_id'] = None
    assert evaluate(CocoKeypointMetric(ann_file), preds)['AP'] == 1.0
    preds[0]['image_file'] = 'elsewhere/unknown.jpg'
    with pytest.raises(KeyError, match="'elsewhere/unknown.jpg' matches no file_name"):
        evaluate(CocoKeypointMetric(ann_file), preds)


@pytest.mark.parametrize('nms_mode, kept', [('oks_nms', 12), ('soft_oks_nms', 24),
                                            ('none', 24)])
def test_nms_removes_duplicates_and_results_are_written_atomically(ann_file, tmp_path,
                                                                   nms_mode, kept):
    preds = predictions(ann_file)
    duplicates = predictions(ann_file, noise=0.5, seed=1)
    for d in duplicates:
        d['bbox_id'] += 10 ** 7  # a second detection of the same person
        d['boxes'][5] = 0.8
    prefix = tmp_path / 'out' / 'results'
    metric = CocoKeypointMetric(ann_file, nms_mode=nms_mode, outfile_prefix=str(prefix))
    metrics = evaluate(metric, preds + duplicates)
    written = json.load(open(f'{prefix}.keypoints.json'))
    assert len(written) == kept  # soft NMS re-ranks but keeps up to 20 per image (at most 10 here)
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == ['results.keypoints.json']
    assert set(written[0]) == {'image_id', 'category_id', 'keypoints', 'score', 'center',
                               'scale'}
    assert written[0]['category_id'] == 1 and len(written[0]['keypoints']) == 51
    if nms_mode == 'oks_nms':
        assert metrics['AP'] == 1.0
        assert sorted(r['score'] for r in written) == [1.0] * 12  # the originals survive


def test_repeated_bbox_ids_from_padded_batches_count_once(ann_file, tmp_path):
    preds = predictions(ann_file)
    metric = CocoKeypointMetric(ann_file, nms_mode='none', outfile_prefix=str(tmp_path / 'r'))
    evaluate(metric, preds + preds[:3])
    assert len(json.load(open(tmp_path / 'r.keypoints.json'))) == 12


def test_rescoring_is_mean_keypoint_score_above_threshold_times_box_score(ann_file, tmp_path):
    preds = predictions(ann_file)[:1]
    preds[0]['preds'][:, 2] = 0.1
    preds[0]['preds'][:4, 2] = [0.5, 0.7, 0.9, 0.3]
    preds[0]['boxes'][5] = 0.5
    metric = CocoKeypointMetric(ann_file, outfile_prefix=str(tmp_path / 'r'),
                                keypoint_score_thr=0.2)
    evaluate(metric, preds)
    [written] = json.load(open(tmp_path / 'r.keypoints.json'))
    assert written['score'] == pytest.approx(0.6 * 0.5)  # mean(.5, .7, .9, .3) x box score


def test_results_gathered_from_several_ranks_give_the_same_metrics(ann_file):
    preds = predictions(ann_file, noise=3.0)
    whole = evaluate(CocoKeypointMetric(ann_file), preds)
    rank0, rank1 = CocoKeypointMetric(ann_file), CocoKeypointMetric(ann_file)
    rank0.process({}, preds[::2])
    rank1.process({}, preds[1::2])
    # mmengine pickles each rank's results and concatenates them on rank 0
    gathered = pickle.loads(pickle.dumps(rank0.results)) + pickle.loads(pickle.dumps(rank1.results))
    rank0.dataset_meta = dict(sigmas=COCO_SIGMAS)
    assert rank0.compute_metrics(gathered) == whole


def test_without_ann_file_the_ground_truth_comes_from_data_batch(ann_file, monkeypatch, tmp_path):
    import tempfile
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path))  # the results go to a temp dir
    anns, _ = annotations(ann_file)
    gts = [dict(keypoints=np.array(a['keypoints'], np.float32).reshape(-1, 3)[:, :2],
                keypoints_visible=np.array(a['keypoints'][2::3], np.float32) > 0,
                bbox=np.array(a['bbox']), area=a['area'], image_id=a['image_id'], bbox_id=a['id'])
           for a in anns]
    metrics = evaluate(CocoKeypointMetric(), predictions(ann_file), dict(gt=gts))
    assert metrics['AP'] == 1.0
    assert list(tmp_path.iterdir()) == []  # the temporary results directory is removed
    with pytest.raises(KeyError, match=r"builds the ground truth from data_batch\['gt'\]|"
                                       r"reads ground truth from data_batch\['gt'\]"):
        CocoKeypointMetric().process({}, predictions(ann_file))


def test_errors_name_what_is_missing(ann_file):
    with pytest.raises(KeyError, match=r"needs dataset_meta\['sigmas'\] .*configs/_base_/"):
        evaluate(CocoKeypointMetric(ann_file), predictions(ann_file), meta=dict(num_joints=17))
    with pytest.raises(ValueError, match=r"dataset_meta is not set"):
        metric = CocoKeypointMetric(ann_file)
        metric.process({}, predictions(ann_file))
        metric.compute_metrics(metric.results)
    with pytest.raises(ValueError, match=r"'sigmas'\] has 2 values but predictions have 17"):
        evaluate(CocoKeypointMetric(ann_file), predictions(ann_file), meta=dict(sigmas=[.1, .1]))
    with pytest.raises(ValueError, match="nms_mode must be one of 'oks_nms', 'soft_oks_nms', "
                                         "'none', got 'nms'"):
        CocoKeypointMetric(ann_file, nms_mode='nms')
    with pytest.raises(ValueError, match='format_only=True .* needs outfile_prefix'):
        CocoKeypointMetric(ann_file, format_only=True)
    with pytest.raises(FileNotFoundError, match="ann_file 'missing.json' does not exist"):
        CocoKeypointMetric('missing.json')
    preds = predictions(ann_file)
    preds[0]['image_id'] = 123456
    with pytest.raises(KeyError, match='image_id 123456 .* has no such image'):
        evaluate(CocoKeypointMetric(ann_file), preds)
    preds = predictions(ann_file)
    del preds[0]['preds']
    with pytest.raises(KeyError, match=r"prediction 0 has neither 'keypoints' \(N, K, 2\) nor "
                                       r"'preds' \(K, 3\)"):
        CocoKeypointMetric(ann_file).process({}, preds)


def test_format_only_writes_and_returns_nothing(ann_file, tmp_path):
    metric = CocoKeypointMetric(ann_file, format_only=True, outfile_prefix=str(tmp_path / 'x'))
    assert evaluate(metric, predictions(ann_file)) == {}
    assert len(json.load(open(tmp_path / 'x.keypoints.json'))) == 12


def test_crowdpose_iou_type_without_areas(mmpose_tests):
    ann_file = str(mmpose_tests / 'crowdpose' / 'test_crowdpose.json')
    sigmas = np.array([.79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89, .79,
                       .79]) / 10.0
    metric = CocoKeypointMetric(ann_file, use_area=False, iou_type='keypoints_crowd')
    metrics = evaluate(metric, predictions(ann_file), meta=dict(sigmas=sigmas))
    assert list(metrics) == ['AP', 'AP .5', 'AP .75', 'AR', 'AR .5', 'AR .75', 'AP(E)',
                             'AP(M)', 'AP(H)']
    assert metrics['AP'] == 1.0
    with pytest.raises(ValueError, match="iou_type must be 'keypoints' or 'keypoints_crowd'"):
        CocoKeypointMetric(ann_file, iou_type='keypoints_wholebody')


def test_no_predictions_give_zero(ann_file):
    metrics = evaluate(CocoKeypointMetric(ann_file), [])
    assert metrics['AP'] == 0.0 and len(metrics) == 10


def per_image(preds, boxes=True, reverse=False):
    """The top-down predictions regrouped as one image-level prediction per image."""
    images = {}
    for p in preds:
        images.setdefault(p['image_id'], []).append(p)
    out = []
    for image_id, group in images.items():
        group = group[::-1] if reverse else group
        points = np.stack([p['preds'] for p in group])
        pred = dict(keypoints=points[..., :2], keypoint_scores=points[..., 2], image_id=image_id)
        if boxes:
            b = np.stack([p['boxes'] for p in group]).astype(np.float64)
            pred['bboxes'] = np.concatenate([b[:, :2] - b[:, 2:4] * 100, b[:, 2:4] * 200], 1)
            pred['bbox_scores'] = b[:, 5]
        out.append(pred)
    return out


@pytest.mark.parametrize('noise', [0.0, 4.0])
def test_image_level_predictions_score_as_the_same_instances_one_by_one(ann_file, noise):
    preds = predictions(ann_file, noise=noise)
    expected = evaluate(CocoKeypointMetric(ann_file), preds)
    # (instances of equal score go through OKS-NMS in the order given, as in MMPose: a
    # reordering may change which of two overlapping noisy instances survives)
    variants = [per_image(preds), per_image(preds, boxes=False)]
    if noise == 0:
        variants.append(per_image(preds, reverse=True))
    for grouped in variants:
        metric = CocoKeypointMetric(ann_file)
        assert evaluate(metric, grouped) == pytest.approx(expected)
        assert len(metric.results) == 4  # one entry per image: mmengine cuts at the dataset size
    # without an annotation file: image-level ground truth
    anns, _ = annotations(ann_file)
    gts = []
    for pred in per_image(preds):
        mine = [a for a in anns if a['image_id'] == pred['image_id']]
        kpts = np.array([a['keypoints'] for a in mine], np.float32).reshape(len(mine), -1, 3)
        gts.append(dict(keypoints=kpts[..., :2], keypoints_visible=np.minimum(1, kpts[..., 2]),
                        bboxes=np.array([a['bbox'] for a in mine], np.float32),
                        areas=np.array([a['area'] for a in mine], np.float32),
                        instance_ids=np.array([a['id'] for a in mine]),
                        image_id=pred['image_id']))
    metric = CocoKeypointMetric()
    assert evaluate(metric, per_image(preds), dict(gt=gts)) == pytest.approx(
        evaluate(CocoKeypointMetric(), preds, dict(gt=gt_per_instance(ann_file))))


def gt_per_instance(ann_file):
    anns, _ = annotations(ann_file)
    out = []
    for a in anns:
        kpts = np.array(a['keypoints'], np.float32).reshape(-1, 3)
        out.append(dict(keypoints=kpts[:, :2], keypoints_visible=np.minimum(1, kpts[:, 2]),
                        bbox=a['bbox'], area=a['area'], image_id=a['image_id'],
                        bbox_id=a['id']))
    return out


def test_ground_truth_without_annotations_is_an_error_not_ap_minus_one(ann_file, tmp_path):
    data = json.load(open(ann_file))
    data['annotations'] = []
    empty = tmp_path / 'no_annotations.json'
    empty.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=rf'the ground truth {empty} has no annotations, so AP '
                                         r'cannot be computed'):
        evaluate(CocoKeypointMetric(str(empty)), predictions(ann_file))
