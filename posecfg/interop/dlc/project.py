"""A DeepLabCut project's ``config.yaml``, read and checked as DeepLabCut 3 checks it.

The keys, their kinds and their defaults are those of DeepLabCut 3.0.2's ``ProjectConfig``
(deeplabcut/core/config/project_config.py): an unknown key is an error there as here; a key
written without a value (``identity:``, the old templates' placeholders) means "use the
default"; ``bodyparts`` is ``MULTI!`` exactly when ``multianimalproject`` is true; the project
folder is the folder holding ``config.yaml`` whatever ``project_path`` says (DeepLabCut repairs
``project_path`` from the file's location on reading). Every error names the file and the key.
"""
from __future__ import annotations

import difflib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from .yaml_io import ConfigFileError, load_yaml

_MULTI = 'MULTI!'

#: every key of DeepLabCut 3.0.2's project config.yaml, in its template's order, with defaults
PROJECT_KEYS: Dict[str, Any] = {
    'config_version': 0,
    'Task': '', 'scorer': '', 'date': '', 'multianimalproject': False, 'identity': None,
    'project_path': '', 'pose_config_path': None, 'engine': 'pytorch', 'video_sets': {},
    'bodyparts': [], 'individuals': ['individual_1'], 'uniquebodyparts': [],
    'multianimalbodyparts': [],
    'start': 0.0, 'stop': 1.0, 'numframes2pick': 20,
    'skeleton': [], 'skeleton_color': 'black', 'pcutoff': 0.6, 'dotsize': 12,
    'alphavalue': 0.7, 'colormap': 'rainbow',
    'TrainingFraction': [0.95], 'iteration': None, 'default_net_type': 'resnet_50',
    'default_augmenter': None, 'default_track_method': None, 'snapshotindex': 'all',
    'detector_snapshotindex': -1, 'batch_size': 8, 'detector_batch_size': 1,
    'cropping': False, 'x1': None, 'x2': None, 'y1': None, 'y2': None,
    'corner2move2': None, 'move2corner': None, 'SuperAnimalConversionTables': None,
    'resnet': None, 'croppedtraining': None,
}
#: keys whose null value is a value (DeepLabCut declares them ``X | None``)
_NULLABLE = {'identity', 'pose_config_path', 'iteration', 'default_augmenter',
             'default_track_method', 'x1', 'x2', 'y1', 'y2', 'corner2move2', 'move2corner',
             'SuperAnimalConversionTables', 'resnet', 'croppedtraining'}
#: DeepLabCut's deprecated spellings (json_schema_extra aliases in ProjectConfig)
_ALIASES = {'with_identity': 'identity', 'unique_bodyparts': 'uniquebodyparts'}


@dataclass
class DLCProject:
    """A DeepLabCut project as its ``config.yaml`` describes it.

    Attributes:
        config_path: the ``config.yaml`` read.
        root: the project folder (the folder of ``config.yaml``).
        cfg: every key of the file after DeepLabCut's defaults and checks (plain data).
    """
    config_path: Path
    root: Path
    cfg: Dict[str, Any] = field(repr=False)

    # -- the keys posecfg works from --------------------------------------------------------
    @property
    def task(self) -> str:
        return self.cfg['Task']

    @property
    def scorer(self) -> str:
        return self.cfg['scorer']

    @property
    def date(self) -> str:
        return self.cfg['date']

    @property
    def multi_animal(self) -> bool:
        return bool(self.cfg['multianimalproject'])

    @property
    def iteration(self) -> int:
        return int(self.cfg['iteration'] or 0)

    @property
    def training_fractions(self) -> List[float]:
        return list(self.cfg['TrainingFraction'])

    @property
    def pcutoff(self) -> float:
        return float(self.cfg['pcutoff'])

    @property
    def bodyparts(self) -> List[str]:
        """Bodyparts of an animal: ``bodyparts`` (single animal) or ``multianimalbodyparts``."""
        if self.multi_animal:
            return list(self.cfg['multianimalbodyparts'])
        return list(self.cfg['bodyparts'])

    @property
    def unique_bodyparts(self) -> List[str]:
        """Bodyparts that exist once per image (multi-animal projects only, as in DeepLabCut)."""
        return list(self.cfg['uniquebodyparts']) if self.multi_animal else []

    @property
    def individuals(self) -> List[str]:
        """Individuals of the labels (one, ``individual_1`` by default, for single animal)."""
        return list(self.cfg['individuals'])

    @property
    def with_identity(self) -> Optional[bool]:
        return self.cfg['identity']

    @property
    def skeleton(self) -> List[List[str]]:
        return [list(pair) for pair in self.cfg['skeleton']]

    @property
    def video_names(self) -> List[str]:
        """Names of the ``labeled-data`` folders: the stems of the ``video_sets`` keys.

        DeepLabCut takes the last path component without its suffix, splitting on ``/`` and
        ``\\`` alike so that projects labelled on Windows work elsewhere
        (trainingsetmanipulation.py ``parse_video_filenames``).
        """
        names = []
        for video in self.cfg['video_sets']:
            name = str(video).replace('\\', '/').rstrip('/').split('/')[-1]
            stem = name.rsplit('.', 1)[0] if '.' in name else name
            names.append(stem)
        return names

    def training_fraction(self, trainset_index: int) -> float:
        fractions = self.training_fractions
        if not 0 <= trainset_index < len(fractions):
            raise ConfigFileError(
                f'{self.config_path}: TrainingFraction {fractions} has no index '
                f'{trainset_index}; trainset indices are 0..{len(fractions) - 1}')
        return fractions[trainset_index]


