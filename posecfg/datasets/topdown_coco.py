"""COCO-format top-down datasets: one class, told apart by metadata and evaluation protocol.

MMPose 0.x had a class per COCO-format dataset that differed only in its default
``dataset_info``, how it turned a box into a crop and how it was evaluated. Here those are
class attributes of :class:`TopDownCocoDataset`; the MMPose class names are registered as
subclasses that set only those attributes, so existing configs keep working.
"""
from __future__ import annotations

import os

import numpy as np

from ..registry import DATASETS
from .boxes import boxes_to_center_scale, jitter_centers
from .coco_files import (CocoImages, check_category_keypoints, coco_images,
                         load_coco_instances, load_detections, read_json)
from .instance_table import InstanceTable, StringPool
from .metric_configs import PckProtocol, coco_keypoint_config
from .topdown_base import TopDownBaseDataset, example_dataset_args


DETECTIONS_HAVE_NO_GT = ('the samples are detections (data_cfg.use_gt_bbox=False) without '
                         'per-instance ground truth; set data_cfg.use_gt_bbox=True')


@DATASETS.register_module()
class TopDownCocoDataset(TopDownBaseDataset):
    """Top-down dataset from a COCO keypoint file (MMPose 0.x ``TopDownCocoDataset``).

    Training (``test_mode=False``) uses every non-crowd annotation with at least one labelled
    keypoint and a non-empty box (clipped to the image); the others are counted in one log
    line. Testing uses the same ground-truth boxes when ``data_cfg.use_gt_bbox`` is True, else
    the detections in ``data_cfg.bbox_file`` (COCO results format) of the annotation file's
    categories with ``score >= data_cfg.det_bbox_thr``.

    The crop region is the box grown to the aspect ratio of ``data_cfg.image_size`` and padded
    by :attr:`bbox_padding` (``scale`` = size / 200). In training, as in MMPose 0.x, 30% of the
    boxes get their centre moved by up to ±20% of the box size, drawn once when the dataset is
    built (see :func:`posecfg.datasets.boxes.jitter_centers`).

    Args: see :class:`TopDownBaseDataset`.
    """
    example_args = example_dataset_args('mmpose-tests/coco/test_coco.json', 17)

    default_dataset_info = 'coco'
    #: crop = box × this after fixing the aspect ratio
    bbox_padding = 1.25
    #: crop the whole image instead of the box (datasets of pre-cropped single animals)
    crop_whole_image = False
    #: whether COCO mAP uses the annotations' ``area`` (False where the files have none)
    coco_use_area = True

    def _load(self):
        owner = type(self).__name__
        data = read_json(self.ann_file, 'ann_file', owner)
        if not isinstance(data, dict):
            raise ValueError(f'{owner}: ann_file {self.ann_file!r} is not a COCO keypoint file '
                             f'(a dict with images, annotations, categories)')
        images = coco_images(data, self.ann_file, owner)
        check_category_keypoints(data, self.ann_file, self.meta, owner)
        num = self.meta.num_keypoints
        if self.test_mode and not self.data_cfg['use_gt_bbox']:
            if self.crop_whole_image:
                raise ValueError(f'{owner} crops the whole image (as MMPose 0.x does for this '
                                 f'dataset); detection boxes (data_cfg.use_gt_bbox=False) do '
                                 f'not apply, set use_gt_bbox=True')
            cats = [c['id'] for c in data.get('categories', [])] or [1]
            dets = load_detections(self.data_cfg['bbox_file'], images, cats,
                                   float(self.data_cfg['det_bbox_thr']), owner)
            if self.data_mode == 'bottomup':
                raise ValueError(f"{owner}: data_mode='bottomup' predicts whole images and "
                                 f'evaluates them against the annotations; detection boxes '
                                 f'(data_cfg.use_gt_bbox=False) do not apply, set '
                                 f'use_gt_bbox=True')
            count = len(dets['image_row'])
            # detections carry no labels (their top-down samples mark every keypoint visible,
            # as MMPose 0.x does: see posecfg.datasets.records.topdown_sample)
            cols = dict(image_row=dets['image_row'], ann_id=np.full(count, -1, np.int64),
                        category_id=dets['category_id'],
                        keypoints=np.zeros((count, num, 2), np.float32),
                        visible=np.zeros((count, num), np.float32), bbox=dets['bbox'],
                        area=dets['bbox'][:, 2] * dets['bbox'][:, 3], bbox_score=dets['score'],
                        has_gt=np.zeros(count, bool))
        else:
            inst = load_coco_instances(data, images, self.ann_file, self.meta, owner)
            count = len(inst['image_row'])
            cols = dict(image_row=inst['image_row'], ann_id=inst['ann_id'],
                        category_id=inst['category_id'], keypoints=inst['keypoints'],
                        visible=inst['visible'], bbox=inst['bbox'],
                        area=inst['area'], bbox_score=np.ones(count, np.float32),
                        has_gt=np.ones(count, bool))
        crop_boxes = self._crop_boxes(cols['bbox'], images, cols['image_row'])
        center, scale = boxes_to_center_scale(crop_boxes, self.data_cfg.aspect_ratio,
                                              self.bbox_padding)
        if not (self.test_mode or self.crop_from_pipeline or self.data_mode == 'bottomup'):
            # the seed's config style: the dataset does MMPose 0.x's shift (0.26+ configs have
            # TopDownRandomShiftBboxCenter in the pipeline instead)
            center = jitter_centers(center, crop_boxes)
        table = InstanceTable(center=center, scale=scale,
                              head_size=np.full(count, np.nan, np.float32), **cols)
        files = StringPool(os.path.join(self.img_prefix, name) for name in images.file_names)
        return table, files, images.ids, _image_columns(images)

    def _crop_boxes(self, bboxes: np.ndarray, images: CocoImages,
                    image_rows: np.ndarray) -> np.ndarray:
        """(N, 4) xywh boxes the crops are made from: the instance boxes, or whole images."""
        if not self.crop_whole_image:
            return bboxes
        widths, heights = images.widths[image_rows], images.heights[image_rows]
        if not (np.isfinite(widths).all() and np.isfinite(heights).all()):
            raise ValueError(f'{type(self).__name__}: ann_file {self.ann_file!r} lacks image '
                             f'width/height, which this dataset crops whole images by')
        zeros = np.zeros_like(widths)
        return np.stack([zeros, zeros, widths, heights], axis=1).astype(np.float32)

    @classmethod
    def metric_builders(cls, meta, data_cfg, ann_file):
        builders, unavailable = super().metric_builders(meta, data_cfg, ann_file)
        if not data_cfg['use_gt_bbox']:
            for name in ('PCK', 'AUC', 'EPE'):
                del builders[name]
                unavailable[name] = DETECTIONS_HAVE_NO_GT
        if meta.sigmas is not None:
            builders = dict(mAP=lambda: coco_keypoint_config(ann_file, data_cfg,
                                                             cls.coco_use_area), **builders)
        else:
            unavailable['mAP'] = (f'COCO keypoint AP needs OKS sigmas and {meta.source} '
                                  f'defines none (sigmas=[])')
        return builders, unavailable

    def _why_no_ground_truth(self) -> str:
        if self.test_mode and not self.data_cfg['use_gt_bbox']:
            return DETECTIONS_HAVE_NO_GT
        return super()._why_no_ground_truth()


