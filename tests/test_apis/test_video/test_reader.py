"""VideoReader: batches, context windows, resize, damaged and unopenable videos, and that it
never hangs (consumer stopping early, decoder exception, decoder stall)."""
import threading
import time
import warnings

import cv2
import numpy as np
import pytest

from posecfg.apis.video import (VideoDecodeError, VideoDecodeWarning, VideoOpenError,
                                VideoReader, VideoStallError)


def decoder_threads(name):
    """The reader threads decoding the file called ``name``."""
    return [t for t in threading.enumerate() if t.name == f'decode {name}']


def test_batches_are_the_frames_in_order(make_video, synth):
    path = make_video(n=23)
    with VideoReader(path, batch_size=5) as reader:
        batches = list(reader)
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    assert np.concatenate([b.indices for b in batches]).tolist() == list(range(23))
    frames = np.concatenate([b.frames for b in batches])
    assert frames.shape == (23, 48, 64, 3) and frames.dtype == np.uint8
    np.testing.assert_array_equal(frames, [synth.expected_frame(t) for t in range(23)])
    assert reader.report.decoded == 23 and reader.report.lost == 0
    assert not decoder_threads('moving_dot.avi')


@pytest.mark.parametrize('n, batch_size', [(11, 4), (3, 8), (1, 2), (12, 4)])
def test_context_windows_with_edge_padding(make_video, synth, n, batch_size):
    """Frame t's window is frames t-2 … t+2, the first/last frame repeated past the ends
    (Lightning Pose's get_context_from_sequence pads the same way)."""
    path = make_video(n=n)
    with VideoReader(path, batch_size=batch_size, context=2) as reader:
        batches = list(reader)
    assert np.concatenate([b.indices for b in batches]).tolist() == list(range(n))
    for batch in batches:
        assert batch.frames.shape == (len(batch) + 4, 48, 64, 3)
        windows = batch.windows()
        assert windows.shape == (len(batch), 5, 48, 64, 3)
        for t, window in zip(batch.indices, windows):
            for k, offset in enumerate(range(-2, 3)):
                source = min(max(t + offset, 0), n - 1)
                np.testing.assert_array_equal(window[k], synth.expected_frame(source),
                                              err_msg=f'frame {t}, offset {offset}')
        np.testing.assert_array_equal(batch.centre_frames, windows[:, 2])


def test_context_mode_decodes_each_frame_once(fake_backend):
    box, backend = fake_backend(n=50)
    with VideoReader('fake.mp4', batch_size=8, context=2, backend=backend) as reader:
        indices = np.concatenate([b.indices for b in reader])
    assert indices.tolist() == list(range(50))
    assert box['source'].reads == 50 and box['source'].closed


