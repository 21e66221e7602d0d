"""Inference with a trained top-down model: build it from a config and a checkpoint, estimate the
pose of every box in an image.

    model = init_model('configs/.../res50_coco_256x192.py', 'work_dirs/.../best_AP_epoch_210.pth')
    poses = inference_topdown(model, 'image.jpg', bboxes=[[x, y, w, h], ...])
    poses[0]['keypoints']          # (K, 2) float32, image pixels
    poses[0]['keypoint_scores']    # (K,) float32

The test pipeline, image size, flip test and post-processing are the config's (``data.test``
and ``model.test_cfg``), so inference matches what ``tools/test.py`` evaluates.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Union

import numpy as np
import torch

from posecfg.config import Config
from posecfg.datasets import resolve_dataset_meta
from posecfg.datasets.data_cfg import build_ann_info, parse_data_cfg
from posecfg.geometry import bbox_xywh2cs
from posecfg.registry import DATASETS, MODELS

ConfigLike = Union[str, Config]


def init_model(config: ConfigLike, checkpoint: Optional[str] = None, device: str = 'cpu',
               cfg_options: Sequence[str] = ()) -> torch.nn.Module:
    """The config's model in eval mode on ``device``, with the checkpoint's weights.

    The model carries ``model.cfg`` (the resolved config) and ``model.dataset_meta`` (keypoint
    names, skeleton, flip pairs of the test dataset).
    """
    import posecfg.engine.registration  # noqa: F401  (every registry's members)
    from posecfg.engine.checkpoint import load_checkpoint_file
    from posecfg.engine.custom_imports import import_custom_modules
    cfg = config if isinstance(config, Config) else Config.fromfile(config, list(cfg_options))
    if cfg_options and isinstance(config, Config):
        cfg = cfg.with_options(list(cfg_options))
    import_custom_modules(cfg)
    model = MODELS.build(cfg.to_dict()['model'])
    if checkpoint:
        from posecfg.models.dlc_keys import from_dlc_state_dict, is_dlc_layout
        from posecfg.models.utils.pretrained import extract_state_dict
        state = extract_state_dict(load_checkpoint_file(checkpoint), str(checkpoint))
        if is_dlc_layout(state):  # a DeepLabCut snapshot (or DLCSnapshotHook's)
            state = from_dlc_state_dict(state, model)
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ValueError(f'{checkpoint} does not fit the model of {cfg.filename}: '
                             f'missing {sorted(missing)[:5]}, unexpected '
                             f'{sorted(unexpected)[:5]}')
    model.cfg = cfg
    model.dataset_meta = _test_dataset_meta(cfg)
    return model.to(device).eval()


def inference_dataset_cfg(cfg: Config) -> dict:
    """The dataset config whose pipeline and keypoints inference uses: ``data.test``, or
    ``data.val`` when the config has no test split (a Lightning Pose split with
    ``train_prob + val_prob = 1`` has no test frames; its val and test pipelines are the same)."""
    data = cfg.to_dict().get('data') or {}
    for split in ('test', 'val'):
        if isinstance(data.get(split), dict):
            return data[split]
    raise KeyError(f'{cfg.filename}: the config has neither data.test nor data.val; inference '
                   f'takes its pipeline and keypoint names from one of them')


def _test_dataset_meta(cfg: Config):
    """The test dataset's keypoint facts: from its ``dataset_info`` (or its class's default
    file) when it has one; project datasets (DeepLabCut, Lightning Pose) take theirs from the
    project, so the dataset is built to read them."""
    test = inference_dataset_cfg(cfg)
    dataset_cls = DATASETS.get(test['type'])
    default = getattr(dataset_cls, 'default_dataset_info', None)
    if test.get('dataset_info') is None and default is None:
        return DATASETS.build(test).meta
    return resolve_dataset_meta(test.get('dataset_info'), default)


def _image_size(path: str):
    """(height, width) from the file's header, or from decoding it when the header is unusual."""
    from posecfg.transforms.image_header import read_header
    with open(path, 'rb') as f:
        header = read_header(f.read(1 << 16))
    if header is not None:
        # EXIF orientations 5-8 turn the image by 90 degrees when it is decoded
        swap = header.orientation >= 5
        return (header.width, header.height) if swap else (header.height, header.width)
    import cv2
    image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise FileNotFoundError(f'cannot read image {path}')
    return image.shape[:2]


