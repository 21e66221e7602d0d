"""Keypoint heads, registered in ``posecfg.registry.MODELS``."""
from .heatmap_test_cfg import HEATMAP_TEST_CFG_KEYS, HeatmapTestConfig, resolve_heatmap_test_cfg
from .topdown_heatmap_simple_head import TopdownHeatmapSimpleHead

__all__ = ['HEATMAP_TEST_CFG_KEYS', 'HeatmapTestConfig', 'TopdownHeatmapSimpleHead',
           'resolve_heatmap_test_cfg']
