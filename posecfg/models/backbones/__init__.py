"""Backbones: image (N, 3, H, W) → tuple of feature maps (DESIGN.md, "Backbones").

Importing this package registers every backbone in ``posecfg.registry.MODELS``.
"""
from .base import BaseBackbone
from .cspnext import CSPNeXt
from .dlcrnet import DLCRNet
from .efficientnet import EfficientNet
from .hrnet import HRNet
from .mobilenet_v2 import MobileNetV2
from .resnet import ResNet, ResNetV1d
from .shufflenet_v2 import ShuffleNetV2
from .vision_transformer import VisionTransformer

__all__ = ['BaseBackbone', 'CSPNeXt', 'DLCRNet', 'EfficientNet', 'HRNet', 'MobileNetV2', 'ResNet',
           'ResNetV1d', 'ShuffleNetV2', 'VisionTransformer']
