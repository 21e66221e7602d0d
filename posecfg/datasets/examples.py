"""Tiny DeepLabCut and Lightning Pose projects, generated on demand, for ``example_args``.

Every registered class has ``example_args``: the arguments of a small working instance. A
project dataset needs files, so its ``example_args`` is an :class:`ExampleArgs` descriptor that
writes a tiny project (a few 32×24 PNG frames and a label file in the tool's own layout, one
point unlabelled) into the temporary folder the first time it is read, and returns arguments
pointing at it. The projects are written to a temporary name and renamed into place, so
processes that ask at the same time never see half a project.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Dict

import numpy as np

#: bump when the generated files change
EXAMPLES_VERSION = 1
_SIZE = (24, 32)  # (height, width) of every frame
#: (frames, bodyparts, xy) labels of the tiny projects; NaN = not labelled
_POINTS = np.array([[[4.0, 5.0], [10.5, 12.0], [20.0, 7.5]],
                    [[6.0, 6.0], [np.nan, np.nan], [25.0, 18.0]],
                    [[3.5, 20.0], [16.0, 11.0], [28.0, 3.0]],
                    [[8.0, 9.0], [14.0, 15.5], [22.0, 21.0]],
                    [[12.0, 2.5], [18.0, 8.0], [30.0, 12.0]]])
_NAMES = ('nose', 'body', 'tail')


def examples_root() -> Path:
    return Path(tempfile.gettempdir()) / f'posecfg-examples-{os.getuid()}-v{EXAMPLES_VERSION}'


def _write_frames(folder: Path, names, grey: bool) -> None:
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        rng = np.random.default_rng(i)
        shape = _SIZE if grey else _SIZE + (3,)
        cv2.imwrite(str(folder / name), rng.integers(0, 255, shape, dtype=np.uint8))


def _label_rows(prefix: str, frames, poses: np.ndarray = _POINTS) -> list:
    rows = []
    for name, points in zip(frames, poses):
        cells = ['' if np.isnan(v) else repr(float(v)) for v in points.reshape(-1)]
        rows.append(','.join([f'{prefix}{name}'] + cells))
    return rows


def _header(scorer: str) -> list:
    return [','.join(['scorer'] + [scorer] * 2 * len(_NAMES)),
            ','.join(['bodyparts'] + [n for n in _NAMES for _ in 'xy']),
            ','.join(['coords'] + ['x', 'y'] * len(_NAMES))]


def write_tiny_dlc_project(root: Path) -> Path:
    """A single-animal DeepLabCut project (Task ``tiny``, scorer ``ex``, one video ``vid``,
    5 labelled frames, 3 bodyparts); returns its ``config.yaml``."""
    frames = [f'img{i:04d}.png' for i in range(len(_POINTS))]
    _write_frames(root / 'labeled-data' / 'vid', frames, grey=False)
    (root / 'labeled-data' / 'vid' / 'CollectedData_ex.csv').write_text(
        '\n'.join(_header('ex') + _label_rows('labeled-data/vid/', frames)) + '\n')
    config = root / 'config.yaml'
    config.write_text('\n'.join([
        'Task: tiny', 'scorer: ex', 'date: Dec1', 'multianimalproject: false',
        f'project_path: {root}', 'video_sets:', f'  {root}/videos/vid.mp4:',
        '    crop: 0, 32, 0, 24', 'bodyparts:'] + [f'- {n}' for n in _NAMES] + [
        'skeleton:', '- - nose', '  - body', 'pcutoff: 0.6', 'TrainingFraction:', '- 0.8',
        'iteration: 0', '']))
    return config


def write_tiny_lp_project(root: Path) -> Path:
    """A Lightning Pose project (5 grey frames, 3 keypoints, ``CollectedData.csv``); returns
    its data_dir."""
    frames = [f'img{i:02d}.png' for i in range(len(_POINTS))]
    _write_frames(root / 'labeled-data', frames, grey=True)
    (root / 'CollectedData.csv').write_text(
        '\n'.join(_header('ex') + _label_rows('labeled-data/', frames)) + '\n')
    return root


def write_tiny_lp_multiview_project(root: Path) -> Path:
    """A two-view Lightning Pose project (views ``top`` and ``bot``: 5 grey frames each in
    ``labeled-data/<view>/``, 3 keypoints, ``CollectedData_<view>.csv``); returns its data_dir."""
    frames = [f'img{i:02d}.png' for i in range(len(_POINTS))]
    for view, shift in (('top', 0.0), ('bot', 1.5)):
        _write_frames(root / 'labeled-data' / view, frames, grey=True)
        rows = _label_rows(f'labeled-data/{view}/', frames, _POINTS + shift)
        (root / f'CollectedData_{view}.csv').write_text('\n'.join(_header('ex') + rows) + '\n')
    return root


def example_project(name: str, write: Callable[[Path], Path]) -> Path:
    """The folder ``examples_root()/name``, written by ``write(folder)`` unless it exists."""
    final = examples_root() / name
    final.parent.mkdir(parents=True, exist_ok=True)
    if not final.is_dir():
        scratch = Path(tempfile.mkdtemp(prefix=f'.{name}-', dir=final.parent))
        try:
            # written in place of the final folder's name so that absolute paths in the files
            # (DeepLabCut's project_path) name the final folder
            write(scratch)
            _retarget(scratch, final)
            try:
                os.replace(scratch, final)
            except OSError:  # another process put it there first
                pass
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return final


def _retarget(scratch: Path, final: Path) -> None:
    for path in scratch.rglob('*.yaml'):
        path.write_text(path.read_text().replace(str(scratch), str(final)))


class ExampleArgs:
    """A class attribute whose value is ``args(project_folder)`` for a generated project."""

    def __init__(self, name: str, write: Callable[[Path], Path],
                 args: Callable[[Path], Dict]):
        self.name, self.write, self.args = name, write, args

    def __get__(self, obj, owner) -> Dict:
        return self.args(example_project(self.name, self.write))
