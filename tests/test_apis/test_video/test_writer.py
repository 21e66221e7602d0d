"""Labeled videos: colours as DeepLabCut / Lightning Pose pick them, dots exactly where the
numbers say (read back from the written file), hidden points, skeleton, safe file handling."""
import os

import cv2
import matplotlib
import numpy as np
import pytest

from posecfg.apis.video import (LabeledVideoWriter, keypoint_colors, point_colors,
                                write_labeled_video)

W, H = 64, 48


def read_frames(path):
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            return frames
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))


def dot_centroid(frame, background, color):
    """Centre of the pixels that moved toward ``color``, weighted by how far they moved."""
    frame, background = frame.astype(float), background.astype(float)
    direction = np.asarray(color, float) - background[0, 0]
    weight = np.clip(((frame - background) @ direction) / (direction @ direction), 0, 1)
    ys, xs = np.mgrid[:frame.shape[0], :frame.shape[1]]
    return (weight * xs).sum() / weight.sum(), (weight * ys).sum() / weight.sum()


def test_colors_are_the_tools_colormap_samples():
    # DeepLabCut make_labeled_video.py:127-149 and Lightning Pose predictions.py:583-586:
    # ScalarMappable(cmap).to_rgba(np.linspace(0, 1, K))[:, :3] * 255, truncated to uint8
    for name, k in (('rainbow', 4), ('cool', 17), ('jet', 1), ('viridis', 2)):
        mappable = matplotlib.cm.ScalarMappable(cmap=name)
        want = (mappable.to_rgba(np.linspace(0, 1, k))[:, :3] * 255).astype(np.uint8)
        np.testing.assert_array_equal(keypoint_colors(name, k), want)
    cool = keypoint_colors('cool', 3)
    assert cool[0].tolist() == [0, 255, 255] and cool[-1].tolist() == [255, 0, 255]
    assert keypoint_colors('rainbow', 2)[0].tolist() == [127, 0, 255]  # 0.5*255 truncated
    with pytest.raises(ValueError, match="unknown colormap 'rainbw'.*rainbow"):
        keypoint_colors('rainbw', 3)


def write_one(path, keypoints, scores, frame=None, **kwargs):
    frame = np.full((H, W, 3), 40, np.uint8) if frame is None else frame
    kwargs.setdefault('num_keypoints', len(keypoints) if np.ndim(keypoints) == 2 else
                      np.shape(keypoints)[-2])
    with LabeledVideoWriter(path, fps=10, frame_size=(W, H), **kwargs) as writer:
        writer.write(frame, keypoints, scores)
    return read_frames(path)[0], frame


def test_dots_read_back_at_the_given_subpixel_positions_lossless(tmp_path):
    """lightning-pose#192: the labeled video must show the CSV's numbers. Each dot's centre,
    measured in the decoded file, is the given (x, y) to a tenth of a pixel, and its middle has
    exactly the keypoint's colour."""
    points = np.array([[10.3, 12.7], [40.9, 30.2], [25.5, 38.45]])
    colors = keypoint_colors('rainbow', 3)
    got, background = write_one(tmp_path / 'l.avi', points, [0.9, 0.99, 0.7], dotsize=3,
                                 colormap='rainbow', fourcc='FFV1')
    for (x, y), color in zip(points, colors):
        crop = (slice(int(y) - 6, int(y) + 7), slice(int(x) - 6, int(x) + 7))
        cx, cy = dot_centroid(got[crop], background[crop], color)
        assert abs(cx + crop[1].start - x) < 0.1 and abs(cy + crop[0].start - y) < 0.1, (x, y)
        assert got[int(round(y)), int(round(x))].tolist() == color.tolist()


def test_dots_in_mp4v_mp4(tmp_path):
    """The default MP4 codec is lossy; the dots still sit at the numbers (truncating to whole
    pixels, as Lightning Pose does, would put them up to 0.9 px off here)."""
    points = np.array([[12.9, 20.9], [45.6, 15.2]])
    got, background = write_one(tmp_path / 'l.mp4', points, [1, 1], dotsize=4, colormap='cool')
    for (x, y), color in zip(points, keypoint_colors('cool', 2)):
        crop = (slice(int(y) - 8, int(y) + 9), slice(int(x) - 8, int(x) + 9))
        cx, cy = dot_centroid(got[crop], background[crop], color)
        assert abs(cx + crop[1].start - x) < 0.3 and abs(cy + crop[0].start - y) < 0.3
        assert np.abs(got[int(round(y)), int(round(x))].astype(int) - color).max() < 40


