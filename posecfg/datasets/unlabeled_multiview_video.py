"""``MultiviewUnlabeledVideoDataset``: synchronized sequences of the videos of every camera view,
for the unsupervised losses of Lightning Pose multi-view projects (``pca_multiview`` across
views, ``temporal``).

What Lightning Pose 2.4.3 does (``utils/io.py:431-515``, ``data/video/dali.py:76-160``,
``data/utils.py:196-235``):

- the videos of ``data.video_dir`` are matched to views by name: a video belongs to view ``v``
  when its file stem holds ``v`` as a token (not inside a longer word or number: ``mouse_top_3``
  is view ``top``, ``mousetop3`` is no view; ``collect_video_files_by_view``); each view needs
  one video per session, and the sessions' videos must have the same number of frames in every
  view (the readers would fall out of step);
- one reader per view, all with the same seed, so batch ``i`` holds the same frames (same
  session, same times) of every view; frames ``(seq_len, V, 3, h, w)``;
- each view's sequence is augmented with its own transform (``transforms`` ``(V, 2, 3)``), undone
  view by view on the predictions (``undo_affine_transform_batch(is_multiview=True)``);
- the model runs every view image through the shared backbone and head and the keypoints are
  concatenated view after view: (seq_len, V·K, 2), what ``pca_multiview`` and ``temporal`` read.

Here each view is an :class:`~posecfg.datasets.unlabeled_video.UnlabeledVideoDataset` over its
videos in session order, so sample ``i`` is the same (session, start) in every view; view ``v``
is augmented from the seed ``view_seed(seed, v)``. A sample: ``img`` uint8 (V, S, 3, h, w),
``img_metas`` ``views`` (each view's sequence metas: ``warp_mat``, ``resize``, ``video``) and
``view_names``. :func:`multiview_sequence_collate` batches U samples as U·V sequences, view after
view within a sample (``img`` (U·V·S, 3, h, w), ``warp_mat`` (U·V, 2, 3), ``num_views`` V), which
``LPHeatmapHead.loss_unlabeled`` turns back into (U, S, V·K) keypoints.
"""
from __future__ import annotations

import os
import re
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch

from posecfg.registry import DATASETS, FUNCTIONS

from .examples import ExampleArgs
from .lp_multiview import view_seed
from .sampler import SampleKey, split_key
from .unlabeled_video import (IMAGENET_NORM, VIDEO_EXTENSIONS, UnlabeledVideoDataset,
                              _write_tiny_videos, find_videos, unlabeled_sequence_collate)


def view_token(view: str) -> re.Pattern:
    """``view`` as a token of a file stem (delimited by anything but a letter or digit)."""
    return re.compile(rf'(?<![0-9a-zA-Z]){re.escape(view)}(?![0-9a-zA-Z])')


def videos_by_view(videos: Sequence[str], view_names: Sequence[str]) -> Dict[str, List[str]]:
    """View → its videos, in session order (the stem with the view token removed), every view
    with the same sessions. Errors name the videos at fault."""
    sessions: Dict[str, Dict[str, str]] = defaultdict(dict)
    for video in videos:
        stem = os.path.splitext(os.path.basename(video))[0]
        views = [v for v in view_names if view_token(v).search(stem)]
        if len(views) != 1:
            raise ValueError(f'{video}: a multi-view video name must hold exactly one of the '
                             f'view names {list(view_names)} as a token (e.g. session1_'
                             f'{view_names[0]}.mp4); it holds {views or "none"}')
        session = view_token(views[0]).sub('', stem)
        if session in sessions[views[0]]:
            raise ValueError(f'{video} and {sessions[views[0]][session]} are the same session of '
                             f'view {views[0]!r}')
        sessions[views[0]][session] = video
    names = {v: sorted(sessions[v]) for v in view_names}
    for view in view_names[1:]:
        if names[view] != names[view_names[0]]:
            raise ValueError(f'the videos of view {view!r} ({sorted(sessions[view].values())}) '
                             f'are not the sessions of view {view_names[0]!r} '
                             f'({sorted(sessions[view_names[0]].values())}); every view needs '
                             f'one video per session')
    return {v: [sessions[v][s] for s in names[v]] for v in view_names}


