"""DeepLabCut output files (predictions, evaluation CSV, learning_stats.csv) and snapshot rules."""
import csv
import pickle

import numpy as np
import pandas as pd
import pytest

from posecfg.interop.dlc.outputs import (LearningStats, evaluation_scores, predictions_frame,
                                         read_predictions, read_video_metadata, scorer_name,
                                         video_output_prefix, write_evaluation_results,
                                         write_keypoint_results, write_predictions,
                                         write_video_metadata)
from posecfg.interop.dlc.snapshots import (list_snapshots, parse_snapshot, plan_snapshot_update,
                                           snapshot_filename, state_to_save)


def test_scorer_names():
    # apis/utils.py get_scorer_name: capitalised net-type words, snapshot uid unpadded
    assert scorer_name('openfield', 'Oct30', 1, 'resnet_50', 200) == \
        'DLC_Resnet50_openfieldOct30shuffle1_snapshot_200'
    assert scorer_name('openfield', 'Oct30', 3, 'hrnet_w32', 190, best=True) == \
        'DLC_HrnetW32_openfieldOct30shuffle3_snapshot_best-190'
    assert scorer_name('t', 'Jan1', 1, 'top_down_resnet_50', 5, detector_epoch=7) == \
        'DLC_TopDownResnet50_tJan1shuffle1_detector_7_snapshot_5'
    assert video_output_prefix('/v/m3v1mp4.mp4', 'DLC_X') == 'm3v1mp4DLC_X'


def test_single_animal_video_predictions_roundtrip(tmp_path):
    preds = np.random.default_rng(0).uniform(0, 100, (5, 1, 4, 3))
    scorer = 'DLC_Resnet50_openfieldOct30shuffle1_snapshot_200'
    df = predictions_frame(preds, scorer, ['snout', 'leftear', 'rightear', 'tailbase'])
    paths = write_predictions(df, tmp_path / f'm3v1mp4{scorer}.h5', csv=True)
    store = pd.HDFStore(paths[0], mode='r')
    try:  # video analysis writes the table format under key df_with_missing
        assert store.keys() == ['/df_with_missing']
        assert store.get_storer('df_with_missing').is_table
    finally:
        store.close()
    back = pd.read_hdf(paths[0])
    assert list(back.columns.names) == ['scorer', 'bodyparts', 'coords']
    assert list(back.columns[:3]) == [(scorer, 'snout', 'x'), (scorer, 'snout', 'y'),
                                      (scorer, 'snout', 'likelihood')]
    assert list(back.index) == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(back.to_numpy().reshape(5, 1, 4, 3), preds)
    rows = list(csv.reader(open(paths[1])))
    assert [r[0] for r in rows[:4]] == ['scorer', 'bodyparts', 'coords', '0']
    arrays = read_predictions(paths[0])
    assert arrays['individuals'] is None and arrays['scorer'] == scorer
    np.testing.assert_array_equal(arrays['keypoints'], preds)


def test_multianimal_evaluation_predictions(tmp_path):
    rng = np.random.default_rng(1)
    preds, unique = rng.uniform(size=(2, 3, 4, 3)), rng.uniform(size=(2, 1, 3))
    index = [('labeled-data', 'cat', 'img0000.png'), ('labeled-data', 'cat', 'img0001.png')]
    df = predictions_frame(preds, 'S', list('abcd'), ['animal_0', 'animal_1', 'animal_2'],
                           unique, ['unique_a'], index=index)
    path = write_predictions(df, tmp_path / 'S.h5', table_format=False)[0]
    back = pd.read_hdf(path, key='df_with_missing')
    assert list(back.columns.names) == ['scorer', 'individuals', 'bodyparts', 'coords']
    assert back.columns[-1] == ('S', 'single', 'unique_a', 'likelihood')
    assert back.index[1] == index[1]
    arrays = read_predictions(path)
    np.testing.assert_array_equal(arrays['keypoints'], preds)
    np.testing.assert_array_equal(arrays['unique_keypoints'], unique)
    assert arrays['individuals'] == ['animal_0', 'animal_1', 'animal_2']
    with pytest.raises(ValueError, match='do not match'):
        predictions_frame(preds, 'S', list('abc'), ['a', 'b', 'c'])


def test_video_metadata_is_plain(tmp_path):
    pose_cfg = {'net_type': 'resnet_50', 'metadata': {
        'individuals': ['individual_1'], 'bodyparts': ['snout'], 'unique_bodyparts': [],
        'project_path': tmp_path}}
    path = tmp_path / 'vDLC_meta.pickle'
    write_video_metadata(path, scorer='DLC_x', pose_config=pose_cfg, fps=30.0, batch_size=4,
                         frame_dimensions=(640, 480), nframes=10, iteration=0,
                         train_fraction=0.95, start=1.0, stop=3.5)
    data = read_video_metadata(path)
    assert list(data) == ['start', 'stop', 'run_duration', 'Scorer', 'pytorch-config', 'fps',
                          'batch_size', 'frame_dimensions', 'nframes',
                          'iteration (active-learning)', 'training set fraction', 'cropping',
                          'cropping_parameters', 'individuals', 'bodyparts', 'unique_bodyparts']
    assert data['run_duration'] == 2.5 and data['cropping_parameters'] == [0, 640, 0, 480]
    assert data['pytorch-config']['metadata']['project_path'] == str(tmp_path)
    assert pickle.load(open(path, 'rb'))['data']['Scorer'] == 'DLC_x'


