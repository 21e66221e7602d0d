"""``UnlabeledVideoDataset``: sequences of consecutive frames of a folder of videos, for the
unsupervised losses of Lightning Pose (the ``data.unlabeled`` stream, ``posecfg.engine.streams``).

What Lightning Pose 2.4.3 does (NVIDIA DALI on the GPU, ``lightning_pose/data/video/dali.py``):

- training samples of base models are ``dali.base.train.sequence_length`` consecutive frames,
  sequences not overlapping (``step = sequence_length``), drawn in random order from all videos
  of ``data.video_dir`` (``random_shuffle=True``, seed ``dali.general.seed`` + GPU rank,
  l. 539-560); context models use ``dali.context.train.batch_size`` frames the same way
  (l. 601-617) and build the 5-frame windows from the sequence;
- frames are resized to ``data.image_resize_dims`` (l. 159-160) and, with ``training.imgaug``
  ``dlc``/``dlc-top-down``, augmented once per sequence (l. 161-182): rotation by
  U(-10°, 10°) and scaling by U(0.8, 1.2) per axis about the frame centre (one affine warp, fill
  0), brightness and contrast each U(0.75, 1.25) (DALI ``brightness_contrast``:
  ``b · (128 + c · (v - 128))`` for uint8), shot noise ``Poisson(v / f) · f`` with
  f ~ U(0, 10); the warp matrix is returned so that predictions can be mapped back
  (``undo_affine_transform_batch``, ``data/utils.py:142-225``); other ``imgaug`` values resize
  only;
- the predictions are then mapped to the original frame (``model_to_frame_batch``) and the
  unsupervised losses computed there (``models/heatmap_tracker.py:264-286``).

posecfg decodes with OpenCV in DataLoader workers (:mod:`posecfg.apis.video.random_access`:
frame-exact seeks, checked by timestamp). Differences, on purpose:

- a video's last ``frame_count % sequence_length`` frames are not used (DALI pads the last
  sequence with empty frames, which would feed black frames to the temporal loss);
- the warp's centre is ``((w - 1) / 2, (h - 1) / 2)``, the centre in posecfg's pixel convention
  (DALI uses ``(h / 2, w / 2)``); the matrix is recorded, so predictions are undone exactly;
- randomness: sample ``i`` is augmented from the sampler's ``(index, sample_seed)`` key, or from
  ``(seed, i)`` for a plain index, through ``np.random`` (CONTRACTS.md "Randomness"): the same
  whatever the number of workers.

A sample (one sequence): ``img`` uint8 (T + 2c, 3, h, w) torch tensor (c = ``context`` frames
of each side, edge frames repeated at a video's ends), ``img_metas`` with ``video``,
``frame_indices`` (T + 2c,), ``start``, ``context``, ``warp_mat`` (2, 3) float32 (resized-frame
pixel → augmented pixel; identity without augmentation), ``resize`` (a
:class:`~posecfg.apis.video.geometry.ResizeMap`, input pixel ⇄ original pixel), ``img_norm_cfg``
(ImageNet statistics, as Lightning Pose normalizes). Batches are made by
:func:`unlabeled_sequence_collate`: the frames of all sequences in one (U · (T + 2c), 3, h, w)
batch, so the backbone runs on frames as for labelled images.
"""
from __future__ import annotations

import math
import os
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch

from posecfg.apis.video.geometry import ResizeMap
from posecfg.apis.video.random_access import read_frames
from posecfg.apis.video.sources import OpenCVSource
from posecfg.registry import DATASETS, FUNCTIONS

