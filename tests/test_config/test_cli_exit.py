"""How the tools end (posecfg.config.cli.cli_main): a distributed rank leaves its process group
and exits without the interpreter's teardown, with its status and its output intact."""
import os
import subprocess
import sys

import pytest

import posecfg.config.cli as cli

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_a_rank_exits_with_its_status_without_teardown(monkeypatch):
    exits = []

    def fake_exit(code):
        exits.append(code)
        raise SystemExit(code)
    monkeypatch.setattr(cli.os, '_exit', fake_exit)
    monkeypatch.setattr(cli, '_leave_process_group', lambda: True)
    with pytest.raises(SystemExit) as e:
        cli.cli_main(lambda: 3)()
    assert exits == [3] and e.value.code == 3
    monkeypatch.setattr(cli, '_leave_process_group', lambda: False)  # not distributed
    with pytest.raises(SystemExit) as e:
        cli.cli_main(lambda: None)()
    assert exits == [3] and e.value.code == 0


RANK = '''
import sys, torch.distributed as dist
from posecfg.config.cli import cli_main

def main():
    dist.init_process_group('gloo', init_method='file://' + sys.argv[1], rank=0, world_size=1)
    print('work done', flush=False)  # unflushed: the exit must flush it
    return 5

cli_main(main)()
'''


def test_a_real_gloo_rank_leaves_its_group_and_keeps_its_output(tmp_path):
    result = subprocess.run([sys.executable, '-c', RANK, str(tmp_path / 'store')],
                            capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, PYTHONPATH=REPO))
    assert result.returncode == 5, result.stderr[-2000:]
    assert result.stdout.strip() == 'work done'
    assert 'terminate called' not in result.stderr
