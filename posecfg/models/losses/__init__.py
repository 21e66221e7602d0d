"""Losses for keypoint heads, registered in ``posecfg.registry.MODELS``."""
from .mse_loss import CombinedTargetMSELoss, JointsMSELoss, JointsOHKMMSELoss
from .weighted import (WeightedBCECriterion, WeightedHuberCriterion, WeightedLossAggregator,
                       WeightedMSECriterion)

__all__ = ['CombinedTargetMSELoss', 'JointsMSELoss', 'JointsOHKMMSELoss', 'WeightedBCECriterion',
           'WeightedHuberCriterion', 'WeightedLossAggregator', 'WeightedMSECriterion']
