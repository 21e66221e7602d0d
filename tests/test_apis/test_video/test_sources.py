"""Frame sources: decoded content and order, frame numbering by timestamps, open errors."""
import cv2
import numpy as np
import pytest

from posecfg.apis.video import VideoOpenError, available_backends, open_video
from posecfg.apis.video.sources import FrameClock

BACKENDS = ['opencv', pytest.param('pyav', marks=pytest.mark.skipif(
    'pyav' not in available_backends(), reason='PyAV is not installed'))]


def read_all(source, shape=None):
    shape = shape or (source.info.height, source.info.width, 3)
    frames, indices = [], []
    while True:
        out = np.empty(shape, np.uint8)
        index = source.read(out)
        if index is None:
            return frames, indices
        frames.append(out)
        indices.append(index)


@pytest.mark.parametrize('backend', BACKENDS)
def test_frames_rgb_in_order_with_info(make_video, synth, backend):
    path = make_video(n=25)
    with open_video(path, backend) as source:
        info = source.info
        frames, indices = read_all(source)
    assert (info.width, info.height, info.fps, info.frame_count) == (64, 48, 10.0, 25)
    assert info.backend == backend and info.path == path
    assert indices == list(range(25))
    for t, frame in enumerate(frames):
        # lossless codec: exactly the frame written, red dot in the R channel (RGB order)
        np.testing.assert_array_equal(frame, synth.expected_frame(t))


@pytest.mark.parametrize('backend', BACKENDS)
def test_resize_into_smaller_buffer_is_cv2_resize(make_video, synth, backend):
    path = make_video(n=3)
    with open_video(path, backend, interpolation=cv2.INTER_AREA) as source:
        frames, _ = read_all(source, shape=(24, 32, 3))
    for t, frame in enumerate(frames):
        want = cv2.resize(synth.expected_frame(t), (32, 24), interpolation=cv2.INTER_AREA)
        np.testing.assert_array_equal(frame, want)


def damage_middle(path, fraction=0.4, length=300):
    data = bytearray(open(path, 'rb').read())
    start = int(len(data) * fraction)
    for k in range(start, start + length):
        data[k] ^= 0xA5
    open(path, 'wb').write(bytes(data))


@pytest.mark.parametrize('backend', BACKENDS)
def test_frames_after_a_damaged_stretch_keep_their_numbers(make_video, synth, backend):
    """Frames lost in the middle leave a gap in the indices; the frames after it are numbered by
    their timestamps, so frame content and index still agree (counting would shift them)."""
    path = make_video(n=40, name='damaged.mkv')
    damage_middle(path)
    with open_video(path, backend) as source:
        frames, indices = read_all(source)
    assert 0 < len(indices) < 40
    assert indices == sorted(set(indices)) and indices[-1] == 39
    gap = next(i for i, (a, b) in enumerate(zip(indices, indices[1:])) if b - a > 1)
    # the frame holding the damaged bytes decodes with wrong pixels (nothing can tell);
    # every other frame, before and after the gap, is exactly the frame its index names
    for t, frame in list(zip(indices, frames))[:gap] + list(zip(indices, frames))[gap + 1:]:
        np.testing.assert_array_equal(frame, synth.expected_frame(t), err_msg=f'frame {t}')


def test_frame_clock_trusts_only_forward_on_grid_timestamps():
    clock = FrameClock(fps=10.0)
    seconds = [0.0, 0.1, 0.2, 0.5, 0.5, 0.43, None, 1.0, 1.26, float('nan')]
    # 0.5 jumps (2 lost); a repeat or a step back counts on; 1.26 is off the grid (0.6 frame)
    assert [clock.next_index(s) for s in seconds] == [0, 1, 2, 5, 6, 7, 8, 10, 11, 12]
    counting = FrameClock(fps=10.0, timestamps=False)
    assert [counting.next_index(s) for s in (0.0, 0.5, 0.9)] == [0, 1, 2]
    assert [FrameClock(fps=0).next_index(s) for s in (0.0,)] == [0]


@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('case, reason', [
    ('missing', 'no such file'),
    ('directory', 'is a directory'),
    ('empty', 'the file is empty'),
    ('text', 'not a video container'),
    ('mp4_cut', "without its 'moov' box"),
])
def test_unopenable_names_file_and_reason(tmp_path, synth, backend, case, reason):
    path = tmp_path / f'{case}.mp4'
    if case == 'directory':
        path.mkdir()
    elif case == 'empty':
        path.write_bytes(b'')
    elif case == 'text':
        path.write_text('x,y\n1,2\n')
    elif case == 'mp4_cut':
        # OpenCV writes the MP4 index ('moov') last: a recording cut off has none
        full = synth.write_video(tmp_path / 'full.mp4',
                                 [synth.expected_frame(t) for t in range(20)], 'mp4v')
        data = open(full, 'rb').read()
        path.write_bytes(data[:len(data) // 2])
    with pytest.raises(VideoOpenError) as info:
        open_video(path, backend)
    assert str(path) in str(info.value) and reason in str(info.value)


def test_unknown_backend_lists_choices(make_video):
    with pytest.raises(ValueError, match="unknown video backend 'decord'.*opencv"):
        open_video(make_video(n=2), 'decord')


def test_real_videos_open_with_their_metadata(shared_path):
    """The issue's two sample videos: size and frame count as their containers declare them
    (OpenCV and PyAV agree), the first frames numbered 0, 1, 2."""
    dlc = shared_path('dlc-openfield-Pranav-2018-10-30', 'videos', 'm3v1mp4.mp4')
    lp = shared_path('lp-mirror-mouse', 'videos', 'test_vid.mp4')
    for path, want in ((dlc, (640, 480, 2330)), (lp, (396, 406, 994))):
        with open_video(path) as source:
            info = source.info
            out = np.empty((info.height, info.width, 3), np.uint8)
            assert [source.read(out) for _ in range(3)] == [0, 1, 2]
        assert (info.width, info.height, info.frame_count, info.codec) == (*want, 'h264')


def test_a_frame_of_another_size_than_declared_is_an_error():
    from posecfg.apis.video import VideoInfo
    from posecfg.apis.video.sources import _store
    info = VideoInfo(path='v.mp4', width=8, height=6, fps=10.0, frame_count=3, codec='x',
                     backend='opencv')
    out = np.empty((3, 4, 3), np.uint8)
    _store(np.zeros((6, 8, 3), np.uint8), out, cv2.INTER_LINEAR, True, info, 0)
    with pytest.raises(ValueError, match='v.mp4: frame 2 is 10x6 pixels but the stream '
                                         'declared 8x6'):
        _store(np.zeros((6, 10, 3), np.uint8), out, cv2.INTER_LINEAR, True, info, 2)
