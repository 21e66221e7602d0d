"""DeepLabCut label files (``CollectedData_<scorer>.h5`` / ``.csv``) → numpy arrays.

The file layouts (DeepLabCut 3.0.2):

* single animal: columns ``scorer / bodyparts / coords`` (3 header rows in the CSV), coords
  ``x, y``;
* multi-animal: columns ``scorer / individuals / bodyparts / coords`` (4 header rows); the
  unique bodyparts sit under the individual ``single``
  (deeplabcut/utils/auxfun_multianimal.py ``extractindividualsandbodyparts``);
* rows: one string ``labeled-data/<video>/<image>`` (older files) or the 3-level index
  ``(labeled-data, <video>, <image>)``; DeepLabCut turns the first into the second by splitting
  on ``/`` and ``\\`` (deeplabcut/utils/conversioncode.py ``guarantee_multiindex_rows``);
* an unlabelled point is NaN; a ``likelihood`` coordinate (predictions merged into labels by
  napari) is dropped, as DeepLabCut does (trainingsetmanipulation.py ``drop_likelihood_columns``).

A project's labels are all its videos' files concatenated, sorted by the row index and with
the bodyparts in the project's order (trainingsetmanipulation.py ``merge_annotateddatasets``):
the row order of that table is what a shuffle's train/test indices count.

Arrays follow CONTRACTS.md "Readers": keypoints ``(M, N, K, 2)`` float64 in pixels with NaN for
unlabelled points (kept so that writers round-trip the files), unique keypoints ``(M, U, 2)``.
"""
from __future__ import annotations

import csv
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from .project import DLCProject, read_project
from .yaml_io import ConfigFileError

#: DeepLabCut's name for the individual holding the unique bodyparts
UNIQUE_INDIVIDUAL = 'single'
#: individuals of a single-animal project (DeepLabCut's PoseMetadata default)
SINGLE_ANIMAL_INDIVIDUALS = ('individual_1',)
_HEADER_NAMES = ('scorer', 'individuals', 'bodyparts', 'coords')


class LabelFileError(ConfigFileError):
    """A label file does not have DeepLabCut's layout; the message names file and column."""


@dataclass
class DLCLabels:
    """Labels of a set of images, as arrays.

    Attributes:
        image_paths: (M,) str, relative to the project folder, ``/``-separated
            (``labeled-data/<video>/<image>``).
        bodyparts: (K,) names of an animal's bodyparts.
        individuals: (N,) names of the individuals (``individual_1`` for single animal).
        keypoints: (M, N, K, 2) float64 pixels (x, y); NaN where not labelled.
        unique_bodyparts: (U,) names (multi-animal projects; empty otherwise).
        unique_keypoints: (M, U, 2) float64 pixels; NaN where not labelled.
        scorer: the labeller's name (the ``scorer`` column level).
        multi_animal: whether the source had the 4-level (individuals) header.
    """
    image_paths: np.ndarray
    bodyparts: List[str]
    individuals: List[str]
    keypoints: np.ndarray
    unique_bodyparts: List[str]
    unique_keypoints: np.ndarray
    scorer: str
    multi_animal: bool

    @property
    def num_images(self) -> int:
        return len(self.image_paths)

    def report(self) -> Dict[str, object]:
        """Counts a user checks before training (plain data; see :func:`format_report`).

        ``labelled_points`` counts, per bodypart, the labelled (x, y) points over all images
        and individuals; ``empty_images`` lists images without any labelled point (DeepLabCut
        keeps them in the split but trains nothing on them).
        """
        labelled = ~np.isnan(self.keypoints).any(-1)              # (M, N, K)
        unique_labelled = ~np.isnan(self.unique_keypoints).any(-1)  # (M, U)
        any_point = labelled.any((1, 2)) | unique_labelled.any(1)
        per_bodypart = {bp: int(labelled[:, :, k].sum()) for k, bp in enumerate(self.bodyparts)}
        for u, bp in enumerate(self.unique_bodyparts):
            per_bodypart[bp] = int(unique_labelled[:, u].sum())
        return {
            'scorer': self.scorer,
            'images': self.num_images,
            'individuals': len(self.individuals),
            'bodyparts': len(self.bodyparts),
            'unique_bodyparts': len(self.unique_bodyparts),
            'labelled_points': per_bodypart,
            'labelled_points_total': int(labelled.sum() + unique_labelled.sum()),
            'points_total': int(labelled.size + unique_labelled.size),
            'animals_labelled': {ind: int(labelled[:, n].any(-1).sum())
                                 for n, ind in enumerate(self.individuals)},
            'empty_images': [str(p) for p in self.image_paths[~any_point]],
        }


