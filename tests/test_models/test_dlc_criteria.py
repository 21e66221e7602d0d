"""DeepLabCut 3's weighted criteria and loss aggregation, values by hand.

Facts (DeepLabCut 3.0.2 deeplabcut/pose_estimation_pytorch/models/criterions/):
- weighted.py:48-53: ``loss = criterion(output, target)`` elementwise (MSELoss / HuberLoss /
  BCEWithLogitsLoss, reduction none); ``sum(loss * weights) / n`` with n from
  utils.py:16-46 ``count_nonzero_elems`` (elements whose broadcast weight != 0; ``numel`` for a
  non-zero float weight), and n = 1 when it is 0;
- aggregators.py:27-29: ``mean(stack([w * losses[name] for name, w in weights.items()]))``.
"""
import math

import pytest
import torch

from posecfg.registry import MODELS

OUT = torch.tensor([[[[0.0, 1.0], [3.0, -1.0]]]])  # (1, 1, 2, 2)
TARGET = torch.tensor([[[[0.5, 1.0], [0.0, 0.0]]]])
WEIGHTS = torch.tensor([[[[1.0, 0.0], [2.0, 1.0]]]])  # three non-zero


def build(name, **kwargs):
    return MODELS.build(dict(type=name, **kwargs))


def test_mse():
    # squared errors 0.25, 0, 9, 1; weighted sum 0.25 + 18 + 1 over 3 non-zero weights
    value = build('WeightedMSECriterion')(OUT, TARGET, WEIGHTS)
    assert value.item() == pytest.approx((0.25 + 18 + 1) / 3)
    assert build('WeightedMSECriterion')(OUT, TARGET).item() == pytest.approx(10.25 / 4)


def test_huber():
    # |d| = 0.5, 0, 3, 1: 0.5·0.25, 0, 3 - 0.5, 0.5·1 (delta 1)
    value = build('WeightedHuberCriterion')(OUT, TARGET, WEIGHTS)
    assert value.item() == pytest.approx((0.125 + 2 * 2.5 + 0.5) / 3)


def test_bce_on_logits():
    def bce(x, t):
        p = 1 / (1 + math.exp(-x))
        return -(t * math.log(p) + (1 - t) * math.log(1 - p))
    expected = (bce(0, 0.5) + 2 * bce(3, 0) + bce(-1, 0)) / 3
    value = build('WeightedBCECriterion')(OUT, TARGET, WEIGHTS)
    assert value.item() == pytest.approx(expected, rel=1e-6)


def test_broadcast_weights_count_every_covered_element():
    per_map = torch.tensor([1.0, 0.0]).reshape(1, 2, 1, 1)
    out, target = torch.ones(1, 2, 3, 3), torch.zeros(1, 2, 3, 3)
    assert build('WeightedMSECriterion')(out, target, per_map).item() == pytest.approx(9 / 9)
    # all weights 0: 0 / 1, not a division by zero
    assert build('WeightedMSECriterion')(out, target, 0.0).item() == 0.0
    assert build('WeightedMSECriterion')(out, target, torch.zeros(1, 2, 1, 1)).item() == 0.0


def test_aggregator_is_a_mean_of_weighted_losses():
    agg = build('WeightedLossAggregator', weights=dict(heatmap=1.0, locref=0.05))
    value = agg(dict(heatmap=torch.tensor(2.0), locref=torch.tensor(4.0)))
    assert value.item() == pytest.approx((2.0 + 0.05 * 4.0) / 2)
    with pytest.raises(KeyError, match="no loss named \\['locref'\\]"):
        agg(dict(heatmap=torch.tensor(1.0)))


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match='output has shape'):
        build('WeightedMSECriterion')(torch.zeros(1, 2), torch.zeros(1, 3))
