"""A non-editable install works without the repository: the wheel is built, installed into a
fresh virtual environment, and used from a folder outside the checkout.

Offline and quick: the wheel is built without build isolation (setuptools of this environment),
installed with ``--no-deps``, and the new environment sees this environment's packages (torch,
mmengine, …) through a ``.pth`` line that adds their folder after its own — a plain path, so the
checkout's editable-install hook in that folder is not run and ``import posecfg`` can only find
the installed copy. ``PYTHONPATH`` is cleared for every command.

What it shows: the package carries the config zoo (``posecfg/.mim/configs``), the console
scripts print a zoo config named by its path in the zoo exactly as the checkout resolves it, the
synthetic dataset is generated from the shipped dataset definition, and a user's config outside
the repository inherits an installed zoo config through ``_base_`` and trains one epoch.
"""
import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from posecfg.config import Config

REPO = Path(__file__).resolve().parents[2]
SEED = 'configs/body/2d_kpt_sview_rgb_img/topdown_heatmap/coco/res50_coco_256x192.py'
DEMO = 'animal/2d_kpt_sview_rgb_img/topdown_heatmap/synthetic_animal/' \
       'res18_synthetic_animal_128x128.py'
#: what setup.py and MANIFEST.in read to build the wheel
SOURCES = ('setup.py', 'MANIFEST.in', 'README.md', 'requirements', 'posecfg', 'configs')


def run(args, cwd, env, timeout=180):
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f'{args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}'
    return result.stdout


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """(python, bin folder, env) of a fresh venv holding the installed wheel."""
    tmp = tmp_path_factory.mktemp('install')
    src = tmp / 'src'
    src.mkdir()
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name,
                            ignore=shutil.ignore_patterns('__pycache__', '*.pyc', '*.egg-info'))
        else:
            shutil.copy2(path, src / name)
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'PYTHONHOME')}
    env.update(OMP_WAIT_POLICY='PASSIVE', PIP_DISABLE_PIP_VERSION_CHECK='1')
    run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation',
         '--no-index', '-q', '-w', tmp / 'dist', src], cwd=tmp, env=env)
    wheel, = (tmp / 'dist').glob('posecfg-*.whl')

    venv = tmp / 'venv'
    run([getattr(sys, '_base_executable', sys.executable), '-m', 'venv', '--without-pip', venv],
        cwd=tmp, env=env)
    bin_dir = venv / ('Scripts' if os.name == 'nt' else 'bin')
    python = bin_dir / 'python'
    own_site = Path(run([python, '-c', 'import sysconfig; print(sysconfig.get_path("purelib"))'],
                        cwd=tmp, env=env).strip())
    shared = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (own_site / 'shared_environment.pth').write_text('\n'.join(shared) + '\n')
    # --ignore-installed: pip must not touch the posecfg this environment has (it is visible
    # through the .pth line)
    run([python, '-m', 'pip', 'install', '--no-deps', '--no-index', '--ignore-installed', '-q',
         wheel], cwd=tmp, env=env)
    outside = tmp / 'outside'
    outside.mkdir()
    return dict(python=python, bin=bin_dir, env=env, cwd=outside, site=own_site)


def test_the_installed_package_is_used_with_its_zoo(installed):
    out = run([installed['python'], '-c',
               'import posecfg, posecfg.zoo, posecfg.datasets.metainfo as m; '
               'print(posecfg.__file__); print(posecfg.zoo.configs_root()); '
               'print(m.base_dataset_file("coco"))'], installed['cwd'], installed['env'])
    package, root, coco = out.split()
    assert Path(package).is_relative_to(installed['site'])
    assert Path(root) == installed['site'] / 'posecfg' / '.mim' / 'configs'
    assert Path(coco) == Path(root) / '_base_' / 'datasets' / 'coco.py'
    shipped = {p.relative_to(Path(root)) for p in Path(root).rglob('*.py')}
    in_repo = {p.relative_to(REPO / 'configs') for p in (REPO / 'configs').rglob('*.py')}
    assert shipped == in_repo


def test_console_script_prints_a_zoo_config_from_anywhere(installed):
    for name in (SEED, 'posecfg::' + SEED[len('configs/'):]):
        out = run([installed['bin'] / 'posecfg-print-config', name, '--format', 'json',
                   '--cfg-options', 'model.backbone.depth=18'],
                  installed['cwd'], installed['env'])
        expected = Config.fromfile(str(REPO / SEED), ['model.backbone.depth=18']).format('json')[0]
        assert json.loads(out) == json.loads(expected)
    help_text = run([installed['python'], '-m', 'posecfg.tools.train', '--help'],
                    installed['cwd'], installed['env'])
    assert 'Train a pose model from a config' in help_text


def test_user_config_inherits_the_zoo_and_trains(installed):
    cwd, env = installed['cwd'], installed['env']
    zoo = installed['site'] / 'posecfg' / '.mim' / 'configs'
    data = cwd / 'data'
    run([installed['python'], '-c', 'from posecfg.datasets.synthetic import generate_dataset; '
         f'generate_dataset({str(data)!r}, num_train=4, num_val=2)'], cwd, env)
    (cwd / 'my_experiment.py').write_text(
        f"_base_ = [{str(zoo / DEMO)!r}]\n"
        f"data_root = {str(data)!r}\n"
        'total_epochs = 1\n'
        'model = dict(backbone=dict(stem_channels=8, base_channels=8),\n'
        '             keypoint_head=dict(in_channels=64, num_deconv_filters=(8, 8, 8)))\n')
    run([installed['bin'] / 'posecfg-train', 'my_experiment.py', '--work-dir', 'run',
         '--cfg-options', 'data.samples_per_gpu=2', 'data.workers_per_gpu=0',
         'data.val_dataloader.samples_per_gpu=2', 'data.test_dataloader.samples_per_gpu=2',
         'runtime.threads=1', 'runtime.compile=False', 'evaluation.interval=1'], cwd, env)
    assert (cwd / 'run' / 'epoch_1.pth').is_file()
    resolved = (cwd / 'run' / 'my_experiment.py').read_text()
    assert "dataset_name='synthetic_animal'" in resolved
    assert str(data) in resolved
