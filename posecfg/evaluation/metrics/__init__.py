"""mmengine metrics registered in ``posecfg.registry.METRICS`` (keys as MMPose 0.x, no prefix)."""
from .coco_keypoint import CocoKeypointMetric
from .dlc_rmse import DLCRMSEMetric
from .keypoint_2d import AUC, EPE, PCKAccuracy
from .lp_pixel_error import LPPixelErrorMetric

__all__ = ['AUC', 'CocoKeypointMetric', 'DLCRMSEMetric', 'EPE', 'LPPixelErrorMetric',
           'PCKAccuracy']
