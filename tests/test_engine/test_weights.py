"""posecfg.engine.weights: putting a checkpoint's tensors into a model."""
from collections import OrderedDict

import torch
import torch.nn as nn

from posecfg.engine.weights import load_model_weights, skipped_initialisers


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Linear(4, 2))


def test_assign_takes_the_checkpoints_tensors_when_they_fit():
    """A test run's model (built without initialisers) takes the checkpoint's tensors instead
    of copying every weight; a checkpoint of another dtype is copied into the model's."""
    state = OrderedDict((k, v.clone()) for k, v in _model().state_dict().items())
    model = _model()
    load_model_weights(model, state, 'x.pt', assign=True)
    assert model[0].weight.data_ptr() == state['0.weight'].data_ptr()
    assert model[0].weight.requires_grad and isinstance(model[0].weight, nn.Parameter)
    assert model[1].running_var.data_ptr() == state['1.running_var'].data_ptr()

    doubles = OrderedDict((k, v.double() if v.is_floating_point() else v)
                          for k, v in state.items())
    model = _model()
    load_model_weights(model, doubles, 'x.pt', assign=True)
    assert model[0].weight.dtype == torch.float32
    assert model[0].weight.data_ptr() != doubles['0.weight'].data_ptr()
    torch.testing.assert_close(model[0].weight.detach(), state['0.weight'])

    copied = _model()
    load_model_weights(copied, state, 'x.pt')  # the default copies
    assert copied[0].weight.data_ptr() != state['0.weight'].data_ptr()
    torch.testing.assert_close(copied[0].weight.detach(), state['0.weight'])


def test_assign_keeps_shared_tensors_shared():
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    model[1].weight = model[0].weight  # tied: assigned, they would part
    state = OrderedDict((k, v.clone()) for k, v in model.state_dict().items())
    load_model_weights(model, state, 'x.pt', assign=True)
    assert model[1].weight is model[0].weight


def test_skipped_initialisers_come_back():
    before = nn.init.normal_
    tensor = torch.zeros(3)
    with skipped_initialisers():
        assert nn.init.normal_(tensor) is tensor and not tensor.any()
        nn.Linear(4, 4)  # builds with its weights left as allocated
    assert nn.init.normal_ is before
    assert nn.init.normal_(tensor).any()

