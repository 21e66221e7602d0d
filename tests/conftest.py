"""Shared test fixtures.

Real sample data lives in ``../shared/data`` next to the checkout (MMPose test images, a
DeepLabCut and a Lightning Pose project). Tests that read it use the ``shared_data`` fixture and
are skipped where it is absent; nothing from it is ever copied into the project.
"""
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get('POSECFG_SHARED_DATA', REPO_ROOT.parent / 'shared' / 'data'))


def shared_path(*parts) -> Path:
    """Path under the shared data folder; skips the calling test when it does not exist."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f'shared test data not found: {path}')
    return path


@pytest.fixture
def shared_data():
    return shared_path()


@pytest.fixture
def mmpose_tests():
    """``../shared/data/mmpose-tests``: MMPose's test images for COCO and 11 animal datasets."""
    return shared_path('mmpose-tests')


@pytest.fixture(name='shared_path')
def shared_path_fixture():
    """The :func:`shared_path` function, for tests that need several shared folders."""
    return shared_path


@pytest.fixture(scope='module')
def one_thread():
    """One intra-op torch thread for a module of small-tensor tests, restored afterwards: on a
    shared 2-core machine a second OpenMP thread spins against other processes (measured:
    ResNet-50 on COCO 44 s with one thread, 260 s with two, under load). A module uses it with
    ``pytestmark = pytest.mark.usefixtures('one_thread')``."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
