"""A DeepLabCut 3 shuffle's ``pytorch_config.yaml`` as a posecfg config (the ``dlc`` dialect).

``tools/train.py``, ``tools/test.py`` and ``tools/print_config.py`` hand a ``pytorch_config.yaml``
(or a project ``config.yaml`` with ``--shuffle K``) to :func:`load_as_config`
(:mod:`posecfg.interop.dialects`). Steps:

1. read the YAML as DeepLabCut does (YAML 1.2, :mod:`.yaml_io`), remembering each key's line;
2. check every key against the file DeepLabCut 3.0.2 writes (the pydantic ``PoseConfig``,
   :data:`.pose_config_defaults.POSE_CONFIG`, plus ``runner.load_scheduler_state_dict`` which
   the PyTorch-config documentation (seed 002) gives): an unknown key is an error naming the
   file, the line and the close matches; absent keys take DeepLabCut's defaults;
3. apply ``--cfg-options`` in DeepLabCut's key names with posecfg's grammar
   (:func:`posecfg.config.options.parse_options`: ``KEY=VALUE`` sets an existing key, ``+KEY=``
   adds one, ``~KEY`` deletes one, a dict value merges unless it holds ``_delete_``), then check
   the tree again;
4. translate, in memory, into a posecfg config whose provenance names the YAML line (or the
   ``--cfg-options`` item) each value came from (``print_config.py --explain``);
5. apply ``extra`` (posecfg overrides from the tools' own flags: ``--work-dir``, ...).

DeepLabCut key → posecfg (a key posecfg cannot honour yet is an error that says so):

=========================================  ====================================================
``method: bu``                             ``model.type='BottomUp'`` (``td``: error, top-down
                                           DeepLabCut models are not built yet)
``model.backbone``                         :func:`~posecfg.models.backbones.named.
                                           dlc_backbone_cfg`; ``pretrained`` is True unless
                                           ``resume_training_from`` is set (DeepLabCut's
                                           ``train_network`` overrides the key the same way,
                                           apis/training.py:76-97); a ``pretrained`` key
                                           written in the file is honoured (posecfg only)
``model.heads.<name>``                     ``model.heads.<name>``: the registered posecfg part
                                           of the head's type (``dlc_parts()``: ``HeatmapHead``
                                           → ``DLCHeatmapHead``; ``DLCRNetHead``, ``DEKRHead``
                                           and their predictors, generators, criteria by
                                           DeepLabCut's own names), every key passed through
                                           and checked against the class's constructor
``model.neck``                             null only
``model.pose_model``                       accepted; DeepLabCut never reads it
(several heads)                            ``model.head_loss_reduction='mean'``: the objective
                                           is the mean of the heads' totals, as DeepLabCut's
                                           ``PoseModel.get_loss`` (models/model.py:93-102)
``data.train`` / ``data.inference``        ``data.train.pipeline`` / ``data.val|test.pipeline``
                                           (the table of :mod:`posecfg.transforms.whole_image`)
``data.train.collate``                     ``data.collate_fn`` (``seed`` = train seed)
``data.bbox_margin``                       ``DLCProjectDataset.bbox_margin``
``data.colormode``                         ``RGB`` only
``metadata.*``                             checked against the project (``with_identity``
                                           true exactly when there is an ``identity`` head)
``runner.optimizer``                       ``optimizer=dict(type=<torch.optim class>,
                                           **params)``
``runner.scheduler``                       ``param_scheduler``: ``LRListScheduler`` or
                                           ``TorchLRScheduler`` (any torch scheduler, nested)
``runner.load_scheduler_state_dict``       the scheduler's ``load_scheduler_state_dict``
``runner.eval_interval``                   ``evaluation.interval``
``runner.key_metric``, ``key_metric_asc``  ``DLCSnapshotHook`` (``test.<name>``, ``<name>``
                                           one of ``DLCRMSEMetric``'s keys)
``runner.snapshots.*``                     ``DLCSnapshotHook`` (``max_snapshots``,
                                           ``save_epochs``, ``save_optimizer_state``)
``runner.snapshot_prefix``                 ``DLCSnapshotHook.snapshot_prefix``
``train_settings.batch_size``              ``data.samples_per_gpu``
``train_settings.dataloader_workers``      ``data.workers_per_gpu``
``train_settings.dataloader_pin_memory``   ``data.pin_memory``
``train_settings.display_iters``           ``log_config.interval``
``inference.compile``, ``.autocast``       ``runtime.compile_eval``, ``runtime.autocast``
``inference.eval`` (mode, per_keypoint_    ``DLCEvaluationHook`` (``evaluate_train``,
evaluation)                                ``per_keypoint``); see ``Translator.inference``
``logger`` (``WandbLogger``)               ``log_config.hooks``: ``WandbLoggerHook`` (mmengine's
                                           ``WandbVisBackend``; wandb must be installed);
                                           TensorBoard always (``Translator.loggers``)
``train_settings.epochs``                  ``total_epochs``
``train_settings.seed``                    ``seed``
``resume_training_from``                   ``resume_from``
the train folder                           ``work_dir`` (snapshots, ``learning_stats.csv``)
=========================================  ====================================================

Evaluation is ``DLCRMSEMetric`` (``evaluation.metric=['RMSE', 'mAP']``) with the project's
``pcutoff``; its numbers are logged as DeepLabCut's ``metrics/test.<name>``
(``DLCLearningStatsHook``); a test run writes DeepLabCut's evaluation-results files
(``DLCEvaluationHook``, ``net_type`` from the file) and, without a CHECKPOINT, tests the snapshot
DeepLabCut would (:func:`evaluation_checkpoint`). Accepted with their default value only
(anything else is an error saying posecfg does not honour it yet): ``device`` (``auto``, or
the device posecfg picks anyway: ``cuda`` when there is a GPU, else ``cpu``), ``runner.type``
(``PoseTrainingRunner``), ``runner.gpus`` (one GPU at most: several run with
``tools/dist_train.sh``), ``runner.load_weights_only`` (posecfg always loads snapshots as
weights only), ``train_settings.weight_init``, ``data.gen_sampling``, ``data.loader``,
``detector``;
``with_center_keypoints`` is true only with a ``DEKRHead`` (whose generator finds the
centres). ``config_version``, ``net_type`` and ``runner.device`` (unused by DeepLabCut too) are
accepted as they are.
"""
from __future__ import annotations

import copy
import difflib
import re
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import yaml

from posecfg.config import Config
from posecfg.config.errors import ConfigError
from posecfg.config.options import ADD, DELETE, Override, parse_options
from posecfg.config.provenance import Event, Origin, Provenance
from posecfg.config.source import DELETE_KEY
from posecfg.interop.dialects import apply_tool_flag

from . import pose_config_defaults as D
from .project import DLCProject, read_project
from .training_dataset import POSE_CONFIG_NAME, percent, pose_config_path
from .yaml_io import ConfigFileError, _Yaml12Loader, load_yaml

KeyPath = Tuple[Any, ...]


class DLCConfigError(ConfigError):
    """A DeepLabCut config key posecfg refuses: unknown, ill-typed, or not honoured yet."""


