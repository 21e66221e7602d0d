"""posecfg.interop.dialects: which translator a config file needs, and the tools' errors."""
import subprocess
import sys
from pathlib import Path

import pytest

from posecfg.config.errors import ConfigError
from posecfg.interop import dialects
from tests.conftest import shared_path

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize('parts,want', [
    (('lp-configs', 'config_mirror-mouse-example.yaml'), 'lp'),
    (('lp-configs', 'config_default.yaml'), 'lp'),
    (('dlc-openfield-Pranav-2018-10-30', 'config.yaml'), 'dlc_project'),
])
def test_sample_files_are_recognised(parts, want):
    assert dialects.detect_dialect(shared_path(*parts)) == want


def test_shuffle_config_and_posecfg_files(tmp_path):
    shuffle = tmp_path / 'pytorch_config.yaml'
    shuffle.write_text('net_type: resnet_50\ntrain_settings:\n  epochs: 2\n')
    assert dialects.detect_dialect(shuffle) == 'dlc'
    own = tmp_path / 'own.yaml'
    own.write_text('model:\n  type: TopDown\ndata:\n  samples_per_gpu: 2\n')
    assert dialects.detect_dialect(own) is None
    assert dialects.detect_dialect(REPO / 'configs' / '_base_' / 'default_runtime.py') is None
    broken = tmp_path / 'broken.yaml'
    broken.write_text('a: [1\n')
    assert dialects.detect_dialect(broken) is None  # posecfg's loader names the bad line


def test_a_project_config_needs_a_shuffle():
    path = shared_path('dlc-openfield-Pranav-2018-10-30', 'config.yaml')
    with pytest.raises(ConfigError, match='--shuffle K'):
        dialects.load_dialect_config('dlc_project', path)


def test_a_missing_translator_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(dialects.DIALECTS, 'lp', ('posecfg.interop.lp.no_such_module',
                                                  'a Lightning Pose config.yaml'))
    with pytest.raises(ConfigError, match='not supported by this version.*no_such_module'):
        dialects.load_dialect_config('lp', tmp_path / 'config.yaml')


def test_shuffle_flag_on_a_posecfg_config_is_refused():
    config = REPO / 'configs' / '_base_' / 'default_runtime.py'
    run = subprocess.run([sys.executable, str(REPO / 'tools' / 'print_config.py'), str(config),
                          '--shuffle', '1'], capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 2 and '--shuffle is for a DeepLabCut project' in run.stderr
