"""Models: backbones → (necks) → heads, their losses, and the pose estimators that join them.

Importing this package registers every model class in ``posecfg.registry.MODELS``.
"""
from . import backbones, heads, losses, necks, pose_estimators  # noqa: F401  (registration)
from .data_preprocessor import PoseDataPreprocessor  # noqa: E402
from .pose_estimators import BasePoseEstimator, BottomUp, TopDown  # noqa: E402

__all__ = ['BasePoseEstimator', 'BottomUp', 'PoseDataPreprocessor', 'TopDown']
