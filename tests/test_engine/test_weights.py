"""posecfg.engine.weights: putting a checkpoint's tensors into a model."""
import torch
import torch.nn as nn

from posecfg.engine.weights import skipped_initialisers


def test_skipped_initialisers_come_back():
    before = nn.init.normal_
    tensor = torch.zeros(3)
    with skipped_initialisers():
        assert nn.init.normal_(tensor) is tensor and not tensor.any()
        nn.Linear(4, 4)  # builds with its weights left as allocated
    assert nn.init.normal_ is before
    assert nn.init.normal_(tensor).any()

