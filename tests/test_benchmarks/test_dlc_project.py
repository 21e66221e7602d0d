"""benchmarks/reference/_dlc_project.py: the project copies both sides of run_dlc.sh work on
(the openfield sample and the synthetic multi-animal project) and the tables naming their
shuffles."""
import importlib.util
import os
import sys

import pytest

from tests.conftest import SHARED_DATA, shared_path

REFERENCE = os.path.join(os.path.dirname(__file__), '..', '..', 'benchmarks', 'reference')


@pytest.fixture
def dlc_project(monkeypatch):
    """The module, reading the shared data folder the tests use."""
    monkeypatch.setenv('POSECFG_SHARED_DATA', str(SHARED_DATA))
    monkeypatch.syspath_prepend(REFERENCE)
    spec = importlib.util.spec_from_file_location('_dlc_project_under_test',
                                                  os.path.join(REFERENCE, '_dlc_project.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop('_dlc_project_under_test', None)


@pytest.mark.parametrize('dataset, video_key', [('openfield', 'm4s1.mp4'),
                                                ('multianimal', 'cat.mp4')])
def test_copy_fills_in_paths_and_names_its_dataset(dlc_project, tmp_path, dataset, video_key):
    shared_path(dlc_project.DATASETS[dataset].folder)
    dst = tmp_path / 'project'
    config = dlc_project.copy_project(str(dst), dataset)
    lines = open(config).read().splitlines()
    assert f'project_path: {dst}' in lines
    at = lines.index('video_sets:')
    assert lines[at + 1] == f'  {dst}/videos/{video_key}:'
    assert dlc_project.dataset_of(str(dst)) == dataset
    # images are links to the shared files, label files are writable copies
    pngs = [os.path.join(r, f) for r, _, fs in os.walk(dst / 'labeled-data') for f in fs
            if f.endswith('.png')]
    assert pngs and all(os.path.islink(p) for p in pngs)


def test_copy_refuses_a_config_without_the_keys_it_fills(dlc_project, tmp_path, monkeypatch):
    src = tmp_path / 'shared' / 'broken'
    src.mkdir(parents=True)
    (src / 'config.yaml').write_text('Task: x\nvideo_sets:\n')
    monkeypatch.setattr(dlc_project, 'SHARED', str(tmp_path / 'shared'))
    monkeypatch.setitem(dlc_project.DATASETS, 'broken',
                        dlc_project.Dataset('broken', {'resnet_50': 1}, 'resnet_50', 1, 'v.mp4',
                                            'v.mp4'))
    with pytest.raises(ValueError, match=r"config.yaml: expected a project_path line.*found \[\]"):
        dlc_project.copy_project(str(tmp_path / 'copy'), 'broken')


def test_shuffles_per_dataset(dlc_project, tmp_path):
    assert dlc_project.all_shuffles('multianimal') == [('resnet_50', 1), ('dekr_w32', 2),
                                                       ('resnet_50', 3)]
    assert dlc_project.all_shuffles('openfield') == [('resnet_50', 1), ('hrnet_w32', 2),
                                                     ('resnet_50', 3)]
    (tmp_path / 'config.yaml').write_text('multianimalproject: true\n')
    assert dlc_project.shuffle_of(str(tmp_path), 'dekr_w32') == 2
    with pytest.raises(ValueError, match=r"no hrnet_w32 shuffle; this dataset has "
                                         r"\['dekr_w32', 'resnet_50'\]"):
        dlc_project.shuffle_of(str(tmp_path), 'hrnet_w32')
