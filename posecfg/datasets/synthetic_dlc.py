"""posecfg's synthetic quadrupeds as a DeepLabCut multi-animal project.

The frames are rendered by :mod:`posecfg.datasets.synthetic` (the same animals, occlusion,
clutter and noise as the COCO dataset; 1-4 animals per frame), each from its own random stream
``SeedSequence([seed, 3, i])``, and written as a project DeepLabCut 3 reads as its own::

    OUT_DIR/
      config.yaml                                   the project (keys in DeepLabCut's order)
      labeled-data/<video>/img0000.png …             the labelled frames (PNG, as DeepLabCut)
      labeled-data/<video>/CollectedData_<scorer>.h5 labels, key ``df_with_missing``
      labeled-data/<video>/CollectedData_<scorer>.csv the same with the 4-row header
      videos/<video>.mp4                             the frames as a video (mp4v, 10 fps)
      manifest.json                                  generator parameters (posecfg's)

Project facts (DeepLabCut 3 ``config.yaml`` of a multi-animal project, as its
``create_new_project(multianimal=True)`` sets them, create_project/new.py:225-282): ``multianimalproject: true``,
``bodyparts: MULTI!``, ``multianimalbodyparts`` = the keypoint names of
``configs/_base_/datasets/synthetic_animal.py``, ``individuals`` ``animal_0`` …
``animal_<M-1>`` with M the most animals a frame can hold (4), ``uniquebodyparts: []``,
``identity: false`` (the animals of different frames are unrelated), ``skeleton`` as name pairs,
``video_sets`` with the frame size as crop, ``TrainingFraction``, ``default_net_type``
``resnet_50``.

Labels (DeepLabCut's multi-animal layout, the one its own fake-project generator writes):
columns ``scorer / individuals / bodyparts / coords (x, y)``, float64; rows the 3-level index
``('labeled-data', <video>, 'imgNNNN.png')``. The animals of a frame fill ``animal_0``,
``animal_1``, … in drawing order (back to front); the individuals a frame does not hold, and
keypoints outside the frame, are NaN. A keypoint covered by another animal or an occluder is
labelled (DeepLabCut has no visibility flag: a labeller who can tell where the point is labels
it), so models learn through real occlusion. Coordinates are in pixels, pixel centres at whole
numbers, as in the COCO dataset.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import List, Tuple

import cv2
import numpy as np
import pandas as pd

from .synthetic import (ANIMAL_COUNTS, DEFAULT_DATASET_INFO, GENERATOR_VERSION, MANIFEST_NAME,
                        _check_args, _rng, load_keypoint_meta, render_image, write_generated)

LABELED_DATA = 'labeled-data'
VIDEO_FPS = 10
#: the most animals a frame holds: the project's individuals
MAX_ANIMALS = max(ANIMAL_COUNTS)


def individual_names(count: int = MAX_ANIMALS) -> List[str]:
    return [f'animal_{i}' for i in range(count)]


def frame_name(index: int, count: int) -> str:
    return f'img{index:0{max(4, len(str(count - 1)))}d}.png'


def project_config(root: Path, meta, *, task: str, scorer: str, date: str, video: str,
                   image_size: Tuple[int, int], training_fraction: float) -> dict:
    """The project's ``config.yaml`` content, keys in DeepLabCut's template order."""
    width, height = image_size
    return {
        'Task': task, 'scorer': scorer, 'date': date,
        'multianimalproject': True, 'identity': False,
        'project_path': str(root), 'pose_config_path': None, 'engine': 'pytorch',
        'video_sets': {str(root / 'videos' / f'{video}.mp4'): {'crop': [0, width, 0, height]}},
        'bodyparts': 'MULTI!',
        'individuals': individual_names(),
        'uniquebodyparts': [],
        'multianimalbodyparts': list(meta.names),
        'start': 0, 'stop': 1, 'numframes2pick': 20,
        'skeleton': [[meta.names[int(a)], meta.names[int(b)]] for a, b in meta.skeleton],
        'skeleton_color': 'black', 'pcutoff': 0.6, 'dotsize': 12, 'alphavalue': 0.7,
        'colormap': 'rainbow',
        'TrainingFraction': [training_fraction], 'iteration': 0,
        'default_net_type': 'resnet_50', 'default_augmenter': 'multi-animal-imgaug',
        'default_track_method': 'ellipse', 'snapshotindex': -1, 'detector_snapshotindex': -1,
        'batch_size': 8, 'detector_batch_size': 1,
        'cropping': False, 'x1': 0, 'x2': 640, 'y1': 277, 'y2': 624,
        'corner2move2': [50, 50], 'move2corner': True,
        'SuperAnimalConversionTables': None,
    }


def label_frame(keypoints: np.ndarray, frames: List[str], video: str, scorer: str,
                bodyparts: List[str]) -> pd.DataFrame:
    """Labels (F, M, K, 2) (NaN unlabelled) → DeepLabCut's 4-level label table."""
    from posecfg.interop.dlc.outputs import prediction_columns
    columns = prediction_columns(scorer, bodyparts, individual_names(keypoints.shape[1]),
                                 coords=('x', 'y'))
    index = pd.MultiIndex.from_tuples([(LABELED_DATA, video, f) for f in frames])
    return pd.DataFrame(keypoints.reshape(len(frames), -1).astype(np.float64), index=index,
                        columns=columns)


