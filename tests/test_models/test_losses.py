"""Heatmap losses: values by hand (MMPose 0.x semantics), weighting, gradients, errors."""
import pytest
import torch

from posecfg.models.losses import CombinedTargetMSELoss, JointsMSELoss, JointsOHKMMSELoss
from posecfg.registry import MODELS


def maps(values):
    """Nested list [[v_joint, …], …] per sample → (N, K, 1, 1) tensor: one pixel per joint."""
    return torch.tensor(values, dtype=torch.float32)[:, :, None, None]


def test_joints_mse_by_hand():
    # one sample, two joints, one pixel: squared errors 1 and 4 → mean over joints 2.5 (no 0.5)
    output, target = maps([[1., 3.]]), maps([[0., 1.]])
    assert JointsMSELoss()(output, target, None).item() == pytest.approx(2.5)
    assert JointsMSELoss(loss_weight=2.)(output, target, None).item() == pytest.approx(5.)


def test_joints_mse_target_weight_multiplies_both_maps():
    output, target = maps([[1., 3.]]), maps([[0., 1.]])
    weight = torch.tensor([[[1.], [0.5]]])  # (N, K, 1)
    # joint 0: (1 * 1)² = 1; joint 1: (0.5 * 2)² = 1 → 1.0
    loss = JointsMSELoss(use_target_weight=True)(output, target, weight)
    assert loss.item() == pytest.approx(1.)
    # without use_target_weight the weight is ignored
    assert JointsMSELoss()(output, target, weight).item() == pytest.approx(2.5)


def test_joints_mse_equals_per_joint_loop_over_pixels_and_batch():
    gen = torch.Generator().manual_seed(0)
    output, target = torch.rand(3, 4, 5, 6, generator=gen), torch.rand(3, 4, 5, 6, generator=gen)
    weight = torch.rand(3, 4, 1, generator=gen)
    expected = sum(torch.mean(((output[:, k] - target[:, k]) * weight[:, k, :, None]) ** 2)
                   for k in range(4)) / 4
    loss = JointsMSELoss(use_target_weight=True)(output, target, weight)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_ohkm_keeps_the_topk_hardest_joints_per_sample():
    output = maps([[1., 2., 3.], [0., 0., 4.]])
    target = maps([[0., 0., 0.], [0., 0., 0.]])
    # sample 0 joint losses 1, 4, 9 → top 2 mean 6.5; sample 1: 0, 0, 16 → 8; batch mean 7.25
    loss = JointsOHKMMSELoss(topk=2)(output, target, None)
    assert loss.item() == pytest.approx(7.25)
    weight = torch.tensor([[[1.], [1.], [0.]], [[1.], [1.], [0.5]]])
    # weighted: sample 0 → 1, 4, 0 → 2.5; sample 1 → 0, 0, 4 → 2; mean 2.25
    weighted = JointsOHKMMSELoss(use_target_weight=True, topk=2, loss_weight=2.)
    assert weighted(output, target, weight).item() == pytest.approx(4.5)


def test_combined_target_by_hand():
    # one joint: channels (response, x offset, y offset), one pixel
    output = maps([[0.5, 2., -1.]])
    target = maps([[1.0, 1., 1.]])
    # 0.5 * [(0.5 - 1)² + (1 * (2 - 1))² + (1 * (-1 - 1))²] = 0.5 * (0.25 + 1 + 4) = 2.625
    assert CombinedTargetMSELoss()(output, target, None).item() == pytest.approx(2.625)
    weight = torch.tensor([[[0.5]]])
    # response maps weighted by 0.5 (target response becomes 0.5, offsets weighted by it):
    # 0.5 * [(0.25 - 0.5)² + (0.5 * 1)² + (0.5 * -2)²] = 0.5 * (0.0625 + 0.25 + 1) = 0.65625
    loss = CombinedTargetMSELoss(use_target_weight=True)(output, target, weight)
    assert loss.item() == pytest.approx(0.65625)


def test_combined_target_averages_over_joints():
    output = maps([[0.5, 2., -1., 0., 0., 0.]])
    target = maps([[1.0, 1., 1., 0., 5., 5.]])  # joint 1: zero response → offsets do not count
    assert CombinedTargetMSELoss()(output, target, None).item() == pytest.approx(2.625 / 2)


@pytest.mark.parametrize('loss,num_joints', [(JointsMSELoss(True), 6),
                                              (JointsOHKMMSELoss(True, topk=2), 6),
                                              (CombinedTargetMSELoss(True), 2)])
def test_gradients_flow(loss, num_joints):
    output = torch.rand(2, 6, 4, 4, requires_grad=True)
    loss(output, torch.rand(2, 6, 4, 4), torch.ones(2, num_joints, 1)).backward()
    assert output.grad is not None and output.grad.abs().sum() > 0


def test_built_from_config():
    loss = MODELS.build(dict(type='JointsMSELoss', use_target_weight=True, loss_weight=0.5))
    assert isinstance(loss, JointsMSELoss) and loss.loss_weight == 0.5


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match='target_weight of shape'):
        JointsMSELoss(use_target_weight=True)(maps([[1.]]), maps([[1.]]), None)
    with pytest.raises(ValueError, match=r'expected \(N, 2, 1\)'):
        JointsMSELoss(use_target_weight=True)(maps([[1., 2.]]), maps([[1., 2.]]),
                                              torch.ones(1, 3, 1))
    with pytest.raises(ValueError, match="out_channels and the dataset's heatmap_size"):
        JointsMSELoss()(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 8, 8), None)
    with pytest.raises(ValueError, match=r'topk \(3\) must not exceed the number of joints \(2\)'):
        JointsOHKMMSELoss(topk=3)(maps([[1., 2.]]), maps([[1., 2.]]), None)
    with pytest.raises(ValueError, match='topk must be a positive integer'):
        JointsOHKMMSELoss(topk=0)
    with pytest.raises(ValueError, match='3 \\* num_joints'):
        CombinedTargetMSELoss()(maps([[1., 2.]]), maps([[1., 2.]]), None)
