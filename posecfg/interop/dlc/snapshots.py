"""DeepLabCut 3's snapshot names and keeping rules, as pure functions for the runner hook.

Facts (deeplabcut/pose_estimation_pytorch/runners/snapshots.py ``TorchSnapshotManager`` and
data/snapshots.py, DeepLabCut 3.0.2):

* names: ``<prefix>-<epoch:03>.pt`` and ``<prefix>-best-<epoch:03>.pt``; prefix ``snapshot``
  (``snapshot-detector`` for detectors); a file matches ``^<prefix>(-best)?-\\d+\\.pt$``;
* after epoch ``e`` with metrics ``m``: if ``metrics/<key_metric>`` is in ``m``, not NaN and
  better than the best so far (strictly; larger when ``key_metric_asc``), the snapshot is saved
  as best, and the previous best is renamed to a regular snapshot when its epoch is a multiple
  of ``save_epochs``, deleted otherwise; else, when ``e % save_epochs == 0`` or ``e`` is the last
  epoch, a regular snapshot is saved (so a last epoch that is the new best is saved only as
  best);
* then, if there are ``max_snapshots`` or more regular snapshots, the oldest are deleted until
  ``max_snapshots`` remain (the best is never counted nor deleted);
* ``save_optimizer_state: false`` drops the ``optimizer`` entry from what is saved;
* listing sorts by epoch, the best last (``list_snapshots(best_in_last=True)``); a scorer's
  snapshot uid is ``<epoch>`` or ``best-<epoch>`` without padding (``Snapshot.uid``).
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Union


@dataclass(frozen=True, order=True)
class SnapshotName:
    """A snapshot file: sorts by (is best, epoch) like DeepLabCut's listing."""
    best: bool
    epoch: int
    name: str = field(compare=False)

    @property
    def uid(self) -> str:
        return f'best-{self.epoch}' if self.best else str(self.epoch)


def snapshot_filename(epoch: int, best: bool = False, prefix: str = 'snapshot') -> str:
    return f'{prefix}-best-{epoch:03}.pt' if best else f'{prefix}-{epoch:03}.pt'


def parse_snapshot(name: str, prefix: str = 'snapshot') -> Optional[SnapshotName]:
    """The snapshot a file name stands for, or None when it is not one of ``prefix``'s."""
    name = Path(name).name
    if not re.match(r'^(' + re.escape(prefix) + r'(-best)?-\d+\.pt)$', name):
        return None
    return SnapshotName('-best' in Path(name).stem, int(re.search(r'-(\d+)\.pt$', name)
                                                         .group(1)), name)


def list_snapshots(names: Sequence[Union[str, Path]], prefix: str = 'snapshot',
                   best_in_last: bool = True) -> List[SnapshotName]:
    """Snapshots among ``names`` sorted by epoch (the best last when ``best_in_last``)."""
    found = [s for s in (parse_snapshot(str(n), prefix) for n in names) if s is not None]
    key = (lambda s: (s.best, s.epoch)) if best_in_last else (lambda s: s.epoch)
    return sorted(found, key=key)


@dataclass
class SnapshotPlan:
    """What to do with the files after an epoch (names relative to the model folder)."""
    save: Optional[str] = None            # write the new snapshot under this name
    save_is_best: bool = False
    rename: Optional[tuple] = None        # (old best name, new regular name)
    delete: List[str] = field(default_factory=list)
    best_metric: Optional[float] = None   # the best metric after this epoch


def plan_snapshot_update(existing: Sequence[Union[str, Path]], epoch: int, metrics: dict,
                         best_metric: Optional[float], key_metric: Optional[str] = 'test.mAP',
                         key_metric_asc: bool = True, max_snapshots: int = 5,
                         save_epochs: int = 25, last: bool = False,
                         prefix: str = 'snapshot') -> SnapshotPlan:
    """DeepLabCut's ``TorchSnapshotManager.update`` as a plan (nothing touched here).

    Args:
        existing: file names now in the model folder.
        epoch: the epoch just finished (1-based).
        metrics: this epoch's ``metadata['metrics']`` (keys ``metrics/test.mAP``, ...).
        best_metric: the best key metric so far (None before the first).
        last: whether this is the run's last epoch.
    """
    if max_snapshots <= 0:
        raise ValueError('max_snapshots must be a positive integer (DeepLabCut asserts it)')
    if save_epochs <= 0:
        raise ValueError('save_epochs must be a positive integer')
    snaps = list_snapshots(existing, prefix)
    plan = SnapshotPlan(best_metric=best_metric)
    key = f'metrics/{key_metric}'
    value = metrics.get(key) if key_metric else None
    improved = value is not None and not math.isnan(value) and (
        best_metric is None or (value > best_metric if key_metric_asc else value < best_metric))
    after = [s.name for s in snaps]
    if improved:
        bests = [s for s in snaps if s.best]
        plan.save, plan.save_is_best, plan.best_metric = (
            snapshot_filename(epoch, True, prefix), True, float(value))
        after.append(plan.save)
        if bests:
            old = bests[-1]
            after.remove(old.name)
            if old.epoch % save_epochs == 0:
                plan.rename = (old.name, snapshot_filename(old.epoch, False, prefix))
                after.append(plan.rename[1])
            else:
                plan.delete.append(old.name)
    elif last or epoch % save_epochs == 0:
        plan.save = snapshot_filename(epoch, False, prefix)
        after.append(plan.save)
    regular = [s for s in list_snapshots(after, prefix) if not s.best]
    if len(regular) >= max_snapshots:
        plan.delete += [s.name for s in regular[:len(regular) - max_snapshots]]
    return plan