def format_report(labels: DLCLabels) -> str:
    """The :meth:`DLCLabels.report` as lines of text."""
    rep = labels.report()
    lines = [f"{rep['images']} labelled images by {rep['scorer']}, {rep['individuals']} "
             f"individual(s) x {rep['bodyparts']} bodyparts"
             + (f" + {rep['unique_bodyparts']} unique bodyparts" if rep['unique_bodyparts']
                else ''),
             f"labelled points: {rep['labelled_points_total']} of {rep['points_total']}"]
    lines += [f'  {name}: {count}' for name, count in rep['labelled_points'].items()]
    if labels.multi_animal:
        lines.append('images where each individual is labelled:')
        lines += [f'  {name}: {count}' for name, count in rep['animals_labelled'].items()]
    empty = rep['empty_images']
    lines.append(f'images without any labelled point: {len(empty)}'
                 + (f" ({', '.join(empty[:5])}{', ...' if len(empty) > 5 else ''})"
                    if empty else ''))
    return '\n'.join(lines)


# --------------------------------------------------------------------------------------------
# One file → normalised DataFrame
# --------------------------------------------------------------------------------------------

def _csv_layout(path: Path) -> Tuple[int, int]:
    """(header rows, index columns) of a DeepLabCut label CSV."""
    with open(path, newline='', encoding='utf-8') as f:
        rows = []
        for row in csv.reader(f):
            rows.append(row)
            if len(rows) == 5:
                break
    if not rows or not rows[0] or rows[0][0] != 'scorer':
        raise LabelFileError(f"{path}: the first header row must start with 'scorer' "
                             f"(DeepLabCut's label CSV layout), found {rows[:1]}")
    n_header = 0
    for row in rows:
        if row and row[0] in _HEADER_NAMES:
            n_header += 1
        else:
            break
    if n_header not in (3, 4):
        raise LabelFileError(f'{path}: expected 3 (scorer/bodyparts/coords) or 4 '
                             f'(scorer/individuals/bodyparts/coords) header rows, found '
                             f'{n_header}')
    first = rows[0]
    n_index = 1
    while n_index < len(first) and first[n_index] == '':
        n_index += 1
    return n_header, n_index


#: the last label files read: (path, device, inode, mtime, ctime, size) → their DataFrame
_READ_CACHE: 'OrderedDict[tuple, pd.DataFrame]' = OrderedDict()
_READ_CACHE_SIZE = 8


def _read_file(path: Path) -> pd.DataFrame:
    """The file's DataFrame (a copy). An evaluation reads the project's labels once per split
    (each split's dataset; ~20 ms per HDF5 read): a file unchanged since it was read (same
    inode, nanosecond modification and change times, and size) comes from memory. A rewrite in
    place (pandas' ``to_hdf``/``to_csv``) changes the times; only one of the same size within
    the filesystem's timestamp resolution would be missed."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns,
           stat.st_size)
    if key not in _READ_CACHE:
        _READ_CACHE[key] = _parse_file(path)
        while len(_READ_CACHE) > _READ_CACHE_SIZE:
            _READ_CACHE.popitem(last=False)
    _READ_CACHE.move_to_end(key)
    return _READ_CACHE[key].copy()


def _parse_file(path: Path) -> pd.DataFrame:
    if path.suffix == '.h5':
        try:
            df = pd.read_hdf(path)
        except (OSError, ValueError, KeyError) as err:
            raise LabelFileError(f'{path}: cannot read as a pandas HDF5 file: {err}') from None
    elif path.suffix == '.csv':
        n_header, n_index = _csv_layout(path)
        df = pd.read_csv(path, header=list(range(n_header)), index_col=list(range(n_index)),
                         float_precision='round_trip')
        df.columns = df.columns.set_names(list(_HEADER_NAMES if n_header == 4
                                               else ('scorer', 'bodyparts', 'coords')))
        if n_index > 1:
            df.index = df.index.set_names([None] * n_index)
        else:
            df.index.name = None
    else:
        raise LabelFileError(f'{path}: label files are .h5 or .csv')
    if not isinstance(df, pd.DataFrame):
        raise LabelFileError(f'{path}: holds a {type(df).__name__}, not a DataFrame')
    return df


def _to_image_index(path: Path, index: pd.Index) -> pd.MultiIndex:
    """Rows as DeepLabCut's 3-level ``(labeled-data, video, image)`` index."""
    if isinstance(index, pd.MultiIndex):
        tuples = [tuple(str(p) for p in t) for t in index]
    else:
        tuples = []
        for value in index:
            if not isinstance(value, str):
                raise LabelFileError(f'{path}: row {value!r} is not an image path; rows are '
                                     f"'labeled-data/<video>/<image>' or a 3-level index")
            tuples.append(tuple(value.replace('\\', '/').split('/')))
    for t in tuples:
        if len(t) < 2:
            raise LabelFileError(f'{path}: row {"/".join(t)!r} is not a path under the project '
                                 f"(expected 'labeled-data/<video>/<image>')")
    return pd.MultiIndex.from_tuples(tuples)


