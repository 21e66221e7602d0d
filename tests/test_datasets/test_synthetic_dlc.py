"""posecfg's synthetic quadrupeds written as a DeepLabCut multi-animal project.

Oracles: DeepLabCut's multi-animal label layout as its own fake-project generator wrote it in
../shared/data/dlc-synthetic-multianimal (CSV: 4 header rows ``scorer``, ``individuals``,
``bodyparts``, ``coords`` each preceded by two empty index cells, then rows
``labeled-data,<video>,imgNNNN.png,...``; H5: key ``df_with_missing``, pandas' fixed format,
float64); the project keys DeepLabCut's ``create_new_project(multianimal=True)`` sets
(deeplabcut/create_project/new.py:225-282); the keypoint names and skeleton of
configs/_base_/datasets/synthetic_animal.py.
"""
import filecmp

import cv2
import numpy as np
import pandas as pd
import pytest

from posecfg.config import Config
from posecfg.datasets.dlc_project import DLCProjectDataset
from posecfg.datasets.synthetic import DEFAULT_DATASET_INFO, DatasetExistsError
from posecfg.datasets.synthetic_dlc import generate_dlc_project
from posecfg.interop.dlc.labels import read_project_labels
from posecfg.interop.dlc.project import read_project

SIZE = (96, 80)
FRAMES = 5


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic_dlc') / 'project'
    summary = generate_dlc_project(root, num_images=FRAMES, image_size=SIZE, seed=3)
    assert summary.created and summary.frames == FRAMES
    return root


def dataset_facts():
    info = Config.fromfile(str(DEFAULT_DATASET_INFO))['dataset_info']
    names = [info['keypoint_info'][i]['name'] for i in sorted(info['keypoint_info'])]
    skeleton = [list(link['link']) for link in info['skeleton_info'].values()]
    return names, skeleton


def test_project_config_is_deeplabcuts_multi_animal_template(project):
    names, skeleton = dataset_facts()
    p = read_project(project / 'config.yaml')
    cfg = p.cfg
    assert cfg['multianimalproject'] is True and cfg['identity'] is False
    assert cfg['bodyparts'] == 'MULTI!'
    assert cfg['multianimalbodyparts'] == names
    assert cfg['individuals'] == ['animal_0', 'animal_1', 'animal_2', 'animal_3']
    assert cfg['uniquebodyparts'] == []
    assert sorted(map(sorted, cfg['skeleton'])) == sorted(map(sorted, skeleton))
    assert cfg['project_path'] == str(project)
    assert cfg['video_sets'] == {f'{project}/videos/quadrupeds.mp4': {'crop': [0, 96, 0, 80]}}
    # new.py:255-282 values
    for key, value in dict(TrainingFraction=[0.8], iteration=0, snapshotindex=-1,
                           detector_snapshotindex=-1, pcutoff=0.6, dotsize=12,
                           alphavalue=0.7, colormap='rainbow', default_net_type='resnet_50',
                           default_track_method='ellipse', numframes2pick=20, start=0,
                           stop=1, cropping=False, x1=0, x2=640, y1=277, y2=624,
                           skeleton_color='black', move2corner=True, detector_batch_size=1
                           ).items():
        assert cfg[key] == value, key
    assert p.multi_animal and p.bodyparts == names and p.unique_bodyparts == []


def test_label_files_in_deeplabcuts_layout(project):
    names, _ = dataset_facts()
    folder = project / 'labeled-data' / 'quadrupeds'
    lines = (folder / 'CollectedData_posecfg.csv').read_text().splitlines()
    assert len(lines) == 4 + FRAMES
    k = len(names)
    assert lines[0] == 'scorer,,,' + ','.join(['posecfg'] * (4 * k * 2))
    assert lines[1] == 'individuals,,,' + ','.join(
        f'animal_{i}' for i in range(4) for _ in range(2 * k))
    assert lines[2] == 'bodyparts,,,' + ','.join(b for _ in range(4) for b in names for _ in 'xy')
    assert lines[3] == 'coords,,,' + ','.join('xy' * (4 * k))
    assert [line.split(',')[:3] for line in lines[4:]] == [
        ['labeled-data', 'quadrupeds', f'img{i:04d}.png'] for i in range(FRAMES)]
    with pd.HDFStore(folder / 'CollectedData_posecfg.h5', 'r') as store:
        assert store.keys() == ['/df_with_missing']
        assert store.get_storer('df_with_missing').format_type == 'fixed'
    df = pd.read_hdf(folder / 'CollectedData_posecfg.h5')
    assert list(df.columns.names) == ['scorer', 'individuals', 'bodyparts', 'coords']
    assert (df.dtypes == np.float64).all()
    xy = df.to_numpy().reshape(FRAMES, 4, k, 2)
    labelled = ~np.isnan(xy).any(-1)
    # x and y are NaN together; points lie in the frame (pixel centres at whole numbers)
    assert (np.isnan(xy[..., 0]) == np.isnan(xy[..., 1])).all()
    assert (xy[labelled] >= -0.5).all() and (xy[labelled][:, 0] <= SIZE[0] - 0.5).all()
    assert (xy[labelled][:, 1] <= SIZE[1] - 0.5).all()
    # individuals fill animal_0, animal_1, ... in order: an absent one is never before a present
    present = labelled.any(-1)
    assert all(sorted(row, reverse=True) == list(row) for row in present)
    assert present[:, 0].all()
    # the frames: PNG of the project size; the video holds them all
    for i in range(FRAMES):
        image = cv2.imread(str(folder / f'img{i:04d}.png'))
        assert image.shape == (SIZE[1], SIZE[0], 3)
    video = cv2.VideoCapture(str(project / 'videos' / 'quadrupeds.mp4'))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == FRAMES
    assert (int(video.get(cv2.CAP_PROP_FRAME_WIDTH)), int(video.get(cv2.CAP_PROP_FRAME_HEIGHT))
            ) == SIZE
    video.release()