@pytest.mark.parametrize('interpolation, tolerance', [
    (cv2.INTER_LINEAR_EXACT, 0.25),  # uint8 rounding: half a grey level, a quarter pixel
    (cv2.INTER_LINEAR, 0.4),         # the default; OpenCV's fast fixed-point path is ~1 level off
])
def test_resize_and_exact_map_back(tmp_path, synth, interpolation, tolerance):
    """Through the reader, a resized frame's pixel x holds the original content at
    resize_map.to_original(x): the original's red channel is 2x (a ramp), green 2y."""
    width, height = 120, 100
    ramp = np.zeros((height, width, 3), np.uint8)
    ramp[:, :, 0] = 2 * np.arange(width)[None, :]
    ramp[:, :, 1] = 2 * np.arange(height)[:, None]
    path = synth.write_video(tmp_path / 'ramp.avi', [ramp] * 3)
    for size in [(30, 25), (48, 40), (40, 50)]:
        with VideoReader(path, batch_size=4, resize=size, interpolation=interpolation) as reader:
            frames = next(iter(reader)).frames
            resize_map = reader.resize_map
        assert frames.shape == (3, size[1], size[0], 3)
        sx, sy = width / size[0], height / size[1]
        assert resize_map.scale == (sx, sy)
        xs = np.arange(size[0], dtype=np.float64)
        ys = np.arange(size[1], dtype=np.float64)
        # the written-out map: pixel centres at whole numbers on both sides
        want_x, want_y = (xs + 0.5) * sx - 0.5, (ys + 0.5) * sy - 0.5
        grid = np.stack(np.meshgrid(xs, ys), axis=-1)  # (h, w, 2) input pixels
        mapped = resize_map.to_original(grid)
        np.testing.assert_allclose(mapped[0, :, 0], want_x)
        np.testing.assert_allclose(mapped[:, 0, 1], want_y)
        np.testing.assert_allclose(resize_map.to_input(mapped), grid, atol=1e-12)
        inner_x = (want_x >= 0) & (want_x <= width - 1)  # bilinear clamps past the borders
        inner_y = (want_y >= 0) & (want_y <= height - 1)
        found_x = frames[0, 0, :, 0] / 2.0  # where in the original each pixel sampled
        found_y = frames[0, :, 0, 1] / 2.0
        assert np.abs(found_x - want_x)[inner_x].max() <= tolerance
        assert np.abs(found_y - want_y)[inner_y].max() <= tolerance
        # x * sx without the half-pixel offset is (sx - 1) / 2 off (0.75 to 1.5 px here): the
        # test tells the two maps apart
        assert np.abs(found_x - xs * sx)[inner_x].max() > tolerance


def test_truncated_video_yields_what_decodes_and_says_what_is_lost(make_video, synth):
    path = make_video(n=40, name='cut.avi')
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:int(len(data) * 0.6)])
    with pytest.warns(VideoDecodeWarning) as caught:
        with VideoReader(path, batch_size=8) as reader:
            batches = list(reader)
    indices = np.concatenate([b.indices for b in batches])
    decoded = len(indices)
    assert 5 < decoded < 40 and indices.tolist() == list(range(decoded))
    frames = np.concatenate([b.frames for b in batches])
    for t in range(decoded - 1):  # the last one may be cut through its own data
        np.testing.assert_array_equal(frames[t], synth.expected_frame(t))
    report = reader.report
    assert (report.frame_count, report.decoded, report.lost) == (40, decoded, 40 - decoded)
    assert report.lost_ranges == [(decoded, 39)] and report.truncated
    message = str(caught[0].message)
    assert path in message and f'{40 - decoded} of 40 frames' in message
    assert f'lost frames {decoded}-39' in message and 'ends early' in message


def test_unopenable_video_raises_at_construction(tmp_path):
    path = tmp_path / 'notes.mp4'
    path.write_text('not a video')
    with pytest.raises(VideoOpenError, match=f'{path}: not a video container'):
        VideoReader(path)


def test_video_without_any_decodable_frame_is_an_error(fake_backend):
    _, backend = fake_backend(n=0)
    with pytest.raises(VideoDecodeError, match='no frame could be decoded'):
        list(VideoReader('empty.mp4', backend=backend))


def test_consumer_stopping_early_releases_the_decoder(fake_backend, within):
    """DeepLabCut#3123: its decoder blocked forever on a full queue. Here a consumer that
    breaks out after one batch (a tiny queue, thousands of frames left) ends everything."""
    box, backend = fake_backend(n=100_000)

    def consume():
        for batch in VideoReader('early.mp4', batch_size=4, queue_size=1, backend=backend):
            break  # the generator is closed here, which closes the reader
    within(5, consume)
    assert within(5, lambda: _wait_until(lambda: not decoder_threads('early.mp4')))
    assert box['source'].closed and box['source'].reads < 100


