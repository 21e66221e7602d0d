"""Keypoint heads (the :class:`BaseHead` contract), registered in ``posecfg.registry.MODELS``."""
from .base_head import BaseHead
from .dlc_heatmap_head import DLC_TYPE_NAMES, DeconvModule, DLCHeatmapHead
from .dekr_head import DEKRHead
from .dlcrnet_head import DLCRNetHead
from .heatmap_head import HeatmapHead
from .lp_heads import LPHeatmapHead, LPRegressionHead
from .lp_mhcrnn_head import LPHeatmapMHCRNNHead
from .heatmap_test_cfg import HEATMAP_TEST_CFG_KEYS, HeatmapTestConfig, resolve_heatmap_test_cfg
from .topdown_heatmap_simple_head import TopdownHeatmapSimpleHead

__all__ = ['BaseHead', 'DEKRHead', 'DLC_TYPE_NAMES', 'DLCHeatmapHead', 'DLCRNetHead',
           'DeconvModule', 'HEATMAP_TEST_CFG_KEYS',
           'HeatmapHead', 'HeatmapTestConfig', 'LPHeatmapHead', 'LPHeatmapMHCRNNHead', 'LPRegressionHead',
           'TopdownHeatmapSimpleHead', 'resolve_heatmap_test_cfg']