#: ``runner`` keys: DeepLabCut's RunnerConfig plus the documented ``load_scheduler_state_dict``
_RUNNER = D.Schema(D.RUNNER, load_scheduler_state_dict=True)
#: the schema posecfg checks a shuffle's file against
SCHEMA = D.Schema({**D.POSE_CONFIG, 'runner': _RUNNER})
#: DLCRMSEMetric's result names (``runner.key_metric`` is ``test.<one of them>``)
METRICS = ('rmse', 'rmse_pcutoff', 'mAP', 'mAR')
#: keys accepted with their default only (module docstring), with why another value is refused
_DEFAULT_ONLY = {
    ('train_settings', 'weight_init'): 'weight initialisation from SuperAnimal models is not '
                                       'supported by posecfg yet',
    ('data', 'gen_sampling'): 'generative sampling (conditional top-down) is not supported by '
                              'posecfg yet',
    ('data', 'loader'): 'posecfg reads the shuffle with its own DLCProjectDataset',
    ('detector',): 'top-down models (a detector) are not supported by posecfg yet',
}
_DEFAULTS_OF: Dict[KeyPath, D.Schema] = {}


# ============================================================================ the YAML file
class DLCFile:
    """A ``pytorch_config.yaml``: its tree, each key's line, and the ``--cfg-options`` applied."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.tree = load_yaml(self.path)
        self.lines = _key_lines(self.path.read_text(encoding='utf-8'))
        self.options: Dict[KeyPath, Override] = {}
        self.defaulted: set = set()  # keys DeepLabCut's defaults added

    def where(self, path: KeyPath) -> str:
        """``file:line`` of the key (or its nearest ancestor written in the file)."""
        for depth in range(len(path), 0, -1):
            if path[:depth] in self.lines:
                return f'{self.path}:{self.lines[path[:depth]]}'
        return str(self.path)

    def origin(self, path: KeyPath) -> Origin:
        """Where the value at ``path`` came from: a ``--cfg-options`` item, a line of the file,
        or DeepLabCut's default."""
        for depth in range(len(path), 0, -1):
            if path[:depth] in self.options:
                option = self.options[path[:depth]]
                return Origin(option=option.text, flag=option.flag)
        for depth in range(len(path), 0, -1):
            if path[:depth] in self.lines:
                return Origin(file=str(self.path), line=self.lines[path[:depth]])
            if path[:depth] in self.defaulted:
                break
        return Origin(option=f"DeepLabCut's default of {_dotted(path)} ({self.path})")

    def error(self, path: KeyPath, message: str) -> DLCConfigError:
        origin = self.origin(path)
        where = f'{origin.flag} {origin.option!r}' if origin.flag else self.where(path)
        return DLCConfigError(f'{where}: {_dotted(path)}: {message}')


def _key_lines(text: str) -> Dict[KeyPath, int]:
    """(key path) → 1-based line of the key, for every mapping key and list item."""
    lines: Dict[KeyPath, int] = {}
    try:
        root = yaml.compose(text, Loader=_Yaml12Loader)
    except yaml.YAMLError:
        return lines

    def walk(node, path):
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                here = path + (key.value,)
                lines[here] = key.start_mark.line + 1
                walk(value, here)
        elif isinstance(node, yaml.SequenceNode):
            for i, value in enumerate(node.value):
                lines[path + (i,)] = value.start_mark.line + 1
                walk(value, path + (i,))

    walk(root, ())
    return lines


_MISSING = object()


def _get(tree, path: KeyPath):
    node = tree
    for key in path:
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and -len(node) <= key < len(node):
            node = node[key]
        else:
            return _MISSING
    return node


def _dotted(path: KeyPath) -> str:
    return '.'.join(str(k) for k in path)


def _close(name, choices, prefix: KeyPath = ()) -> str:
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=3, cutoff=0.6)
    if not close:
        return ''
    return '; did you mean ' + ', '.join(_dotted(prefix + (c,)) for c in close) + '?'


# ============================================================================ checking
def check_tree(dlc: DLCFile, fill: bool = True) -> None:
    """Check ``dlc.tree`` against :data:`SCHEMA` (unknown keys are errors); with ``fill``,
    add DeepLabCut's defaults for absent keys (remembered as defaults for provenance)."""
    if fill:
        dlc.defaulted = set()
    _check_node(dlc, dlc.tree, SCHEMA, (), fill)


def _check_node(dlc: DLCFile, value: dict, schema: D.Schema, path: KeyPath, fill: bool):
    if not isinstance(value, dict):
        raise dlc.error(path, f'must be a mapping of keys to values, found {value!r}')
    for key in value:
        if key not in schema:
            known = ', '.join(map(str, schema))
            raise dlc.error(path + (key,), f'unknown key (DeepLabCut 3 writes {known})'
                                           f'{_close(key, schema, path)}')
    for key, default in schema.items():
        here = path + (key,)
        if key not in value:
            if not fill:
                continue
            value[key] = ({} if isinstance(default, D.Schema) else
                          None if isinstance(default, D.OPTIONAL) else copy.deepcopy(default))
            dlc.defaulted.add(here)
        if isinstance(default, D.Schema):
            _check_node(dlc, value[key], default, here, fill)
        elif isinstance(default, D.OPTIONAL):
            if value[key] is not None:
                _check_node(dlc, value[key], default.schema, here, fill)
        else:
            _check_kind(dlc, value[key], default, here)