def read_label_frame(path: Union[str, Path]) -> pd.DataFrame:
    """Read one label file into DeepLabCut's normalised DataFrame.

    Rows: 3-level index; columns: ``scorer/bodyparts/coords`` or
    ``scorer/individuals/bodyparts/coords`` with coords ``x``/``y`` only; float64 values.
    """
    path = Path(path)
    if not path.is_file():
        raise LabelFileError(f'{path}: label file not found')
    df = _read_file(path)
    names = list(df.columns.names)
    if names not in (['scorer', 'bodyparts', 'coords'], list(_HEADER_NAMES)):
        raise LabelFileError(f'{path}: column levels are {names}; DeepLabCut labels have '
                             f"['scorer', 'bodyparts', 'coords'] or {list(_HEADER_NAMES)}")
    coords = df.columns.get_level_values('coords')
    if (coords == 'likelihood').any():
        warnings.warn(f'{path}: dropping likelihood columns (as DeepLabCut does)', stacklevel=2)
        df = df.loc[:, coords != 'likelihood']
        coords = df.columns.get_level_values('coords')
    bad = sorted(set(coords) - {'x', 'y'})
    if bad:
        raise LabelFileError(f'{path}: coords level has {bad}; labels have x and y only')
    scorers = df.columns.get_level_values('scorer').unique()
    if len(scorers) != 1:
        raise LabelFileError(f'{path}: several scorers in one file: {list(scorers)}')
    df = df.copy()
    df.index = _to_image_index(path, df.index)
    try:
        df = df.astype(np.float64)
    except (TypeError, ValueError) as err:
        raise LabelFileError(f'{path}: coordinates must be numbers or empty: {err}') from None
    return df


# --------------------------------------------------------------------------------------------
# DataFrame → arrays
# --------------------------------------------------------------------------------------------

def labels_from_frame(df: pd.DataFrame, bodyparts: Optional[Sequence[str]] = None,
                      unique_bodyparts: Optional[Sequence[str]] = None,
                      individuals: Optional[Sequence[str]] = None,
                      source: str = '<labels>') -> DLCLabels:
    """Arrays of a normalised label DataFrame (see :func:`read_label_frame`).

    ``bodyparts``/``unique_bodyparts``/``individuals`` fix the order (a project's); a name the
    file lacks gives NaN, as DeepLabCut's reindexing does. Without them the file's order is used.
    """
    scorer = str(df.columns.get_level_values('scorer')[0])
    multi = 'individuals' in df.columns.names
    cols = df.columns
    file_individuals = list(dict.fromkeys(cols.get_level_values('individuals'))) if multi \
        else list(SINGLE_ANIMAL_INDIVIDUALS)
    if multi:
        animal_cols = cols[cols.get_level_values('individuals') != UNIQUE_INDIVIDUAL]
        unique_cols = cols[cols.get_level_values('individuals') == UNIQUE_INDIVIDUAL]
        file_bodyparts = list(dict.fromkeys(animal_cols.get_level_values('bodyparts')))
        file_unique = list(dict.fromkeys(unique_cols.get_level_values('bodyparts')))
        file_individuals = [i for i in file_individuals if i != UNIQUE_INDIVIDUAL]
    else:
        file_bodyparts = list(dict.fromkeys(cols.get_level_values('bodyparts')))
        file_unique = []
    bodyparts = list(file_bodyparts if bodyparts is None else bodyparts)
    unique_bodyparts = list(file_unique if unique_bodyparts is None else unique_bodyparts)
    individuals = list(file_individuals if individuals is None or not multi else individuals)
    for kind, theirs, ours in (('bodyparts', file_bodyparts, bodyparts),
                               ('unique bodyparts', file_unique, unique_bodyparts),
                               ('individuals', file_individuals, individuals)):
        extra = [n for n in theirs if n not in ours]
        if extra:
            warnings.warn(f'{source}: {kind} {extra} are not in the project and are not used '
                          f'(DeepLabCut drops them too)', stacklevel=2)
        missing = [n for n in ours if n not in theirs]
        if missing and theirs:
            warnings.warn(f'{source}: no labels for {kind} {missing}; they are NaN',
                          stacklevel=2)

    m = len(df)
    keypoints = np.full((m, len(individuals), len(bodyparts), 2), np.nan)
    unique = np.full((m, len(unique_bodyparts), 2), np.nan)
    values = df.to_numpy(dtype=np.float64)
    position = {key: i for i, key in enumerate(cols)}
    for c, coord in enumerate(('x', 'y')):
        for k, bp in enumerate(bodyparts):
            for n, ind in enumerate(individuals):
                key = (scorer, ind, bp, coord) if multi else (scorer, bp, coord)
                if key in position:
                    keypoints[:, n, k, c] = values[:, position[key]]
        for u, bp in enumerate(unique_bodyparts):
            key = (scorer, UNIQUE_INDIVIDUAL, bp, coord)
            if key in position:
                unique[:, u, c] = values[:, position[key]]
    paths = np.array([str(PurePosixPath(*t)) for t in df.index], dtype=object)
    return DLCLabels(image_paths=paths, bodyparts=bodyparts, individuals=individuals,
                     keypoints=keypoints, unique_bodyparts=unique_bodyparts,
                     unique_keypoints=unique, scorer=scorer, multi_animal=multi)


