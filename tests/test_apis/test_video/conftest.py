"""Short test videos made with OpenCV, fake frame sources, and a timeout helper.

The videos are small (64x48, a few dozen frames). Frame t shows, on a background whose green
level is 6 * t, a 3x3 red square centred on ``dot_position(t)``: with the lossless FFV1 codec the
decoded frames equal :func:`expected_frame` exactly, so any frame's content tells which frame it
is.
"""
import threading

import cv2
import numpy as np
import pytest

WIDTH, HEIGHT, FPS = 64, 48, 10.0


def dot_position(t):
    """(x, y) pixel of frame t's dot."""
    return 4 + (t * 3) % 56, 5 + (t * 2) % 38


def expected_frame(t, width=WIDTH, height=HEIGHT):
    """Frame t as RGB uint8 (H, W, 3)."""
    frame = np.zeros((height, width, 3), np.uint8)
    frame[:, :, 1] = (6 * t) % 256
    x, y = dot_position(t)
    frame[y - 1:y + 2, x - 1:x + 2] = (255, 0, 0)
    return frame


def write_video(path, frames, fourcc='FFV1', fps=FPS):
    """Write RGB frames with OpenCV; returns the path as str."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    assert writer.isOpened(), f'OpenCV cannot write {fourcc} to {path}'
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return str(path)


@pytest.fixture
def make_video(tmp_path):
    """``make_video(n=30, name='v.avi', fourcc='FFV1')``: the moving-dot video of n frames."""
    def make(n=30, name='moving_dot.avi', fourcc='FFV1', fps=FPS):
        return write_video(tmp_path / name, [expected_frame(t) for t in range(n)], fourcc, fps)
    return make


@pytest.fixture
def within():
    """``within(seconds, fn)``: run ``fn`` in a thread; fail if it has not returned in time,
    re-raise what it raised, else return its value."""
    def run(seconds, fn):
        outcome = {}

        def target():
            try:
                outcome['value'] = fn()
            except BaseException as exc:  # noqa: B902 (handed to the test)
                outcome['error'] = exc
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        thread.join(seconds)
        assert not thread.is_alive(), f'did not finish within {seconds} s (a hang)'
        if 'error' in outcome:
            raise outcome['error']
        return outcome.get('value')
    return run


class FakeSource:
    """A frame source of ``n`` synthetic frames; ``fail_at`` raises there, ``block_at`` waits
    on ``release`` there (a stalled decoder). Counts ``reads`` and whether it was closed."""

    def __init__(self, path, n=1000, size=(8, 6), fail_at=None, block_at=None, **_):
        from posecfg.apis.video import VideoInfo
        self.info = VideoInfo(path=path, width=size[0], height=size[1], fps=10.0,
                              frame_count=n, codec='fake', backend='fake')
        self.n, self.fail_at, self.block_at = n, fail_at, block_at
        self.release = threading.Event()
        self.reads = 0
        self.closed = False

    def read(self, out):
        t = self.reads
        if t == self.fail_at:
            raise OSError('device unplugged')
        if t == self.block_at:
            self.release.wait()
        if t >= self.n:
            return None
        self.reads += 1
        out[...] = t % 256
        return t

    def note(self):
        return ''

    def close(self):
        self.closed = True


@pytest.fixture
def fake_backend():
    """``source, backend = fake_backend(**FakeSource kwargs)``: pass ``backend`` to a reader."""
    def make(**kwargs):
        box = {}

        def backend(path, **open_kwargs):
            box['source'] = FakeSource(path, **kwargs)
            return box['source']
        return box, backend
    return make


@pytest.fixture
def synth():
    """The helpers above for tests (test modules cannot import conftest): ``expected_frame``,
    ``dot_position``, ``write_video``, ``WIDTH``, ``HEIGHT``, ``FPS``."""
    import types
    return types.SimpleNamespace(expected_frame=expected_frame, dot_position=dot_position,
                                 write_video=write_video, WIDTH=WIDTH, HEIGHT=HEIGHT, FPS=FPS)
