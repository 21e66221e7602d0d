"""run_video: per-frame rows at their frame numbers, NaN where frames did not decode."""
import io

import numpy as np
import pytest

from posecfg.apis.video import (ProgressReporter, VideoDecodeWarning, VideoReader,
                                run_video)


def find_dot(batch):
    """A stand-in model: (B, 1, 3) = the red square's centre (x, y) and score 1."""
    frames = batch.centre_frames
    red = (frames[..., 0] > 200) & (frames[..., 1] < 60)
    out = np.zeros((len(frames), 1, 3))
    for i, mask in enumerate(red):
        ys, xs = np.nonzero(mask)
        out[i, 0] = xs.mean(), ys.mean(), 1.0
    return out


def test_rows_are_the_predictions_of_each_frame(make_video, synth):
    n = 21
    calls = []
    log = io.StringIO()
    result = run_video(VideoReader(make_video(n=n), batch_size=4), find_dot,
                       on_batch_result=lambda batch, rows: calls.append((batch.indices, rows)),
                       progress=ProgressReporter(n, stream=log, interval=0))
    assert result.values.shape == (n, 1, 3) and result.values.dtype == np.float32
    want = np.array([synth.dot_position(t) for t in range(n)], np.float32)
    np.testing.assert_array_equal(result.values[:, 0, :2], want)
    assert result.decoded.all() and result.report.lost == 0
    assert [len(i) for i, _ in calls] == [4, 4, 4, 4, 4, 1]
    assert log.getvalue().splitlines()[-1].startswith('21 frames in')
    assert result.frames_per_second > 0


def test_context_batches_give_one_row_per_centre_frame(make_video, synth):
    n = 9
    result = run_video(VideoReader(make_video(n=n), batch_size=4, context=2), find_dot,
                       progress=False)
    want = np.array([synth.dot_position(t) for t in range(n)], np.float32)
    np.testing.assert_array_equal(result.values[:, 0, :2], want)


def test_lost_frames_are_nan_rows(make_video, synth):
    path = make_video(n=40, name='cut.avi')
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:int(len(data) * 0.6)])
    with pytest.warns(VideoDecodeWarning):
        result = run_video(VideoReader(path, batch_size=8), find_dot, progress=False)
    decoded = result.report.decoded
    assert result.values.shape == (40, 1, 3)  # the container's frame count
    assert result.decoded.tolist() == [True] * decoded + [False] * (40 - decoded)
    assert np.isnan(result.values[decoded:]).all()
    want = np.array([synth.dot_position(t) for t in range(decoded - 1)], np.float32)
    np.testing.assert_array_equal(result.values[:decoded - 1, 0, :2], want)


def test_more_frames_than_the_container_says_grow_the_arrays(fake_backend):
    box, backend = fake_backend(n=50)

    def open_undercounting(path, **kwargs):
        source = backend(path, **kwargs)
        source.info = type(source.info)(**{**source.info.__dict__, 'frame_count': 10})
        return source
    result = run_video(VideoReader('long.mp4', batch_size=8, backend=open_undercounting),
                       lambda batch: batch.frames[:, 0, 0, :1].astype(float), progress=False)
    assert result.values.shape == (50, 1) and result.decoded.all()
    np.testing.assert_array_equal(result.values[:, 0], np.arange(50))


def test_prediction_errors_propagate_and_stop_the_reader(make_video, fake_backend, within):
    box, backend = fake_backend(n=100_000)

    def failing(batch):
        raise MemoryError('out of memory in the model')
    with pytest.raises(MemoryError):
        within(5, lambda: run_video(VideoReader('f.mp4', batch_size=4, backend=backend),
                                    failing, progress=False))
    assert box['source'].closed
    with pytest.raises(ValueError, match=r'returned shape \(3, 2\) for a batch of 4 frames'):
        run_video(VideoReader(make_video(n=8), batch_size=4), lambda b: np.zeros((3, 2)),
                  progress=False)
