"""Progress lines: frames/s and ETA, periodic lines in logs, one redrawn line on a terminal."""
import io

from posecfg.apis.video import ProgressReporter
from posecfg.apis.video.progress import format_duration


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_log_gets_a_line_per_interval_with_rate_and_eta():
    clock, log = Clock(), io.StringIO()
    progress = ProgressReporter(total=1000, label='m3v1mp4.mp4', stream=log, interval=10,
                                clock=clock)
    clock.now += 30  # startup (model compile): not counted in the rate
    progress.update(100)
    for _ in range(8):  # 50 frames every 2.5 s: 20 frames/s
        clock.now += 2.5
        progress.update(50)
    clock.now += 1
    progress.close()
    lines = log.getvalue().splitlines()
    assert '\r' not in log.getvalue()
    assert lines[0] == 'm3v1mp4.mp4: 100/1000 frames (10%)'
    # 10 s after the first line: 200 more frames in 10 s → 20 frames/s, 700 left → 35 s
    assert lines[1] == 'm3v1mp4.mp4: 300/1000 frames (30%), 20.0 frames/s, ETA 0:35'
    assert lines[2] == 'm3v1mp4.mp4: 500/1000 frames (50%), 20.0 frames/s, ETA 0:25'
    assert lines[-1] == 'm3v1mp4.mp4: 500 frames in 0:51, 9.8 frames/s'
    assert len(lines) == 4


def test_terminal_redraws_one_line_and_unknown_total_has_no_eta():
    clock, tty = Clock(), Terminal()
    progress = ProgressReporter(total=None, stream=tty, clock=clock)
    assert progress.interval == 0.2
    progress.update(10)
    clock.now += 1
    progress.update(30)
    progress.close()
    text = tty.getvalue()
    assert text.startswith('\r10 frames\x1b[K\r40 frames, 30.0 frames/s\x1b[K')
    assert text.endswith('\n') and 'ETA' not in text


def test_format_duration():
    assert [format_duration(s) for s in (0, 59.6, 65, 3725.2)] == ['0:00', '1:00', '1:05',
                                                                   '1:02:05']
