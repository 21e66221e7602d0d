"""A real two-view Lightning Pose project made from the mirror-mouse frames (for tests).

The mirror-mouse rig films a mouse and its mirror image in one 396×406 grey frame: the top view
(the ``*_top`` keypoints) lies in rows 0-167 and the bottom view (``*_bot``) in rows 168-405
(its labels have y ≤ 148.25 and y ≥ 184.25 respectively). Cutting every frame there gives two
camera views of the same moments, with one labels CSV per view holding the seven bodyparts both
views label (``obs_top`` / ``obsHigh_bot`` / ``obsLow_bot`` differ between views and are left
out): ``labeled-data/<view>/<frame>.png`` and ``CollectedData_<view>.csv`` (keypoint y minus
the view's first row), a Lightning Pose multi-view project (``data.view_names: [top, bot]``).
"""
from pathlib import Path
from typing import Optional, Sequence

import cv2
import numpy as np
import pandas as pd
import yaml

from tests.conftest import shared_path

#: view → (first row, end row) of the mirror-mouse frame
VIEWS = {'top': (0, 168), 'bot': (168, 406)}
BODYPARTS = ('paw1LH', 'paw2LF', 'paw3RF', 'paw4RH', 'tailBase', 'tailMid', 'nose')


def mirror_mouse_labels() -> pd.DataFrame:
    return pd.read_csv(shared_path('lp-mirror-mouse', 'CollectedData.csv'), header=[0, 1, 2],
                       index_col=0)


def view_keypoints(labels: pd.DataFrame, view: str) -> np.ndarray:
    """(M, 7, 2) the view's keypoints in the view image's pixels (NaN unlabelled)."""
    points = np.stack([labels.loc[:, (slice(None), f'{b}_{view}')].to_numpy(float)
                       for b in BODYPARTS], axis=1)
    return points - np.array([0.0, VIEWS[view][0]])


def write_two_view_rig(dest: Path, rows: Optional[Sequence[int]] = None) -> Path:
    """Write the project into ``dest`` (frames ``rows`` of the mirror-mouse CSV, all when None);
    returns ``dest``."""
    labels = mirror_mouse_labels()
    if rows is not None:
        labels = labels.iloc[list(rows)]
    source = shared_path('lp-mirror-mouse')
    for view, (first, end) in VIEWS.items():
        folder = dest / 'labeled-data' / view
        folder.mkdir(parents=True, exist_ok=True)
        lines = [','.join(['scorer'] + ['rick'] * 2 * len(BODYPARTS)),
                 ','.join(['bodyparts'] + [b for b in BODYPARTS for _ in 'xy']),
                 ','.join(['coords'] + ['x', 'y'] * len(BODYPARTS))]
        for image, points in zip(labels.index, view_keypoints(labels, view)):
            frame = cv2.imread(str(source / image), cv2.IMREAD_GRAYSCALE)
            name = Path(image).name
            cv2.imwrite(str(folder / name), frame[first:end])
            cells = ['' if np.isnan(v) else repr(float(v)) for v in points.reshape(-1)]
            lines.append(','.join([f'labeled-data/{view}/{name}'] + cells))
        (dest / f'CollectedData_{view}.csv').write_text('\n'.join(lines) + '\n')
    (dest / 'videos').mkdir(exist_ok=True)
    return dest


def two_view_config(path: Path, data_dir: Path) -> Path:
    """The mirror-mouse example config turned multi-view: ``view_names [top, bot]``, one CSV
    per view, 7 keypoints per view, ``mirrored_column_matches`` the per-view indices 0-6,
    supervised."""
    cfg = yaml.safe_load(shared_path('lp-configs', 'config_mirror-mouse-example.yaml')
                         .read_text())
    cfg['data'].update(data_dir=str(data_dir), video_dir=str(data_dir / 'videos'),
                       csv_file=[f'CollectedData_{v}.csv' for v in VIEWS],
                       view_names=list(VIEWS), num_keypoints=len(BODYPARTS),
                       keypoint_names=list(BODYPARTS),
                       mirrored_column_matches=list(range(len(BODYPARTS))),
                       columns_for_singleview_pca=None)
    cfg['model']['losses_to_use'] = []
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def write_two_view_videos(folder: Path, frames: int = 12) -> Path:
    """The first ``frames`` frames of the mirror-mouse video cut the same way:
    ``test_vid_top.mp4`` and ``test_vid_bot.mp4`` (one session, one video per view, named as
    Lightning Pose matches videos to views); returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    source = cv2.VideoCapture(str(shared_path('lp-mirror-mouse', 'videos', 'test_vid.mp4')))
    width = int(source.get(cv2.CAP_PROP_FRAME_WIDTH))
    writers = {view: cv2.VideoWriter(str(folder / f'test_vid_{view}.mp4'),
                                     cv2.VideoWriter_fourcc(*'mp4v'), 25.0,
                                     (width, end - first))
               for view, (first, end) in VIEWS.items()}
    for _ in range(frames):
        ok, frame = source.read()
        assert ok
        for view, (first, end) in VIEWS.items():
            writers[view].write(np.ascontiguousarray(frame[first:end]))
    for writer in writers.values():
        writer.release()
    source.release()
    return folder