def _image_columns(images: CocoImages):
    """``img_shape`` (M, 2) (h, w) when the file gives every image's size, else None."""
    if not (np.isfinite(images.widths).all() and np.isfinite(images.heights).all()):
        return None
    shape = np.stack([images.heights, images.widths], axis=1).astype(np.int64)
    return InstanceTable(img_shape=shape.reshape(-1, 2))


# MMPose 0.x names. Facts (keypoints, sigmas, …) come from the named base file; what differs
# is the crop (padding, whole image) and the evaluation protocol MMPose 0.x used.
@DATASETS.register_module()
class TopDownCrowdPoseDataset(TopDownCocoDataset):
    """CrowdPose; its annotations have no ``area``, so COCO mAP uses the box area."""
    example_args = example_dataset_args('mmpose-tests/crowdpose/test_crowdpose.json', 14)
    default_dataset_info = 'crowdpose'
    coco_use_area = False
    #: MMPose's CrowdPose configs say crowd_matching=False (crowdposetools' matching is not
    #: implemented; the metric is COCO-style AP with CrowdPose's sigmas)
    fixed_data_cfg = dict(crowd_matching=False)
    option_keys = {'data_cfg': TopDownCocoDataset.option_keys['data_cfg'] + ('crowd_matching',)}


@DATASETS.register_module()
class AnimalAP10KDataset(TopDownCocoDataset):
    """AP-10K (54 species; detections may be of any of its categories)."""
    example_args = example_dataset_args('mmpose-tests/ap10k/test_ap10k.json', 17)
    default_dataset_info = 'ap10k'