def state_to_save(state: dict, save_optimizer_state: bool) -> dict:
    """The snapshot content: ``state`` without ``optimizer`` unless it is to be kept."""
    return {k: v for k, v in state.items() if save_optimizer_state or k != 'optimizer'}


# --------------------------------------------------------------------------------------------
# Which snapshot DeepLabCut evaluates / analyses with
# --------------------------------------------------------------------------------------------

def select_snapshots(train_folder: Union[str, Path], snapshotindex: Union[int, str] = -1,
                     prefix: str = 'snapshot') -> List[Path]:
    """The snapshots of ``train_folder`` that ``snapshotindex`` picks, by DeepLabCut's rule
    (apis/utils.py ``get_model_snapshots``, DeepLabCut 3.0.1 lines 165-224):

    * the snapshots are sorted by epoch with the best one last (``list_snapshots(best_in_last=
      True)``, data/snapshots.py:47-78);
    * an int picks that position (Python indexing: the project default ``-1`` is the best
      snapshot when there is one, else the latest epoch);
    * ``'best'`` picks the best snapshot (an error when there is none);
    * ``'all'`` returns every snapshot.

    Raises:
        FileNotFoundError: the folder holds no snapshot.
        IndexError: an int index out of range, naming the snapshots found.
        ValueError: ``'best'`` without a best snapshot, or an index of another kind.
    """
    folder = Path(train_folder)
    names = os.listdir(folder) if folder.is_dir() else []
    snaps = list_snapshots(names, prefix)
    if not snaps:
        raise FileNotFoundError(f'{folder}: no {prefix}-NNN.pt or {prefix}-best-NNN.pt snapshot '
                                f'(train the shuffle first)')
    if isinstance(snapshotindex, str) and snapshotindex.strip().lower() == 'all':
        return [folder / s.name for s in snaps]
    if isinstance(snapshotindex, str) and snapshotindex.strip().lower() == 'best':
        bests = [s for s in snaps if s.best]
        if not bests:
            raise ValueError(f"{folder}: snapshotindex 'best' but there is no {prefix}-best-NNN.pt "
                             f"(found {', '.join(s.name for s in snaps)})")
        return [folder / bests[-1].name]
    if isinstance(snapshotindex, bool) or not isinstance(snapshotindex, int):
        raise ValueError(f"snapshotindex must be an int, 'best' or 'all', got {snapshotindex!r}")
    if not -len(snaps) <= snapshotindex < len(snaps):
        raise IndexError(f'{folder}: snapshotindex {snapshotindex} is out of range for the '
                         f'{len(snaps)} snapshots {", ".join(s.name for s in snaps)}')
    return [folder / snaps[snapshotindex].name]


def evaluation_snapshot(train_folder: Union[str, Path], snapshotindex: Union[int, str] = -1,
                        prefix: str = 'snapshot') -> Path:
    """The one snapshot DeepLabCut's ``evaluate_network`` / ``analyze_videos`` would load for
    ``snapshotindex`` (the project config's ``snapshotindex``, default -1): with -1,
    ``snapshot-best-NNN.pt`` if present, else the snapshot of the highest epoch. ``'all'`` is
    refused here (several snapshots): use :func:`select_snapshots`."""
    if isinstance(snapshotindex, str) and snapshotindex.strip().lower() == 'all':
        raise ValueError(f"snapshotindex 'all' names every snapshot of {train_folder}; give an "
                         f"index or 'best' to pick one")
    return select_snapshots(train_folder, snapshotindex, prefix)[0]


def shuffle_snapshot(config, shuffle: int = 1, trainset_index: int = 0,
                     snapshotindex: Union[int, str, None] = None) -> Path:
    """The snapshot of a project's shuffle that DeepLabCut evaluates (what the DeepLabCut
    translator sets ``load_from`` to): :func:`evaluation_snapshot` of
    ``dlc-models-pytorch/iteration-N/<Task><date>-trainset<pct>shuffle<k>/train`` with
    ``snapshotindex`` (None: the project's ``snapshotindex``; its ``'all'``, the template's
    default, evaluates every snapshot in DeepLabCut, and means the last one, -1, here, which
    is the best when there is one)."""
    from .project import read_project
    from .training_dataset import model_folder
    project = read_project(config)
    if snapshotindex is None:
        snapshotindex = project.cfg.get('snapshotindex', -1)
    if isinstance(snapshotindex, str) and snapshotindex.strip().lower() == 'all':
        snapshotindex = -1
    fraction = project.training_fraction(trainset_index)
    return evaluation_snapshot(model_folder(project, fraction, shuffle) / 'train', snapshotindex)
