"""Pose estimators (whole models), registered in ``posecfg.registry.MODELS``."""
from .base import BasePoseEstimator
from .bottomup import BottomUp
from .multiview import MultiviewBottomUp
from .topdown import TopDown

__all__ = ['BasePoseEstimator', 'BottomUp', 'MultiviewBottomUp', 'TopDown']
