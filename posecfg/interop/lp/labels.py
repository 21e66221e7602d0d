"""Lightning Pose's labels CSV: reading it exactly as Lightning Pose 2.4.3 does, with clear errors.

The file (``data.csv_file``, relative to ``data.data_dir`` unless absolute) has three header rows
``scorer`` / ``bodyparts`` / ``coords`` and one row per labelled image, whose first column is the
image path relative to ``data.data_dir``. Each keypoint has the columns ``x, y`` and optionally a
third one: ``visible`` (Lightning Pose >= 2.1.2: 0 = not labelled, 1 = occluded, 2 = visible) or
``likelihood`` (DeepLabCut machine labels; read and kept, not used for training). Empty cells are
NaN (an unlabelled keypoint).

Facts from Lightning Pose 2.4.3 (``lightning_pose/utils/io.py``):

- ``parse_label_csv`` (l. 208-297) reads ``pd.read_csv(csv, header=[0, 1, 2], index_col=0)``,
  takes keypoint names from the ``bodyparts`` level of the ``x`` columns, and reshapes the
  values to (images, keypoints, 2), or 3 when any ``visible`` column exists;
- ``fix_empty_first_row`` (l. 550-575): when the first data row is all empty, pandas takes it for
  the index name row and drops it (pandas#21995); Lightning Pose puts it back as an all-NaN row
  (paninski-lab/lightning-pose#210). Done here the same way, so image ``i`` is row ``i`` of the
  file in both tools and the train/val/test split picks the same images;
- a keypoint with exactly one of x, y missing is an error (l. 275-290), as are ``visible``
  values outside {0, 1, 2} (l. 261-268).

Stricter than Lightning Pose, because its reshape would otherwise pair the wrong numbers
silently: ``likelihood`` columns are read (Lightning Pose reshapes x, y, likelihood triples as
pairs), every keypoint must have the same coordinate columns in the order x, y[, third], a cell
that is not a number is an error naming its row and column, and a NaN ``visible`` is an error.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Optional, Sequence, Tuple

import numpy as np

#: the optional third coordinate column and what it means
THIRD_COLUMNS = ('visible', 'likelihood')
VISIBILITY_VALUES = (0, 1, 2)
_MANGLED = re.compile(r'^(x|y|visible|likelihood)\.\d+$')


class LPLabelsError(ValueError):
    """A labels CSV that Lightning Pose's rules do not accept; the message names file and cells."""


@dataclass(frozen=True)
class LPLabels:
    """The contents of one labels CSV.

    Attributes:
        csv_file: the file read.
        scorer: the ``scorer`` header value of the x column of each keypoint (K,).
        image_names: (M,) image paths as written in the file (relative to ``data.data_dir``).
        keypoint_names: (K,) the ``bodyparts`` header values, in file order.
        keypoints: (M, K, 2) float64 pixels of the original image; NaN where unlabelled (the
            tool's own convention, kept so that files round-trip; datasets turn NaN into
            visibility 0).
        visibility: (M, K) int64 in {0, 1, 2} when the file has ``visible`` columns, else None.
        likelihood: (M, K) float64 when the file has ``likelihood`` columns, else None.
    """
    csv_file: str
    scorer: Tuple[str, ...]
    image_names: Tuple[str, ...]
    keypoint_names: Tuple[str, ...]
    keypoints: np.ndarray
    visibility: Optional[np.ndarray] = None
    likelihood: Optional[np.ndarray] = field(default=None)

    @property
    def num_images(self) -> int:
        return len(self.image_names)

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoint_names)

    @property
    def instance_keypoints(self) -> np.ndarray:
        """(M, 1, K, 2): the readers' contract shape (one animal per image in Lightning Pose)."""
        return self.keypoints[:, None]

    def labelled(self) -> np.ndarray:
        """(M, K) bool: both coordinates present."""
        return ~np.isnan(self.keypoints).any(axis=-1)


def resolve_csv_path(csv_file: str, data_dir: str) -> str:
    """``data.csv_file`` as a path: absolute as given, else relative to ``data.data_dir``.

    (Lightning Pose's ``train.py::_absolute_csv_file``; its dataset class first tries the path
    relative to the working directory, which posecfg does not, so a run does not depend on where
    it was started.)
    """
    csv_file = os.path.expanduser(str(csv_file))
    return csv_file if os.path.isabs(csv_file) else os.path.join(str(data_dir), csv_file)