def _write_tiny_multiview_videos(root):
    """The tiny example videos, once per view (``a_top.mp4``, ``a_bot.mp4``, ...)."""
    from pathlib import Path
    root = Path(root)
    _write_tiny_videos(root / 'src')
    for name in ('a', 'b'):
        for view in ('top', 'bot'):
            os.link(root / 'src' / f'{name}.mp4', root / f'{name}_{view}.mp4')
    return root


@DATASETS.register_module()
class MultiviewUnlabeledVideoDataset(torch.utils.data.Dataset):
    """Synchronized sequences of every view's videos (module docstring).

    Args:
        video_dir: the folder of the videos of all views (or a list of video files).
        view_names: ``data.view_names``.
        sequence_length, image_resize_dims, imgaug, seed, context, extensions, img_norm_cfg:
            as :class:`~posecfg.datasets.unlabeled_video.UnlabeledVideoDataset`.
    """

    sample_kind = 'multiview_frame_sequence'
    example_args = ExampleArgs('unlabeled-multiview-videos', _write_tiny_multiview_videos,
                               lambda root: dict(video_dir=str(root), view_names=['top', 'bot'],
                                                 sequence_length=4, image_resize_dims=(16, 20),
                                                 imgaug='dlc'))

    def __init__(self, video_dir: Union[str, Sequence[str]], view_names: Sequence[str],
                 sequence_length: int = 16,
                 image_resize_dims: Union[Sequence[int], dict, None] = None,
                 imgaug: Optional[str] = 'dlc', seed: int = 123456, context: int = 0,
                 extensions: Sequence[str] = VIDEO_EXTENSIONS,
                 img_norm_cfg: Optional[dict] = IMAGENET_NORM):
        self.view_names = [str(v) for v in view_names]
        if len(self.view_names) < 2 or len(set(self.view_names)) != len(self.view_names):
            raise ValueError(f'MultiviewUnlabeledVideoDataset: view_names must name at least '
                             f'two different views, got {list(view_names)}')
        by_view = videos_by_view(find_videos(video_dir, extensions), self.view_names)
        self.views = [UnlabeledVideoDataset(by_view[v], sequence_length, image_resize_dims,
                                            imgaug, seed, context, extensions, img_norm_cfg)
                      for v in self.view_names]
        first = self.views[0]
        for name, view in zip(self.view_names[1:], self.views[1:]):
            for a, b, count_a, count_b in zip(first.videos, view.videos, first.frame_counts,
                                              view.frame_counts):
                if count_a != count_b:
                    raise ValueError(f'{b} (view {name!r}) has {count_b} frames but {a} has '
                                     f'{count_a}; the views of a session must have the same '
                                     f'frames (Lightning Pose: the readers would desynchronize)')
        self.seed = int(seed)

    @property
    def sequence_length(self) -> int:
        return self.views[0].sequence_length

    def __len__(self) -> int:
        return len(self.views[0])

    def __getitem__(self, key: SampleKey) -> dict:
        index, seed = split_key(key)
        if seed is None:  # a plain index: each view's own (seed, index) draw, decorrelated
            seed = int(np.random.SeedSequence([self.seed, index]).generate_state(1)[0])
        samples = [view[(index, view_seed(seed, v))] for v, view in enumerate(self.views)]
        return dict(img=torch.stack([s['img'] for s in samples]),
                    img_metas=dict(views=[s['img_metas'] for s in samples],
                                   view_names=list(self.view_names)))

    def __repr__(self) -> str:
        return (f'{type(self).__name__}({len(self)} synchronized sequences of '
                f'{self.sequence_length} frames x {len(self.views)} views {self.view_names})')


@FUNCTIONS.register_module()
def multiview_sequence_collate(batch: Sequence[dict]) -> dict:
    """U multi-view sequences → U·V single-view sequences, view after view within a sample
    (:func:`~posecfg.datasets.unlabeled_video.unlabeled_sequence_collate` on them), plus
    ``num_views`` V."""
    views = {len(sample['img']) for sample in batch}
    if len(views) != 1:
        raise ValueError(f'multiview_sequence_collate: samples with {sorted(views)} views')
    flat = [dict(img=sample['img'][v], img_metas=meta) for sample in batch
            for v, meta in enumerate(sample['img_metas']['views'])]
    out = unlabeled_sequence_collate(flat)
    out['num_views'] = views.pop()
    return out


multiview_sequence_collate.example_args = dict()
multiview_sequence_collate.sample_kind = MultiviewUnlabeledVideoDataset.sample_kind
