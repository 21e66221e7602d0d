"""Dataset metainfo: an MMPose-style ``dataset_info`` dict → an immutable :class:`DatasetMeta`.

A ``dataset_info`` dict (the one variable of ``configs/_base_/datasets/<name>.py``) holds::

    dataset_name='coco',
    paper_info=dict(author=..., title=..., container=..., year=..., homepage=...),
    keypoint_info={0: dict(name='nose', id=0, color=[r, g, b], type='upper', swap=''), ...},
    skeleton_info={0: dict(link=('left_ankle', 'left_knee'), id=0, color=[r, g, b]), ...},
    joint_weights=[K floats],   # loss weight per keypoint
    sigmas=[K floats] or [],    # OKS sigmas; [] for a dataset that defines none

Everything derived from it (flip pairs from ``swap``, upper/lower body ids from ``type``,
skeleton links as index pairs) is computed here once, so no other module re-derives dataset
facts. Every error names where the dict came from and the key at fault.
"""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from posecfg.zoo import configs_root

#: ``configs/_base_/datasets`` of the zoo (the checkout's, or the installed package's copy; see
#: ``posecfg.zoo``): where the dataset classes find their defaults.
BASE_DATASETS_DIR = configs_root() / '_base_' / 'datasets'

_TOP_LEVEL_KEYS = ('dataset_name', 'paper_info', 'keypoint_info', 'skeleton_info',
                   'joint_weights', 'sigmas')
_KEYPOINT_KEYS = ('name', 'id', 'color', 'type', 'swap')
_SKELETON_KEYS = ('link', 'id', 'color')
_BODY_TYPES = ('upper', 'lower', '')
_DEFAULT_COLOR = (255, 255, 255)

DatasetInfoSpec = Union['DatasetMeta', Mapping, str, os.PathLike, None]


class DatasetInfoError(ValueError):
    """A ``dataset_info`` dict (or the file holding it) is malformed."""


