"""Which checkpoint of a training folder to analyse videos with, when none is named.

DeepLabCut's rule for the default snapshot index -1 (the last of the snapshots sorted by epoch
with the best one placed last when it exists: ``deeplabcut/pose_estimation_pytorch/apis/
utils.py:174-177`` ``get_model_snapshots``, ``runners/snapshots.py:153-164``): the
``snapshot-best-NNN.pt`` if the folder has one, else the ``snapshot-NNN.pt`` of the highest
epoch. Lightning Pose (and posecfg's ``ModelCheckpointHook`` in LP runs): the newest
``epoch=E-step=S-best.ckpt`` in the folder or below it (LP keeps them in
``tb_logs/<name>/version_N/checkpoints/``). posecfg's own runs: ``best_*.pth`` (the
checkpoint hook's best, the newest if several), else ``latest.pth``, else the highest
``epoch_N.pth``.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional

__all__ = ['find_checkpoint']


def find_checkpoint(folder) -> Optional[str]:
    """The checkpoint to use in ``folder`` (see the module docstring), or None."""
    from posecfg.engine.hooks.dlc_snapshots import list_snapshots
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        return None
    snapshots = list_snapshots(folder)
    best = [s for s in snapshots if s.best]
    if best or snapshots:
        return os.path.join(folder, (best or snapshots)[-1].name)
    names = os.listdir(folder)
    best = sorted((n for n in names if n.startswith('best_') and n.endswith('.pth')),
                  key=lambda n: os.path.getmtime(os.path.join(folder, n)))
    if best:
        return os.path.join(folder, best[-1])
    if 'latest.pth' in names:
        return os.path.join(folder, 'latest.pth')
    lp_best = sorted(Path(folder).rglob('*-best.ckpt'), key=lambda p: p.stat().st_mtime)
    if lp_best:
        return str(lp_best[-1])
    epochs = [(int(m[1]), n) for n in names for m in [re.match(r'^epoch_(\d+)\.pth$', n)] if m]
    return os.path.join(folder, max(epochs)[1]) if epochs else None
