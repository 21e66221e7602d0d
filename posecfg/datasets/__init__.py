"""Keypoint datasets and dataset metainfo; importing the package registers the datasets."""
from .base import PoseDataset
from .dlc_project import DLCProjectDataset
from .lp_project import LPProjectDataset
from .lp_multiview import LPMultiviewProjectDataset
from .metainfo import (DatasetInfoError, DatasetMeta, base_dataset_file, load_dataset_info,
                       parse_dataset_info, resolve_dataset_meta)
from .mpii import TopDownMpiiDataset
from .records import check_image_record, image_ground_truth, topdown_sample
from .sampler import SeededSampler
from .topdown_base import TopDownBaseDataset
from .unlabeled_video import UnlabeledVideoDataset, unlabeled_sequence_collate
from .unlabeled_multiview_video import MultiviewUnlabeledVideoDataset, multiview_sequence_collate
from .topdown_coco import (AnimalAP10KDataset, AnimalATRWDataset, AnimalFlyDataset,
                           AnimalHorse10Dataset, AnimalKingdomDataset, AnimalLocustDataset,
                           AnimalMacaqueDataset, AnimalPoseDataset, AnimalZebraDataset,
                           TopDownCocoDataset, TopDownCrowdPoseDataset)

__all__ = [
    'DatasetInfoError', 'DatasetMeta', 'base_dataset_file', 'load_dataset_info',
    'parse_dataset_info', 'resolve_dataset_meta', 'PoseDataset', 'check_image_record',
    'image_ground_truth', 'topdown_sample', 'TopDownBaseDataset', 'TopDownCocoDataset',
    'TopDownCrowdPoseDataset', 'AnimalAP10KDataset', 'AnimalPoseDataset', 'AnimalHorse10Dataset',
    'AnimalMacaqueDataset', 'AnimalFlyDataset', 'AnimalLocustDataset', 'AnimalZebraDataset',
    'AnimalATRWDataset', 'AnimalKingdomDataset', 'TopDownMpiiDataset', 'SeededSampler', 'DLCProjectDataset', 'LPProjectDataset',
    'LPMultiviewProjectDataset',
    'UnlabeledVideoDataset', 'unlabeled_sequence_collate', 'MultiviewUnlabeledVideoDataset',
    'multiview_sequence_collate',
]
