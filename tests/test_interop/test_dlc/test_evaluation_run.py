"""EvaluationRun on the synthetic multi-animal project, with predictions made from the labels
by known offsets, so every number is known: DeepLabCut's columns with individuals and the
``single`` unique bodyparts, rows reindexed to the merged labels, and pooled "rmse".

Oracles (DeepLabCut 3.0.1): columns ``scorer/individuals/bodyparts/coords``, unique bodyparts
under ``single`` (data/dlcloader.py:740-768); evaluation rows reindexed to the labels
(apis/evaluation.py:589-592); rmse = mean Euclidean distance over matched points, the unique
bodyparts' distances pooled in the same mean (core/metrics/distance_metrics.py compute_rmse);
``rmse_pcutoff`` over points scoring >= pcutoff.
"""
import numpy as np
import pandas as pd
import pytest

from posecfg.datasets import DLCProjectDataset
from posecfg.interop.dlc.evaluation import EvaluationRun

TEST_ROWS = [20, 21, 22]


def _batches(samples, offset, unique_offset, score):
    batches = []
    for sample in samples:
        gt = sample['gt']
        visible = np.asarray(gt['keypoints_visible']) > 0
        keypoints = np.where(visible[..., None], np.asarray(gt['keypoints']) + offset, np.nan)
        scores = np.where(visible, score, -1.0)  # not labelled: no prediction (score < 0)
        pred = dict(keypoints=keypoints, keypoint_scores=scores,
                    unique_keypoints=np.asarray(gt['unique_keypoints']) + unique_offset,
                    unique_keypoint_scores=np.full((1, 1), score),
                    image_file=sample['image_file'])
        batches.append(({'gt': [gt]}, [pred]))
    return batches


@pytest.mark.filterwarnings('ignore')
def test_multi_animal_files_and_pooled_errors(synthetic_ma):
    dataset = DLCProjectDataset(synthetic_ma / 'config.yaml', split='test', test_mode=True,
                                train_indices=list(range(20)), test_indices=TEST_ROWS)
    run = EvaluationRun(synthetic_ma / 'config.yaml', shuffle=1, epoch=5, net_type='resnet_50',
                        pcutoff=0.6)
    samples = [dataset[i] for i in range(len(dataset))]
    batches = _batches(samples, (3.0, 4.0), (6.0, 8.0), 0.9)
    # a distributed sampler repeats samples to even out the ranks: counted once
    run.add_split('test', dataset, batches + batches[:1])
    n_points = sum(int((np.asarray(s['gt']['keypoints_visible']) > 0).sum()) for s in samples)
    n_unique = sum(int((np.asarray(s['gt']['unique_keypoints_visible']) > 0).sum())
                   for s in samples)
    expected = (5.0 * n_points + 10.0 * n_unique) / (n_points + n_unique)
    assert run.results['test']['rmse'] == pytest.approx(expected)
    assert run.results['test']['rmse_pcutoff'] == pytest.approx(expected)
    assert run.per_bodypart['test']['unique_a'] == pytest.approx(10.0)
    assert run.per_bodypart['test']['a'] == pytest.approx(5.0)

    worse = _batches(samples[:1], (30.0, 40.0), (6.0, 8.0), 0.9)
    once = EvaluationRun(synthetic_ma / 'config.yaml', shuffle=1, epoch=5, net_type='resnet_50')
    once.add_split('test', dataset, batches + worse)  # the first one seen is kept
    assert once.results['test']['rmse'] == pytest.approx(expected)

    written = run.write(per_keypoint=True)
    scorer = 'DLC_Resnet50_syntheticNov11shuffle1_snapshot_5'
    folder = synthetic_ma / 'evaluation-results-pytorch' / 'iteration-0' / \
        'syntheticNov11-trainset80shuffle1'
    assert folder / f'{scorer}.h5' in written
    df = pd.read_hdf(folder / f'{scorer}.h5', key='df_with_missing')
    individuals = df.columns.get_level_values('individuals').unique().tolist()
    assert individuals == ['animal_0', 'animal_1', 'animal_2', 'single']
    assert df.xs('single', axis=1, level='individuals').columns.get_level_values(
        'bodyparts').unique().tolist() == ['unique_a']
    assert len(df) == 25
    evaluated = ~df.isna().all(axis=1).to_numpy()
    assert np.flatnonzero(evaluated).tolist() == TEST_ROWS
    scores = pd.read_csv(folder / f'{scorer}-results.csv', index_col=[0, 1, 2, 3, 4])
    assert np.isnan(scores.iloc[0]['train rmse'])  # the train split was not evaluated
    assert scores.iloc[0]['test rmse'] == round(expected, 2)
    per_part = pd.read_csv(folder / f'{scorer}-keypoint-results.csv', index_col=0)
    assert per_part.index.tolist() == ['Test error (px)']
    assert per_part.columns.tolist() == ['a', 'b', 'c', 'd', 'unique_a']