def read_lp_labels(csv_file: str, key: str = 'data.csv_file') -> LPLabels:
    """Read a Lightning Pose labels CSV (see the module docstring for the rules).

    Args:
        csv_file: path of the CSV.
        key: the config key that named the file, for error messages.
    """
    import pandas as pd  # only readers of tool files pay for pandas

    if not os.path.isfile(csv_file):
        raise FileNotFoundError(f'{key}: labels file {csv_file} does not exist')
    try:
        df = pd.read_csv(csv_file, header=[0, 1, 2], index_col=0)
    except (ValueError, IndexError, pd.errors.ParserError) as e:
        raise LPLabelsError(
            f'{csv_file}: cannot read it as a Lightning Pose labels CSV (three header rows '
            f'scorer / bodyparts / coords, then one row per image): {e}') from None
    df = restore_empty_first_row(df)
    columns = list(df.columns)
    if not columns:
        raise LPLabelsError(f'{csv_file}: no keypoint columns after the image path column')
    scorer, names, width = _keypoint_columns(columns, csv_file)

    values = _numeric_values(df, csv_file)
    images = tuple(str(i) for i in df.index)
    grouped = values.reshape(len(images), len(names), width)
    keypoints = np.ascontiguousarray(grouped[:, :, :2])
    third = columns[2][2] if width == 3 else None
    _check_half_labelled(keypoints, images, names, csv_file)
    visibility = likelihood = None
    if third == 'visible':
        visibility = _visibility(grouped[:, :, 2], images, names, csv_file)
    elif third == 'likelihood':
        likelihood = np.ascontiguousarray(grouped[:, :, 2])
    return LPLabels(csv_file=csv_file, scorer=scorer, image_names=images,
                    keypoint_names=names, keypoints=keypoints, visibility=visibility,
                    likelihood=likelihood)


def restore_empty_first_row(df):
    """Put back a first data row that pandas took for the index-name row (all cells empty).

    With a multi-row header pandas cannot tell an all-empty first row from a row naming the
    index, so it drops the row and makes its first cell ``df.index.name``; Lightning Pose's
    ``fix_empty_first_row`` (``utils/io.py`` l. 550) prepends it again as an all-NaN row.
    """
    import pandas as pd

    if df.index.name is None:
        return df
    empty = pd.DataFrame(np.nan, index=pd.Index([df.index.name]), columns=df.columns,
                         dtype='float64')
    fixed = pd.concat([empty, df])
    fixed.index.name = None
    return fixed


def _keypoint_columns(columns: Sequence[tuple], csv_file: str):
    """Check that columns come in per-keypoint groups x, y[, visible|likelihood]; returns the
    scorer and name of each keypoint and the group width."""
    # pandas renames a repeated header column (``x`` -> ``x.1``): a keypoint given twice
    repeated = sorted({str(c[1]) for c in columns if _MANGLED.match(str(c[2]))})
    if repeated:
        raise LPLabelsError(f'{csv_file}: keypoints {repeated} appear more than once in the '
                            'bodyparts header row')
    coords = [c[2] for c in columns]
    unknown = sorted({c for c in coords if c not in ('x', 'y') + THIRD_COLUMNS})
    if unknown:
        raise LPLabelsError(
            f'{csv_file}: unknown coords {unknown} in the third header row; each keypoint has '
            f'columns x, y and optionally one of {", ".join(THIRD_COLUMNS)}')
    thirds = {c for c in coords if c in THIRD_COLUMNS}
    if len(thirds) > 1:
        raise LPLabelsError(f'{csv_file}: both "visible" and "likelihood" columns; a file has '
                            'at most one of them, for every keypoint')
    expected = ['x', 'y'] + sorted(thirds)
    width = len(expected)
    if len(columns) % width:
        raise LPLabelsError(
            f'{csv_file}: {len(columns)} coordinate columns is not a multiple of {width} '
            f'({", ".join(expected)} per keypoint)')
    scorer, names = [], []
    for start in range(0, len(columns), width):
        group = columns[start:start + width]
        name = group[0][1]
        if [c[2] for c in group] != expected or any(c[1] != name for c in group):
            got = ', '.join(f'{c[1]}/{c[2]}' for c in group)
            raise LPLabelsError(
                f'{csv_file}: columns {start + 2}-{start + 1 + width} are {got}; every keypoint '
                f'needs the columns {", ".join(expected)} next to each other, in that order')
        scorer.append(str(group[0][0]))
        names.append(str(name))
    return tuple(scorer), tuple(names), width


def _numeric_values(df, csv_file: str) -> np.ndarray:
    import pandas as pd

    numeric = df.apply(pd.to_numeric, errors='coerce')
    bad = numeric.isna().to_numpy() & df.notna().to_numpy()
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        raise LPLabelsError(
            f'{csv_file}: the cell of image {df.index[row]!r}, column '
            f'{"/".join(map(str, df.columns[col][1:]))} holds {df.iat[row, col]!r}, not a number '
            f'({int(bad.sum())} such cells)')
    return numeric.to_numpy(dtype=np.float64)


def _check_half_labelled(keypoints: np.ndarray, images, names, csv_file: str):
    nan = np.isnan(keypoints)
    half = nan[..., 0] != nan[..., 1]
    if half.any():
        examples = '; '.join(
            f'{images[i]} / {names[k]} ({"x" if nan[i, k, 0] else "y"} is empty)'
            for i, k in np.argwhere(half)[:5])
        raise LPLabelsError(
            f'{csv_file}: {int(half.sum())} keypoint(s) have only one of x, y; both must be '
            f'given or both empty. First: {examples}')


def _visibility(column: np.ndarray, images, names, csv_file: str) -> np.ndarray:
    valid = np.isin(column, VISIBILITY_VALUES)
    if not valid.all():
        i, k = np.argwhere(~valid)[0]
        raise LPLabelsError(
            f'{csv_file}: visible of {images[i]} / {names[k]} is {column[i, k]!r}; visible must '
            f'be 0 (not labelled), 1 (occluded) or 2 (visible) in every row')
    return column.astype(np.int64)