def test_points_at_or_under_the_cutoff_or_nan_are_hidden(tmp_path):
    points = np.array([[10, 10], [30, 10], [50, 10], [10, 35], [np.nan, 5], [30, 35]], float)
    scores = [0.61, 0.6, 0.2, np.nan, 0.9, 0.95]
    got, background = write_one(tmp_path / 'l.avi', points, scores, pcutoff=0.6, dotsize=2,
                                fourcc='FFV1')
    changed = [not np.array_equal(got[int(y), int(x)], background[0, 0])
               for x, y in np.nan_to_num(points, nan=0)]
    assert changed == [True, False, False, False, False, True]
    assert not np.array_equal(got, background)


def test_skeleton_links_visible_pairs_in_their_color(tmp_path):
    points = np.array([[8, 24], [56, 24], [32, 44]], float)
    got, _ = write_one(tmp_path / 'l.avi', points, [1, 1, 0.1], dotsize=1.5,
                       skeleton=[(0, 1), (1, 2)], skeleton_color=(255, 255, 255), fourcc='FFV1')
    assert got[24, 32].min() > 200  # middle of link 0-1 (anti-aliased, one pixel wide)
    assert got[34, 44].tolist() == [40, 40, 40]  # link 1-2 hidden: keypoint 2 is under pcutoff


def test_several_instances_per_frame(tmp_path):
    points = np.array([[[10, 10], [20, 10]], [[40, 30], [50, 30]]], float)
    scores = np.array([[1, 1], [1, 0]])
    got, background = write_one(tmp_path / 'l.avi', points, scores, dotsize=2, fourcc='FFV1')
    drawn = [not np.array_equal(got[y, x], background[0, 0]) for x, y in [(10, 10), (20, 10),
                                                                            (40, 30), (50, 30)]]
    assert drawn == [True, True, True, False]


def test_existing_output_kept_unless_overwrite_and_no_temporary_left(tmp_path):
    path = tmp_path / 'out.mp4'
    path.write_bytes(b'old')
    with pytest.raises(FileExistsError, match='out.mp4 exists; it is kept'):
        LabeledVideoWriter(path, fps=10, frame_size=(W, H), num_keypoints=1)
    assert path.read_bytes() == b'old'
    with pytest.raises(RuntimeError):
        with LabeledVideoWriter(path, fps=10, frame_size=(W, H), num_keypoints=1,
                                overwrite=True) as writer:
            writer.write(np.zeros((H, W, 3), np.uint8), [[5, 5]], [1])
            raise RuntimeError('prediction failed half-way')
    assert path.read_bytes() == b'old' and os.listdir(tmp_path) == ['out.mp4']
    write_one(path, [[5, 5]], [1], overwrite=True)
    assert len(read_frames(path)) == 1 and os.listdir(tmp_path) == ['out.mp4']


def test_writer_checks_its_inputs(tmp_path):
    with pytest.raises(ValueError, match="cannot write codec 'avc1'"):
        LabeledVideoWriter(tmp_path / 'a.mp4', fps=10, frame_size=(W, H), num_keypoints=1,
                           fourcc='avc1')
    with pytest.raises(ValueError, match=r'skeleton link \(0, 3\)'):
        LabeledVideoWriter(tmp_path / 'b.mp4', fps=10, frame_size=(W, H), num_keypoints=2,
                           skeleton=[(0, 3)])
    with LabeledVideoWriter(tmp_path / 'c.mp4', fps=10, frame_size=(W, H),
                            num_keypoints=1) as writer:
        with pytest.raises(ValueError, match=r'frame 0 is \(10, 10, 3\)'):
            writer.write(np.zeros((10, 10, 3), np.uint8), [[1, 1]], [1])
        writer.write(np.zeros((H, W, 3), np.uint8), [[1, 1]], [1])
    assert [f for f in os.listdir(tmp_path)] == ['c.mp4']


def test_write_labeled_video_draws_row_t_on_frame_t(make_video, synth, tmp_path):
    """The predictions are the dots' true positions (shifted 0.4 px); the labeled video's dots
    sit on them, frame by frame."""
    n = 12
    video = make_video(n=n)
    truth = np.array([synth.dot_position(t) for t in range(n)], float) + 0.4
    keypoints, scores = truth[:, None, :], np.ones((n, 1))
    out = tmp_path / 'labeled.avi'
    assert write_labeled_video(video, keypoints, scores, out, fourcc='FFV1', dotsize=2,
                               colormap='cool') == str(out)
    frames = read_frames(out)
    assert len(frames) == n
    color = keypoint_colors('cool', 1)[0]
    for t, frame in enumerate(frames):
        x, y = truth[t]
        crop = (slice(max(int(y) - 5, 0), int(y) + 6), slice(max(int(x) - 5, 0), int(x) + 6))
        background = np.zeros_like(frame[crop])
        background[...] = synth.expected_frame(t)[0, 0]  # the dot covers the red square
        cx, cy = dot_centroid(frame[crop], background, color)
        assert abs(cx + crop[1].start - x) < 0.15 and abs(cy + crop[0].start - y) < 0.15
    # an existing output is kept: nothing is decoded or written, None says so
    before = os.path.getmtime(out)
    assert write_labeled_video(video, keypoints, scores, out, fourcc='FFV1') is None
    assert os.path.getmtime(out) == before


