"""DeepLabCut projects for the interop tests: temporary copies of the shared sample projects.

The openfield project's ``project_path`` and ``video_sets`` are placeholders; the fixture fills
them in as DeepLabCut's ``load_demo_data`` does (deeplabcut/create_project/demo_data.py:
``project_path`` = the folder, the video key ``<project>/videos/m4s1.mp4``). Images are
symlinked (tests never write them); config and label files are copied.
"""
import os
import shutil
from pathlib import Path

import pytest


def _copy_project(src: Path, dst: Path) -> Path:
    def copy(s, d):
        if s.endswith('.png') or s.endswith('.mp4'):
            os.symlink(s, d)
        else:
            shutil.copy2(s, d)
            os.chmod(d, 0o644)
    shutil.copytree(src, dst, copy_function=copy)
    return dst


@pytest.fixture
def openfield(tmp_path, shared_path) -> Path:
    """A ready copy of the openfield project; returns its folder."""
    root = _copy_project(shared_path('dlc-openfield-Pranav-2018-10-30'), tmp_path / 'openfield')
    cfg = root / 'config.yaml'
    text = cfg.read_text()
    placeholder = 'WILL BE AUTOMATICALLY UPDATED BY DEMO CODE'
    text = text.replace(f'project_path: {placeholder}', f'project_path: {root}')
    text = text.replace(f'  {placeholder}:', f'  {root}/videos/m4s1.mp4:')
    cfg.write_text(text)
    return root


def copy_synthetic_ma(shared_path, dst: Path) -> Path:
    """A ready copy of the synthetic multi-animal project at ``dst`` (project_path and the
    video key filled in)."""
    root = _copy_project(shared_path('dlc-synthetic-multianimal'), dst)
    cfg = root / 'config.yaml'
    lines = []
    for line in cfg.read_text().splitlines():
        if line.startswith('project_path:'):
            line = f'project_path: {root}'
        elif line.startswith('  /tmp/dlc-synth/synthetic-multianimal/videos/cat'):
            line = f'  {root}/videos/cat.mp4:'
        lines.append(line)
    cfg.write_text('\n'.join(lines) + '\n')
    return root


@pytest.fixture
def synthetic_ma(tmp_path, shared_path) -> Path:
    """A ready copy of the synthetic multi-animal project; returns its folder."""
    return copy_synthetic_ma(shared_path, tmp_path / 'synthetic')
