from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def requirements(name):
    lines = (HERE / 'requirements' / name).read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith('#')]


version = {}
exec((HERE / 'posecfg' / 'version.py').read_text(), version)

setup(
    name='posecfg',
    version=version['__version__'],
    description='2D keypoint pose estimation for bodies and animals, driven by Python config files',
    long_description=(HERE / 'README.md').read_text(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['posecfg', 'posecfg.*']),
    python_requires='>=3.9',
    install_requires=requirements('runtime.txt'),
    extras_require={'tests': requirements('tests.txt')},
    license='Apache-2.0',
)
