"""Evaluation array math (numpy): OKS and OKS-NMS, PCK / AUC / EPE, training-time ``acc_pose``,
and the pairing of predicted with ground-truth instances."""
from .keypoint_eval import (keypoint_auc, keypoint_epe, keypoint_pck_accuracy,
                            normalized_distances, pose_pck_accuracy)
from .matching import match_instances
from .nms import oks_nms, soft_oks_nms
from .oks import keypoint_oks, oks_iou

__all__ = ['keypoint_auc', 'keypoint_epe', 'keypoint_oks', 'keypoint_pck_accuracy',
           'match_instances', 'normalized_distances', 'oks_iou', 'oks_nms', 'pose_pck_accuracy',
           'soft_oks_nms']
