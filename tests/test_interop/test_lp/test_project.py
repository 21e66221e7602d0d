"""A Lightning Pose project end to end: the mirror-mouse config + CSV + frames + split, and the
PCA fitted on its training labels as Lightning Pose fits it."""
import shutil

import numpy as np
import pytest
import torch

from posecfg.config.options import parse_options
from posecfg.interop.lp.config import LPConfigError, load_lp_config
from posecfg.interop.lp.project import LPProjectError, fit_lp_pca, load_lp_project
from tests.conftest import shared_path


def mirror_cfg(data_dir, *options):
    return load_lp_config(str(shared_path('lp-configs', 'config_mirror-mouse-example.yaml')),
                          parse_options([f'data.data_dir={data_dir}', *options]))


@pytest.fixture(scope='module')
def project():
    return load_lp_project(mirror_cfg(shared_path('lp-mirror-mouse')))


def test_mirror_mouse_project(project):
    assert project.labels.num_images == 90 and len(project.keypoint_names) == 17
    assert project.split.sizes == (72, 9, 9)
    assert (project.frame_sizes[0] == [406, 396]).all()        # 396 wide, 406 high, grey
    assert (project.channels[0] == 1).all()
    assert project.video_dir.endswith('lp-mirror-mouse/videos')
    assert project.image_paths()[0].endswith('lp-mirror-mouse/labeled-data/img01.png')


def test_pca_fitted_on_lightning_pose_training_rows(project):
    pca = fit_lp_pca(project, 'pca_singleview')
    # the rule written out: train rows by torch.randperm(90, seed 42)[:72], labels scaled to the
    # 256 x 256 resize in float32, keypoints outside it dropped, columns 0-6 and 8-14
    train = torch.randperm(90, generator=torch.Generator().manual_seed(42))[:72].numpy()
    kps = project.labels.keypoints[train].astype(np.float32)
    scaled = np.stack([kps[..., 0] / np.float32(396) * np.float32(256),
                       kps[..., 1] / np.float32(406) * np.float32(256)], axis=-1)
    scaled[(scaled < 0).any(-1) | (scaled >= 256).any(-1)] = np.nan
    columns = [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14]
    rows = scaled[:, columns].reshape(72, -1).astype(np.float64)
    assert np.allclose(pca.mean, np.nanmean(rows, axis=0))
    ratios = pca.fit.explained_variance_ratio
    assert np.cumsum(ratios)[pca.n_components - 1] >= 0.99 > np.cumsum(ratios)[pca.n_components - 2]
    assert np.isfinite(pca.epsilon) and pca.epsilon > 0
    frame = fit_lp_pca(project, 'pca_singleview', units='frame')
    assert np.allclose(frame.mean[0], np.nanmean(project.labels.keypoints[train, 0, 0]))
    multi = fit_lp_pca(project, 'pca_multiview')
    assert multi.n_components == 3 and multi.kept_components.shape == (3, 4)
    errors = multi.keypoint_errors(project.labels.keypoints[:2] / [396 / 256, 406 / 256])
    assert errors.shape == (2, 17) and np.isnan(errors[:, [7, 15, 16]]).all()


def test_missing_frames_and_wrong_keypoint_count(tmp_path):
    source = shared_path('lp-mirror-mouse')
    (tmp_path / 'videos').mkdir()
    (tmp_path / 'labeled-data').mkdir()
    shutil.copy(source / 'CollectedData.csv', tmp_path)
    for i in range(1, 89):
        shutil.copy(source / 'labeled-data' / f'img{i:02d}.png', tmp_path / 'labeled-data')
    with pytest.raises(LPProjectError, match=r'2 of 90 labelled frames are not in data.data_dir '
                                             r'.*: labeled-data/img89.png, labeled-data/img90.png'):
        load_lp_project(mirror_cfg(tmp_path))
    with pytest.raises(LPConfigError, match=r'data.num_keypoints .*: is 8 but CollectedData.csv '
                                            r'has 17 keypoints'):
        load_lp_project(mirror_cfg(tmp_path, 'data.num_keypoints=8',
                                   'data.keypoint_names=None'))
    with pytest.raises(LPConfigError, match=r'data.video_dir .* does not exist'):
        load_lp_project(mirror_cfg(tmp_path, 'data.video_dir=/nonexistent/videos'))
