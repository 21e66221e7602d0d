"""Which snapshot DeepLabCut's evaluate_network / analyze_videos loads for a ``snapshotindex``.

Oracle (DeepLabCut 3.0.1): ``get_model_snapshots`` (pose_estimation_pytorch/apis/utils.py:
165-224) indexes ``TorchSnapshotManager.snapshots()`` = ``list_snapshots(best_in_last=True)``
(data/snapshots.py:66-78: sorted by (is best, epochs)); ``'best'`` takes the best snapshot
(ValueError when none), ``'all'`` every one; an index out of range is a ValueError there
(IndexError here); the project default ``snapshotindex`` is -1.
"""
import pytest

from posecfg.interop.dlc.snapshots import evaluation_snapshot, select_snapshots


def _folder(tmp_path, names):
    folder = tmp_path / 'train'
    folder.mkdir()
    for name in names + ['pytorch_config.yaml', 'snapshot-detector-010.pt', 'learning_stats.csv',
                         'snapshot-7.pt.tmp', 'snapshot-010.ptx']:
        (folder / name).write_bytes(b'')
    return folder


def test_default_index_picks_the_best_snapshot_even_if_older(tmp_path):
    folder = _folder(tmp_path, ['snapshot-025.pt', 'snapshot-best-040.pt', 'snapshot-050.pt',
                                'snapshot-100.pt'])
    assert evaluation_snapshot(folder) == folder / 'snapshot-best-040.pt'
    assert evaluation_snapshot(folder, 'best') == folder / 'snapshot-best-040.pt'
    # sorted 025, 050, 100, best-040: index 0 is the oldest, -2 the latest regular one
    assert evaluation_snapshot(folder, 0) == folder / 'snapshot-025.pt'
    assert evaluation_snapshot(folder, -2) == folder / 'snapshot-100.pt'
    assert [p.name for p in select_snapshots(folder, 'all')] == [
        'snapshot-025.pt', 'snapshot-050.pt', 'snapshot-100.pt', 'snapshot-best-040.pt']
    assert evaluation_snapshot(folder, -1, prefix='snapshot-detector') == \
        folder / 'snapshot-detector-010.pt'


def test_without_a_best_snapshot_the_latest_epoch_by_number_not_by_name(tmp_path):
    folder = _folder(tmp_path, ['snapshot-200.pt', 'snapshot-1000.pt', 'snapshot-050.pt'])
    assert evaluation_snapshot(folder) == folder / 'snapshot-1000.pt'
    with pytest.raises(ValueError, match="no snapshot-best-NNN.pt"):
        evaluation_snapshot(folder, 'best')


def test_errors_name_the_folder_and_what_exists(tmp_path):
    folder = _folder(tmp_path, ['snapshot-010.pt'])
    with pytest.raises(IndexError, match='out of range for the 1 snapshots snapshot-010.pt'):
        evaluation_snapshot(folder, 3)
    with pytest.raises(ValueError, match="'all' names every snapshot"):
        evaluation_snapshot(folder, 'all')
    with pytest.raises(ValueError, match='snapshotindex must be'):
        evaluation_snapshot(folder, 1.5)
    with pytest.raises(FileNotFoundError, match='no snapshot-NNN.pt'):
        evaluation_snapshot(tmp_path / 'missing')


@pytest.mark.filterwarnings('ignore:.*has no value')
def test_shuffle_snapshot_reads_the_project_snapshotindex(openfield):
    from posecfg.interop.dlc.snapshots import shuffle_snapshot
    train = (openfield / 'dlc-models-pytorch' / 'iteration-0' /
             'openfieldOct30-trainset95shuffle2' / 'train')
    train.mkdir(parents=True)
    for name in ('snapshot-005.pt', 'snapshot-best-003.pt', 'snapshot-010.pt'):
        (train / name).write_bytes(b'')
    config = openfield / 'config.yaml'
    assert shuffle_snapshot(config, shuffle=2) == train / 'snapshot-best-003.pt'  # index -1
    assert shuffle_snapshot(config, shuffle=2, snapshotindex=0) == train / 'snapshot-005.pt'
    config.write_text(config.read_text().replace('\nsnapshotindex: -1', '\nsnapshotindex: 1'))
    assert shuffle_snapshot(config, shuffle=2) == train / 'snapshot-010.pt'
    config.write_text(config.read_text().replace('\nsnapshotindex: 1', '\nsnapshotindex: all'))
    assert shuffle_snapshot(config, shuffle=2) == train / 'snapshot-best-003.pt'
    with pytest.raises(FileNotFoundError, match='trainset95shuffle1'):
        shuffle_snapshot(config, shuffle=1)