def dlc_colors(colormap, n):
    """DeepLabCut's colours for n names/individuals (make_labeled_video.py:127,145-149)."""
    mappable = matplotlib.cm.ScalarMappable(cmap=colormap)
    return (mappable.to_rgba(np.linspace(0, 1, n))[:, :3] * 255).astype(np.uint8)


def test_point_colors_follow_deeplabcuts_color_by():
    # a 4-level H5 of 3 individuals x 2 bodyparts + 1 unique bodypart ('single'):
    # bodypart: nbodyparts = 3 names (2 + 1 unique); individual: nindividuals = 4 (single too)
    by_part = point_colors('rainbow', 2, 3, 1, 'bodypart')
    names = dlc_colors('rainbow', 3)
    np.testing.assert_array_equal(by_part, names[[0, 1, 0, 1, 0, 1, 2]])
    by_id = point_colors('rainbow', 2, 3, 1, 'individual')
    ids = dlc_colors('rainbow', 4)
    np.testing.assert_array_equal(by_id, ids[[0, 0, 1, 1, 2, 2, 3]])
    # without unique bodyparts nothing is added for 'single'
    np.testing.assert_array_equal(point_colors('cool', 2, 2, 0, 'individual'),
                                  dlc_colors('cool', 2)[[0, 0, 1, 1]])
    with pytest.raises(ValueError, match="'bodypart' or 'individual'.*'animal'"):
        point_colors('rainbow', 2, 2, 0, 'animal')


def test_color_by_individual_with_unique_bodyparts_read_back_exactly(tmp_path):
    """Every visible point's pixel has its individual's colour (lossless FFV1); points at or
    under pcutoff are not drawn; the skeleton links each individual's own keypoints."""
    keypoints = np.array([[[8, 8], [24, 8]], [[8, 30], [24, 30]]], float)  # (N=2, K=2, 2)
    scores = np.array([[0.9, 0.8], [0.95, 0.5]])  # individual 1's keypoint 1 hidden
    unique = np.array([[50, 20, 0.7]])
    path = tmp_path / 'id.avi'
    frame = np.full((H, W, 3), 40, np.uint8)
    with LabeledVideoWriter(path, fps=10, frame_size=(W, H), num_keypoints=2, dotsize=2,
                            fourcc='FFV1', color_by='individual', num_individuals=2,
                            num_unique=1, skeleton=[(0, 1)],
                            skeleton_color=(255, 255, 255)) as writer:
        writer.write(frame, keypoints, scores, unique)
    got = read_frames(path)[0]
    colors = dlc_colors('rainbow', 3)  # two individuals and 'single'
    assert got[8, 8].tolist() == got[8, 24].tolist() == colors[0].tolist()
    assert got[30, 8].tolist() == colors[1].tolist()
    assert got[30, 24].tolist() == [40, 40, 40]  # 0.5 <= pcutoff 0.6
    assert got[20, 50].tolist() == colors[2].tolist()  # the unique bodypart, 'single'
    assert got[8, 16].min() > 200  # individual 0's link
    assert got[30, 16].tolist() == [40, 40, 40]  # individual 1's link: one end hidden
    assert got[19, 16].tolist() == [40, 40, 40]  # no link across individuals
    with pytest.raises(ValueError, match='3 instances.*num_individuals=2'):
        with LabeledVideoWriter(tmp_path / 'x.avi', fps=10, frame_size=(W, H),
                                num_keypoints=2, fourcc='FFV1', color_by='individual',
                                num_individuals=2) as writer:
            writer.write(frame, np.zeros((3, 2, 2)), np.ones((3, 2)))


def write_frames(path, rows, background=40, **kwargs):
    """One frame per (keypoints (K, 2), scores (K,)) row on a grey frame; frames read back."""
    frame = np.full((H, W, 3), background, np.uint8)
    with LabeledVideoWriter(path, fps=10, frame_size=(W, H), fourcc='FFV1',
                            num_keypoints=len(rows[0][0]), **kwargs) as writer:
        for keypoints, scores in rows:
            writer.write(frame, keypoints, scores)
    return read_frames(path)