def read_labels(path: Union[str, Path], project: Union[None, str, Path, DLCProject] = None
                ) -> DLCLabels:
    """Read one ``CollectedData_<scorer>.h5``/``.csv``; with ``project``, in its order."""
    df = read_label_frame(path)
    if project is None:
        return labels_from_frame(df, source=str(path))
    project = read_project(project)
    return labels_from_frame(df, project.bodyparts, project.unique_bodyparts,
                             project.individuals, source=str(path))


# --------------------------------------------------------------------------------------------
# A project's labels
# --------------------------------------------------------------------------------------------

def label_file(project: DLCProject, video: str) -> Path:
    """``labeled-data/<video>/CollectedData_<scorer>.h5`` (or the ``.csv`` if only it exists)."""
    folder = project.root / 'labeled-data' / video
    h5 = folder / f'CollectedData_{project.scorer}.h5'
    csv_file = h5.with_suffix('.csv')
    return h5 if h5.is_file() or not csv_file.is_file() else csv_file


def merge_project_labels(project: Union[str, Path, DLCProject]) -> pd.DataFrame:
    """All videos' labels as DeepLabCut merges them for a training dataset.

    Concatenated in ``video_sets`` order, sorted by the 3-level row index, columns reindexed
    to the project's bodyparts (multi-animal: ``multianimalbodyparts + uniquebodyparts``).
    The row order is the one a shuffle's train/test indices refer to.
    """
    project = read_project(project)
    frames = []
    for video in project.video_names:
        path = label_file(project, video)
        if not path.is_file():
            warnings.warn(f'{path}: not found; video {video!r} has no labels (DeepLabCut '
                          f'skips it too)', stacklevel=2)
            continue
        df = read_label_frame(path)
        scorer = df.columns.get_level_values('scorer')[0]
        if scorer != project.scorer:
            warnings.warn(f'{path}: labelled by {scorer!r}, not the project scorer '
                          f'{project.scorer!r}; not used (as in DeepLabCut)', stacklevel=2)
            continue
        frames.append(df)
    if not frames:
        raise LabelFileError(
            f'{project.config_path}: no label file found for the videos of video_sets '
            f'({project.video_names}); expected labeled-data/<video>/CollectedData_'
            f'{project.scorer}.h5 or .csv')
    merged = pd.concat(frames).sort_index()
    order = project.bodyparts + project.unique_bodyparts
    level = merged.columns.names.index('bodyparts')
    merged = merged.reindex(order, axis=1, level=level)
    return merged


def read_project_labels(project: Union[str, Path, DLCProject]) -> DLCLabels:
    """The project's labels (all videos, DeepLabCut's merged row order) as arrays."""
    project = read_project(project)
    df = merge_project_labels(project)
    return labels_from_frame(df, project.bodyparts, project.unique_bodyparts,
                             project.individuals, source=str(project.config_path))
