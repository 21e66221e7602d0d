"""Checkpoint files: atomic writes, allow-listed loading, mmengine's log history kept safely."""
import os
import pickle

import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from posecfg.engine.checkpoint import (AtomicLocalBackend, load_checkpoint_file,
                                       write_atomically)
from posecfg.models.utils import UnsafeCheckpointError


class Exploit:
    """Unpickling this would call os.system."""

    def __reduce__(self):
        return (os.system, ('touch /tmp/posecfg-exploit-ran',))


def test_code_running_pickle_is_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': Exploit()}, path)
    if os.path.exists('/tmp/posecfg-exploit-ran'):
        os.remove('/tmp/posecfg-exploit-ran')
    with pytest.raises(UnsafeCheckpointError) as e:
        load_checkpoint_file(path)
    assert f'refusing to load {path}: its pickle needs posix.system' in str(e.value)
    assert not os.path.exists('/tmp/posecfg-exploit-ran')
    # mmengine's loader (load_from / resume_from) goes through the same check
    with pytest.raises(UnsafeCheckpointError):
        CheckpointLoader.load_checkpoint(str(path))


def test_history_buffers_round_trip_without_getattr(tmp_path):
    buffer = HistoryBuffer([0.5, 0.25], [1, 2], max_length=10)
    path = tmp_path / 'hub.pth'
    torch.save({'message_hub': {'log_scalars': {'train/loss': buffer}}}, path)
    raw = open(path, 'rb').read()
    assert b'getattr' not in raw
    loaded = load_checkpoint_file(path)['message_hub']['log_scalars']['train/loss']
    assert loaded.data[0].tolist() == [0.5, 0.25] and loaded.max_length == 10
    assert loaded.mean() == pytest.approx(0.75 / 3)  # sum of values / sum of counts


def test_missing_file():
    with pytest.raises(FileNotFoundError, match='checkpoint /nope.pth does not exist'):
        load_checkpoint_file('/nope.pth')


def test_atomic_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / 'epoch_1.pth'
    write_atomically(b'old', path)
    real_replace = os.replace

    def crash(src, dst):
        raise KeyboardInterrupt  # a kill between writing and renaming
    monkeypatch.setattr(os, 'replace', crash)
    with pytest.raises(KeyboardInterrupt):
        AtomicLocalBackend().put(b'new', str(path))
    monkeypatch.setattr(os, 'replace', real_replace)
    assert path.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['epoch_1.pth']  # no temporary left behind
    AtomicLocalBackend().put_text('text', str(tmp_path / 'last_checkpoint'))
    assert (tmp_path / 'last_checkpoint').read_text() == 'text'