from .examples import ExampleArgs
from .sampler import SampleKey, sample_seed, seeded_random, split_key

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v')
IMAGENET_NORM = dict(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
IMGAUG_GEOMETRIC = ('dlc', 'dlc-top-down')


def _write_tiny_videos(root):
    """Two 32×24 videos of 12 and 9 frames whose frame i is a moving square (the example of
    ``example_args``)."""
    from pathlib import Path
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for name, frames in (('a.mp4', 12), ('b.mp4', 9)):
        writer = cv2.VideoWriter(str(root / name), cv2.VideoWriter_fourcc(*'mp4v'), 30, (32, 24))
        for i in range(frames):
            image = np.full((24, 32, 3), 40, np.uint8)
            image[6:14, 2 + i:10 + i] = 220
            writer.write(image)
        writer.release()
    return root


def find_videos(video_dir: Union[str, Sequence[str]],
                extensions: Sequence[str] = VIDEO_EXTENSIONS) -> List[str]:
    """The videos of ``video_dir`` (a folder, sorted by name, one file, or a list of files)."""
    if isinstance(video_dir, (list, tuple)):
        missing = [f for f in video_dir if not os.path.isfile(os.fspath(f))]
        if missing or not video_dir:
            raise FileNotFoundError(f'UnlabeledVideoDataset: video files {missing or "(none)"} '
                                    f'do not exist')
        return [os.fspath(f) for f in video_dir]
    video_dir = os.fspath(video_dir)
    if os.path.isfile(video_dir):
        return [video_dir]
    if not os.path.isdir(video_dir):
        raise FileNotFoundError(f'UnlabeledVideoDataset: video_dir {video_dir} does not exist')
    names = sorted(n for n in os.listdir(video_dir) if n.lower().endswith(tuple(extensions)))
    if not names:
        raise FileNotFoundError(f'UnlabeledVideoDataset: no video ({", ".join(extensions)}) in '
                                f'{video_dir}')
    return [os.path.join(video_dir, n) for n in names]


def dlc_video_augmentation(frames: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Lightning Pose's ``imgaug: dlc`` video augmentation (module docstring), one draw for the
    whole sequence from ``np.random``.

    Args:
        frames: (T, h, w, 3) uint8.
    Returns:
        (augmented frames (T, h, w, 3) uint8, warp matrix (2, 3) float64 mapping a pixel of the
        input frames to its place in the augmented ones).
    """
    height, width = frames.shape[1:3]
    angle = np.random.uniform(-10, 10)
    scale = np.random.uniform(0.8, 1.2, size=2)
    contrast = np.random.uniform(0.75, 1.25)
    brightness = np.random.uniform(0.75, 1.25)
    factor = np.random.uniform(0.0, 10.0)
    matrix = warp_matrix(angle, scale, ((width - 1) / 2, (height - 1) / 2))
    out = np.empty_like(frames)
    for i, frame in enumerate(frames):
        cv2.warpAffine(frame, matrix, (width, height), dst=out[i], flags=cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    values = brightness * (128.0 + contrast * (out.astype(np.float32) - 128.0))
    # DALI's brightness_contrast keeps the input type: uint8 values, then the shot noise
    np.rint(np.clip(values, 0, 255, out=values), out=values)
    if factor > 0:  # the Poisson draws are ~90% of a sequence's cost (benchmarks/)
        values = np.random.poisson(values / factor).astype(np.float32) * factor
    return np.clip(np.rint(values), 0, 255).astype(np.uint8), matrix


def warp_matrix(angle_deg: float, scale: Sequence[float], centre: Sequence[float]) -> np.ndarray:
    """(2, 3): rotate by ``angle_deg`` then scale by ``(sx, sy)``, both about ``centre``
    (DALI ``transforms.rotation`` then ``transforms.scale``, dali.py:165-169)."""
    a = math.radians(angle_deg)
    linear = np.diag(scale) @ np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    centre = np.asarray(centre, np.float64)
    return np.concatenate([linear, (centre - linear @ centre)[:, None]], axis=1)


def undo_warp(keypoints, warp_mat):
    """Keypoints (..., K, 2) in augmented pixels → the un-augmented (resized) frame, with
    ``warp_mat`` (2, 3) or one per leading item (..., 2, 3); torch (differentiable) or numpy."""
    if not torch.is_tensor(keypoints):
        return undo_warp(torch.from_numpy(np.asarray(keypoints, np.float64)),
                         torch.from_numpy(np.asarray(warp_mat, np.float64))).numpy()
    warp = torch.as_tensor(warp_mat, dtype=keypoints.dtype, device=keypoints.device)
    linear, shift = warp[..., :2], warp[..., 2]
    return torch.linalg.solve(linear[..., None, :, :],
                              (keypoints - shift[..., None, :])[..., None])[..., 0]


@DATASETS.register_module()
class UnlabeledVideoDataset(torch.utils.data.Dataset):
    """Sequences of ``sequence_length`` consecutive frames of the videos of ``video_dir``.

    Args:
        video_dir: a folder of videos (or one video file, or a list of video files).
        sequence_length: frames per sample (``dali.base.train.sequence_length``, or
            ``dali.context.train.batch_size`` for context models).
        image_resize_dims: (height, width) or ``dict(height=, width=)`` of the model input;
            None keeps the video's size.
        imgaug: ``'dlc'`` / ``'dlc-top-down'`` (Lightning Pose's video augmentation), or
            ``'default'`` / ``'none'`` / None (resize only).
        seed: randomness of plain-index samples (``dali.general.seed``).
        context: frames added on each side of each sequence for context models (0 or 2).
        extensions: file name endings counted as videos.
        img_norm_cfg: normalization statistics (0-1 scale) the data preprocessor applies.
    """

    #: what a sample is (the registry test checks sequences, not keypoint records)
    sample_kind = 'frame_sequence'
    example_args = ExampleArgs('unlabeled-videos', _write_tiny_videos,
                               lambda root: dict(video_dir=str(root), sequence_length=4,
                                                 image_resize_dims=(16, 20), imgaug='dlc'))

    def __init__(self, video_dir: str, sequence_length: int = 16,
                 image_resize_dims: Union[Sequence[int], dict, None] = None,
                 imgaug: Optional[str] = 'dlc', seed: int = 123456, context: int = 0,
                 extensions: Sequence[str] = VIDEO_EXTENSIONS,
                 img_norm_cfg: Optional[dict] = IMAGENET_NORM):
        if not isinstance(sequence_length, int) or sequence_length < 2:
            raise ValueError(f'UnlabeledVideoDataset: sequence_length must be an integer >= 2 '
                             f'(the temporal loss compares consecutive frames), got '
                             f'{sequence_length!r}')
        if context not in (0, 1, 2):
            raise ValueError(f'UnlabeledVideoDataset: context must be 0, 1 or 2 frames, got '
                             f'{context!r}')
        if imgaug not in (None, 'none', 'default', *IMGAUG_GEOMETRIC):
            raise ValueError(f"UnlabeledVideoDataset: imgaug must be 'dlc', 'dlc-top-down', "
                             f"'default' or None (Lightning Pose augments videos only for dlc), "
                             f"got {imgaug!r}")
        self.videos = find_videos(video_dir, extensions)
        self.sequence_length, self.context = sequence_length, context
        self.augment = imgaug in IMGAUG_GEOMETRIC
        self.seed = int(seed)
        self.img_norm_cfg = dict(img_norm_cfg) if img_norm_cfg else None
        # (W, H) and frame count per video; (video, start) per sample
        self.sizes, self.frame_counts, self.sequences = [], [], []
        for v, path in enumerate(self.videos):
            source = OpenCVSource(path)
            info = source.info
            source.close()
            if not info.frame_count:
                raise ValueError(f'UnlabeledVideoDataset: {path} does not say how many frames '
                                 f'it has; convert it to MP4 (H.264)')
            self.sizes.append((info.width, info.height))
            self.frame_counts.append(info.frame_count)
            self.sequences += [(v, s * sequence_length)
                               for s in range(info.frame_count // sequence_length)]
        if not self.sequences:
            raise ValueError(f'UnlabeledVideoDataset: no video of {video_dir} has '
                             f'{sequence_length} frames (sequence_length)')
        self.input_size = _input_size(image_resize_dims)

    def __len__(self) -> int:
        return len(self.sequences)

    def resize_map(self, video: int) -> ResizeMap:
        size = self.sizes[video]
        return ResizeMap(source_size=size, input_size=self.input_size or size)

    def frame_indices(self, index: int) -> np.ndarray:
        """(T + 2c,) the video frames of sample ``index`` (edge frames repeated)."""
        video, start = self.sequences[index]
        count = self.frame_counts[video]
        indices = np.arange(start - self.context, start + self.sequence_length + self.context)
        return np.clip(indices, 0, count - 1)

    def __getitem__(self, key: SampleKey) -> dict:
        index, seed = split_key(key)
        video, start = self.sequences[index]
        resize = self.resize_map(video)
        width, height = resize.input_size
        indices = self.frame_indices(index)
        first, last = int(indices[0]), int(indices[-1])
        run = np.empty((last - first + 1, height, width, 3), np.uint8)
        read_frames(self.videos[video], first, run)
        frames = run[indices - first]
        warp = np.eye(2, 3)
        if self.augment:
            with seeded_random(seed if seed is not None else sample_seed(self.seed, 0, index)):
                frames, warp = dlc_video_augmentation(frames)
        metas = dict(video=self.videos[video], start=start, frame_indices=indices,
                     context=self.context, warp_mat=warp.astype(np.float32), resize=resize,
                     input_size=(width, height))
        if self.img_norm_cfg:
            metas['img_norm_cfg'] = self.img_norm_cfg
        if seed is not None:
            metas['sample_seed'] = seed
        img = torch.from_numpy(np.ascontiguousarray(frames.transpose(0, 3, 1, 2)))
        return dict(img=img, img_metas=metas)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}({len(self)} sequences of {self.sequence_length} frames '
                f'from {len(self.videos)} videos)')


def _input_size(dims) -> Optional[Tuple[int, int]]:
    """(width, height) of the model input from (height, width) or dict(height, width)."""
    if dims is None:
        return None
    if isinstance(dims, dict):
        dims = (dims['height'], dims['width'])
    height, width = (int(d) for d in dims)
    if height <= 0 or width <= 0:
        raise ValueError(f'image_resize_dims must be positive (height, width), got {dims}')
    return width, height


@FUNCTIONS.register_module()
def unlabeled_sequence_collate(batch: Sequence[dict]) -> dict:
    """Sequences → one batch of frames: ``img`` (U · S, 3, h, w) (S = frames per sample),
    ``img_metas`` one per frame (the sequence's dict, repeated), ``warp_mat`` (U, 2, 3) float32,
    ``sequence_length`` S."""
    lengths = {len(sample['img']) for sample in batch}
    if len(lengths) != 1:
        raise ValueError(f'unlabeled_sequence_collate: sequences of different lengths '
                         f'{sorted(lengths)} in one batch')
    length = lengths.pop()
    return dict(img=torch.cat([sample['img'] for sample in batch]),
                img_metas=[sample['img_metas'] for sample in batch for _ in range(length)],
                warp_mat=torch.stack([torch.from_numpy(sample['img_metas']['warp_mat'])
                                      for sample in batch]),
                sequence_length=length)


unlabeled_sequence_collate.example_args = dict()
#: it collates sequences (``UnlabeledVideoDataset`` samples), not images
unlabeled_sequence_collate.sample_kind = UnlabeledVideoDataset.sample_kind
