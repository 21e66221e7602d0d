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
