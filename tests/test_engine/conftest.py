"""Shared pieces of the engine tests: small configs (``tiny_run``) and ``tiny_training`` (a tiny
real training setup). With pytest's importlib import mode a test folder is not on ``sys.path``,
so this puts it there for ``import tiny_training``."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def one_epoch_settings(work_dir, lr=1e-3):
    """Schedule, logging and runtime keys of a one-epoch run on one thread in float32: the
    tiny backbone every small engine test trains (ResNet-18 cut after stage 2, 16 channels)."""
    return dict(optimizer=dict(type='Adam', lr=lr), total_epochs=1, seed=0,
                log_config=dict(interval=1), checkpoint_config=dict(interval=1),
                runtime=dict(threads=1, autocast=None, channels_last=False),
                work_dir=str(work_dir))


TINY_BACKBONE = dict(type='ResNet', depth=18, stem_channels=16, base_channels=16,
                     out_indices=(1,))
NORMALIZE = dict(type='NormalizeTensor', mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
SYNTHETIC_INFO = os.path.join(REPO, 'configs/_base_/datasets/synthetic_animal.py')


@pytest.fixture
def tiny_run():
    """(one_epoch_settings, TINY_BACKBONE, NORMALIZE, SYNTHETIC_INFO)."""
    return one_epoch_settings, TINY_BACKBONE, NORMALIZE, SYNTHETIC_INFO
