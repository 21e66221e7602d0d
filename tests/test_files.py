"""Keeping files without losing progress: order of steps, full disks, stale temporaries, umask."""
import errno
import os
import subprocess
import sys

import pytest

from posecfg.files import KeptFiles, remove_stale_temporaries, write_atomically


@pytest.fixture
def events(monkeypatch):
    """Every rename and delete, in order, as ('replace', dst name) / ('remove', name)."""
    log = []
    real_replace, real_remove = os.replace, os.remove

    def replace(src, dst):
        real_replace(src, dst)
        log.append(('replace', os.path.basename(dst)))

    def remove(path):
        real_remove(path)
        if not os.path.basename(path).endswith('.tmp'):
            log.append(('remove', os.path.basename(path)))
    monkeypatch.setattr(os, 'replace', replace)
    monkeypatch.setattr(os, 'remove', remove)
    return log


def test_new_file_and_pointer_come_before_any_deletion(tmp_path, events):
    kept = KeptFiles(tmp_path, max_keep=1, pointer='last_checkpoint')
    kept.add('epoch_1.pth', b'one')
    events.clear()
    deleted = kept.add('epoch_2.pth', b'two')
    assert events == [('replace', 'epoch_2.pth'), ('replace', 'last_checkpoint'),
                      ('remove', 'epoch_1.pth')]
    assert deleted == [str(tmp_path / 'epoch_1.pth')]
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'epoch_2.pth')
    assert sorted(os.listdir(tmp_path)) == ['epoch_2.pth', 'last_checkpoint']


def test_a_failed_write_deletes_nothing(tmp_path, monkeypatch):
    kept = KeptFiles(tmp_path, max_keep=1, pointer='last_checkpoint')
    kept.add('epoch_1.pth', b'one')

    def fail(f):
        f.write(b'partial')
        raise OSError(errno.ENOSPC, 'No space left on device')
    with pytest.raises(OSError) as e:
        kept.add('epoch_2.pth', fail)
    assert e.value.errno == errno.ENOSPC
    assert str(tmp_path / 'epoch_2.pth') in str(e.value)
    assert sorted(os.listdir(tmp_path)) == ['epoch_1.pth', 'last_checkpoint']
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'epoch_1.pth')
    assert kept.names == ['epoch_1.pth']


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs (needs root and mount rights; skipped elsewhere)."""
    mount = tmp_path / 'disk'
    mount.mkdir()
    result = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', str(mount)],
                            capture_output=True)
    if result.returncode != 0:
        pytest.skip(f'cannot mount a small tmpfs here: {result.stderr.decode().strip()}')
    yield mount
    subprocess.run(['umount', str(mount)], check=False)


def test_a_real_full_disk_names_the_path_and_keeps_the_previous_file(small_disk):
    kept = KeptFiles(small_disk, max_keep=1, pointer='last_checkpoint')
    kept.add('epoch_1.pth', b'1' * 100_000)
    with pytest.raises(OSError) as e:
        kept.add('epoch_2.pth', b'2' * 200_000)  # 300 kB do not fit
    assert e.value.errno == errno.ENOSPC
    assert f'No space left on device while writing {small_disk / "epoch_2.pth"}' in str(e.value)
    assert 'previous file' in str(e.value)
    assert sorted(os.listdir(small_disk)) == ['epoch_1.pth', 'last_checkpoint']
    assert (small_disk / 'epoch_1.pth').read_bytes() == b'1' * 100_000
    assert (small_disk / 'last_checkpoint').read_text() == str(small_disk / 'epoch_1.pth')


def test_stale_temporaries_go_but_a_live_writers_stay(tmp_path):
    dead = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                          capture_output=True, text=True).stdout.strip()
    from posecfg.files import _HOST
    stale = tmp_path / f'.epoch_3.pth.{_HOST}-{dead}.abc123.tmp'
    live = tmp_path / f'.epoch_4.pth.{_HOST}-{os.getppid()}.def456.tmp'
    other = tmp_path / 'notes.tmp'  # not ours
    for path in (stale, live, other):
        path.write_bytes(b'x')
    assert remove_stale_temporaries(tmp_path) == [str(stale)]
    assert sorted(os.listdir(tmp_path)) == sorted([live.name, other.name])


def test_files_get_the_umask_not_0600(tmp_path):
    old = os.umask(0o027)
    try:
        write_atomically(b'x', tmp_path / 'a.pth')
    finally:
        os.umask(old)
    assert oct((tmp_path / 'a.pth').stat().st_mode & 0o777) == oct(0o640)


def test_an_unwritable_directory_is_named(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('')
    with pytest.raises(OSError) as e:
        write_atomically(b'x', blocker / 'sub' / 'epoch_1.pth')
    assert str(blocker / 'sub' / 'epoch_1.pth') in str(e.value)


def test_deeplabcut_style_best_snapshot_is_renamed_or_deleted(tmp_path, events):
    """DLC: snapshot-{epoch:03d}.pt kept newest-first (max_snapshots); the previous best becomes
    a regular snapshot when its epoch is a save epoch, else it is deleted."""
    regular = KeptFiles(tmp_path, max_keep=2)
    best = 'snapshot-best-002.pt'
    for epoch in (1, 2, 3):
        regular.add(f'snapshot-{epoch:03d}.pt', b'w')
    write_atomically(b'b', tmp_path / best)
    write_atomically(b'b4', tmp_path / 'snapshot-best-004.pt')
    events.clear()
    regular.retire(best, rename_to='snapshot-004.pt')
    assert events == [('replace', 'snapshot-004.pt'), ('remove', 'snapshot-002.pt')]
    assert regular.names == ['snapshot-003.pt', 'snapshot-004.pt']
    regular.retire('snapshot-best-004.pt')
    assert sorted(os.listdir(tmp_path)) == ['snapshot-003.pt', 'snapshot-004.pt']


def test_prune_deletes_the_oldest_beyond_max_keep(tmp_path):
    names = [f'snapshot-00{e}.pt' for e in range(1, 5)]
    for name in names:
        write_atomically(b'x', tmp_path / name)
    kept = KeptFiles(tmp_path, max_keep=2, names=names)
    assert kept.prune() == [str(tmp_path / n) for n in names[:2]]
    assert sorted(os.listdir(tmp_path)) == names[2:] and kept.names == names[2:]
    assert KeptFiles(tmp_path, max_keep=-1, names=names[2:]).prune() == []
