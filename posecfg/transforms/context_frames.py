"""``ContextFrames``: a labelled frame and its neighbouring image files as one (T, 3, h, w)
sample, for context models (Lightning Pose's ``heatmap_mhcrnn``).

Which files are the neighbours (:func:`lp_context_paths`), as Lightning Pose 2.4.3 finds them
(``utils/io.py:518-547`` ``get_context_img_paths``; ``data/datasets.py:301-312``):

- the frame index is the **first** run of digits in the file's stem (``re.search(r"(\\d+)")``);
- the window is index − 2 … index + 2, indices below 0 floored at 0 (so ``img00``'s window is
  ``img00, img00, img00, img01, img02``);
- each index is zero-padded to the width of the centre's digits (``zfill``: wider numbers keep
  their digits), and **every** occurrence of the centre's digit string in the stem is replaced
  (``str.replace``), the folder and extension kept;
- a neighbour whose file does not exist is replaced by the centre frame (there is no upper
  bound: the last frame of a folder repeats itself this way).

A stem without digits is an error naming the file (Lightning Pose asserts).

The same augmentation on every frame (Lightning Pose: one imgaug seed per sample, the flip
decided once, ``datasets.py:314-336``): ``ContextFrames`` runs its ``transforms`` once per frame
with ``np.random`` and ``random`` restored to the same state before each run, so every random
draw of a frame repeats the centre's. The sample is the centre frame's run (its keypoints,
``warp_mat``, metas) with ``img`` the frames stacked in time order.
"""
from __future__ import annotations

import copy
import os
import random
import re
from typing import Any, List, Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from ..registry import TRANSFORMS
from .compose import Compose

#: frames on each side of the centre frame in Lightning Pose's context models
LP_CONTEXT = 2


def lp_context_paths(image_file: str, context: int = LP_CONTEXT) -> List[str]:
    """The 2·context + 1 files of ``image_file``'s window by Lightning Pose's rule (module
    docstring); neighbours that do not exist are ``image_file`` itself."""
    folder, name = os.path.split(os.fspath(image_file))
    stem, ext = os.path.splitext(name)
    match = re.search(r'(\d+)', stem)
    if match is None:
        raise ValueError(f'{image_file}: no frame number in the file name, so its neighbouring '
                         f'frames cannot be found (context models read frames t-{context} … '
                         f't+{context} from files numbered like img0042.png)')
    digits = match.group()
    centre = int(digits)
    paths = []
    for index in range(centre - context, centre + context + 1):
        path = os.path.join(folder, stem.replace(digits, str(max(index, 0)).zfill(len(digits)))
                            + ext)
        paths.append(path if os.path.exists(path) else os.fspath(image_file))
    return paths


@TRANSFORMS.register_module()
class ContextFrames(BaseTransform):
    """Run ``transforms`` on each file of the record's window and stack the frames.

    Args:
        transforms: the per-frame pipeline, from loading (``LoadImageFromFile``: each run reads
            its own ``image_file``) to the tensor (``ToTensor``; a ``Collect`` may end it).
        context: frames on each side (2: Lightning Pose's 5-frame windows).

    The record's ``image_file`` is the centre frame; the output is the centre's run with
    ``img`` (2·context + 1, C, h, w) (module docstring); every frame's run must give an image
    of the same shape.
    """

    example_args = dict(transforms=[
        dict(type='LoadImageFromFile'), dict(type='Resize', height=32, width=32,
                                             keep_ratio=False),
        dict(type='ToTensor'), dict(type='Collect', keys=['img'], meta_keys=['image_file'])])

    def __init__(self, transforms: Sequence[Any], context: int = LP_CONTEXT):
        if not isinstance(context, int) or isinstance(context, bool) or context < 1:
            raise ValueError(f'ContextFrames: context must be an integer >= 1, got {context!r}')
        self.pipeline = Compose(list(transforms))
        self.context = context

    def transform(self, results: dict) -> dict:
        if 'image_file' not in results:
            raise KeyError("ContextFrames needs the record's 'image_file' (the centre frame) to "
                           "find its neighbouring frames")
        paths = lp_context_paths(results['image_file'], self.context)
        base = {k: v for k, v in results.items() if k != 'img'}
        np_state, py_state = np.random.get_state(), random.getstate()
        runs = []
        for path in paths:
            np.random.set_state(np_state)
            random.setstate(py_state)
            record = copy.deepcopy(base)
            record['image_file'] = path
            runs.append(self.pipeline(record))
        out = runs[self.context]
        frames = [run.get('img') for run in runs]
        if not all(torch.is_tensor(f) for f in frames):
            raise TypeError('ContextFrames: the per-frame pipeline must end with the image as a '
                            'tensor (ToTensor), got '
                            f'{type(frames[self.context]).__name__}')
        shapes = {tuple(f.shape) for f in frames}
        if len(shapes) > 1:
            raise ValueError(f'ContextFrames: the frames of {results["image_file"]} came out in '
                             f'different shapes {sorted(shapes)} ({paths}); resize them to one '
                             f'size in the per-frame pipeline')
        out['img'] = torch.stack(frames)
        # the files read, beside the image_file (after a Collect: in its metas)
        (out['img_metas'] if isinstance(out.get('img_metas'), dict) else out)[
            'context_files'] = paths
        return out

    def __repr__(self) -> str:
        return f'{type(self).__name__}(context={self.context}, {self.pipeline!r})'
