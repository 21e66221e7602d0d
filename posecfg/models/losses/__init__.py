"""Losses for keypoint heads, registered in ``posecfg.registry.MODELS``."""
from .mse_loss import CombinedTargetMSELoss, JointsMSELoss, JointsOHKMMSELoss

__all__ = ['CombinedTargetMSELoss', 'JointsMSELoss', 'JointsOHKMMSELoss']
