"""Pose estimators (whole models), registered in ``posecfg.registry.MODELS``."""
from .topdown import TopDown

__all__ = ['TopDown']