def topdown_pipeline(model: torch.nn.Module, from_array: bool):
    """The config's test pipeline and a function making a top-down sample record for it.

    Returns ``(pipeline, make_record)``: ``make_record(image, box, bbox_id, image_id)`` → the
    MMPose 0.x top-down record of ``box`` (x, y, w, h pixels) in ``image`` (a path, or an RGB
    uint8 (H, W, 3) array when ``from_array``: the pipeline's ``LoadImageFromFile`` is left out).
    """
    from posecfg.transforms import Compose
    test = inference_dataset_cfg(model.cfg)
    data_cfg = parse_data_cfg(test['data_cfg'], owner='inference_topdown')
    ann_info = build_ann_info(data_cfg, model.dataset_meta)
    steps = list(test['pipeline'])
    if from_array:
        steps = [s for s in steps if s.get('type') != 'LoadImageFromFile']
    padding = getattr(DATASETS.get(test['type']), 'bbox_padding', 1.25)
    num_joints = ann_info['num_joints']
    dataset_name = model.dataset_meta.dataset_name

    def make_record(image, box, bbox_id: int, image_id: int, bbox_score: float = 1.0) -> dict:
        box = np.asarray(box, dtype=np.float32)
        center, scale = bbox_xywh2cs(box, aspect_ratio=data_cfg.aspect_ratio, padding=padding)
        record = dict(image_file=image if isinstance(image, str) else '<array>',
                      image_id=image_id, bbox=box, center=center, scale=scale, rotation=0.0,
                      bbox_score=float(bbox_score), bbox_id=bbox_id,
                      joints_3d=np.zeros((num_joints, 3), np.float32),
                      joints_3d_visible=np.zeros((num_joints, 3), np.float32),
                      dataset=dataset_name, ann_info=dict(ann_info))
        if not isinstance(image, str):
            record['img'] = image
        return record

    return Compose(steps), make_record


def inference_topdown(model: torch.nn.Module, image: Union[str, np.ndarray],
                      bboxes: Optional[Sequence[Sequence[float]]] = None) -> List[dict]:
    """Pose of each box in ``image`` (a path, or an RGB uint8 array (H, W, 3)).

    Args:
        bboxes: (N, 4) boxes as x, y, w, h in pixels; None estimates one pose over the whole
            image.
    Returns:
        one dict per box: ``keypoints`` (K, 2) float32 pixels, ``keypoint_scores`` (K,),
        ``bbox`` (4,) xywh.
    """
    from posecfg.transforms.collate import pose_collate
    if isinstance(image, np.ndarray):
        height, width = image.shape[:2]
    elif bboxes is None or len(bboxes) == 0:
        height, width = _image_size(image)
    if bboxes is None or len(bboxes) == 0:
        bboxes = [[0, 0, width, height]]
    pipeline, make_record = topdown_pipeline(model, from_array=isinstance(image, np.ndarray))
    samples = [pipeline(make_record(image, box, index, image_id=0))
               for index, box in enumerate(np.asarray(bboxes, np.float32).reshape(-1, 4))]
    with torch.no_grad():
        outputs = model.test_step(pose_collate(samples))
    return [dict(keypoints=np.asarray(o['preds'])[:, :2].astype(np.float32),
                 keypoint_scores=np.asarray(o['preds'])[:, 2].astype(np.float32),
                 bbox=np.asarray(bboxes[i], dtype=np.float32))
            for i, o in enumerate(outputs)]
