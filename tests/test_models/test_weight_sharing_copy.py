"""weight_sharing_copy: a deep copy whose parameters share the model's memory and can be
replaced without touching the model."""
import torch
import torch.nn as nn

from posecfg.models.utils.weight_sharing_copy import weight_sharing_copy


def model():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 2, 1))
    net[3].weight.requires_grad_(False)
    return net


def test_parameters_share_memory_but_are_new_objects():
    net = model()
    copy = weight_sharing_copy(net)
    assert copy is not net
    for (name, p), (copy_name, q) in zip(net.named_parameters(), copy.named_parameters()):
        assert name == copy_name and q is not p and isinstance(q, nn.Parameter)
        assert q.data_ptr() == p.data_ptr() and q.requires_grad == p.requires_grad
    # buffers are copied: a forward that updates them leaves the model's alone
    assert copy[1].running_mean.data_ptr() != net[1].running_mean.data_ptr()
    copy[1].train()(torch.randn(2, 4, 5, 5))
    assert torch.equal(net[1].running_mean, torch.zeros(4))


def test_replacing_a_copys_parameter_leaves_the_model():
    net = model()
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    copy = weight_sharing_copy(net)
    copy[0].weight.data = copy[0].weight.data.to(torch.bfloat16)
    copy[3].weight = nn.Parameter(copy[3].weight * 2)
    x = torch.randn(1, 3, 5, 5)
    assert copy[0].weight.dtype == torch.bfloat16 and net[0].weight.dtype == torch.float32
    for name, p in net.named_parameters():
        assert torch.equal(p, before[name])
    net.eval(), copy.eval()
    assert not torch.equal(net(x), copy.float()(x))


def test_a_module_used_twice_is_copied_once():
    net = model()
    net.add_module('again', net[0])  # the same conv under two names
    copy = weight_sharing_copy(net)
    assert copy.again is copy[0] and copy.again is not net[0]