def _readonly(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)  # eq on arrays would be ambiguous
class DatasetMeta:
    """Parsed keypoint metadata of one dataset; arrays are read-only.

    Attributes:
        dataset_name: e.g. ``'coco'``.
        source: the file the ``dataset_info`` came from, or a description when it was a dict.
        names: (K,) keypoint names, index = keypoint id.
        types: (K,) ``'upper'``, ``'lower'`` or ``''`` per keypoint.
        flip_pairs: (P, 2) int64 index pairs that swap under a horizontal flip, each pair once,
            in order of first appearance (MMPose's order).
        flip_index: (K,) int64, ``flip_index[k]`` is the keypoint that ``k`` becomes when the
            image is mirrored (``k`` itself when it has no partner).
        upper_body_ids, lower_body_ids: keypoint ids of each half (for half-body augmentation).
        joint_weights: (K,) float32 loss weights.
        sigmas: (K,) float32 OKS sigmas, or None when the dataset defines none.
        skeleton: (L, 2) int64 keypoint index pairs to draw as limbs.
        keypoint_colors: (K, 3) uint8 RGB.
        skeleton_colors: (L, 3) uint8 RGB.
        paper_info: the citation dict, as given.
    """

    dataset_name: str
    source: str
    names: Tuple[str, ...]
    types: Tuple[str, ...]
    flip_pairs: np.ndarray
    flip_index: np.ndarray
    upper_body_ids: Tuple[int, ...]
    lower_body_ids: Tuple[int, ...]
    joint_weights: np.ndarray
    sigmas: Optional[np.ndarray]
    skeleton: np.ndarray
    keypoint_colors: np.ndarray
    skeleton_colors: np.ndarray
    paper_info: Mapping = field(default_factory=dict)

    @property
    def num_keypoints(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        """Keypoint id of ``name``; KeyError with close matches when there is none."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f'{self.source}: no keypoint named {name!r}'
                           f'{_suggest(name, self.names)}')

    def as_metainfo(self) -> dict:
        """The plain dict mmengine hands metrics as ``dataset_meta``.

        Keys follow MMPose 1.x's ``dataset_meta`` (``flip_indices``, ``skeleton_links``, …) plus
        the names posecfg's own code reads (``num_joints``, ``keypoint_names``,
        ``joint_weights``). Arrays are fresh copies; ``sigmas`` is None when there are none.
        """
        return dict(
            dataset_name=self.dataset_name,
            num_keypoints=self.num_keypoints,
            num_joints=self.num_keypoints,
            keypoint_names=list(self.names),
            keypoint_id2name=dict(enumerate(self.names)),
            keypoint_name2id={n: i for i, n in enumerate(self.names)},
            upper_body_ids=list(self.upper_body_ids),
            lower_body_ids=list(self.lower_body_ids),
            flip_pairs=self.flip_pairs.tolist(),
            flip_indices=self.flip_index.tolist(),
            joint_weights=self.joint_weights.copy(),
            dataset_keypoint_weights=self.joint_weights.copy(),
            sigmas=None if self.sigmas is None else self.sigmas.copy(),
            skeleton_links=[tuple(link) for link in self.skeleton.tolist()],
            num_skeleton_links=len(self.skeleton),
            keypoint_colors=self.keypoint_colors.copy(),
            skeleton_link_colors=self.skeleton_colors.copy(),
        )


# ----------------------------------------------------------------------------- loading
def base_dataset_file(name: str) -> Path:
    """``configs/_base_/datasets/<name>.py``; FileNotFoundError listing the ones there are."""
    path = BASE_DATASETS_DIR / f'{name}.py'
    if not path.is_file():
        known = sorted(p.stem for p in BASE_DATASETS_DIR.glob('*.py'))
        raise FileNotFoundError(f'no dataset definition {path}{_suggest(name, known)}; '
                                f'known: {", ".join(known) or "none"}')
    return path


def load_dataset_info(path: Union[str, os.PathLike]) -> dict:
    """The ``dataset_info`` variable of a config file like ``configs/_base_/datasets/coco.py``.

    The file is loaded with :class:`posecfg.config.Config`, so it may itself use ``_base_``
    (e.g. to start from another dataset's definition and change a few keypoints).
    """
    from ..config import Config  # light: imports neither torch nor mmengine

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'dataset_info file {path} does not exist')
    data = Config.fromfile(str(path)).to_dict()
    if 'dataset_info' not in data:
        defined = sorted(k for k in data if not k.startswith('_'))
        raise DatasetInfoError(f'{path}: defines no variable `dataset_info` (it defines '
                               f'{", ".join(defined) or "nothing"})')
    return data['dataset_info']


def resolve_dataset_meta(spec: DatasetInfoSpec, default: Optional[str] = None) -> DatasetMeta:
    """A :class:`DatasetMeta` from what a config may pass as ``dataset_info``.

    Args:
        spec: a DatasetMeta (returned as is), a ``dataset_info`` dict, a path to a Python file
            defining one, or None for ``configs/_base_/datasets/<default>.py``.
        default: base-file name used when ``spec`` is None.
    """
    if isinstance(spec, DatasetMeta):
        return spec
    if spec is None:
        if default is None:
            raise DatasetInfoError('dataset_info is required (a dict, or the path of a file '
                                   'defining `dataset_info`)')
        spec = base_dataset_file(default)
    if isinstance(spec, (str, os.PathLike)):
        return parse_dataset_info(load_dataset_info(spec), source=str(spec))
    if isinstance(spec, Mapping):
        name = spec.get('dataset_name', '?')
        return parse_dataset_info(spec, source=f'dataset_info {name!r} (given as a dict)')
    raise DatasetInfoError(f'dataset_info must be a dict or a file path, not '
                           f'{type(spec).__name__}')


# ----------------------------------------------------------------------------- parsing
def parse_dataset_info(info: Mapping, source: str = 'dataset_info') -> DatasetMeta:
    """Validate a ``dataset_info`` dict and derive flip pairs, body halves and skeleton indices.

    ``joint_weights`` defaults to ones, ``sigmas``, ``skeleton_info`` and ``paper_info`` to
    empty; ``color`` of a keypoint or link defaults to white, ``type`` and ``swap`` to ''.

    Raises:
        DatasetInfoError: naming ``source`` and the key at fault.
    """
    if not isinstance(info, Mapping):
        raise DatasetInfoError(f'{source}: dataset_info must be a dict, not {type(info).__name__}')
    _check_keys(info, _TOP_LEVEL_KEYS, source, 'dataset_info')
    for key in ('dataset_name', 'keypoint_info'):
        if key not in info:
            raise DatasetInfoError(f'{source}: dataset_info has no {key!r}')
    kpts = _parse_keypoints(info['keypoint_info'], source)
    names = tuple(k['name'] for k in kpts)
    num = len(names)
    flip_pairs, flip_index = _flip_pairs(kpts, names, source)
    skeleton, skeleton_colors = _parse_skeleton(info.get('skeleton_info', {}), names, source)
    weights = _per_keypoint(info.get('joint_weights', [1.0] * num), num, 'joint_weights', source)
    sigmas = info.get('sigmas', [])
    sigmas = (None if sigmas is None or len(sigmas) == 0
              else _per_keypoint(sigmas, num, 'sigmas', source, empty_ok=True))
    types = tuple(k['type'] for k in kpts)
    return DatasetMeta(
        dataset_name=str(info['dataset_name']),
        source=source,
        names=names,
        types=types,
        flip_pairs=_readonly(np.asarray(flip_pairs, dtype=np.int64).reshape(-1, 2)),
        flip_index=_readonly(np.asarray(flip_index, dtype=np.int64)),
        upper_body_ids=tuple(i for i, t in enumerate(types) if t == 'upper'),
        lower_body_ids=tuple(i for i, t in enumerate(types) if t == 'lower'),
        joint_weights=weights,
        sigmas=sigmas,
        skeleton=_readonly(np.asarray(skeleton, dtype=np.int64).reshape(-1, 2)),
        keypoint_colors=_readonly(np.asarray([k['color'] for k in kpts], dtype=np.uint8)
                                  .reshape(-1, 3)),
        skeleton_colors=_readonly(np.asarray(skeleton_colors, dtype=np.uint8).reshape(-1, 3)),
        paper_info=dict(info.get('paper_info') or {}),
    )


def _parse_keypoints(keypoint_info: Any, source: str) -> list:
    if not isinstance(keypoint_info, Mapping) or not keypoint_info:
        raise DatasetInfoError(f'{source}: keypoint_info must be a non-empty dict '
                               f'{{id: dict(name=..., ...)}}')
    keys = list(keypoint_info)
    if keys != list(range(len(keys))):
        raise DatasetInfoError(f'{source}: keypoint_info keys must be 0..{len(keys) - 1} in '
                               f'order; got {keys}')
    kpts, seen = [], {}
    for key, entry in keypoint_info.items():
        where = f'{source}: keypoint_info[{key}]'
        if not isinstance(entry, Mapping):
            raise DatasetInfoError(f'{where} must be a dict(name=..., id=..., color=..., '
                                   f'type=..., swap=...)')
        _check_keys(entry, _KEYPOINT_KEYS, where, 'a keypoint')
        if 'name' not in entry:
            raise DatasetInfoError(f'{where} has no name')
        name = entry['name']
        if entry.get('id', key) != key:
            raise DatasetInfoError(f"{where}['id'] is {entry['id']!r}; it must equal its key "
                                   f'{key} (ids run 0..K-1)')
        if name in seen:
            raise DatasetInfoError(f'{where}: name {name!r} is already keypoint {seen[name]}')
        seen[name] = key
        body = entry.get('type', '')
        if body not in _BODY_TYPES:
            raise DatasetInfoError(f"{where}['type'] is {body!r}; it must be 'upper', 'lower' "
                                   f"or ''")
        kpts.append(dict(name=name, type=body, swap=entry.get('swap', '') or '',
                         color=_color(entry.get('color', _DEFAULT_COLOR), where)))
    return kpts


def _flip_pairs(kpts: list, names: Sequence[str], source: str) -> tuple:
    """MMPose's rule: ``swap`` '' or the keypoint's own name means "maps to itself"."""
    index = {n: i for i, n in enumerate(names)}
    pairs, flip_index = [], []
    for i, kpt in enumerate(kpts):
        swap = kpt['swap']
        if swap in ('', kpt['name']):
            flip_index.append(i)
            continue
        where = f"{source}: keypoint_info[{i}] ({kpt['name']!r})"
        if swap not in index:
            raise DatasetInfoError(f'{where} swaps with {swap!r}, which is not a keypoint name'
                                   f'{_suggest(swap, names)}')
        j = index[swap]
        back = kpts[j]['swap']
        if back != kpt['name']:
            raise DatasetInfoError(
                f'{where} swaps with {swap!r}, but keypoint_info[{j}] ({swap!r}) swaps with '
                f'{back!r}; swaps must be mutual: set its swap={kpt["name"]!r}')
        flip_index.append(j)
        if i < j:
            pairs.append((i, j))
    # keep MMPose's pair order: by the first member's position, which i < j already gives
    return pairs, flip_index


def _parse_skeleton(skeleton_info: Any, names: Sequence[str], source: str) -> tuple:
    if not isinstance(skeleton_info, Mapping):
        raise DatasetInfoError(f'{source}: skeleton_info must be a dict '
                               f'{{id: dict(link=(name_a, name_b), ...)}}')
    index = {n: i for i, n in enumerate(names)}
    links, colors = [], []
    # link ids are not checked: nothing reads them, and MMPose's own ap10k.py repeats one
    for key, entry in skeleton_info.items():
        where = f'{source}: skeleton_info[{key}]'
        if not isinstance(entry, Mapping) or 'link' not in entry:
            raise DatasetInfoError(f'{where} must be a dict(link=(name_a, name_b), id=..., '
                                   f'color=...)')
        _check_keys(entry, _SKELETON_KEYS, where, 'a skeleton link')
        link = entry['link']
        if len(link) != 2:
            raise DatasetInfoError(f"{where}['link'] must name two keypoints, got {link!r}")
        for end in link:
            if end not in index:
                raise DatasetInfoError(f"{where}['link'] names {end!r}, which is not a keypoint "
                                       f'name{_suggest(end, names)}')
        links.append((index[link[0]], index[link[1]]))
        colors.append(_color(entry.get('color', _DEFAULT_COLOR), where))
    return links, colors


def _per_keypoint(values: Any, num: int, key: str, source: str,
                  empty_ok: bool = False) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError):
        raise DatasetInfoError(f'{source}: {key} must be a list of numbers, got {values!r}')
    if array.shape != (num,):
        alt = ' (or [] for a dataset without OKS sigmas)' if empty_ok else ''
        raise DatasetInfoError(f'{source}: {key} has {array.size} values but keypoint_info '
                               f'defines {num} keypoints; give {num}{alt}')
    return _readonly(array)


def _color(value: Any, where: str) -> Tuple[int, int, int]:
    try:
        rgb = tuple(int(c) for c in value)
    except (TypeError, ValueError):
        rgb = ()
    if len(rgb) != 3 or not all(0 <= c <= 255 for c in rgb):
        raise DatasetInfoError(f"{where}['color'] must be [r, g, b] with values 0..255, "
                               f'got {value!r}')
    return rgb


def _check_keys(entry: Mapping, allowed: Sequence[str], where: str, what: str) -> None:
    for key in entry:
        if key not in allowed:
            raise DatasetInfoError(f'{where}: unknown key {key!r}{_suggest(key, allowed)}; '
                                   f'{what} takes {", ".join(allowed)}')


def _suggest(word: Any, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=3, cutoff=0.6)
    return f' (did you mean {" or ".join(map(repr, close))}?)' if close else ''