def test_trailpoints_show_the_previous_frames_visible_positions(tmp_path):
    color = keypoint_colors('rainbow', 1)[0].tolist()
    rows = [([[10 + 10 * t, 20]], [0.1 if t == 2 else 0.9]) for t in range(5)]
    frames = write_frames(tmp_path / 't.avi', rows, dotsize=2, trailpoints=2)

    def dots(frame):
        return [x for x in (10, 20, 30, 40, 50) if frame[20, x].tolist() == color]
    assert dots(frames[0]) == [10]
    assert dots(frames[1]) == [10, 20]
    assert dots(frames[2]) == []  # the point itself hidden: no trail either
    assert dots(frames[3]) == [20, 40]  # frame 2's position is under the cutoff
    assert dots(frames[4]) == [40, 50]  # two previous frames, not three
    plain = write_frames(tmp_path / 'p.avi', rows, dotsize=2)
    assert [dots(f) for f in plain] == [[10], [20], [], [40], [50]]
    with pytest.raises(ValueError, match='trailpoints must be a whole number'):
        write_frames(tmp_path / 'bad.avi', rows, trailpoints=-1)


def test_trails_keep_each_point_when_a_frame_has_fewer_individuals(tmp_path):
    """Frame 0 has 2 individuals, frame 1 only individual 0: the unique bodypart's trail stays
    at its own previous position, not at individual 1's."""
    path = tmp_path / 'fewer.avi'
    frame = np.full((H, W, 3), 40, np.uint8)
    with LabeledVideoWriter(path, fps=10, frame_size=(W, H), num_keypoints=1, dotsize=2,
                            fourcc='FFV1', num_individuals=2, num_unique=1,
                            trailpoints=1) as writer:
        writer.write(frame, np.array([[[10, 20]], [[30, 20]]], float), np.full((2, 1), 0.9),
                     np.array([[50, 20, 0.9]]))
        writer.write(frame, np.array([[[10, 40]]], float), np.full((1, 1), 0.9),
                     np.array([[50, 40, 0.9]]))
    got = read_frames(path)[1]
    assert got[20, 50].tolist() == got[40, 50].tolist() != [40, 40, 40]  # the unique's trail
    assert got[20, 30].tolist() == [40, 40, 40]  # individual 1 is gone: no trail


def test_confidence_to_alpha_blends_the_dot_only(tmp_path):
    color = keypoint_colors('rainbow', 2)[0].astype(float)
    rows = [([[15, 20], [40, 20]], [0.8, 0.95])]
    frame, = write_frames(tmp_path / 'a.avi', rows, dotsize=3, skeleton=[(0, 1)],
                          confidence_to_alpha=lambda s: 0.5 if s < 0.9 else 1.0)
    want = 0.5 * color + 0.5 * 40
    assert np.abs(frame[18, 15] - want).max() <= 1  # half transparent (off the link)
    assert frame[20, 40].tolist() == keypoint_colors('rainbow', 2)[1].tolist()  # opaque
    assert frame[20, 28].min() >= 230  # the white link stays opaque (anti-aliased)
    with pytest.raises(TypeError, match='confidence_to_alpha must be a function'):
        write_frames(tmp_path / 'bad.avi', rows, confidence_to_alpha=True)


def test_frames_to_plot_and_keypoints_only(make_video, synth, tmp_path):
    n = 6
    video = make_video(n=n)
    keypoints = np.tile([[[30.0, 24.0]]], (n, 1, 1))
    scores = np.ones((n, 1))
    color = keypoint_colors('rainbow', 1)[0].tolist()
    out = tmp_path / 'some.avi'
    write_labeled_video(video, keypoints, scores, out, fourcc='FFV1', dotsize=2,
                        frames=[4, 1])
    frames = read_frames(out)
    assert len(frames) == 2  # frames 1 and 4 only, in video order
    for frame, t in zip(frames, (1, 4)):
        assert frame[0, 0].tolist() == synth.expected_frame(t)[0, 0].tolist()
        assert frame[24, 30].tolist() == color
    with pytest.raises(ValueError, match=r'frames \[6\] to plot are outside.*0\.\.5'):
        write_labeled_video(video, keypoints, scores, tmp_path / 'x.avi', fourcc='FFV1',
                            frames=[0, 6])
    black = tmp_path / 'black.avi'
    write_labeled_video(video, keypoints, scores, black, fourcc='FFV1', dotsize=2,
                        keypoints_only=True)
    frames = read_frames(black)
    assert len(frames) == n
    for frame in frames:
        assert frame[24, 30].tolist() == color
        assert frame[:, :20].max() == 0 and frame[:18].max() == 0  # nothing of the video