def render_frames(meta, num_images: int, image_size: Tuple[int, int], seed: int):
    """Yield (BGR image, labels (MAX_ANIMALS, K, 2) with NaN) for each frame."""
    width, height = image_size
    for i in range(num_images):
        image, instances = render_image(_rng(seed, 'dlc', i), meta, width, height)
        labels = np.full((MAX_ANIMALS, meta.num_keypoints, 2), np.nan)
        for n, inst in enumerate(instances):
            inside = inst.visible > 0
            labels[n, inside] = inst.keypoints[inside]
        yield image, labels


def _write_project(tmp: Path, root: Path, meta, params: dict) -> None:
    from posecfg.interop.dlc.yaml_io import dump_yaml
    video, scorer = params['video'], params['scorer']
    size = tuple(params['image_size'])
    frames_dir = tmp / LABELED_DATA / video
    frames_dir.mkdir(parents=True)
    (tmp / 'videos').mkdir()
    writer = cv2.VideoWriter(str(tmp / 'videos' / f'{video}.mp4'),
                             cv2.VideoWriter_fourcc(*'mp4v'), VIDEO_FPS, size)
    if not writer.isOpened():
        raise RuntimeError('OpenCV cannot write an mp4v video here')
    names, labels = [], []
    try:
        for i, (image, frame_labels) in enumerate(render_frames(meta, params['num_images'],
                                                                size, params['seed'])):
            name = frame_name(i, params['num_images'])
            if not cv2.imwrite(str(frames_dir / name), image):
                raise OSError(f'could not write {frames_dir / name}')
            writer.write(image)
            names.append(name)
            labels.append(frame_labels)
    finally:
        writer.release()
    df = label_frame(np.stack(labels), names, video, scorer, list(meta.names))
    stem = frames_dir / f'CollectedData_{scorer}'
    df.to_hdf(stem.with_suffix('.h5'), key='df_with_missing', mode='w')
    df.to_csv(stem.with_suffix('.csv'))
    config = project_config(root, meta, task=params['task'], scorer=scorer,
                            date=params['date'], video=video, image_size=size,
                            training_fraction=params['training_fraction'])
    (tmp / 'config.yaml').write_text(dump_yaml(config))
    (tmp / MANIFEST_NAME).write_text(json.dumps(dict(params=params)))


def _is_complete(root: Path, params: dict) -> bool:
    frames = root / LABELED_DATA / params['video']
    return ((root / 'config.yaml').is_file() and (root / MANIFEST_NAME).is_file()
            and (frames / f'CollectedData_{params["scorer"]}.h5').is_file()
            and len(list(frames.glob('*.png'))) == params['num_images'])


@dataclass
class DLCProjectSummary:
    root: Path
    created: bool
    seconds: float
    frames: int
    animals: int
    labelled: int

    @property
    def config_path(self) -> Path:
        return self.root / 'config.yaml'

    def format(self) -> str:
        verb = 'wrote' if self.created else 'already up to date:'
        return (f'{verb} DeepLabCut multi-animal project {self.root}: {self.frames} frames, '
                f'{self.animals} animals, {self.labelled} labelled keypoints; '
                f'{self.config_path}')

    __str__ = format


def _summarize(root: Path, created: bool, seconds: float) -> DLCProjectSummary:
    params = json.loads((root / MANIFEST_NAME).read_text())['params']
    df = pd.read_hdf(root / LABELED_DATA / params['video'] /
                     f'CollectedData_{params["scorer"]}.h5')
    labelled = df.notna().to_numpy().reshape(len(df), MAX_ANIMALS, -1, 2).all(-1)
    return DLCProjectSummary(root, created, seconds, len(df),
                             int(labelled.any(-1).sum()), int(labelled.sum()))


def generate_dlc_project(out_dir: os.PathLike, num_images: int = 100,
                         image_size: Tuple[int, int] = (320, 240), seed: int = 0,
                         task: str = 'synthetic', scorer: str = 'posecfg', date: str = 'Dec1',
                         video: str = 'quadrupeds', training_fraction: float = 0.8,
                         overwrite: bool = False,
                         dataset_info: os.PathLike = DEFAULT_DATASET_INFO) -> DLCProjectSummary:
    """Write the synthetic quadrupeds as a DeepLabCut multi-animal project (module docstring).

    As :func:`~posecfg.datasets.synthetic.generate_dataset`: deterministic, written to a
    temporary sibling folder and renamed into place, nothing done when the same project is
    there, a different one replaced only with ``overwrite``. ``out_dir`` is the project folder
    (its absolute path is the project's ``project_path``).
    """
    _check_args(num_images, 1, image_size, seed)
    if not 0 < training_fraction < 1:
        raise ValueError(f'training_fraction must be between 0 and 1, got {training_fraction}')
    for name, value in (('task', task), ('scorer', scorer), ('date', date), ('video', video)):
        if not value or any(c in value for c in '/\\-'):
            raise ValueError(f'{name} {value!r} must be a non-empty name without / \\ or - '
                             f'(DeepLabCut builds folder names from it)')
    root = Path(out_dir).absolute()
    meta = load_keypoint_meta(dataset_info)
    params = dict(generator='posecfg.datasets.synthetic_dlc',
                  generator_version=GENERATOR_VERSION, dataset_name=meta.dataset_name,
                  keypoints=list(meta.names), skeleton=meta.skeleton.tolist(), seed=seed,
                  num_images=num_images, image_size=[int(v) for v in image_size], task=task,
                  scorer=scorer, date=date, video=video, training_fraction=training_fraction)
    return write_generated(root, params, lambda tmp: _write_project(tmp, root, meta, params),
                           _summarize, overwrite, _is_complete)