def test_exception_in_consumer_loop_stops_the_decoder(fake_backend, within):
    box, backend = fake_backend(n=100_000)

    def consume():
        with VideoReader('raise.mp4', batch_size=4, queue_size=1, backend=backend) as reader:
            for batch in reader:
                raise KeyError('model failed')
    with pytest.raises(KeyError, match='model failed'):
        within(5, consume)
    assert within(5, lambda: _wait_until(lambda: not decoder_threads('raise.mp4')))
    assert box['source'].closed


def test_decoder_exception_reaches_the_consumer(fake_backend, within):
    box, backend = fake_backend(n=100, fail_at=10)

    def consume():
        seen = []
        with pytest.raises(VideoDecodeError, match='failed after frame 9: OSError: device') as e:
            for batch in VideoReader('bad.mp4', batch_size=4, backend=backend):
                seen.extend(batch.indices.tolist())
        assert isinstance(e.value.__cause__, OSError)
        return seen
    assert within(5, consume) == list(range(8))  # the two whole batches before the failure
    assert box['source'].closed


def test_decoder_stall_raises_instead_of_hanging(fake_backend, within):
    box, backend = fake_backend(n=100, block_at=6)

    def consume():
        with pytest.raises(VideoStallError, match=r"no frame for .*last decoded frame: 5"):
            for _ in VideoReader('stuck.mp4', batch_size=4, backend=backend,
                                 stall_timeout=0.5):
                pass
    start = time.monotonic()
    within(5, consume)
    assert time.monotonic() - start < 3
    box['source'].release.set()  # let the stuck thread finish
    assert within(5, lambda: _wait_until(lambda: not decoder_threads('stuck.mp4')))


def test_slow_consumer_is_not_a_stall(fake_backend):
    _, backend = fake_backend(n=12)
    seen = 0
    for batch in VideoReader('slow.mp4', batch_size=4, backend=backend, stall_timeout=0.2):
        time.sleep(0.3)  # the model is slower than stall_timeout; the decoder just waits
        seen += len(batch)
    assert seen == 12


def test_memory_is_bounded_by_the_queue(fake_backend):
    """However long the video, the decoder is at most queue_size + 2 batches ahead (the queue,
    the batch being filled, the batch blocked in put)."""
    box, backend = fake_backend(n=5000)
    batch_size, queue_size = 8, 2
    ahead = []
    for batch in VideoReader('long.mp4', batch_size=batch_size, queue_size=queue_size,
                             backend=backend):
        if batch.indices[0] % 400 == 0:  # let the decoder run as far ahead as it can
            reads = -1
            for _ in range(100):
                if box['source'].reads == reads:
                    break
                reads = box['source'].reads
                time.sleep(0.02)
            ahead.append(reads - (batch.indices[-1] + 1))
    assert max(ahead) <= (queue_size + 2) * batch_size
    assert max(ahead) >= queue_size * batch_size  # it does decode ahead


def test_reader_iterates_once_and_checks_arguments(make_video):
    path = make_video(n=4)
    reader = VideoReader(path, batch_size=2)
    list(reader)
    with pytest.raises(RuntimeError, match='can be iterated once'):
        iter(reader)
    for kwargs, match in [(dict(batch_size=0), 'batch_size'), (dict(context=-1), 'context'),
                          (dict(resize=(10,)), 'resize'), (dict(stall_timeout=0), 'stall')]:
        with pytest.raises(ValueError, match=match):
            VideoReader(path, **kwargs)


def test_real_video_first_batches_match_direct_opencv(shared_path):
    path = shared_path('lp-mirror-mouse', 'videos', 'test_vid.mp4')
    capture = cv2.VideoCapture(str(path))
    direct = [cv2.cvtColor(capture.read()[1], cv2.COLOR_BGR2RGB) for _ in range(40)]
    capture.release()
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # nothing lost in a sound file
        with VideoReader(path, batch_size=16) as reader:
            got = []
            for batch in reader:
                got.extend(batch.frames)
                if len(got) >= 40:
                    break
    np.testing.assert_array_equal(np.stack(got[:40]), np.stack(direct))


def _wait_until(condition, timeout=4.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False