@pytest.mark.filterwarnings('ignore')
def test_multi_animal_padding_missing_points_nested_heads_and_identity(synthetic_ma):
    """What posecfg's multi-animal models output, as DeepLabCut files it: each image predicts
    only its first labelled individual (exactly, one keypoint missing from the assembly as
    posecfg's PAF decoding writes it: NaN x, y with score 0), the unique bodypart under the
    ``unique_bodypart`` head's name, and identity maps that name the right individual.
    DeepLabCut (data/postprocessor.py): rows beyond the predictions are -1, a missing keypoint
    NaN x, y with likelihood 0 (core/inferenceutils.py Assembly), rows reordered by identity
    (row j = individual j); id_head_<bodypart>_accuracy."""
    dataset = DLCProjectDataset(synthetic_ma / 'config.yaml', split='test', test_mode=True,
                                train_indices=list(range(20)), test_indices=TEST_ROWS)
    run = EvaluationRun(synthetic_ma / 'config.yaml', shuffle=1, epoch=5, net_type='resnet_50',
                        pcutoff=0.6)
    batches, first_ids = [], []
    for sample in (dataset[i] for i in range(len(dataset))):
        gt = sample['gt']
        j = int(gt['identities'][0])
        first_ids.append(j)
        keypoints = np.asarray(gt['keypoints'][:1], np.float64).copy()
        scores = np.where(np.asarray(gt['keypoints_visible'][:1]) > 0, 0.9, -1.0)
        keypoints[0, 3], scores[0, 3] = np.nan, 0.0  # bodypart d missing from the assembly
        maps = np.zeros((256, 256, 3), np.float32)
        for x, y in np.rint(keypoints[0, :3]).astype(int):
            maps[np.clip(y, 0, 255), np.clip(x, 0, 255), j] = 1.0
        pred = dict(keypoints=keypoints.astype(np.float32), keypoint_scores=scores,
                    image_file=sample['image_file'],
                    unique_bodypart=dict(unique_keypoints=np.asarray(gt['unique_keypoints']),
                                         unique_keypoint_scores=np.full((1, 1), 0.9)),
                    identity=dict(identity_maps=maps))
        batches.append(({'gt': [gt]}, [pred]))
    run.add_split('test', dataset, batches)
    # exact predictions: every matched point is at distance 0; the missing d counts nowhere
    assert run.results['test']['rmse'] == 0.0
    assert run.per_bodypart['test']['unique_a'] == 0.0
    assert np.isnan(run.per_bodypart['test']['d'])
    # each visible label of a predicted individual reads its own identity; the others match
    # the nearest prediction too (DeepLabCut's rule), so a-c are at least the predicted share
    for name in ('a', 'b', 'c'):
        assert 0 < run.results['test'][f'id_head_{name}_accuracy'] <= 1
    run.write()
    folder = synthetic_ma / 'evaluation-results-pytorch' / 'iteration-0' / \
        'syntheticNov11-trainset80shuffle1'
    scorer = 'DLC_Resnet50_syntheticNov11shuffle1_snapshot_5'
    df = pd.read_hdf(folder / f'{scorer}.h5', key='df_with_missing')
    for row, j in zip(TEST_ROWS, first_ids):
        values = df.iloc[row]
        for n, individual in enumerate(['animal_0', 'animal_1', 'animal_2']):
            pose = values.xs(individual, level='individuals').to_numpy().reshape(4, 3)
            if n == j:  # identity put the prediction in its individual's row
                assert np.isnan(pose[3, :2]).all() and pose[3, 2] == 0
                assert (pose[:3, 2] != -1).all()
            else:
                assert (pose == -1).all()
    results = pd.read_csv(folder / f'{scorer}-results.csv', index_col=[0, 1, 2, 3, 4])
    assert list(results.columns[-3:]) == ['test id_head_b_accuracy', 'test id_head_c_accuracy',
                                          'test id_head_d_accuracy']
