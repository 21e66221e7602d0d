"""Fixtures of the dataset tests: a data_cfg factory and a capture of mmengine's log."""
import logging

import pytest
from mmengine.logging import MMLogger


def make_data_cfg(num_joints, **overrides):
    """The seed's top-down data_cfg for ``num_joints`` keypoints (ground-truth boxes)."""
    cfg = dict(image_size=[192, 256], heatmap_size=[48, 64], num_output_channels=num_joints,
               num_joints=num_joints, dataset_channel=[list(range(num_joints))],
               inference_channel=list(range(num_joints)))
    cfg.update(overrides)
    return cfg


@pytest.fixture(name='make_data_cfg')
def make_data_cfg_fixture():
    return make_data_cfg


class _ListHandler(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def log_messages():
    """Messages logged to mmengine's current logger while the test runs."""
    logger = MMLogger.get_current_instance()
    handler = _ListHandler()
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)
