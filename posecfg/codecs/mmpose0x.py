"""MMPose 0.x's encoding and decoding keys → codec configs: the one place they are translated.

MMPose 0.x chose the encoding with ``TopDownGenerateTarget(encoding, sigma, kernel,
valid_radius_factor, target_type, unbiased_encoding)`` in the pipeline and the decoding with
``model.test_cfg`` (``post_process``, ``modulate_kernel``, ``use_udp``, ``target_type``,
``valid_radius_factor``). posecfg's target step and heads work with codec objects
(:mod:`posecfg.codecs.heatmap_codecs`); these functions say which codec each combination of 0.x
keys is, so that the choice lives here and nowhere else.

| 0.x keys | codec |
|---|---|
| ``encoding='MSRA'``, ``sigma``, ``unbiased_encoding`` | ``MSRAHeatmap(sigma, unbiased)`` |
| ``encoding='Megvii'``, ``kernel`` | ``MegviiHeatmap(kernel_size)`` |
| ``encoding='UDP'``, ``target_type='GaussianHeatmap'``, ``sigma`` | ``UDPHeatmap('gaussian', sigma)`` |
| ``encoding='UDP'``, ``target_type='CombinedTarget'``, ``valid_radius_factor`` | ``UDPHeatmap('combined', radius_factor)`` |
| ``post_process=None`` / ``'default'`` | ``MSRAHeatmap(refine=False / True)`` |
| ``post_process='unbiased'``, ``modulate_kernel`` | ``MSRAHeatmap(unbiased=True, blur_kernel_size)`` |
| ``post_process='megvii'``, ``modulate_kernel`` | ``MegviiHeatmap(kernel_size)`` |
| ``use_udp=True`` (+ ``target_type``, ``valid_radius_factor``, ``modulate_kernel``) | ``UDPHeatmap`` |

A list of sigmas (kernels, radius factors) in ``TopDownGenerateTarget`` gives one codec per entry
(the stacked targets of multi-stage models).
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np

from ._checks import odd_kernel_pair, target_type_name

ENCODINGS = ('MSRA', 'Megvii', 'UDP')


def _is_multi(value, item_is_sequence: bool) -> bool:
    """Whether ``value`` lists several settings (a list of numbers, or of kernel pairs)."""
    if not isinstance(value, (list, tuple)) or not value:
        return False
    if item_is_sequence:  # a kernel is itself a pair: (11, 11) is one, [(11, 11), (9, 9)] two
        return all(isinstance(v, (list, tuple)) for v in value)
    return True


def _numbers(value, name: str, owner: str) -> list:
    values = list(value) if _is_multi(value, False) else [value]
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                or not v > 0:
            raise ValueError(f'{owner}.{name} must be a positive number or a list of them, got '
                             f'{value!r}')
    return [float(v) for v in values]


def target_codecs(encoding: str = 'MSRA', sigma=2, kernel=(11, 11),
                  valid_radius_factor=0.0546875, target_type: str = 'GaussianHeatmap',
                  unbiased_encoding: bool = False, owner: str = 'TopDownGenerateTarget'
                  ) -> Tuple[List[dict], bool]:
    """``TopDownGenerateTarget``'s arguments → codec configs (without sizes).

    Returns:
        one codec config per target, and whether the step produces a stack of targets (a list
        was given) rather than one.
    """
    if encoding not in ENCODINGS:
        raise ValueError(f'{owner}: encoding must be one of {", ".join(ENCODINGS)}, got '
                         f'{encoding!r}')
    try:
        target_type = target_type_name(target_type)
    except ValueError as err:
        raise ValueError(f'{owner}: {err}') from None
    if encoding == 'Megvii':
        multi = _is_multi(kernel, True)
        kernels = list(kernel) if multi else [kernel]
        return [dict(type='MegviiHeatmap',
                     kernel_size=odd_kernel_pair(k, f'{owner}.kernel')) for k in kernels], multi
    if encoding == 'UDP' and target_type == 'CombinedTarget':
        multi = _is_multi(valid_radius_factor, False)
        return [dict(type='UDPHeatmap', heatmap_type='combined', radius_factor=r)
                for r in _numbers(valid_radius_factor, 'valid_radius_factor', owner)], multi
    multi = _is_multi(sigma, False)
    sigmas = _numbers(sigma, 'sigma', owner)
    if encoding == 'UDP':
        return [dict(type='UDPHeatmap', heatmap_type='gaussian', sigma=s) for s in sigmas], multi
    return [dict(type='MSRAHeatmap', sigma=s, unbiased=bool(unbiased_encoding))
            for s in sigmas], multi


def decoding_codec(post_process: Optional[str] = 'default', modulate_kernel: int = 11,
                   use_udp: bool = False, target_type: str = 'GaussianHeatmap',
                   valid_radius_factor: float = 0.0546875) -> dict:
    """A checked ``test_cfg``'s decoding keys (see
    :func:`posecfg.models.heads.heatmap_test_cfg.resolve_heatmap_test_cfg`) → codec config
    (without sizes), decoding exactly as MMPose 0.x's ``keypoints_from_heatmaps``."""
    if use_udp:
        heatmap_type = 'combined' if target_type_name(target_type) == 'CombinedTarget' \
            else 'gaussian'
        return dict(type='UDPHeatmap', heatmap_type=heatmap_type,
                    radius_factor=valid_radius_factor, blur_kernel_size=modulate_kernel)
    if post_process == 'megvii':
        return dict(type='MegviiHeatmap', kernel_size=modulate_kernel)
    if post_process == 'unbiased':
        return dict(type='MSRAHeatmap', unbiased=True, blur_kernel_size=modulate_kernel)
    # 'default' or None; the modulation kernel is unused and need not be odd here
    return dict(type='MSRAHeatmap', refine=post_process is not None)
