"""Pipeline steps (``posecfg.registry.TRANSFORMS``) and the batch collate function (``FUNCTIONS``).

Top-down training pipeline, MMPose 0.x names::

    LoadImageFromFile → [TopDownGetBboxCenterScale] → [TopDownRandomShiftBboxCenter]
    → TopDownRandomFlip → TopDownHalfBodyTransform → TopDownGetRandomScaleRotation
    → TopDownAffine → ToTensor → NormalizeTensor → TopDownGenerateTarget → Collect

Only ``TopDownAffine`` touches pixels: one ``cv2.warpAffine`` per sample, reading a lazily
loaded image (``lazy_image``) into which the flip and a reduced-size JPEG decode are folded.
That is an optimisation, never a surprise: ``Compose`` gives every step that does not declare
``accepts_lazy_image = True`` the decoded array, so any pixel step works at any position.
Whole-image (``data_mode='bottomup'``) pipelines read and write the image record's keys
(``keypoints`` (N, K, 2), ``keypoints_visible``, ``bboxes``, ...); ``GenerateTarget`` encodes
them with a codec; the whole-image geometry steps (``whole_image``: DeepLabCut 3's resize, flip,
affine, pad, keypoint-aware crop) compose into one warp per sample the same way
(``warped_image``), with ``warp_mat`` recording original → input pixels; ``pixel_ops`` and the
resizing collates (``resize_collate``) complete DeepLabCut's augmentation keys; ``imgaug_ops``
holds imgaug's augmenters and ``lp_imgaug`` turns Lightning Pose's presets into steps. Importing this
package registers every step.
"""
from . import (affine, augment, bbox, collate, compose, context_frames, formatting, imgaug_ops,
               loading, lp_imgaug, pixel_ops, resize_collate, targets, whole_image)
from .affine import TopDownAffine, crop_matrix
from .augment import (TopDownGetRandomScaleRotation, TopDownHalfBodyTransform,
                      TopDownRandomFlip)
from .bbox import TopDownGetBboxCenterScale, TopDownRandomShiftBboxCenter
from .collate import pose_collate, pose_pad_collate
from .compose import Compose
from .context_frames import ContextFrames, lp_context_paths
from .formatting import Collect, NormalizeTensor, ToTensor
from .imgaug_ops import (AllChannelsCLAHE, CoarsePepper, CoarseSalt, CropAndPad, Emboss,
                         ImgaugCoarseDropout, ImgaugElasticTransformation, ImgaugMotionBlur,
                         Rot90)
from .lazy_image import LazyImage, warp_affine
from .lp_imgaug import lp_imgaug_pipeline
from .loading import LoadImageFromFile
from .pixel_ops import (CoarseDropout, ElasticTransform, Equalize, GaussianNoise, Grayscale,
                        MotionBlur, NormalizeImage, ScaleToUnitRange)
from .resize_collate import ResizeFromDataSizeCollate, ResizeFromListCollate
from .targets import GenerateTarget, TopDownGenerateTarget
from .warped_image import WarpedImage
from .whole_image import (HorizontalFlip, KeypointAwareCrop, LongestMaxSize, PadIfNeeded,
                          RandomAffine, Resize)

__all__ = [
    'affine', 'augment', 'bbox', 'collate', 'compose', 'formatting', 'loading', 'targets',
    'Collect', 'Compose', 'GenerateTarget', 'LazyImage', 'LoadImageFromFile', 'NormalizeTensor', 'ToTensor',
    'TopDownAffine', 'TopDownGenerateTarget', 'TopDownGetBboxCenterScale', 'TopDownGetRandomScaleRotation',
    'TopDownHalfBodyTransform', 'TopDownRandomFlip', 'TopDownRandomShiftBboxCenter',
    'crop_matrix', 'pose_collate', 'pose_pad_collate', 'warp_affine',
    'pixel_ops', 'resize_collate', 'whole_image', 'WarpedImage',
    'CoarseDropout', 'ElasticTransform', 'Equalize', 'GaussianNoise', 'Grayscale', 'MotionBlur',
    'NormalizeImage', 'ScaleToUnitRange', 'ResizeFromDataSizeCollate', 'ResizeFromListCollate',
    'HorizontalFlip', 'KeypointAwareCrop', 'LongestMaxSize', 'PadIfNeeded', 'RandomAffine',
    'Resize', 'imgaug_ops', 'lp_imgaug', 'lp_imgaug_pipeline', 'AllChannelsCLAHE',
    'CoarsePepper', 'CoarseSalt', 'CropAndPad', 'Emboss', 'ImgaugCoarseDropout',
    'ImgaugElasticTransformation', 'ImgaugMotionBlur', 'Rot90', 'context_frames',
    'ContextFrames', 'lp_context_paths',
]