def test_posecfgs_deeplabcut_reader_and_dataset_read_it(project):
    df = pd.read_hdf(project / 'labeled-data/quadrupeds/CollectedData_posecfg.h5')
    labels = read_project_labels(project / 'config.yaml')
    assert labels.individuals == ['animal_0', 'animal_1', 'animal_2', 'animal_3']
    np.testing.assert_array_equal(labels.keypoints,
                                  df.to_numpy().reshape(labels.keypoints.shape))
    ds = DLCProjectDataset(project / 'config.yaml', split='all', test_mode=True)
    assert len(ds) == FRAMES
    for i in range(FRAMES):
        rec = ds.image_record(i)
        xy = df.iloc[i].to_numpy().reshape(4, -1, 2)
        # DeepLabCut keeps points strictly inside the image (0 < x < w, 0 < y < h)
        inside = (~np.isnan(xy).any(-1) & (xy[..., 0] > 0) & (xy[..., 1] > 0)
                  & (xy[..., 0] < SIZE[0]) & (xy[..., 1] < SIZE[1]))
        kept = np.flatnonzero(inside.any(-1))
        assert rec['identities'].tolist() == kept.tolist()
        # labelled points outside keep their coordinates, with visibility 0 (as
        # test_dlc_project.py's oracle for DeepLabCut's own synthetic project)
        np.testing.assert_allclose(rec['keypoints'], np.nan_to_num(xy[kept]), atol=1e-4)
        np.testing.assert_array_equal(rec['keypoints_visible'], inside[kept])


def test_deterministic_and_not_overwritten(project, tmp_path):
    again = generate_dlc_project(tmp_path / 'again', num_images=FRAMES, image_size=SIZE, seed=3)
    for name in ['img0000.png', 'img0004.png', 'CollectedData_posecfg.csv']:
        assert filecmp.cmp(project / 'labeled-data/quadrupeds' / name,
                           again.root / 'labeled-data/quadrupeds' / name, shallow=False)
    # the same project again: nothing written; another one: refused without overwrite
    assert not generate_dlc_project(again.root, num_images=FRAMES, image_size=SIZE,
                                     seed=3).created
    with pytest.raises(DatasetExistsError, match='seed'):
        generate_dlc_project(again.root, num_images=FRAMES, image_size=SIZE, seed=4)
    (tmp_path / 'other').mkdir()
    (tmp_path / 'other' / 'notes.txt').write_text('mine')
    with pytest.raises(DatasetExistsError, match='not a posecfg synthetic'):
        generate_dlc_project(tmp_path / 'other', num_images=FRAMES, image_size=SIZE,
                             overwrite=True)
    with pytest.raises(ValueError, match='video'):
        generate_dlc_project(tmp_path / 'bad', video='a-b')


def test_tool_format_dlc(tmp_path, capsys):
    from tests.test_datasets.test_synthetic import load_tool
    tool = load_tool()
    out = tmp_path / 'cli'
    args = [str(out), '--format', 'dlc', '--num-images', '2', '--image-size', '64', '64']
    assert tool.main(args) == 0
    printed = capsys.readouterr().out
    assert f'wrote DeepLabCut multi-animal project {out}: 2 frames' in printed
    assert read_project(out / 'config.yaml').multi_animal
    assert tool.main(args + ['--seed', '1']) == 1 and '--overwrite' in capsys.readouterr().err