#: (kind of a default, what a value must then be, the check); a None default takes anything
_KINDS = ((bool, 'true or false', lambda v: isinstance(v, bool)),
          (int, 'an integer', lambda v: isinstance(v, int) and not isinstance(v, bool)),
          (float, 'a number', lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
          (str, 'a string', lambda v: isinstance(v, str)),
          (list, 'a list', lambda v: isinstance(v, list)),
          (dict, 'a mapping', lambda v: isinstance(v, dict)))


#: fields whose pydantic type is a union: the kinds accepted besides the default's
#: (config/inference.py EvaluationConfig)
_ALSO = {('inference', 'eval', 'pcutoff'): (list, dict),
         ('inference', 'eval', 'comparison_bodyparts'): (list,)}


def _check_kind(dlc: DLCFile, value: Any, default: Any, path: KeyPath) -> None:
    """A value of the kind of DeepLabCut's default (pydantic would refuse another; None is
    accepted where DeepLabCut's field is optional, which posecfg's translation then checks)."""
    if value is None or default is None or isinstance(value, _ALSO.get(path, ())):
        return
    for kind, what, ok in _KINDS:
        if isinstance(default, kind):
            if not ok(value):
                raise dlc.error(path, f'must be {what} (DeepLabCut\'s default is {default!r}), '
                                      f'found {value!r}')
            return


# ============================================================================ --cfg-options
def apply_options(dlc: DLCFile, overrides: Sequence[Override]) -> None:
    """Apply ``--cfg-options`` (DeepLabCut's key names) to ``dlc.tree`` in place."""
    for o in overrides:
        path = _resolve(dlc, o)
        parent, key = _get(dlc.tree, path[:-1]), path[-1]
        if o.op == DELETE:
            if isinstance(parent, list):
                parent.pop(key)
            else:
                del parent[key]
        else:
            value = copy.deepcopy(o.value)
            old = parent[key] if (isinstance(parent, dict) and key in parent) or \
                isinstance(parent, list) else None
            if isinstance(value, dict) and isinstance(old, dict) and \
                    not value.pop(DELETE_KEY, False):
                value = _merged(old, value)
            elif isinstance(value, dict):
                value.pop(DELETE_KEY, None)
            parent[key] = value
        dlc.options[path] = o
        for p in [p for p in dlc.options if len(p) > len(path) and p[:len(path)] == path]:
            del dlc.options[p]


def _merged(old: dict, new: dict) -> dict:
    out = copy.deepcopy(old)
    for k, v in new.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and not v.pop(DELETE_KEY, False):
            out[k] = _merged(out[k], v)
        else:
            out[k] = v
    return out


def _resolve(dlc: DLCFile, o: Override) -> KeyPath:
    """The key path ``o`` names in the tree; an error naming close matches when it is absent."""
    node, path = dlc.tree, ()
    where = f'{o.flag} {o.text!r}'
    for i, segment in enumerate(o.key):
        last = i == len(o.key) - 1
        if isinstance(node, list):
            try:
                index = int(segment)
            except ValueError:
                raise DLCConfigError(f'{where}: {_dotted(path)} is a list; index it by number, '
                                     f'not {segment!r}') from None
            if not -len(node) <= index < len(node):
                raise DLCConfigError(f'{where}: {_dotted(path)} has {len(node)} items; no '
                                     f'index {index}')
            path += (index % len(node),)
            node = node[index]
            continue
        if not isinstance(node, dict):
            hint = (f'; it is null here: give the whole mapping, e.g. '
                    f'{_dotted(path)}={{...}}' if node is None else '')
            raise DLCConfigError(f'{where}: {_dotted(path)} is {node!r}, not a mapping, so it has '
                                 f'no key {segment!r}{hint} ({dlc.path})')
        if segment not in node and not (last and o.op == ADD):
            raise DLCConfigError(
                f'{where}: {_dotted(path + (segment,)) } is not a key of {dlc.path} (nor a '
                f'default DeepLabCut adds){_close(segment, node, path)} (+KEY=VALUE adds a key)')
        path += (segment,)
        node = node.get(segment) if isinstance(node, dict) else None
    return path


# ============================================================================ translation
class Translator:
    """One ``pytorch_config.yaml`` (checked, options applied) → posecfg config data."""

    def __init__(self, dlc: DLCFile, project: DLCProject, shuffle: int, trainset_index: int):
        self.dlc, self.tree = dlc, dlc.tree
        self.project, self.shuffle, self.trainset_index = project, shuffle, trainset_index
        self.links: List[Tuple[KeyPath, KeyPath]] = []  # (posecfg path, DeepLabCut path)

    # -- helpers -------------------------------------------------------------------------
    def get(self, *path):
        return _get(self.tree, path)

    def link(self, ours: KeyPath, theirs: KeyPath) -> None:
        self.links.append((tuple(ours), tuple(theirs)))

    def fail(self, path: KeyPath, message: str) -> DLCConfigError:
        return self.dlc.error(tuple(path), message)

    def check_keys(self, value: Mapping, allowed: Sequence[str], path: KeyPath, what: str):
        if not isinstance(value, dict):
            raise self.fail(path, f'must be a mapping ({what}), found {value!r}')
        for key in value:
            if key not in allowed:
                raise self.fail(path + (key,), f'unknown key for {what} (it takes '
                                               f'{", ".join(allowed)}){_close(key, allowed, path)}')

    # -- the whole config ------------------------------------------------------------------
    def translate(self) -> dict:
        self.check_defaults_only()
        train_settings = self.get('train_settings')
        cfg: Dict[str, Any] = dict(
            model=self.model(),
            data=self.data(),
            optimizer=self.optimizer(),
            param_scheduler=self.scheduler(),
            total_epochs=int(train_settings['epochs']),
            seed=train_settings['seed'],
            evaluation=dict(interval=int(self.get('runner', 'eval_interval')),
                            metric=['RMSE', 'mAP']),
            log_config=dict(interval=int(train_settings['display_iters']),
                            hooks=self.loggers()),
            default_hooks=dict(checkpoint=None),  # DLCSnapshotHook writes the snapshots
            custom_hooks=self.hooks(),
            work_dir=str(self.dlc.path.parent.absolute()),
        )
        runtime = self.inference(cfg['custom_hooks'][2])
        if runtime:
            cfg['runtime'] = runtime
        for ours, theirs in (('total_epochs', 'epochs'), ('seed', 'seed')):
            self.link((ours,), ('train_settings', theirs))
        self.link(('evaluation', 'interval'), ('runner', 'eval_interval'))
        self.link(('log_config', 'interval'), ('train_settings', 'display_iters'))
        resume = self.get('resume_training_from')
        if resume is not None:
            cfg['resume_from'] = str(resume)
            self.link(('resume_from',), ('resume_training_from',))
        return cfg

    def check_defaults_only(self) -> None:
        for path, why in _DEFAULT_ONLY.items():
            value = self.get(*path)
            default = _DEFAULTS_OF.get(path)
            expected = (_schema_defaults(default) if default is not None else
                        _get(SCHEMA, path))
            if isinstance(expected, (D.Schema, D.OPTIONAL)):
                expected = None
            if value != expected:
                raise self.fail(path, f'{why}; remove the key or set it to {expected!r}')
        device = str(self.get('device'))
        if device != 'auto':
            import torch
            # posecfg trains on the GPU when there is one, else on the CPU: a device naming
            # what it would pick anyway is honoured, another is not
            picked = 'cuda' if torch.cuda.is_available() else 'cpu'
            if device.split(':')[0] != picked:
                raise self.fail(('device',), f'{device!r}: posecfg picks the device itself '
                                             f'({picked} here); only auto or {picked} is '
                                             f'honoured')
        if self.get('runner', 'type') != 'PoseTrainingRunner':
            raise self.fail(('runner', 'type'), 'only PoseTrainingRunner (pose models) is '
                                                'supported by posecfg')
        gpus = self.get('runner', 'gpus')
        if gpus is not None and not (isinstance(gpus, list) and len(gpus) <= 1):
            raise self.fail(('runner', 'gpus'), f'{gpus!r}: several GPUs run as several '
                                                f'processes in posecfg: tools/dist_train.sh '
                                                f'CONFIG N; set runner.gpus to null')
        if self.get('runner', 'load_weights_only') is False:
            raise self.fail(('runner', 'load_weights_only'),
                            'posecfg always loads snapshots as weights only (plain data); '
                            'false is not honoured')
        if self.get('with_center_keypoints'):
            # DeepLabCut appends each individual's centre keypoint for DEKR's target generator
            # (data/dataset.py); posecfg's DEKR parts compute the centres themselves
            kind = (self.get('model', 'heads', 'bodypart') or {}).get('type')
            if kind != 'DEKRHead':
                raise self.fail(('with_center_keypoints',),
                                f'center keypoints are used by DEKR heads only (the bodypart '
                                f'head is {kind!r}); set it to false')
        if self.get('data', 'colormode') != 'RGB':
            raise self.fail(('data', 'colormode'), 'posecfg feeds RGB images; other colour '
                                                   'modes are not supported yet')

    # -- inference -------------------------------------------------------------------------
    def inference(self, evaluation_hook: dict) -> dict:
        """DeepLabCut 3.0.2's ``inference`` section (config/inference.py ``InferenceConfig``)
        → posecfg's ``runtime`` switches (returned) and ``DLCEvaluationHook`` arguments (set in
        ``evaluation_hook``). DeepLabCut's inference runner reads ``multithreading``,
        ``compile`` and ``autocast`` (runners/inference.py:139-158, 494-495); its
        ``evaluate_network`` takes ``eval``'s settings as arguments (apis/evaluation.py) and
        3.0.2 reads none of ``eval``, ``snapshot``, ``output_dir`` from the file: posecfg
        honours ``eval``'s evaluation settings for ``tools/test.py`` and refuses what it cannot
        do, saying why.

        - ``compile.enabled: true`` → ``runtime.compile_eval=True`` (testing and video
          inference run ``torch.compile``'d, inductor, checked against the eager model);
          ``false`` leaves posecfg's default (compiled only for long evaluations, where it
          pays; the numbers are the eager model's up to rounding);
        - ``autocast.enabled: true`` → ``runtime.autocast='bf16'`` (``torch.autocast`` on a
          CPU is bfloat16, as DeepLabCut's ``torch.autocast(device_type)``); posecfg's runtime
          switch covers training too;
        - ``multithreading``: posecfg's video reader always decodes ahead in its own thread
          through a bounded queue (it never waits on a timeout): ``enabled: true`` with the
          default ``queue_length``/``timeout`` only;
        - ``eval.mode`` ``all`` (train and test errors) or ``test`` (test only);
          ``eval.per_keypoint_evaluation`` → ``DLCEvaluationHook.per_keypoint``;
          ``eval.pcutoff`` is the project's ``pcutoff`` (DeepLabCut's default 0.6 in the file
          defers to it);
        - ``conditions`` (CTD), ``snapshot``, ``output_dir``, ``eval.comparison_bodyparts``
          (a subset), ``eval.force_multi_animal``: errors.
        """
        where = ('inference',)
        inf = self.get(*where)
        defaults = _schema_defaults(D.INFERENCE)
        runtime = {}
        if inf['compile']['enabled']:
            backend = inf['compile']['backend']
            if backend != 'inductor':
                raise self.fail(where + ('compile', 'backend'),
                                f'{backend!r}: posecfg compiles evaluation with inductor (its '
                                f'weights frozen, checked against the eager model); set '
                                f'inductor')
            runtime['compile_eval'] = True
            self.link(('runtime', 'compile_eval'), where + ('compile', 'enabled'))
        if inf['autocast']['enabled']:
            runtime['autocast'] = 'bf16'
            self.link(('runtime', 'autocast'), where + ('autocast', 'enabled'))
        threads = inf['multithreading']
        for key in ('enabled', 'queue_length', 'timeout'):
            if threads.get(key) != defaults['multithreading'][key]:
                raise self.fail(where + ('multithreading', key),
                                f"{threads.get(key)!r}: posecfg's video reader always decodes "
                                f'ahead in its own thread through its own bounded queue (2 '
                                f'batches, no timeout to wait on); remove the key or set it to '
                                f"{defaults['multithreading'][key]!r}")
        why = {'conditions': 'conditional top-down (CTD) models are not supported by posecfg '
                             'yet',
               'snapshot': "DeepLabCut 3.0.2 does not read it either: the project's "
                           'config.yaml snapshotindex picks the snapshot (or give tools/test.py '
                           'CONFIG CHECKPOINT)',
               'output_dir': 'DeepLabCut 3.0.2 does not read it either: evaluation results go '
                             'to evaluation-results-pytorch/ as DeepLabCut writes them'}
        for key, reason in why.items():
            if inf.get(key) is not None:
                raise self.fail(where + (key,), f'{reason}; set it to null')
        ev, ev_where = inf['eval'], where + ('eval',)
        modes = {'all': True, 'test': False}
        if ev['mode'] not in modes:
            raise self.fail(ev_where + ('mode',), f"{ev['mode']!r}: posecfg's evaluation "
                                                  f'reports the test split, with (all) or '
                                                  f'without (test) the train split')
        evaluation_hook['evaluate_train'] = modes[ev['mode']]
        evaluation_hook['per_keypoint'] = bool(ev['per_keypoint_evaluation'])
        self.link(('custom_hooks', 2, 'evaluate_train'), ev_where + ('mode',))
        self.link(('custom_hooks', 2, 'per_keypoint'), ev_where + ('per_keypoint_evaluation',))
        pcutoff = ev['pcutoff']
        if pcutoff != defaults['eval']['pcutoff'] and pcutoff != self.project.pcutoff:
            raise self.fail(ev_where + ('pcutoff',),
                            f'{pcutoff!r}: posecfg evaluates with the project\'s pcutoff '
                            f'({self.project.pcutoff}, {self.project.config_path}), as '
                            f'DeepLabCut 3.0.2 does; set pcutoff there')
        if ev['comparison_bodyparts'] not in ('all', None):
            raise self.fail(ev_where + ('comparison_bodyparts',),
                            'evaluating a subset of the bodyparts is not supported by posecfg '
                            "yet; set it to 'all'")
        if ev['force_multi_animal']:
            raise self.fail(ev_where + ('force_multi_animal',),
                            'multi-animal evaluation of a single-animal project is not '
                            'supported by posecfg yet; set it to false')
        return runtime

    # -- logging ---------------------------------------------------------------------------
    #: DeepLabCut 3.0.2's logger configs (config/logger.py: WandbLoggerConfig, CSVLoggerConfig)
    WANDB_KEYS = ('type', 'project_name', 'run_name', 'image_log_interval', 'model',
                  'train_folder', 'wandb_kwargs')
    CSV_KEYS = ('type', 'train_folder', 'log_filename')

    def loggers(self) -> List[dict]:
        """``log_config.hooks``: the text log, TensorBoard always (mmengine's
        ``TensorboardVisBackend``, under the train folder), and Weights & Biases for
        ``logger: {type: WandbLogger}``: mmengine's ``WandbVisBackend`` with ``wandb.init``'s
        arguments as DeepLabCut passes them (``project=project_name``, ``name=run_name``, then
        ``wandb_kwargs`` such as ``tags``, ``group``, ``entity``; runners/logger.py:294-298).
        ``model`` and ``train_folder`` are filled in by DeepLabCut itself whatever the file says
        (apis/training.py:105), so posecfg ignores them as DeepLabCut does. ``CSVLogger`` is
        ``learning_stats.csv``, which posecfg always writes (``DLCLearningStatsHook``)."""
        hooks = [dict(type='TextLoggerHook'), dict(type='TensorboardLoggerHook')]
        where = ('logger',)
        logger = self.get(*where)
        if logger is None:
            return hooks
        self.link(('log_config', 'hooks'), where)
        kind = logger.get('type') if isinstance(logger, dict) else logger
        if kind == 'CSVLogger':
            self.check_keys(logger, self.CSV_KEYS, where, 'a CSVLogger')
            name = logger.get('log_filename', 'learning_stats.csv')
            if name != 'learning_stats.csv':
                raise self.fail(where + ('log_filename',), f'{name!r}: posecfg writes '
                                                           f'learning_stats.csv (set that name)')
            return hooks
        if kind != 'WandbLogger':
            kinds = ('WandbLogger', 'CSVLogger')
            raise self.fail(where + ('type',), f'{kind!r}: DeepLabCut has the loggers '
                                               f'{", ".join(kinds)}{_close(kind, kinds)}')
        self.check_keys(logger, self.WANDB_KEYS, where, 'a WandbLogger')
        import importlib.util
        if importlib.util.find_spec('wandb') is None:
            raise self.fail(where + ('type',), 'WandbLogger needs the wandb package, which is '
                                               "not installed in posecfg's environment (pip "
                                               'install wandb), or remove the logger key')
        if logger.get('image_log_interval') is not None:
            raise self.fail(where + ('image_log_interval',),
                            'logging train/test images to wandb is not supported by posecfg '
                            'yet; set it to null')
        extra = logger.get('wandb_kwargs') or {}
        if not isinstance(extra, dict):
            raise self.fail(where + ('wandb_kwargs',), f'must be a mapping of wandb.init '
                                                       f'arguments, found {extra!r}')
        init = dict(project=logger.get('project_name', 'deeplabcut'),
                    name=logger.get('run_name', 'tmp'), **extra)
        hooks.append(dict(type='WandbLoggerHook', init_kwargs=init))
        return hooks

    # -- model -----------------------------------------------------------------------------
    def model(self) -> dict:
        from posecfg.models.backbones.named import dlc_backbone_cfg
        method = str(self.get('method')).lower()
        if method != 'bu':
            raise self.fail(('method',), f'{self.get("method")!r}: top-down DeepLabCut models '
                                         f'are not supported by posecfg yet (bu only)')
        if self.get('model', 'neck') is not None:
            raise self.fail(('model', 'neck'), 'not supported by posecfg yet; set it to null')
        # model.pose_model (dlcrnet_*.yaml: {stride: 8}) is stored by DeepLabCut's ModelConfig
        # and read nowhere (models/model.py PoseModel takes its strides from the backbone and
        # heads): accepted, without effect, as there
        backbone = dict(self.get('model', 'backbone') or {})
        if 'pretrained' not in backbone:
            backbone['pretrained'] = self.get('resume_training_from') is None
        try:
            backbone_cfg = dlc_backbone_cfg(backbone, key='model.backbone')
        except ValueError as err:
            raise DLCConfigError(f'{self.dlc.where(("model", "backbone"))}: {err}') from None
        heads = self.get('model', 'heads')
        if not isinstance(heads, dict) or 'bodypart' not in heads:
            raise self.fail(('model', 'heads'), 'needs a bodypart head')
        # DeepLabCut minimises the mean of the heads' total losses (models/model.py:93-102)
        model = dict(type='BottomUp', backbone=backbone_cfg,
                     heads={name: self.head(name, head) for name, head in heads.items()},
                     head_loss_reduction='mean')
        self.link(('model',), ('model',))
        self.link(('model', 'backbone'), ('model', 'backbone'))
        for ours, theirs in (('norm_eval', 'freeze_bn_stats'),
                             ('freeze_norm_weights', 'freeze_bn_weights')):
            if theirs in backbone:  # absent: DeepLabCut's default, the section's line
                self.link(('model', 'backbone', ours), ('model', 'backbone', theirs))
        return model

    def head(self, name: str, head: Any) -> dict:
        """A DeepLabCut head → the registered posecfg head of its type, every key passed through
        (checked against the class's constructor), nested ``{type: ...}`` parts translated the
        same way (:meth:`typed`)."""
        where = ('model', 'heads', name)
        self.link(('model', 'heads', name), where)
        if not isinstance(head, dict) or 'type' not in head:
            raise self.fail(where, f'must be a mapping with a type, found {head!r}')
        out = self.typed(head, where)
        for path, generator in _generators(out.get('target_generator'),
                                           where + ('target_generator',)):
            self.check_heatmaps(generator, path)
        return out

    def typed(self, cfg: Any, path: KeyPath) -> dict:
        """A DeepLabCut ``{type, ...}`` part → posecfg's part of that name (:func:`dlc_parts`),
        its keys checked against the class's constructor; values that are parts themselves (a
        mapping with a type, a mapping of them such as ``criterion``, a list of them such as a
        ``SequentialGenerator``'s ``generators``) are translated too."""
        import inspect
        if not isinstance(cfg, dict) or 'type' not in cfg:
            raise self.fail(path, f'must be a mapping with a type, found {cfg!r}')
        kind = cfg['type']
        cls = registered_part(kind)
        if cls is None:
            known = [k for k in dlc_parts() if registered_part(k) is not None]
            raise self.fail(path + ('type',), f'{kind!r} is not supported by posecfg yet '
                                              f'(supported: {", ".join(known)})'
                                              f'{_close(kind, known)}')
        params = [p for p in inspect.signature(cls.__init__).parameters if p != 'self']
        self.check_keys({k: v for k, v in cfg.items() if k != 'type'}, params, path, kind)
        out = dict(type=dlc_parts()[kind])
        for key, value in cfg.items():
            if key != 'type':
                out[key] = self.parts_in(copy.deepcopy(value), path + (key,))
        return out

    def parts_in(self, value: Any, path: KeyPath) -> Any:
        if isinstance(value, dict) and 'type' in value:
            return self.typed(value, path)
        if isinstance(value, dict) and value and all(isinstance(v, dict) and 'type' in v
                                                     for v in value.values()):
            return {k: self.typed(v, path + (k,)) for k, v in value.items()}
        if isinstance(value, list) and value and all(isinstance(v, dict) and 'type' in v
                                                     for v in value):
            return [self.typed(v, path + (i,)) for i, v in enumerate(value)]
        return value

    def check_heatmaps(self, generator: dict, path: KeyPath) -> None:
        """A generator's map count against the project: bodyparts, unique bodyparts
        (``label_keypoint_key: keypoints_unique``) or individuals (``heatmap_mode:
        INDIVIDUAL``, the identity head)."""
        key = 'num_joints' if 'num_joints' in generator else 'num_heatmaps'
        if key not in generator:
            return
        if generator.get('label_keypoint_key') == 'keypoints_unique':
            names, what = self.project.unique_bodyparts, 'unique bodyparts'
        elif str(generator.get('heatmap_mode', '')).upper() == 'INDIVIDUAL':
            names, what = self.project.individuals, 'individuals'
        else:
            names, what = self.project.bodyparts, 'bodyparts'
        if generator[key] != len(names):
            raise self.fail(path + (key,), f'{generator[key]!r} maps but the project has '
                                           f'{len(names)} {what} ({", ".join(names)})')

    # -- data ------------------------------------------------------------------------------
    def data(self) -> dict:
        self.check_metadata()
        unique = bool(self.project.unique_bodyparts)
        train_steps, collate = self.pipeline('train', train=True)
        test_steps, _ = self.pipeline('inference', train=False)
        keys = ['img', 'keypoints', 'keypoints_visible'] + (
            ['unique_keypoints', 'unique_keypoints_visible'] if unique else []) + (
            ['identities'] if self.get('metadata', 'with_identity') else [])  # identity head
        meta = ['image_file', 'image_id']
        train_pipeline = ([dict(type='LoadImageFromFile')] + train_steps +
                          [dict(type='Collect', keys=keys, meta_keys=meta)])
        test_pipeline = ([dict(type='LoadImageFromFile')] + test_steps +
                         [dict(type='Collect', keys=['img'], meta_keys=meta)])
        margin = self.get('data', 'bbox_margin')

        def dataset(split, pipeline):
            return dict(type='DLCProjectDataset', project_config=str(self.project.config_path),
                        shuffle=self.shuffle, trainset_index=self.trainset_index, split=split,
                        data_mode='bottomup', bbox_margin=margin, pipeline=pipeline)

        ts = self.get('train_settings')
        single = dict(samples_per_gpu=1, collate_fn='pose_collate')
        data = dict(samples_per_gpu=int(ts['batch_size']),
                    workers_per_gpu=int(ts['dataloader_workers']),
                    pin_memory=bool(ts['dataloader_pin_memory']),
                    train=dataset('train', train_pipeline),
                    val=dataset('test', test_pipeline), test=dataset('test', test_pipeline),
                    # DeepLabCut evaluates image by image (sizes may differ)
                    val_dataloader=dict(single), test_dataloader=dict(single))
        if collate is not None:
            data['collate_fn'] = collate
            self.link(('data', 'collate_fn'), ('data', 'train', 'collate'))
        for ours, theirs in (('samples_per_gpu', 'batch_size'),
                             ('workers_per_gpu', 'dataloader_workers'),
                             ('pin_memory', 'dataloader_pin_memory')):
            self.link(('data', ours), ('train_settings', theirs))
        for split in ('train', 'val', 'test'):
            self.link(('data', split), ('metadata',))
            self.link(('data', split, 'bbox_margin'), ('data', 'bbox_margin'))
        return data

    def check_metadata(self) -> None:
        meta = self.get('metadata')
        project = self.project
        for key, ours in (('bodyparts', project.bodyparts),
                          ('unique_bodyparts', project.unique_bodyparts),
                          ('individuals', project.individuals)):
            if list(meta[key] or []) != list(ours):
                raise self.fail(('metadata', key), f'{meta[key]!r} but the project '
                                                   f'({project.config_path}) has {ours!r}; '
                                                   f'recreate the shuffle')
        heads = self.get('model', 'heads') or {}
        if bool(meta['with_identity']) != ('identity' in heads):
            raise self.fail(('metadata', 'with_identity'),
                            f'{meta["with_identity"]!r} but the model has '
                            f'{"an" if "identity" in heads else "no"} identity head; '
                            f'DeepLabCut adds one exactly when the project has identity: true')

    def pipeline(self, section: str, train: bool) -> Tuple[List[dict], Optional[dict]]:
        """``data.<section>`` → (posecfg steps after loading, collate_fn or None), in the
        order of DeepLabCut's ``build_transforms`` (data/transforms.py:26-153)."""
        where = ('data', section)
        aug = self.get(*where)
        if aug is None:
            aug = _schema_defaults(D.TRANSFORMS)
        steps: List[Tuple[dict, str]] = []

        def add(key, step):
            steps.append((step, key))

        for key in ('random_bbox_transform', 'top_down_crop'):
            if aug.get(key):
                raise self.fail(where + (key,), 'top-down only; not supported by posecfg yet')
        if aug.get('resize'):
            r = aug['resize']
            self.check_keys(r, ('height', 'width', 'keep_ratio'), where + ('resize',), 'resize')
            add('resize', dict(type='Resize', height=r['height'], width=r['width'],
                               keep_ratio=r.get('keep_ratio', True)))
        if aug.get('longest_max_size') is not None:
            add('longest_max_size', dict(type='LongestMaxSize', max_size=aug['longest_max_size']))
        hflip = aug.get('hflip')
        if hflip:
            step = dict(type='HorizontalFlip', p=0.5)
            if isinstance(hflip, float):
                step['p'] = hflip
            elif isinstance(hflip, dict):
                self.check_keys(hflip, ('p', 'symmetries'), where + ('hflip',), 'hflip')
                step['p'] = float(hflip.get('p', 0.5))
                if hflip.get('symmetries') is not None:
                    step['symmetries'] = [[int(a), int(b)] for a, b in hflip['symmetries']]
            add('hflip', step)
        affine = aug.get('affine')
        if affine is not None:
            self.check_keys(affine, ('p', 'rotation', 'scaling', 'translation'),
                            where + ('affine',), 'affine')
            add('affine', dict(type='RandomAffine', p=affine.get('p', 0.9),
                               rotation=affine.get('rotation'), scaling=affine.get('scaling'),
                               translation=affine.get('translation')))
        crop = aug.get('crop_sampling')
        if crop:
            self.check_keys(crop, ('width', 'height', 'max_shift', 'method'),
                            where + ('crop_sampling',), 'crop_sampling')
            missing = [k for k in ('width', 'height', 'max_shift', 'method') if k not in crop]
            if missing:
                raise self.fail(where + ('crop_sampling',), f'needs {", ".join(missing)} '
                                                            f'(DeepLabCut reads all four)')
            add('crop_sampling', dict(type='PadIfNeeded', min_height=crop['height'],
                                      min_width=crop['width'], pad_height_divisor=None,
                                      pad_width_divisor=None, position='center',
                                      border_mode='constant'))
            add('crop_sampling', dict(type='KeypointAwareCrop', width=crop['width'],
                                      height=crop['height'], max_shift=crop['max_shift'],
                                      method=crop['method']))
        if aug.get('hist_eq'):
            add('hist_eq', dict(type='Equalize', p=0.5))
        if aug.get('motion_blur'):
            add('motion_blur', dict(type='MotionBlur', blur_limit=7, p=0.5))
        if aug.get('covering'):
            add('covering', dict(type='CoarseDropout', max_holes=10, max_height=0.05,
                                 min_height=0.01, max_width=0.05, min_width=0.01, p=0.5))
        if aug.get('elastic_transform'):
            add('elastic_transform', dict(type='ElasticTransform', sigma=5, p=0.5))
        if aug.get('grayscale'):
            add('grayscale', dict(type='Grayscale', alpha=[0.5, 1.0], p=0.5))
        noise = aug.get('gaussian_noise')
        if noise:
            # seed 002: a number is the standard deviation, true means 12.75
            std = 12.75 if noise is True else float(noise)
            add('gaussian_noise', dict(type='GaussianNoise', std=std, p=0.5))
        padding = aug.get('auto_padding')
        if padding:
            keys = ('min_height', 'min_width', 'pad_height_divisor', 'pad_width_divisor',
                    'position', 'border_mode', 'border_value', 'border_mask_value')
            self.check_keys(padding, keys, where + ('auto_padding',), 'auto_padding')
            add('auto_padding', dict(type='PadIfNeeded', **padding))
        if aug.get('normalize_images'):
            add('normalize_images', dict(type='NormalizeImage'))
        if aug.get('scale_to_unit_range'):
            add('scale_to_unit_range', dict(type='ScaleToUnitRange'))
        out = []
        renamed = {'min_height': 'height', 'min_width': 'width'}  # crop_sampling's padding
        for i, (step, key) in enumerate(steps, start=1):  # 0 is LoadImageFromFile
            out.append(step)
            section = aug.get(key)
            for split in ('train',) if train else ('val', 'test'):
                self.link(('data', split, 'pipeline', i), where + (key,))
                for arg in step if isinstance(section, dict) else ():
                    if renamed.get(arg, arg) in section:
                        self.link(('data', split, 'pipeline', i, arg),
                                  where + (key, renamed.get(arg, arg)))
        out.append(dict(type='ToTensor'))
        if not aug.get('normalize_images') and not aug.get('scale_to_unit_range'):
            # DeepLabCut then feeds the 0-255 pixels
            out.append(dict(type='NormalizeTensor', mean=[0.0, 0.0, 0.0],
                            std=[1 / 255] * 3))
        collate = aug.get('collate')
        if collate is None:
            return out, None
        if not train:
            raise self.fail(where + ('collate',), 'a collate at inference is not supported by '
                                                  'posecfg yet (images are evaluated one by one)')
        return out, self.collate(collate, where + ('collate',))

    def collate(self, collate: Any, path: KeyPath) -> dict:
        kinds = {'ResizeFromDataSizeCollate': ('min_scale', 'max_scale', 'min_short_side',
                                               'max_short_side', 'max_ratio', 'multiple_of',
                                               'to_square', 'max_shift', 'max_size'),
                 'ResizeFromListCollate': ('scales', 'max_shift', 'max_size')}
        if not isinstance(collate, dict) or collate.get('type') not in kinds:
            kind = collate.get('type') if isinstance(collate, dict) else collate
            raise self.fail(path, f'{kind!r}: posecfg has the collates '
                                  f'{", ".join(kinds)}{_close(kind, kinds)}')
        self.check_keys({k: v for k, v in collate.items() if k != 'type'},
                        kinds[collate['type']], path, collate['type'])
        return dict(collate, seed=int(self.get('train_settings', 'seed') or 0))

    # -- runner ----------------------------------------------------------------------------
    def optimizer(self) -> dict:
        import torch
        where = ('runner', 'optimizer')
        opt = self.get(*where)
        if opt is None:
            raise self.fail(where, 'DeepLabCut needs an optimizer (type and params)')
        kind = opt.get('type')
        names = sorted(n for n, c in vars(torch.optim).items() if isinstance(c, type)
                       and issubclass(c, torch.optim.Optimizer) and c is not torch.optim.Optimizer)
        if kind not in names:
            raise self.fail(where + ('type',), f'{kind!r} is not a torch.optim optimizer '
                                               f'({", ".join(names)}){_close(kind, names)}')
        self.link(('optimizer',), where)
        return dict(type=kind, **(opt.get('params') or {}))

    def scheduler(self) -> List[dict]:
        where = ('runner', 'scheduler')
        sched = self.get(*where)
        self.link(('param_scheduler',), where)
        if sched is None:
            return []
        load = bool(self.get('runner', 'load_scheduler_state_dict'))
        params = sched.get('params') or {}
        if sched.get('type') == 'LRListScheduler':
            self.check_keys(params, ('milestones', 'lr_list'), where + ('params',),
                            'LRListScheduler')
            out = dict(type='LRListScheduler', milestones=list(params.get('milestones', [])),
                       lr_list=[list(v) for v in params.get('lr_list', [])])
        else:
            out = dict(type='TorchLRScheduler', scheduler=copy.deepcopy(dict(sched)))
        if not load:
            out['load_scheduler_state_dict'] = False
        return [out]

    def hooks(self) -> List[dict]:
        runner = self.get('runner')
        key = runner['key_metric']
        metric_names = {m: f'test.{m}' for m in METRICS}
        if key is not None:
            wanted = [f'test.{m}' for m in METRICS]
            if key not in wanted:
                raise self.fail(('runner', 'key_metric'), f'{key!r}: posecfg\'s DeepLabCut '
                                                          f'evaluation gives {", ".join(wanted)}'
                                                          f'{_close(key, wanted)}')
            key = key[len('test.'):]
        snapshots = runner['snapshots'] or _schema_defaults(D.SNAPSHOTS)
        loss_names = self.loss_names()
        snapshot = dict(type='DLCSnapshotHook', snapshot_prefix=runner['snapshot_prefix'] or
                        'snapshot', key_metric=key, key_metric_asc=bool(runner['key_metric_asc']),
                        max_snapshots=int(snapshots['max_snapshots']),
                        save_epochs=int(snapshots['save_epochs']),
                        save_optimizer_state=bool(snapshots['save_optimizer_state']),
                        metric_names=metric_names, loss_names=loss_names)
        self.link(('custom_hooks', 0), ('runner', 'snapshots'))
        self.link(('custom_hooks', 0, 'key_metric'), ('runner', 'key_metric'))
        self.link(('custom_hooks', 0, 'key_metric_asc'), ('runner', 'key_metric_asc'))
        for k in ('max_snapshots', 'save_epochs', 'save_optimizer_state'):
            self.link(('custom_hooks', 0, k), ('runner', 'snapshots', k))
        # tools/test.py: DeepLabCut's evaluation-results files (the hook acts on test runs only)
        evaluation = dict(type='DLCEvaluationHook', net_type=self.get('net_type'))
        self.link(('custom_hooks', 2, 'net_type'), ('net_type',))
        return [snapshot, dict(type='DLCLearningStatsHook', metric_names=metric_names,
                               loss_names=loss_names), evaluation]

    def loss_names(self) -> dict:
        """posecfg ``log_vars`` name → DeepLabCut's loss name. DeepLabCut's ``PoseModel.get_loss``
        (models/model.py:88-103) logs ``total_loss`` (the mean of the heads' totals) and each
        head's terms as ``<head>_<term>`` (``bodypart_total_loss``, ``bodypart_heatmap``,
        ``bodypart_locref``); posecfg's estimator prefixes a head's terms with its name only
        when there are several heads, and logs the summed objective as ``loss``."""
        heads = self.get('model', 'heads')
        names = {'loss': 'total_loss'}
        for head, cfg in heads.items():
            criterion = cfg.get('criterion') if isinstance(cfg, dict) else None
            # DeepLabCut names a head's terms after its criterion keys (heatmap, locref, paf,
            # offset, ...); one criterion with a type is the heatmap's
            terms = (list(criterion) if isinstance(criterion, dict) and 'type' not in criterion
                     else ['heatmap'])
            for term in ['total_loss'] + terms:
                ours = term if len(heads) == 1 else f'{head}_{term}'
                names[ours] = f'{head}_{term}'
        return names


def dlc_parts() -> Dict[str, str]:
    """DeepLabCut part type → posecfg's registered name (``DLC_TYPE_NAMES`` of
    :mod:`posecfg.models.heads.dlc_heatmap_head`: DeepLabCut's own names, except its
    ``HeatmapHead``, posecfg's ``DLCHeatmapHead``)."""
    from posecfg.models.heads.dlc_heatmap_head import DLC_TYPE_NAMES
    return DLC_TYPE_NAMES


def registered_part(kind: Any):
    """The posecfg class a DeepLabCut part type names (models or codecs), None when posecfg
    has none (yet)."""
    from posecfg.registry import KEYPOINT_CODECS, MODELS
    parts = dlc_parts()
    if not isinstance(kind, str) or kind not in parts:
        return None
    for registry in (MODELS, KEYPOINT_CODECS):
        cls = registry.get(parts[kind])
        if cls is not None:
            return cls
    return None


def _generators(generator: Any, path: KeyPath):
    """(path, config) of a target generator and of those a ``SequentialGenerator`` holds."""
    if not isinstance(generator, dict):
        return
    yield path, generator
    for i, inner in enumerate(generator.get('generators') or ()):
        yield from _generators(inner, path + ('generators', i))


def _schema_defaults(schema: D.Schema) -> dict:
    return {k: (_schema_defaults(v) if isinstance(v, D.Schema) else
                None if isinstance(v, D.OPTIONAL) else copy.deepcopy(v))
            for k, v in schema.items()}


# ============================================================================ entry points
def find_shuffle(path: Path, shuffle: Optional[int], trainset_index: int
                 ) -> Tuple[Path, DLCProject, int, int]:
    """(pytorch_config.yaml, project, shuffle, trainset index) for a shuffle config or a
    project ``config.yaml`` + ``shuffle``."""
    path = Path(path).absolute()
    raw = load_yaml(path)
    if 'Task' in raw and 'scorer' in raw:  # a project config.yaml
        if shuffle is None:
            raise DLCConfigError(f'{path} is a DeepLabCut project config.yaml: say which shuffle '
                                 f'with --shuffle K')
        project = read_project(path)
        fraction = project.training_fraction(trainset_index)
        pose = pose_config_path(project, fraction, shuffle)
        if not pose.is_file():
            raise DLCConfigError(
                f'{pose}: shuffle {shuffle} (TrainingFraction {fraction}) of {path} has no '
                f'{POSE_CONFIG_NAME}; create it with tools/dlc_create_training_dataset.py {path} '
                f'--shuffle {shuffle} --trainset-index {trainset_index}')
        return pose, project, shuffle, trainset_index
    # a shuffle's file: <project>/dlc-models-pytorch/iteration-N/<Task><date>-trainset<pct>
    # shuffle<k>/train/pytorch_config.yaml; the project is found from there (as DeepLabCut,
    # which trusts the file's location over a stale metadata.project_path)
    folder = path.parent.parent.name
    match = re.search(r'-trainset(\d+)shuffle(\d+)$', folder)
    root = path.parents[3] if len(path.parents) > 3 else None
    if match is None or root is None or not (root / 'config.yaml').is_file():
        meta = raw.get('metadata') or {}
        project_path = meta.get('project_path') if isinstance(meta, dict) else None
        if not project_path or match is None:
            raise DLCConfigError(
                f'{path}: cannot tell which project and shuffle this file belongs to: it is not '
                f'in <project>/dlc-models-pytorch/iteration-N/<Task><date>-trainset<pct>'
                f'shuffle<k>/train/ (give the project config.yaml with --shuffle K instead)')
        root = Path(project_path)
    project = read_project(root / 'config.yaml')
    pct, found = int(match.group(1)), int(match.group(2))
    indices = [i for i, f in enumerate(project.training_fractions) if percent(f) == pct]
    if not indices:
        raise DLCConfigError(f'{path}: trainset{pct} is none of the TrainingFraction values '
                             f'{project.training_fractions} of {project.config_path}')
    return path, project, found, indices[0]


def translate(path, cfg_options: Sequence = (), shuffle: Optional[int] = None,
              trainset_index: int = 0) -> Tuple[dict, Provenance, DLCFile]:
    """(posecfg config data, its provenance, the checked DeepLabCut file)."""
    pose_path, project, shuffle, trainset_index = find_shuffle(Path(path), shuffle,
                                                               trainset_index)
    dlc = DLCFile(pose_path)
    check_tree(dlc)
    overrides = [o if isinstance(o, Override) else parse_options([o])[0] for o in cfg_options]
    apply_options(dlc, overrides)
    check_tree(dlc, fill=False)
    translator = Translator(dlc, project, shuffle, trainset_index)
    data = translator.translate()
    prov = Provenance()
    for key in data:
        prov.place((key,), Event(Origin(file=str(pose_path)), 'set'), inherit=False)
    for ours, theirs in sorted(translator.links, key=lambda link: len(link[0])):
        prov.place(ours, Event(dlc.origin(theirs), 'set', note=_dotted(theirs)), inherit=False)
    return data, prov, dlc


def load_as_config(path, cfg_options: Sequence = (), extra: Sequence[Override] = (),
                   shuffle: Optional[int] = None, trainset_index: int = 0) -> Config:
    """A shuffle's ``pytorch_config.yaml`` (or project ``config.yaml`` + ``shuffle``) as a
    posecfg :class:`~posecfg.config.Config` (module docstring)."""
    try:
        data, prov, dlc = translate(path, cfg_options, shuffle, trainset_index)
    except ConfigFileError as err:
        raise DLCConfigError(str(err)) from None
    for o in extra:
        apply_tool_flag(data, prov, o)
    return Config(data, str(dlc.path), prov=prov, options=(), resolved=False)


def evaluation_checkpoint(cfg: Config) -> str:
    """The snapshot DeepLabCut's ``evaluate_network`` would load for a translated config (the
    project's ``snapshotindex``: the best snapshot, else the latest;
    :func:`~.snapshots.shuffle_snapshot`): what ``tools/test.py`` tests when no CHECKPOINT is
    given. (Not ``load_from``, which would also initialise a training run from it.)"""
    from .snapshots import shuffle_snapshot
    test = cfg['data']['test']
    try:
        return str(shuffle_snapshot(test['project_config'], test['shuffle'],
                                    test['trainset_index']))
    except (OSError, ValueError, IndexError) as err:
        raise DLCConfigError(f'{cfg.filename}: no snapshot to test: {err}') from None



#: the DeepLabCut parts a printed config inherits (configs/_base_/dlc/)
BASE_CONFIG = ('_base_', 'dlc', 'pytorch_config.py')


def format_config(cfg: Config, fmt: str):
    """``(text, notes)`` for ``print_config.py``: the translated config in ``fmt``; ``py``
    gives an editable posecfg config inheriting ``configs/_base_/dlc/pytorch_config.py``
    (DeepLabCut's ``base.yaml`` and runtime) that loads back to the translated config exactly
    (:func:`posecfg.interop.inheriting.format_inheriting`)."""
    from posecfg.interop.inheriting import format_inheriting
    header = (f'posecfg config translated from the DeepLabCut file {cfg.filename}\n'
              f'(edit it and run it with tools/train.py like any posecfg config)')
    return format_inheriting(cfg, fmt, BASE_CONFIG, header)