def _kind_error(path: Path, key: str, expected: str, value: Any) -> ConfigFileError:
    return ConfigFileError(f'{path}: key {key!r} must be {expected}, found {value!r}')


def _check_str_list(path: Path, key: str, value: Any, allow_multi: bool = False) -> list:
    if allow_multi and value == _MULTI:
        return value
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _kind_error(path, key, 'a list of names', value)
    repeated = sorted({v for v in value if value.count(v) > 1})
    if repeated:
        raise ConfigFileError(f'{path}: key {key!r} lists {repeated} more than once')
    return value


def _check_fraction(path: Path, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise _kind_error(path, key, 'a number between 0 and 1', value)
    return float(value)


def _check_int(path: Path, key: str, value: Any, minimum: Optional[int] = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or (
            minimum is not None and value < minimum):
        expected = 'an integer' if minimum is None else f'an integer >= {minimum}'
        raise _kind_error(path, key, expected, value)
    return value


def _validate(path: Path, raw: Dict[str, Any]) -> Dict[str, Any]:
    data: Dict[str, Any] = {}
    for key, value in raw.items():
        canonical = _ALIASES.get(key, key)
        if canonical not in PROJECT_KEYS:
            close = difflib.get_close_matches(key, PROJECT_KEYS, n=1)
            hint = f'; did you mean {close[0]!r}?' if close else ''
            raise ConfigFileError(
                f'{path}: unknown key {key!r}{hint} (DeepLabCut 3 refuses it too; '
                f'known keys: {", ".join(PROJECT_KEYS)})')
        if canonical in data:
            raise ConfigFileError(f'{path}: keys {key!r} and {canonical!r} both set '
                                  f'{canonical!r}')
        data[canonical] = value
    # legacy templates: "" for lists, bare keys for unset values -> defaults (as DeepLabCut)
    for key in ('skeleton', 'TrainingFraction', 'video_sets', 'bodyparts'):
        if data.get(key) == '':
            del data[key]
    for key in [k for k, v in data.items() if v is None and k not in _NULLABLE]:
        warnings.warn(f'{path}: key {key!r} has no value; using DeepLabCut\'s default '
                      f'{PROJECT_KEYS[key]!r}', stacklevel=3)
        del data[key]
    if data.get('multianimalproject') and not data.get('bodyparts'):
        data['bodyparts'] = _MULTI
    cfg = {key: data.get(key, default) for key, default in PROJECT_KEYS.items()}

    for key in ('Task', 'scorer', 'date', 'default_net_type', 'skeleton_color', 'colormap'):
        if not isinstance(cfg[key], str):
            raise _kind_error(path, key, 'a string', cfg[key])
    for key in ('Task', 'scorer', 'date'):
        if not cfg[key]:
            raise ConfigFileError(f'{path}: key {key!r} is missing or empty; DeepLabCut names '
                                  f'its folders and files after it')
    if not isinstance(cfg['multianimalproject'], bool):
        raise _kind_error(path, 'multianimalproject', 'true or false', cfg['multianimalproject'])
    if cfg['identity'] is not None and not isinstance(cfg['identity'], bool):
        raise _kind_error(path, 'identity', 'true, false or empty', cfg['identity'])
    if cfg['engine'] not in ('pytorch', 'tensorflow'):
        raise _kind_error(path, 'engine', "'pytorch' or 'tensorflow'", cfg['engine'])
    if not isinstance(cfg['video_sets'], dict):
        raise _kind_error(path, 'video_sets', 'a mapping of video paths to {crop: ...}',
                          cfg['video_sets'])
    _check_str_list(path, 'bodyparts', cfg['bodyparts'], allow_multi=True)
    for key in ('individuals', 'uniquebodyparts', 'multianimalbodyparts'):
        _check_str_list(path, key, cfg[key])
    if cfg['multianimalproject']:
        if cfg['bodyparts'] != _MULTI:
            raise ConfigFileError(f"{path}: key 'bodyparts' must be 'MULTI!' in a multi-animal "
                                  f"project (the bodyparts go under 'multianimalbodyparts'), "
                                  f"found {cfg['bodyparts']!r}")
        if not cfg['multianimalbodyparts']:
            raise ConfigFileError(f"{path}: key 'multianimalbodyparts' is empty; a multi-animal "
                                  f"project needs at least one bodypart")
    else:
        if cfg['bodyparts'] == _MULTI:
            raise ConfigFileError(f"{path}: key 'bodyparts' is 'MULTI!' but multianimalproject "
                                  f"is false; list the bodyparts")
        if not cfg['bodyparts']:
            raise ConfigFileError(f"{path}: key 'bodyparts' is empty")
    names = set(cfg['multianimalbodyparts'] + cfg['uniquebodyparts']
                if cfg['multianimalproject'] else cfg['bodyparts'])
    if not isinstance(cfg['skeleton'], list):
        raise _kind_error(path, 'skeleton', 'a list of [bodypart, bodypart] pairs',
                          cfg['skeleton'])
    for i, pair in enumerate(cfg['skeleton']):
        if (not isinstance(pair, list) or len(pair) != 2
                or not all(isinstance(p, str) for p in pair)):
            raise _kind_error(path, f'skeleton.{i}', 'a [bodypart, bodypart] pair', pair)
        unknown = [p for p in pair if p not in names]
        if unknown:
            raise ConfigFileError(f'{path}: key skeleton.{i} names {unknown}, which are not '
                                  f'bodyparts of the project ({sorted(names)})')
    cfg['pcutoff'] = _check_fraction(path, 'pcutoff', cfg['pcutoff'])
    for key in ('start', 'stop', 'alphavalue'):
        _check_fraction(path, key, cfg[key])
    if not isinstance(cfg['TrainingFraction'], list) or not cfg['TrainingFraction']:
        raise _kind_error(path, 'TrainingFraction', 'a non-empty list of fractions',
                          cfg['TrainingFraction'])
    for i, frac in enumerate(cfg['TrainingFraction']):
        _check_fraction(path, f'TrainingFraction.{i}', frac)
    if cfg['iteration'] is not None:
        _check_int(path, 'iteration', cfg['iteration'], 0)
    for key in ('numframes2pick', 'dotsize'):
        _check_int(path, key, cfg[key], 0)
    for key in ('batch_size', 'detector_batch_size'):
        _check_int(path, key, cfg[key], 1)
    if cfg['snapshotindex'] != 'all':
        _check_int(path, 'snapshotindex', cfg['snapshotindex'])
    _check_int(path, 'detector_snapshotindex', cfg['detector_snapshotindex'])
    return cfg


def read_project(config: Union[str, Path, DLCProject]) -> DLCProject:
    """Read and check a project ``config.yaml`` (or pass a :class:`DLCProject` through).

    ``config`` may be the file or the project folder holding it.
    """
    if isinstance(config, DLCProject):
        return config
    path = Path(config)
    if path.is_dir():
        path = path / 'config.yaml'
    raw = load_yaml(path)
    cfg = _validate(path, raw)
    root = path.absolute().parent
    # DeepLabCut repairs project_path from the file's location when they differ
    # (ProjectConfig._post_yaml_load_updates) and otherwise keeps the file's spelling
    written = cfg['project_path']
    if not written or Path(str(written)).absolute() != root:
        written = root
    cfg['project_path'] = str(Path(str(written)))
    return DLCProject(config_path=path, root=root, cfg=cfg)
