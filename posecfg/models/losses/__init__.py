"""Losses for keypoint heads, registered in ``posecfg.registry.MODELS``."""
from .lp_losses import (LPHeatmapJSLoss, LPHeatmapKLLoss, LPHeatmapMSELoss, LPRegressionMSELoss,
                        lp_rmse)
from .mse_loss import CombinedTargetMSELoss, JointsMSELoss, JointsOHKMMSELoss

__all__ = ['CombinedTargetMSELoss', 'JointsMSELoss', 'JointsOHKMMSELoss', 'LPHeatmapJSLoss',
           'LPHeatmapKLLoss', 'LPHeatmapMSELoss', 'LPRegressionMSELoss', 'lp_rmse']
