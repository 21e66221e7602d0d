"""``kill -9`` while a checkpoint is being written, with ``max_keep_ckpts=1``, again and again:
``last_checkpoint`` always names a whole checkpoint, stale temporaries are cleaned up at the next
start, and training resumes from it to the end."""
import os
import signal
import subprocess
import sys
import time

import pytest

from posecfg.engine.checkpoint import load_checkpoint_file
from tiny_training import REPO, TOOLS, make_tiny


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    return make_tiny(tmp_path_factory.mktemp('tiny'))


def temporaries(folder):
    """Temporaries of checkpoints and of ``last_checkpoint`` in ``folder``."""
    return [n for n in os.listdir(folder) if n.endswith('.tmp') and
            n.startswith(('.epoch_', '.last_checkpoint'))] if folder.exists() else []


def kill_during_a_checkpoint_write(command, work, timeout=300):
    """Start ``command``; ``kill -9`` it the moment a checkpoint temporary appears in ``work``
    while a previous checkpoint exists (``last_checkpoint`` does). Returns whether it was
    killed."""
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    before = set(temporaries(work))
    deadline = time.time() + timeout
    try:
        while time.time() < deadline and process.poll() is None:
            if set(temporaries(work)) - before and (work / 'last_checkpoint').exists():
                process.send_signal(signal.SIGKILL)
                process.wait()
                return True
            time.sleep(0.0005)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return False


def test_kill_minus_nine_during_checkpoint_writes_never_loses_progress(tiny, tmp_path):
    config, _ = tiny
    work = tmp_path / 'work'
    train = [sys.executable, os.path.join(TOOLS, 'train.py'), config, '--work-dir', str(work),
             '--no-validate', '--cfg-options', 'total_epochs=6', 'checkpoint_config.interval=1',
             'checkpoint_config.max_keep_ckpts=1']
    resume = []
    left_behind = []
    epochs = []
    for _ in range(3):
        assert kill_during_a_checkpoint_write(train + resume, work), 'the run ended unkilled'
        left_behind.append(bool(temporaries(work)))
        pointer = work / 'last_checkpoint'
        assert pointer.exists(), os.listdir(work)
        last = pointer.read_text()
        assert os.path.isfile(last), f'last_checkpoint names {last}, which is gone: ' \
            f'{sorted(os.listdir(work))}'
        epochs.append(load_checkpoint_file(last)['meta']['epoch'])  # whole and readable
        resume = ['--resume-from', last]
    assert any(left_behind), 'no kill landed inside a write (nothing to clean up was left)'
    assert epochs == sorted(epochs) and epochs[0] >= 1
    result = subprocess.run(train + resume, cwd=REPO, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    if left_behind[-1]:
        assert 'temporary file(s) left by an interrupted run' in result.stdout + result.stderr
    assert not temporaries(work)
    assert sorted(n for n in os.listdir(work) if n.endswith('.pth')) == ['epoch_6.pth']
    assert (work / 'last_checkpoint').read_text() == str(work / 'epoch_6.pth')


@pytest.fixture
def small_disk(tmp_path):
    """A 14 MiB tmpfs: room for one checkpoint of the tiny model (~10 MB) but not two (needs
    root and mount rights; skipped elsewhere)."""
    mount = tmp_path / 'disk'
    mount.mkdir()
    result = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=14m', 'tmpfs', str(mount)],
                            capture_output=True)
    if result.returncode != 0:
        pytest.skip(f'cannot mount a small tmpfs here: {result.stderr.decode().strip()}')
    yield mount
    subprocess.run(['umount', '-l', str(mount)], check=False)  # the run's log may be open


def test_a_full_disk_names_the_checkpoint_and_keeps_the_previous_one(tiny, small_disk):
    import errno

    from posecfg.config import Config
    from posecfg.engine import build_runner
    config, _ = tiny
    cfg = Config.fromfile(config, ['total_epochs=2', 'checkpoint_config.max_keep_ckpts=1'])
    runner = build_runner(cfg, work_dir=str(small_disk), validate=False)
    with pytest.raises(OSError) as e:
        runner.train()
    assert e.value.errno == errno.ENOSPC
    assert f'No space left on device while writing {small_disk / "epoch_2.pth"}' in str(e.value)
    assert (small_disk / 'last_checkpoint').read_text() == str(small_disk / 'epoch_1.pth')
    assert load_checkpoint_file(str(small_disk / 'epoch_1.pth'))['meta']['epoch'] == 1
    assert not [n for n in os.listdir(small_disk) if n.endswith('.tmp')]
