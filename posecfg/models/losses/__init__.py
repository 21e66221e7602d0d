"""Losses for keypoint heads, registered in ``posecfg.registry.MODELS``."""
from .dekr import DEKRHeatmapLoss, DEKROffsetLoss
from .lp_losses import (LPHeatmapJSLoss, LPHeatmapKLLoss, LPHeatmapMSELoss, LPRegressionMSELoss,
                        lp_rmse)
from .lp_pca import LPPCA, fit_lp_pca
from .lp_temporal_heatmap import LPTemporalHeatmapKLLoss, LPTemporalHeatmapMSELoss
from .lp_unsupervised import LPPCAMultiviewLoss, LPPCASingleviewLoss, LPTemporalLoss
from .mse_loss import CombinedTargetMSELoss, JointsMSELoss, JointsOHKMMSELoss
from .weighted import (WeightedBCECriterion, WeightedHuberCriterion, WeightedLossAggregator,
                       WeightedMSECriterion)

__all__ = ['CombinedTargetMSELoss', 'DEKRHeatmapLoss', 'DEKROffsetLoss', 'JointsMSELoss', 'JointsOHKMMSELoss', 'LPHeatmapJSLoss',
           'LPHeatmapKLLoss', 'LPHeatmapMSELoss', 'LPPCA', 'LPPCAMultiviewLoss',
           'LPPCASingleviewLoss', 'LPTemporalHeatmapKLLoss', 'LPTemporalHeatmapMSELoss',
           'LPTemporalLoss', 'fit_lp_pca', 'LPRegressionMSELoss', 'WeightedBCECriterion',
           'WeightedHuberCriterion', 'WeightedLossAggregator', 'WeightedMSECriterion', 'lp_rmse']
