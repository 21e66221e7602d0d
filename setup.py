import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent


def requirements(name):
    lines = (HERE / 'requirements' / name).read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith('#')]


class BuildWithConfigs(build_py):
    """Copies the config zoo (``configs/``: dataset definitions, ``_base_`` parts, every
    experiment) into the package as ``posecfg/.mim/configs``, as MMPose ships its configs, so an
    installed posecfg needs no checkout (``posecfg.zoo`` finds it). Editable installs read the
    checkout's ``configs/`` instead."""

    def run(self):
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / 'posecfg' / '.mim' / 'configs'
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(HERE / 'configs', target,
                        ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))


version = {}
exec((HERE / 'posecfg' / 'version.py').read_text(), version)

setup(
    name='posecfg',
    version=version['__version__'],
    description='2D keypoint pose estimation for bodies and animals, driven by Python config files',
    long_description=(HERE / 'README.md').read_text(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['posecfg', 'posecfg.*']),
    cmdclass={'build_py': BuildWithConfigs},
    entry_points={'console_scripts': [
        'posecfg-train=posecfg.tools.train:main',
        'posecfg-test=posecfg.tools.test:main',
        'posecfg-print-config=posecfg.tools.print_config:main',
    ]},
    python_requires='>=3.9',
    install_requires=requirements('runtime.txt'),
    extras_require={'tests': requirements('tests.txt')},
    license='Apache-2.0',
)
