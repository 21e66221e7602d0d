"""DeepLabCut 3's Python API, in its call shape, run by posecfg.

::

    from posecfg.apis import dlc
    dlc.create_training_dataset('/project/config.yaml', num_shuffles=1, net_type='resnet_50')
    dlc.train_network('/project/config.yaml', shuffle=1, epochs=5)
    dlc.evaluate_network('/project/config.yaml', Shuffles=[1], per_keypoint_evaluation=True)

The signatures follow DeepLabCut 3.0.1's (``deeplabcut/generate_training_dataset/
trainingsetmanipulation.py:788`` ``create_training_dataset``, ``deeplabcut/pose_estimation_pytorch/
apis/training.py:202`` ``train_network``, ``apis/evaluation.py:651`` ``evaluate_network``) for the
arguments posecfg acts on; the rest are not accepted (an unknown keyword is Python's error, not
silently ignored). What runs is posecfg's: the project's shuffle is translated into a posecfg
config (:func:`posecfg.interop.dialects.load_dialect_config` with the ``dlc_project`` dialect),
built with :func:`posecfg.engine.build_runner` and trained or tested; the files written are
DeepLabCut's (snapshots in ``dlc-models-pytorch/.../train``, ``learning_stats.csv``, the
evaluation results of :class:`~posecfg.engine.hooks.DLCEvaluationHook`).

Overrides are given in DeepLabCut's key names, as DeepLabCut's ``pytorch_cfg_updates``
(``{'runner.optimizer.params.lr': 1e-4}``) or posecfg's ``cfg_options`` list
(``['train_settings.epochs=5']``); ``epochs``, ``batch_size``, ``save_epochs``,
``max_snapshots_to_keep`` and ``display_iters`` become the keys DeepLabCut sets for them
(training.py:305-327).
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

PathLike = Union[str, Path]

#: train_network's arguments → the pytorch_config.yaml key DeepLabCut sets from them
TRAIN_ARGUMENT_KEYS = {
    'epochs': 'train_settings.epochs',
    'batch_size': 'train_settings.batch_size',
    'save_epochs': 'runner.snapshots.save_epochs',
    'max_snapshots_to_keep': 'runner.snapshots.max_snapshots',
    'display_iters': 'train_settings.display_iters',
}


def create_training_dataset(config: PathLike, num_shuffles: int = 1,
                            Shuffles: Optional[Sequence[int]] = None,  # noqa: N803 (DLC's name)
                            userfeedback: bool = True,
                            trainIndices: Optional[Sequence[Sequence[int]]] = None,  # noqa: N803
                            testIndices: Optional[Sequence[Sequence[int]]] = None,  # noqa: N803
                            net_type: Optional[str] = None,
                            weight_init: Optional[Dict[str, Any]] = None
                            ) -> List[Tuple[float, int, Tuple[Any, Any]]]:
    """Create shuffles as DeepLabCut does (one per shuffle and ``TrainingFraction``).

    Shuffle indices: ``Shuffles``, or ``num_shuffles`` new ones after the highest existing
    (``validate_shuffles``, trainingsetmanipulation.py:1383-1395). With ``trainIndices`` /
    ``testIndices`` (one list per shuffle) the given splits are used instead, each shuffle's
    fraction being the one its split makes (:1123-1136). ``userfeedback=True`` refuses to
    replace an existing shuffle (DeepLabCut raises too); False overwrites it.

    Returns:
        DeepLabCut's ``splits``: ``(train fraction, shuffle, (train indices, test indices))``.
    """
    from posecfg.interop.dlc.create_dataset import create_training_dataset as create
    from posecfg.interop.dlc.project import read_project
    from posecfg.interop.dlc.training_dataset import read_trainset_metadata
    project = read_project(config)
    if Shuffles is None:
        existing = [e.index for e in read_trainset_metadata(project)]
        first = max(existing) + 1 if existing else 1
        Shuffles = list(range(first, first + int(num_shuffles)))  # noqa: N806
    Shuffles = [int(s) for s in Shuffles]  # noqa: N806
    splits = []
    if trainIndices is None and testIndices is None:
        for index, _ in enumerate(project.training_fractions):
            for shuffle in Shuffles:
                made = create(project, shuffle=shuffle, trainset_index=index, net_type=net_type,
                              overwrite=not userfeedback, weight_init=weight_init)
                splits.append((made.train_fraction, shuffle, (made.train_indices,
                                                               made.test_indices)))
        return splits
    if trainIndices is None or testIndices is None or \
            not len(trainIndices) == len(testIndices) == len(Shuffles):
        raise ValueError(f'give trainIndices and testIndices with one split per shuffle '
                         f'({len(Shuffles)} shuffles: {Shuffles})')
    for shuffle, train, test in zip(Shuffles, trainIndices, testIndices):
        fraction = round(len(train) / (len(train) + len(test)), 2)
        fractions = [round(f, 2) for f in project.training_fractions]
        if fraction not in fractions:
            raise ValueError(f'shuffle {shuffle}: the split trains on {fraction:.0%} of the '
                             f'images, which is not one of the project\'s TrainingFraction '
                             f'{project.training_fractions}; add it to config.yaml first')
        made = create(project, shuffle=shuffle, trainset_index=fractions.index(fraction),
                      net_type=net_type, train_indices=train, test_indices=test,
                      overwrite=not userfeedback, weight_init=weight_init)
        splits.append((made.train_fraction, shuffle, (made.train_indices, made.test_indices)))
    return splits


def load_shuffle_config(config: PathLike, shuffle: int = 1, trainingsetindex: int = 0,
                        cfg_options: Sequence[str] = (),
                        pytorch_cfg_updates: Optional[Mapping[str, Any]] = None,
                        work_dir: Optional[PathLike] = None, **settings):
    """The posecfg config of a project's shuffle (the ``dlc_project`` translator), with
    DeepLabCut-named overrides: ``settings`` (keys of :data:`TRAIN_ARGUMENT_KEYS`, None
    ignored), ``pytorch_cfg_updates`` and ``cfg_options``, in that order."""
    from posecfg.interop.dialects import load_dialect_config
    options = [_option(TRAIN_ARGUMENT_KEYS[name], value) for name, value in settings.items()
               if value is not None]
    options += [_option(key, value) for key, value in (pytorch_cfg_updates or {}).items()]
    options += list(cfg_options)
    extra = []
    if work_dir is not None:
        from posecfg.config.cli import flag_override
        extra.append(flag_override('work_dir', 'work_dir', str(work_dir)))
    return load_dialect_config('dlc_project', config, options, extra, shuffle=int(shuffle),
                               trainset_index=int(trainingsetindex))


def train_network(config: PathLike, shuffle: int = 1, trainingsetindex: int = 0,
                  snapshot_path: Optional[PathLike] = None, batch_size: Optional[int] = None,
                  epochs: Optional[int] = None, save_epochs: Optional[int] = None,
                  display_iters: Optional[int] = None,
                  max_snapshots_to_keep: Optional[int] = None,
                  pytorch_cfg_updates: Optional[Mapping[str, Any]] = None,
                  cfg_options: Sequence[str] = (), work_dir: Optional[PathLike] = None):
    """Train shuffle ``shuffle`` of the project (DeepLabCut's ``train_network``).

    ``snapshot_path`` resumes from a snapshot (DeepLabCut's argument; posecfg's
    ``resume_from``). Returns the runner after training.
    """
    from posecfg.engine import build_runner
    options = list(cfg_options)
    if snapshot_path is not None:
        options.append(_option('resume_training_from', str(snapshot_path)))
    cfg = load_shuffle_config(config, shuffle, trainingsetindex, options, pytorch_cfg_updates,
                              work_dir, epochs=epochs, batch_size=batch_size,
                              save_epochs=save_epochs, display_iters=display_iters,
                              max_snapshots_to_keep=max_snapshots_to_keep)
    runner = build_runner(cfg)
    runner.train()
    return runner


def evaluate_network(config: PathLike, Shuffles: Sequence[int] = (1,),  # noqa: N803
                     trainingsetindex: Union[int, str] = 0,
                     snapshotindex: Union[int, str, None] = None,
                     plotting: Union[bool, str] = False,
                     per_keypoint_evaluation: bool = False,
                     snapshots_to_evaluate: Optional[Sequence[str]] = None,
                     pcutoff: Union[float, Sequence[float], Mapping[str, float], None] = None,
                     cfg_options: Sequence[str] = (), shuffles: Optional[Sequence[int]] = None
                     ) -> List[Dict[str, float]]:
    """Evaluate shuffles as DeepLabCut's ``evaluate_network`` does: for every training-set
    index (``'all'``: each ``TrainingFraction``) and shuffle, the snapshots picked by
    ``snapshotindex`` (None: the project's; ``'all'`` every one; see
    :func:`posecfg.interop.dlc.snapshots.select_snapshots`) or named by
    ``snapshots_to_evaluate`` (``['snapshot-050', ...]``), each tested with a
    :class:`~posecfg.engine.hooks.DLCEvaluationHook` writing DeepLabCut's result files.
    ``pcutoff`` as DeepLabCut takes it (a dict maps bodyparts, missing ones 0.6).
    ``shuffles`` is an alias of ``Shuffles``.

    Returns:
        the test metrics of every evaluation, in order.
    """
    from posecfg.engine import build_runner
    from posecfg.interop.dlc.project import read_project
    from posecfg.interop.dlc.snapshots import select_snapshots
    from posecfg.interop.dlc.training_dataset import model_folder
    project = read_project(config)
    if shuffles is not None:
        Shuffles = shuffles  # noqa: N806
    indices = (range(len(project.training_fractions)) if trainingsetindex == 'all'
               else [int(trainingsetindex)])
    if snapshotindex is None:
        snapshotindex = project.cfg.get('snapshotindex', -1)
    if isinstance(pcutoff, Mapping):
        pcutoff = [float(pcutoff.get(b, 0.6))
                   for b in project.bodyparts + project.unique_bodyparts]
    results = []
    for index in indices:
        fraction = project.training_fraction(index)
        for shuffle in Shuffles:
            train = model_folder(project, fraction, int(shuffle)) / 'train'
            snapshots = select_snapshots(train, 'all' if snapshots_to_evaluate else
                                         snapshotindex)
            if snapshots_to_evaluate:
                wanted = {Path(s).stem for s in snapshots_to_evaluate}
                snapshots = [s for s in snapshots if s.stem in wanted]
                if len(snapshots) != len(wanted):
                    raise FileNotFoundError(
                        f'{train}: snapshots_to_evaluate {sorted(wanted)} are not all there '
                        f'(found {[s.stem for s in select_snapshots(train, "all")]})')
            base = load_shuffle_config(config, int(shuffle), index, cfg_options)
            for snapshot in snapshots:
                hook = dict(type='DLCEvaluationHook', project_path=str(project.config_path),
                            shuffle=int(shuffle), trainset_index=index,
                            snapshot_path=str(snapshot), per_keypoint=per_keypoint_evaluation,
                            plot=bool(plotting), pcutoff=pcutoff)
                cfg = with_evaluation_hook(base, hook)
                runner = build_runner(cfg, test=True, checkpoint=str(snapshot))
                results.append(runner.test())
    return results


def with_evaluation_hook(cfg, hook: Mapping[str, Any]):
    """A copy of ``cfg`` whose ``custom_hooks`` hold ``hook`` in place of any
    ``DLCEvaluationHook`` the translator put there."""
    from posecfg.config import Config
    data = copy.deepcopy(cfg.to_dict())
    hooks = [h for h in data.get('custom_hooks') or []
             if not (isinstance(h, dict) and h.get('type') == 'DLCEvaluationHook')]
    data['custom_hooks'] = hooks + [dict(hook)]
    return Config.fromdict(data, filename=getattr(cfg, 'filename', None))


def _option(key: str, value: Any) -> str:
    """``KEY=VALUE`` in posecfg's ``--cfg-options`` grammar, checked to read back as
    ``value``."""
    from posecfg.config.options import parse_value
    text = repr(str(value)) if isinstance(value, Path) else repr(value)
    if parse_value(text) != (str(value) if isinstance(value, Path) else value):
        raise ValueError(f'{key}: {value!r} cannot be given as a config option')
    return f'{key}={text}'