def test_evaluation_csv(tmp_path):
    folder = tmp_path / 'evaluation-results-pytorch/iteration-0/openfieldOct30-trainset95shuffle1'
    results = {'train': {'rmse': 3.14159, 'rmse_pcutoff': 2.5, 'mAP': 91.234, 'mAR': 93.0},
               'test': {'rmse': 7.777, 'rmse_pcutoff': 6.0, 'mAP': 80.0, 'mAR': 85.555}}
    scores = evaluation_scores(0.95, 1, 200, 0.6, results)
    path, combined = write_evaluation_results(folder, 'DLC_S_200', scores)
    assert path.name == 'DLC_S_200-results.csv' and combined.parent == folder.parent
    rows = list(csv.reader(open(path)))
    # apis/evaluation.py evaluate_snapshot: 5 index columns, then split metrics, 2 decimals
    assert rows[0] == ['%Training dataset', 'Shuffle number', 'Training epochs',
                       'Detector epochs (TD only)', 'pcutoff', 'train rmse', 'train rmse_pcutoff',
                       'train mAP', 'train mAR', 'test rmse', 'test rmse_pcutoff', 'test mAP',
                       'test mAR']
    assert rows[1] == ['0.95', '1', '200', '-1', '0.6', '3.14', '2.5', '91.23', '93.0', '7.78',
                       '6.0', '80.0', '85.56']
    # a second evaluation joins the combined file, sorted by the index
    write_evaluation_results(folder, 'DLC_S_100', evaluation_scores(0.95, 1, 100, 0.6, results))
    combined_rows = list(csv.reader(open(combined)))
    assert [r[2] for r in combined_rows[1:]] == ['100', '200']
    kp = write_keypoint_results(folder, 'DLC_S_200', {'train': {'snout': 1.5, 'tail': 2.0},
                                                      'test': {'snout': 3.0, 'tail': 4.0}})
    assert list(csv.reader(open(kp))) == [['', 'snout', 'tail'], ['Train error (px)', '1.5', '2.0'],
                                          ['Test error (px)', '3.0', '4.0']]


def test_learning_stats(tmp_path):
    path = tmp_path / 'learning_stats.csv'
    stats = LearningStats(path)
    stats.log({'losses/train.total_loss': 0.5, 'losses/train.heatmap': 0.25}, step=1)
    stats.log({'losses/train.total_loss': 0.25}, step=2)
    stats.log({'metrics/test.mAP': 50.0, 'losses/eval.total_loss': 0.3}, step=2)
    # runners/logger.py CSVLogger: sorted names, csv module line endings, empty cells
    assert path.read_bytes() == (
        b'step,losses/eval.total_loss,losses/train.heatmap,losses/train.total_loss,'
        b'metrics/test.mAP\r\n1,,0.25,0.5,\r\n2,0.3,,0.25,50.0\r\n')
    resumed = LearningStats(path)  # resuming appends to the existing rows
    resumed.log({'losses/train.total_loss': 0.125}, step=3)
    assert path.read_text().splitlines()[-1] == '3,,,0.125,'


def test_snapshot_names():
    assert snapshot_filename(5) == 'snapshot-005.pt'
    assert snapshot_filename(1200, best=True) == 'snapshot-best-1200.pt'
    assert parse_snapshot('snapshot-best-090.pt').uid == 'best-90'
    assert parse_snapshot('snapshot-detector-010.pt') is None
    assert parse_snapshot('snapshot-detector-010.pt', 'snapshot-detector').epoch == 10
    names = ['snapshot-best-040.pt', 'snapshot-050.pt', 'snapshot-025.pt', 'x.pt']
    assert [s.name for s in list_snapshots(names)] == [
        'snapshot-025.pt', 'snapshot-050.pt', 'snapshot-best-040.pt']
    assert state_to_save({'model': 1, 'optimizer': 2, 'metadata': 3}, False) == {
        'model': 1, 'metadata': 3}


def _simulate(metric_by_epoch, epochs, **kw):
    """Apply plans epoch by epoch to a set of names (as the runner hook will)."""
    files, best = set(), None
    for e in range(1, epochs + 1):
        metrics = {} if metric_by_epoch.get(e) is None else {'metrics/test.mAP': metric_by_epoch[e]}
        plan = plan_snapshot_update(sorted(files), e, metrics, best, last=e == epochs, **kw)
        if plan.save:
            files.add(plan.save)
        if plan.rename:
            files.remove(plan.rename[0])
            files.add(plan.rename[1])
        for name in plan.delete:
            files.remove(name)
        best = plan.best_metric
    return sorted(files)


def test_snapshot_keeping_rules():
    # runners/snapshots.py TorchSnapshotManager.update, traced by hand:
    # save_epochs 2, max 2; mAP at 2: 10, 4: 30 (best; old best 2 is a save epoch → renamed),
    # 6: 20, 7 (last): 40 (best; old best 4 renamed; 7 saved only as best); regular
    # snapshots 2, 4, 6 → the oldest deleted to keep 2
    files = _simulate({2: 10.0, 4: 30.0, 6: 20.0, 7: 40.0}, 7, save_epochs=2, max_snapshots=2)
    assert files == ['snapshot-004.pt', 'snapshot-006.pt', 'snapshot-best-007.pt']
    # a best that is not on a save epoch is deleted when beaten; NaN never becomes best
    files = _simulate({3: 1.0, 5: 2.0, 6: float('nan')}, 6, save_epochs=4, max_snapshots=5)
    assert files == ['snapshot-004.pt', 'snapshot-006.pt', 'snapshot-best-005.pt']
    # lower is better when key_metric_asc is false
    files = _simulate({1: 5.0, 2: 3.0, 3: 4.0}, 3, save_epochs=10, key_metric_asc=False)
    assert files == ['snapshot-003.pt', 'snapshot-best-002.pt']
    with pytest.raises(ValueError, match='max_snapshots'):
        plan_snapshot_update([], 1, {}, None, max_snapshots=0)
