"""Evaluation: keypoint metrics (COCO OKS mAP, PCK/PCKh, AUC, EPE) and OKS NMS.

``functional`` holds array math (numpy, no framework); ``metrics`` holds the mmengine metric
classes registered in ``posecfg.registry.METRICS``.
"""
from . import functional, metrics  # noqa: F401  (registration)
