"""The seed's ``evaluation.metric`` names → metric config dicts (DESIGN.md, "Evaluation").

A dataset knows how it is evaluated (which metrics apply, the PCK threshold and normaliser,
the NMS settings in its ``data_cfg``); this module holds the shared pieces, the dataset classes
say which apply to them. The metric classes themselves live in ``posecfg.evaluation``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from .data_cfg import TopDownDataConfig
from .metainfo import DatasetMeta

#: MMPose 0.x's AUC: PCK averaged over thresholds up to 30 pixels, in 20 steps.
AUC_NORM_FACTOR = 30
AUC_NUM_THRS = 20


@dataclass(frozen=True)
class PckProtocol:
    """How a dataset's PCK is measured: ``thr`` × a per-instance length.

    Attributes:
        thr: fraction of the normalising length within which a keypoint counts as correct.
        norm_item: ``'bbox'`` (the longer side of the ground-truth box), ``'head'`` (the
            ``head_size`` in ``gt``) or ``'keypoint_distance'`` (the distance between two
            ground-truth keypoints, named in ``keypoint_names``).
        keypoint_names: the two keypoints for ``'keypoint_distance'``.
    """

    thr: float
    norm_item: str = 'bbox'
    keypoint_names: Optional[Tuple[str, str]] = None

    def config(self, meta: DatasetMeta) -> dict:
        cfg = dict(type='PCKAccuracy', thr=self.thr, norm_item=self.norm_item)
        if self.keypoint_names:
            cfg['keypoint_indices'] = [meta.index(n) for n in self.keypoint_names]
        return cfg


def auc_config() -> dict:
    return dict(type='AUC', norm_factor=AUC_NORM_FACTOR, num_thrs=AUC_NUM_THRS)


def epe_config() -> dict:
    return dict(type='EPE')


#: metric types that read the samples' ground truth (``gt``)
GROUND_TRUTH_METRIC_TYPES = ('PCKAccuracy', 'AUC', 'EPE')


def image_level_builders(meta: DatasetMeta) -> Tuple[Dict[str, Callable[[], dict]],
                                                     Dict[str, str]]:
    """The metric names any dataset's samples support, from their ``gt`` (image level):
    ``PCK`` (0.2 × the box's longer side), ``AUC``, ``EPE`` and, with OKS sigmas, ``mAP``
    (COCO keypoint AP with the ground truth built from the samples, no annotation file)."""
    builders = dict(PCK=lambda: PckProtocol(thr=0.2).config(meta), AUC=auc_config,
                    EPE=epe_config)
    unavailable = {}
    if meta.sigmas is not None:
        builders = dict(mAP=lambda: dict(type='CocoKeypointMetric'), **builders)
    else:
        unavailable['mAP'] = (f'COCO keypoint AP needs OKS sigmas and {meta.source} defines '
                              f'none (sigmas=[])')
    return builders, unavailable


def coco_keypoint_config(ann_file: str, cfg: TopDownDataConfig, use_area: bool = True) -> dict:
    """``CocoKeypointMetric`` with the dataset's ``data_cfg`` settings, as MMPose 0.x used them.

    ``oks_thr`` is the OKS-NMS threshold (MMPose 0.x never read ``nms_thr`` in evaluation),
    ``vis_thr`` the keypoint score above which a keypoint counts in rescoring, ``soft_nms``
    picks soft OKS-NMS and ``use_nms=False`` turns NMS off.
    """
    if not cfg['use_nms']:
        nms_mode = 'none'
    else:
        nms_mode = 'soft_oks_nms' if cfg['soft_nms'] else 'oks_nms'
    return dict(type='CocoKeypointMetric', ann_file=ann_file, use_area=use_area,
                keypoint_score_thr=float(cfg['vis_thr']), nms_mode=nms_mode,
                nms_thr=float(cfg['oks_thr']))


def metric_names(names: Union[str, Sequence[str]], owner: str) -> List[str]:
    """``'mAP'`` or ``['PCK', 'AUC']`` → a list without repeats, in the given order."""
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise TypeError(f"{owner}: evaluation.metric must be a name or a list of names, e.g. "
                        f"'mAP' or ['PCK', 'AUC'], got {names!r}")
    return list(dict.fromkeys(names))


def select_metrics(names: Union[str, Sequence[str]], builders: Dict[str, Callable[[], dict]],
                   unavailable: Dict[str, str], owner: str) -> List[dict]:
    """The configs for ``names``; a name without a builder is an error that lists the ones
    there are and, for a known name this dataset cannot compute, why (``unavailable``)."""
    configs = []
    for name in metric_names(names, owner):
        if name in builders:
            configs.append(builders[name]())
            continue
        supported = ', '.join(map(repr, builders)) or 'none'
        why = f' ({unavailable[name]})' if name in unavailable else ''
        raise ValueError(f'{owner}: evaluation metric {name!r} is not supported{why}; '
                         f'supported: {supported}')
    return configs
