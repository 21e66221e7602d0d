"""Create a DeepLabCut shuffle without DeepLabCut: the files ``create_training_dataset`` writes.

For one (shuffle, TrainingFraction) of a project, as DeepLabCut 3.0.2's
``deeplabcut.create_training_dataset`` (engine pytorch) does:

* ``training-datasets/.../CollectedData_<scorer>.h5`` and ``.csv``: the merged labels
  (key ``df_with_missing``);
* the split (:mod:`.split`), in ``Documentation_data-<Task>_<pct>shuffle<k>.pickle`` and in
  ``metadata.yaml``;
* the training set: ``<Task>_<scorer><pct>shuffle<k>.mat`` (single animal,
  trainingsetmanipulation.py ``format_training_data``) or ``.pickle`` (multi-animal,
  multiple_individuals_trainingsetmanipulation.py ``format_multianimal_training_data``);
* ``dlc-models-pytorch/.../train/pytorch_config.yaml`` and ``test/pose_cfg.yaml``
  (:mod:`.pose_config`), plus ``test/inference_cfg.yaml`` for multi-animal projects.

Every file is written to a temporary name and renamed into place. Unlike DeepLabCut, the
project's ``config.yaml`` is never rewritten.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from posecfg.files import atomic_path

from .labels import merge_project_labels
from .pose_config import (build_inference_config, build_pose_config, build_test_config,
                          write_plain_yaml, write_pose_config)
from .project import DLCProject, read_project
from .safe_pickle import dump_pickle
from .split import check_fraction, seeded_split
from .training_dataset import (documentation_path, merged_labels_path, model_folder,
                               training_data_path, write_trainset_metadata)


@dataclass
class CreatedShuffle:
    """What :func:`create_training_dataset` wrote."""
    shuffle: int
    train_fraction: float
    train_indices: np.ndarray
    test_indices: np.ndarray
    pose_config_path: Path
    files: List[Path]


def image_shape(path: Union[str, Path]) -> Tuple[int, int, int]:
    """(channels, height, width) read from the image header, as DeepLabCut's
    ``read_image_shape_fast`` (PIL; channels = number of bands)."""
    from PIL import Image
    try:
        with Image.open(path) as img:
            width, height = img.size
            return len(img.getbands()), height, width
    except (OSError, ValueError) as err:
        raise FileNotFoundError(f'{path}: cannot read the labelled image: {err}') from None


def single_animal_training_data(df: pd.DataFrame, rows: Sequence[int], num_bodyparts: int,
                                root: Path) -> Tuple[List[Dict[str, Any]], np.ndarray]:
    """DeepLabCut's ``format_training_data``: per training image with at least one usable
    point, ``{'image': index tuple, 'size': (c, h, w), 'joints': (J, 3) int64 [id, x, y]}``.

    Coordinates are truncated to integers and kept only strictly inside the image
    (0 < x < width, 0 < y < height), both as DeepLabCut does. Also returns the records as
    the structured array DeepLabCut saves to the ``.mat`` file.
    """
    records, matlab = [], []
    values = df.to_numpy(dtype=np.float64)
    for i in rows:
        index = tuple(df.index[i])
        size = image_shape(root.joinpath(*index))
        joints = np.c_[np.arange(num_bodyparts), values[i].reshape(-1, 2)]
        joints = joints[~np.isnan(joints).any(axis=1)].astype(np.int64)
        inside = ((joints[:, 1] < size[2]) & (joints[:, 1] > 0)
                  & (joints[:, 2] < size[1]) & (joints[:, 2] > 0))
        joints = joints[inside]
        if joints.size:
            records.append({'image': index, 'size': size, 'joints': joints})
            cell = np.empty((1, 1), dtype=object)
            cell[0, 0] = joints.astype('int64')
            matlab.append((np.array([index], dtype='U'), np.array([size]), cell))
    return records, np.asarray(matlab, dtype=[('image', 'O'), ('size', 'O'), ('joints', 'O')])


def multi_animal_training_data(df: pd.DataFrame, rows: Sequence[int], root: Path,
                               decimals: int = 2) -> List[Dict[str, Any]]:
    """DeepLabCut's ``format_multianimal_training_data``: per training image with a usable
    point, ``{'image': index tuple, 'size': int64 array (c, h, w), 'joints': {individual
    number: (J, 3) float32 [bodypart id, x, y]}}``; coordinates rounded to ``decimals``, the
    unique bodyparts under the last individual with ids after the animal bodyparts, points kept
    strictly inside the image."""
    individuals = df.columns.get_level_values('individuals')
    n_individuals = individuals.unique().size
    n_bodyparts = df.columns.get_level_values('bodyparts').unique().size
    is_unique = np.asarray(individuals == 'single')
    n_animals = n_individuals - 1 if is_unique.any() else n_individuals
    values = df.to_numpy()
    array = np.full((len(df), n_individuals, n_bodyparts, 3), np.nan, dtype=np.float32)
    array[..., 0] = np.arange(n_bodyparts)
    animals = values[:, ~is_unique].reshape((len(df), n_animals, -1, 2))
    array[:, :n_animals, :animals.shape[2], 1:] = animals
    if n_animals != n_individuals:
        n_unique = n_bodyparts - animals.shape[2]
        array[:, -1:, -n_unique:, 1:] = values[:, is_unique].reshape((len(df), 1, n_unique, 2))
    array = np.round(array, decimals=decimals)
    records = []
    for i in rows:
        index = tuple(df.index[i])
        size = image_shape(root.joinpath(*index))
        joints = {}
        for n, xy in enumerate(array[i]):
            xy = xy[~np.isnan(xy).any(axis=1)]
            inside = (xy[:, 1] < size[2]) & (xy[:, 1] > 0) & (xy[:, 2] < size[1]) & (xy[:, 2] > 0)
            xy = xy[inside]
            if xy.size:
                joints[n] = xy
        if joints:
            records.append({'image': index, 'size': np.asarray(size), 'joints': joints})
    return records


def _write_merged_labels(df: pd.DataFrame, path: Path) -> List[Path]:
    with atomic_path(path) as tmp:
        df.to_hdf(tmp, key='df_with_missing', mode='w')
    csv_path = path.with_suffix('.csv')
    with atomic_path(csv_path) as tmp:
        df.to_csv(tmp)
    return [path, csv_path]


def _explicit_split(train_indices, test_indices) -> Tuple[float, np.ndarray, np.ndarray]:
    """DeepLabCut's handling of user-given indices: fraction from the sizes (rounded to two
    decimals, padding ``-1`` counted), then the ``-1`` padding removed."""
    train = np.asarray(train_indices)
    test = np.asarray(test_indices)
    fraction = round(len(train) / (len(train) + len(test)), 2)
    return fraction, train[train != -1].astype(np.int64), test[test != -1].astype(np.int64)


def create_training_dataset(config: Union[str, Path, DLCProject], shuffle: int = 1,
                            trainset_index: int = 0, net_type: Optional[str] = None,
                            seed: Optional[int] = None,
                            train_indices: Optional[Sequence[int]] = None,
                            test_indices: Optional[Sequence[int]] = None,
                            overwrite: bool = False,
                            weight_init: Optional[Dict[str, Any]] = None) -> CreatedShuffle:
    """Create shuffle ``shuffle`` for ``TrainingFraction[trainset_index]`` of a project.

    Args:
        config: the project's ``config.yaml`` (or its folder, or a read project).
        shuffle: the shuffle index (DeepLabCut's ``Shuffles=[shuffle]``).
        trainset_index: which ``TrainingFraction`` to split by.
        net_type: DeepLabCut net type (default: the project's ``default_net_type``).
        seed: seed of the split (default: ``shuffle``); see :mod:`.split`.
        train_indices, test_indices: an explicit split instead (rows of the merged labels);
            its fraction must be the project's ``TrainingFraction[trainset_index]``.
        overwrite: replace an existing shuffle of that index and fraction (DeepLabCut asks).
        weight_init: DeepLabCut's ``train_settings.weight_init`` mapping, if any.
    """
    project = read_project(config)
    fraction = check_fraction(project.training_fraction(trainset_index))
    pose_path = model_folder(project, fraction, shuffle) / 'train' / 'pytorch_config.yaml'
    doc_path = documentation_path(project, fraction, shuffle)
    if not overwrite and (pose_path.exists() or doc_path.exists()):
        existing = pose_path if pose_path.exists() else doc_path
        raise FileExistsError(
            f'shuffle {shuffle} with TrainingFraction {fraction} already exists ({existing}); '
            f'choose another --shuffle or pass --overwrite')
    # build the config first: an unsupported net type fails before anything is written
    pose_cfg = build_pose_config(project, net_type, pose_config_path=pose_path,
                                 weight_init=weight_init)

    merged = merge_project_labels(project)
    files = _write_merged_labels(merged, merged_labels_path(project))
    n = len(merged)
    if (train_indices is None) != (test_indices is None):
        raise ValueError('give both train_indices and test_indices, or neither')
    if train_indices is not None:
        given, train, test = _explicit_split(train_indices, test_indices)
        if given != fraction:
            raise ValueError(f'the given split trains on {given:.0%} of the images but '
                             f'TrainingFraction[{trainset_index}] is {fraction}')
        every = np.concatenate([train, test])
        if every.size and (every.min() < 0 or every.max() >= n or
                           len(np.unique(every)) != len(every)):
            raise ValueError(f'train/test indices must be distinct rows 0..{n - 1} of the '
                             f'merged labels')
    else:
        train, test = seeded_split(n, fraction, shuffle if seed is None else seed,
                                   draw=trainset_index)
    if len(train) == 0:
        raise ValueError(f'TrainingFraction {fraction} of {n} labelled images leaves no image '
                         f'for training')

    data_path = training_data_path(project, fraction, shuffle)
    if project.multi_animal:
        records = multi_animal_training_data(merged, train, project.root)
        dump_pickle(records, data_path)
    else:
        import scipy.io as sio
        records, matlab = single_animal_training_data(merged, train, len(project.bodyparts),
                                                      project.root)
        with atomic_path(data_path) as tmp:
            sio.savemat(str(tmp), {'dataset': matlab})
    dump_pickle([records, train, test, fraction], doc_path)
    files += [data_path, doc_path,
              write_trainset_metadata(project, fraction, shuffle, train, test)]

    write_pose_config(pose_cfg, pose_path)
    test_dir = pose_path.parent.parent / 'test'
    write_plain_yaml(build_test_config(pose_cfg), test_dir / 'pose_cfg.yaml')
    files += [pose_path, test_dir / 'pose_cfg.yaml']
    if project.multi_animal:
        write_plain_yaml(build_inference_config(project), test_dir / 'inference_cfg.yaml')
        files.append(test_dir / 'inference_cfg.yaml')
    return CreatedShuffle(shuffle, fraction, train, test, pose_path, files)
