"""``UnlabeledVideoDataset``: sequences of the real mirror-mouse video (994 frames, 396×406,
H.264) and of tiny generated videos.

Oracles: the frames come from a plain sequential OpenCV decode (``cv2.VideoCapture.read``,
BGR→RGB, ``cv2.resize`` INTER_LINEAR), the sequences from Lightning Pose's rule (consecutive
``sequence_length`` frames, step ``sequence_length``: lightning_pose/data/video/dali.py:549-556),
the augmentation from its ``dlc`` video pipeline (dali.py:161-182: one rotation U(-10°, 10°) and
per-axis scale U(0.8, 1.2) about the centre per sequence).
"""
import math

import cv2
import numpy as np
import pytest
import torch

from posecfg.datasets.unlabeled_video import (UnlabeledVideoDataset, undo_warp,
                                              unlabeled_sequence_collate)
from posecfg.registry import DATASETS
from tests.conftest import shared_path

RESIZE = (64, 48)  # (height, width)


def mirror_video():
    return shared_path('lp-mirror-mouse', 'videos')


def decode(path, wanted, size=RESIZE):
    """{frame index: RGB frame resized to size=(h, w)} by reading the video from its start."""
    cap = cv2.VideoCapture(str(path))
    frames, index = {}, 0
    while index <= max(wanted):
        ok, frame = cap.read()
        assert ok, index
        if index in wanted:
            frame = cv2.resize(frame, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
            frames[index] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        index += 1
    cap.release()
    return frames


def test_sequences_of_the_real_video_are_its_frames():
    ds = DATASETS.build(dict(type='UnlabeledVideoDataset', video_dir=str(mirror_video()),
                             sequence_length=16, image_resize_dims=dict(height=64, width=48),
                             imgaug=None))
    assert len(ds) == 994 // 16  # the last 994 % 16 = 2 frames are not used
    order = [5, 2, 20, 0, 1]  # out of order: seeks back and forth, then a plain continuation
    wanted = {16 * i + t for i in order for t in range(16)}
    truth = decode(ds.videos[0], wanted)
    for i in order:
        sample = ds[i]
        img = sample['img'].numpy().transpose(0, 2, 3, 1)
        assert img.shape == (16, 64, 48, 3)
        np.testing.assert_array_equal(sample['img_metas']['frame_indices'],
                                      np.arange(16 * i, 16 * i + 16))
        for t in range(16):
            np.testing.assert_array_equal(img[t], truth[16 * i + t])
        assert np.array_equal(sample['img_metas']['warp_mat'], np.eye(2, 3, dtype=np.float32))
    resize = ds[0]['img_metas']['resize']
    assert resize.source_size == (396, 406) and resize.input_size == (48, 64)


def test_dlc_augmentation_is_one_recorded_warp_per_sequence():
    common = dict(video_dir=str(mirror_video()), sequence_length=4, image_resize_dims=(64, 64))
    plain = UnlabeledVideoDataset(**common, imgaug=None)
    aug = UnlabeledVideoDataset(**common, imgaug='dlc', seed=3)
    sample = aug[(10, 1234)]
    assert torch.equal(sample['img'], aug[(10, 1234)]['img'])  # same key, same sample
    assert not torch.equal(sample['img'], aug[(10, 1235)]['img'])
    assert torch.equal(aug[10]['img'], aug[10]['img'])  # plain index: from (seed, index)
    warp = sample['img_metas']['warp_mat'].astype(np.float64)
    # a rotation by |θ| <= 10° then a scale in [0.8, 1.2] per axis, about the centre
    centre = np.array([31.5, 31.5])
    np.testing.assert_allclose(warp[:, :2] @ centre + warp[:, 2], centre, atol=1e-4)
    scale = np.linalg.norm(warp[:, :2], axis=1)  # rows of diag(s) R have norm s
    assert ((scale >= 0.8) & (scale <= 1.2)).all()
    angle = math.degrees(math.atan2(warp[1, 0] / scale[1], warp[1, 1] / scale[1]))
    assert abs(angle) <= 10
    # the augmented frames are the plain frames warped by that matrix (up to brightness,
    # contrast and shot noise): strongly correlated inside the image
    frames = plain[10]['img'].numpy().transpose(0, 2, 3, 1)
    for t in range(4):
        warped = cv2.warpAffine(frames[t], warp, (64, 64), flags=cv2.INTER_LINEAR)
        got = sample['img'][t].numpy().transpose(1, 2, 0)
        inside = cv2.warpAffine(np.ones((64, 64), np.uint8), warp, (64, 64)) > 0
        r = np.corrcoef(warped[inside].ravel(), got[inside].ravel().astype(float))[0, 1]
        assert r > 0.8, (t, r)
    # predictions are mapped back exactly
    points = np.array([[[3.0, 4.0], [60.0, 10.5]]])
    moved = points @ warp[:, :2].T + warp[:, 2]
    np.testing.assert_allclose(undo_warp(moved, warp), points, atol=1e-9)
    back = undo_warp(torch.tensor(moved), torch.tensor(warp))
    np.testing.assert_allclose(back.numpy(), points, atol=1e-9)


@pytest.fixture
def tiny_videos(tmp_path):
    """Two 32×24 videos (12 and 9 frames); frame i of each has a square at x = 2 + i."""
    for name, frames in (('a.mp4', 12), ('b.avi', 9)):
        fourcc = cv2.VideoWriter_fourcc(*('mp4v' if name.endswith('mp4') else 'MJPG'))
        writer = cv2.VideoWriter(str(tmp_path / name), fourcc, 30, (32, 24))
        for i in range(frames):
            image = np.full((24, 32, 3), 40, np.uint8)
            image[6:14, 2 + i:10 + i] = 220
            writer.write(image)
        writer.release()
    (tmp_path / 'notes.txt').write_text('not a video')
    return tmp_path


def square_x(frame):
    """x of the bright square's left edge in an (3, h, w) frame."""
    return int(np.nonzero(frame[0].numpy()[10] > 128)[0][0])


def test_sequences_span_videos_and_context_repeats_edge_frames(tiny_videos):
    ds = UnlabeledVideoDataset(str(tiny_videos), sequence_length=4, imgaug=None, context=2)
    # a.mp4: 12 // 4 = 3 sequences, b.avi: 9 // 4 = 2 (its last frame unused)
    assert [(ds.videos[v].rsplit('/', 1)[1], s) for v, s in ds.sequences] == [
        ('a.mp4', 0), ('a.mp4', 4), ('a.mp4', 8), ('b.avi', 0), ('b.avi', 4)]
    first = ds[0]
    np.testing.assert_array_equal(first['img_metas']['frame_indices'], [0, 0, 0, 1, 2, 3, 4, 5])
    assert [square_x(f) for f in first['img']] == [2, 2, 2, 3, 4, 5, 6, 7]
    np.testing.assert_array_equal(ds[2]['img_metas']['frame_indices'],
                                  [6, 7, 8, 9, 10, 11, 11, 11])
    np.testing.assert_array_equal(ds[4]['img_metas']['frame_indices'], [2, 3, 4, 5, 6, 7, 8, 8])


def test_workers_give_the_same_batches(tiny_videos):
    ds = UnlabeledVideoDataset(str(tiny_videos), sequence_length=4, image_resize_dims=(16, 16))
    keys = [(i, 1000 + i) for i in range(len(ds))]

    def batches(workers):
        loader = torch.utils.data.DataLoader(
            [*keys], batch_size=2, num_workers=workers,
            collate_fn=lambda ks: unlabeled_sequence_collate([ds[k] for k in ks]))
        return [b['img'] for b in loader]
    for a, b in zip(batches(0), batches(2)):
        assert torch.equal(a, b)


def test_collated_batch_is_frames():
    samples = [dict(img=torch.full((3, 3, 4, 4), i, dtype=torch.uint8),
                    img_metas=dict(start=i, warp_mat=np.eye(2, 3, dtype=np.float32)))
               for i in range(2)]
    batch = unlabeled_sequence_collate(samples)
    assert batch['img'].shape == (6, 3, 4, 4) and batch['sequence_length'] == 3
    assert [m['start'] for m in batch['img_metas']] == [0, 0, 0, 1, 1, 1]


def test_bad_inputs_are_named(tiny_videos, tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing does not exist'):
        UnlabeledVideoDataset(str(tiny_videos / 'nothing'))
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match='no video'):
        UnlabeledVideoDataset(str(empty))
    with pytest.raises(ValueError, match='sequence_length must be an integer >= 2'):
        UnlabeledVideoDataset(str(tiny_videos), sequence_length=1)
    with pytest.raises(ValueError, match='has 13 frames'):
        UnlabeledVideoDataset(str(tiny_videos), sequence_length=13)
    with pytest.raises(ValueError, match="imgaug must be 'dlc'"):
        UnlabeledVideoDataset(str(tiny_videos), imgaug='heavy')
