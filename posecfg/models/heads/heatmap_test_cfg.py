"""The ``test_cfg`` (and ``train_cfg``) of top-down heatmap models: keys, defaults, validation.

MMPose 0.x reads these keys with ``test_cfg.get(key, default)`` in several places and lets a
typo or a conflicting pair pass silently. Here they are read once, checked, and turned into a
frozen :class:`HeatmapTestConfig`; every error names the ``test_cfg`` key at fault.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

from posecfg.codecs.mmpose0x import decoding_codec
from .base_head import check_test_cfg

#: Keys a top-down heatmap model reads in ``test_cfg`` (its ``option_keys``).
HEATMAP_TEST_CFG_KEYS = (
    'flip_test',            # bool, default True: average with the flipped image's heatmaps
    'shift_heatmap',        # bool, default False: shift flipped-back heatmaps one pixel right
    'post_process',         # 'default' | 'unbiased' | 'megvii' | None (True/False: old spelling)
    'unbiased_decoding',    # bool, old alias: True means post_process='unbiased'
    'modulate_kernel',      # odd int, default 11: Gaussian kernel of 'unbiased' / 'megvii'
    'valid_radius_factor',  # float, default 0.0546875: 'megvii' refinement radius / heatmap size
    'use_udp',              # bool, default False: unbiased data processing (UDP) decoding
    'target_type',          # 'GaussianHeatmap' (default) | 'CombinedTarget' (UDP offsets)
)

#: The keys that choose the decoding (a codec: posecfg.codecs.mmpose0x.decoding_codec).
DECODING_KEYS = ('post_process', 'unbiased_decoding', 'modulate_kernel', 'valid_radius_factor',
                 'use_udp', 'target_type')

TARGET_TYPES = ('GaussianHeatmap', 'CombinedTarget')
POST_PROCESSES = ('default', 'unbiased', 'megvii', None)


@dataclass(frozen=True)
class HeatmapTestConfig:
    """Validated test-time settings of a top-down heatmap model (see ``HEATMAP_TEST_CFG_KEYS``)."""

    flip_test: bool = True
    shift_heatmap: bool = False
    post_process: Optional[str] = 'default'
    modulate_kernel: int = 11
    valid_radius_factor: float = 0.0546875
    use_udp: bool = False
    target_type: str = 'GaussianHeatmap'

    def decode_kwargs(self) -> dict:
        """Keyword arguments for ``posecfg.codecs.keypoints_from_heatmaps``."""
        return dict(post_process=self.post_process, kernel=self.modulate_kernel,
                    valid_radius_factor=self.valid_radius_factor, use_udp=self.use_udp,
                    target_type=self.target_type)

    def codec_config(self) -> dict:
        """The codec that decodes as these settings say (MMPose 0.x's
        ``keypoints_from_heatmaps``), from :func:`posecfg.codecs.mmpose0x.decoding_codec`."""
        return decoding_codec(self.post_process, self.modulate_kernel, self.use_udp,
                              self.target_type, self.valid_radius_factor)


def _flag(cfg: Mapping, key: str, default: bool) -> bool:
    value = cfg.get(key, default)
    # a string such as 'False' would be truthy: refuse it instead of guessing
    if isinstance(value, str) or not isinstance(value, (bool, int)) or value not in (0, 1):
        raise TypeError(f'test_cfg.{key} must be True or False, got {value!r}')
    return bool(value)


def _target_type(cfg: Mapping) -> str:
    value = cfg.get('target_type', 'GaussianHeatmap')
    # MMPose 0.x compares case-insensitively; old configs spell it 'GaussianHeatMap'
    for name in TARGET_TYPES:
        if isinstance(value, str) and value.lower() == name.lower():
            return name
    raise ValueError(f'test_cfg.target_type must be one of {", ".join(TARGET_TYPES)}, '
                     f'got {value!r}')


def _post_process(cfg: Mapping) -> Optional[str]:
    value = cfg.get('post_process', 'default')
    # MMPose 0.x still accepts the booleans of its early configs: True → 'default', False → None
    if value is True:
        value = 'default'
    elif value is False:
        value = None
    if value not in POST_PROCESSES:
        raise ValueError(f'test_cfg.post_process must be one of '
                         f'{", ".join(map(repr, POST_PROCESSES))}, got {value!r}')
    if _flag(cfg, 'unbiased_decoding', False):
        if value != 'default':
            raise ValueError(f"test_cfg.unbiased_decoding=True (the old spelling of "
                             f"post_process='unbiased') conflicts with test_cfg.post_process="
                             f"{cfg.get('post_process')!r}; set post_process='unbiased' and "
                             'drop unbiased_decoding')
        value = 'unbiased'
    return value


def resolve_heatmap_test_cfg(test_cfg: Optional[Mapping]) -> HeatmapTestConfig:
    """Check ``test_cfg`` (a dict or None) and return its settings with MMPose 0.x defaults.

    Raises ``KeyError`` for a key no top-down heatmap model reads (with close matches), and
    ``ValueError``/``TypeError`` for a bad value or a conflicting pair of keys.
    """
    cfg = check_test_cfg(test_cfg, HEATMAP_TEST_CFG_KEYS, 'a top-down heatmap model')

    post_process = _post_process(cfg)
    use_udp = _flag(cfg, 'use_udp', False)
    target_type = _target_type(cfg)
    kernel = cfg.get('modulate_kernel', 11)
    if post_process in ('unbiased', 'megvii') and not (
            isinstance(kernel, int) and kernel > 0 and kernel % 2 == 1):
        raise ValueError(f'test_cfg.modulate_kernel must be a positive odd integer (a Gaussian '
                         f'kernel size) for post_process={post_process!r}, got {kernel!r}')
    radius = cfg.get('valid_radius_factor', 0.0546875)
    if isinstance(radius, bool) or not isinstance(radius, (int, float)) or radius <= 0:
        raise ValueError(f'test_cfg.valid_radius_factor must be a positive number, got {radius!r}')
    if use_udp and post_process == 'megvii':
        raise ValueError("test_cfg.post_process='megvii' cannot be combined with "
                         "test_cfg.use_udp=True; use post_process='default' with UDP")
    if target_type == 'CombinedTarget' and not use_udp:
        raise ValueError("test_cfg.target_type='CombinedTarget' is UDP's target and is decoded "
                         'only with test_cfg.use_udp=True')
    return HeatmapTestConfig(
        flip_test=_flag(cfg, 'flip_test', True),
        shift_heatmap=_flag(cfg, 'shift_heatmap', False),
        post_process=post_process, modulate_kernel=kernel,
        valid_radius_factor=float(radius), use_udp=use_udp, target_type=target_type)


def check_train_cfg(train_cfg: Optional[Mapping], owner: str) -> dict:
    """``train_cfg`` as a dict; top-down heatmap models read no key of it, so any key is an error.

    MMPose 0.x configs pass ``train_cfg=dict()``; a key there would have no effect.
    """
    cfg = dict(train_cfg or {})
    if cfg:
        raise KeyError(f'train_cfg has keys {sorted(cfg)} but {owner} reads none; remove them '
                       '(train_cfg=dict() is the MMPose 0.x default)')
    return cfg