@DATASETS.register_module()
class AnimalPoseDataset(TopDownCocoDataset):
    """Animal-Pose."""
    example_args = example_dataset_args('mmpose-tests/animalpose/test_animalpose.json', 20)
    default_dataset_info = 'animalpose'


@DATASETS.register_module()
class AnimalMacaqueDataset(TopDownCocoDataset):
    """MacaquePose."""
    example_args = example_dataset_args('mmpose-tests/macaque/test_macaque.json', 17)
    default_dataset_info = 'macaque'


@DATASETS.register_module()
class AnimalATRWDataset(TopDownCocoDataset):
    """ATRW tigers; MMPose 0.x crops the box without padding (its boxes are loose)."""
    example_args = example_dataset_args('mmpose-tests/atrw/test_atrw.json', 15)
    default_dataset_info = 'atrw'
    bbox_padding = 1.0


@DATASETS.register_module()
class AnimalHorse10Dataset(TopDownCocoDataset):
    """Horse-10; PCK@0.3 of the Nose–Eye distance, as MMPose 0.x evaluated it."""
    example_args = example_dataset_args('mmpose-tests/horse10/test_horse10.json', 22)
    default_dataset_info = 'horse10'
    pck_protocol = PckProtocol(thr=0.3, norm_item='keypoint_distance',
                               keypoint_names=('Nose', 'Eye'))


@DATASETS.register_module()
class AnimalFlyDataset(TopDownCocoDataset):
    """Vinegar fly: 192×192 images centred on one fly; MMPose 0.x crops 0.8 × the image."""
    example_args = example_dataset_args('mmpose-tests/fly/test_fly.json', 32)
    default_dataset_info = 'fly'
    crop_whole_image = True
    bbox_padding = 0.8


@DATASETS.register_module()
class AnimalLocustDataset(TopDownCocoDataset):
    """Desert locust: 160×160 centred images; crop 0.8 × the image as MMPose 0.x."""
    example_args = example_dataset_args('mmpose-tests/locust/test_locust.json', 35)
    default_dataset_info = 'locust'
    crop_whole_image = True
    bbox_padding = 0.8


@DATASETS.register_module()
class AnimalZebraDataset(TopDownCocoDataset):
    """Grévy's zebra: 160×160 centred images; crop 0.8 × the image as MMPose 0.x."""
    example_args = example_dataset_args('mmpose-tests/zebra/test_zebra.json', 9)
    default_dataset_info = 'zebra'
    crop_whole_image = True
    bbox_padding = 0.8


@DATASETS.register_module()
class AnimalKingdomDataset(TopDownCocoDataset):
    """Animal Kingdom (MMPose 1.x name; 0.x had none); its benchmark reports PCK@0.05."""
    example_args = example_dataset_args('mmpose-tests/ak/test_animalkingdom.json', 23)
    default_dataset_info = 'ak'
    pck_protocol = PckProtocol(thr=0.05)
