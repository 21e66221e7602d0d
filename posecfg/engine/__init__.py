"""The engine: the config schema → an mmengine Runner (``build_runner``), posecfg's loops,
hooks, schedulers and optimizer wrappers, and safe checkpoint files.

Registration location of several registries (``posecfg.registry``); importing it imports torch
and mmengine's runner.
"""
from .builder import build_runner
from .runner import PoseRunner

__all__ = ['build_runner', 'PoseRunner']
