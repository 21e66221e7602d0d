"""Losses for keypoint heads, registered in ``posecfg.registry.MODELS``."""
from .lp_losses import (LPHeatmapJSLoss, LPHeatmapKLLoss, LPHeatmapMSELoss, LPRegressionMSELoss,
                        lp_rmse)
from .mse_loss import CombinedTargetMSELoss, JointsMSELoss, JointsOHKMMSELoss
from .weighted import (WeightedBCECriterion, WeightedHuberCriterion, WeightedLossAggregator,
                       WeightedMSECriterion)

__all__ = ['CombinedTargetMSELoss', 'JointsMSELoss', 'JointsOHKMMSELoss', 'LPHeatmapJSLoss',
           'LPHeatmapKLLoss', 'LPHeatmapMSELoss', 'LPRegressionMSELoss', 'WeightedBCECriterion',
           'WeightedHuberCriterion', 'WeightedLossAggregator', 'WeightedMSECriterion', 'lp_rmse']
