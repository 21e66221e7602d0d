"""Keypoint <-> training target: codecs (``KEYPOINT_CODECS``, contract in :mod:`.base`) and
MMPose 0.x's heatmap encodings and decodings as numpy functions.

Encoders (one instance, K keypoints in input-image pixels -> (K, H, W) float32 target and
(K, 1) float32 weight): :func:`msra_heatmap_target` (with DARK's unbiased variant),
:func:`megvii_heatmap_target`, :func:`udp_heatmap_target` ('GaussianHeatmap' / 'CombinedTarget').

Decoders: :func:`get_heatmap_maximum`, :func:`decode_heatmaps` (heatmap cells),
:func:`keypoints_from_heatmaps` (original-image pixels), :func:`transform_preds`,
:func:`flip_back` for flip test.

Codec classes in ``posecfg.registry.KEYPOINT_CODECS``: :class:`MSRAHeatmap`,
:class:`MegviiHeatmap`, :class:`UDPHeatmap` (top-down, MMPose 0.x numerics; chosen from 0.x keys
in :mod:`.mmpose0x`), :class:`ArgmaxHeatmap` (whole-image Gaussian heatmaps, arg-max decoding),
:class:`LPHeatmap` (Lightning Pose's targets and soft-argmax decoding); DeepLabCut 3's
:class:`HeatmapGaussianGenerator`, :class:`HeatmapPlateauGenerator` (targets) and
:class:`HeatmapPredictor` (decoding) in :mod:`.dlc_heatmap`; its multi-animal
:class:`PartAffinityFieldGenerator`, :class:`SequentialGenerator` (:mod:`.dlc_paf`) and
:class:`PartAffinityFieldPredictor` (:mod:`.dlc_paf_predictor`, assembly in
:mod:`.paf_assembly`); its DEKR parts :class:`DEKRGenerator`, :class:`DEKRPredictor` and the
identity head's :class:`IdentityPredictor` in :mod:`.dekr`.
"""
from .argmax_heatmap import ArgmaxHeatmap
from .base import BaseKeypointCodec
from .blur import blur_maps, modulate_heatmaps
from .decode import decode_heatmaps, keypoints_from_heatmaps
from .dlc_heatmap import (DLCHeatmapGenerator, HeatmapGaussianGenerator,
                          HeatmapPlateauGenerator, HeatmapPredictor)
from .dekr import DEKRGenerator, DEKRPredictor, IdentityPredictor
from .dlc_paf import PartAffinityFieldGenerator, SequentialGenerator
from .dlc_paf_predictor import PartAffinityFieldPredictor
from .flip import flip_back, flip_permutation
from .geometry import PIXEL_STD, transform_preds
from .lp_heatmap import LPHeatmap
from .heatmap_codecs import MegviiHeatmap, MSRAHeatmap, UDPHeatmap
from .maximum import get_heatmap_maximum
from .megvii import megvii_heatmap_target
from .msra import msra_heatmap_target
from .refine import (decode_combined_target, refine_dark, refine_dark_udp,
                     refine_quarter_offset)
from .udp import udp_heatmap_target, udp_stride

__all__ = [
    'ArgmaxHeatmap', 'BaseKeypointCodec', 'DEKRGenerator', 'DEKRPredictor',
    'IdentityPredictor', 'DLCHeatmapGenerator', 'HeatmapGaussianGenerator',
    'HeatmapPlateauGenerator', 'HeatmapPredictor', 'LPHeatmap', 'PartAffinityFieldGenerator',
    'PartAffinityFieldPredictor', 'SequentialGenerator', 'MSRAHeatmap', 'MegviiHeatmap',
    'PIXEL_STD',
    'UDPHeatmap', 'blur_maps',
    'decode_combined_target', 'decode_heatmaps', 'flip_back', 'flip_permutation',
    'get_heatmap_maximum', 'keypoints_from_heatmaps', 'megvii_heatmap_target',
    'modulate_heatmaps', 'msra_heatmap_target', 'refine_dark', 'refine_dark_udp',
    'refine_quarter_offset', 'transform_preds', 'udp_heatmap_target', 'udp_stride',
]
