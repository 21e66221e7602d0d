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


def _test_dataset_meta(cfg: Config):
    test = cfg.to_dict()['data']['test']
    dataset_cls = DATASETS.get(test['type'])
    return resolve_dataset_meta(test.get('dataset_info'),
                                getattr(dataset_cls, 'default_dataset_info', None))


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
    from posecfg.transforms import Compose
    from posecfg.transforms.collate import pose_collate
    test = model.cfg.to_dict()['data']['test']
    data_cfg = parse_data_cfg(test['data_cfg'], owner='inference_topdown')
    ann_info = build_ann_info(data_cfg, model.dataset_meta)
    steps = list(test['pipeline'])
    if isinstance(image, np.ndarray):
        steps = [s for s in steps if s.get('type') != 'LoadImageFromFile']
        height, width = image.shape[:2]
    elif bboxes is None or len(bboxes) == 0:
        height, width = _image_size(image)
    if bboxes is None or len(bboxes) == 0:
        bboxes = [[0, 0, width, height]]
    padding = getattr(DATASETS.get(test['type']), 'bbox_padding', 1.25)
    pipeline = Compose(steps)
    samples = []
    for index, box in enumerate(np.asarray(bboxes, dtype=np.float32).reshape(-1, 4)):
        center, scale = bbox_xywh2cs(box, aspect_ratio=data_cfg.aspect_ratio, padding=padding)
        record = dict(image_file=image if isinstance(image, str) else '<array>', image_id=0,
                      bbox=box, center=center, scale=scale, rotation=0.0, bbox_score=1.0,
                      bbox_id=index, joints_3d=np.zeros((ann_info['num_joints'], 3), np.float32),
                      joints_3d_visible=np.zeros((ann_info['num_joints'], 3), np.float32),
                      dataset=model.dataset_meta.dataset_name, ann_info=dict(ann_info))
        if isinstance(image, np.ndarray):
            record['img'] = image
        samples.append(pipeline(record))
    with torch.no_grad():
        outputs = model.test_step(pose_collate(samples))
    return [dict(keypoints=np.asarray(o['preds'])[:, :2].astype(np.float32),
                 keypoint_scores=np.asarray(o['preds'])[:, 2].astype(np.float32),
                 bbox=np.asarray(bboxes[i], dtype=np.float32))
            for i, o in enumerate(outputs)]
