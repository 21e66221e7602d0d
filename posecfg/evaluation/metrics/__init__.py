"""mmengine metrics registered in ``posecfg.registry.METRICS`` (keys as MMPose 0.x, no prefix)."""
from .coco_keypoint import CocoKeypointMetric
from .keypoint_2d import AUC, EPE, PCKAccuracy

__all__ = ['AUC', 'CocoKeypointMetric', 'EPE', 'PCKAccuracy']
