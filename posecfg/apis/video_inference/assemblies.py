"""Per-frame assembled individuals of a multi-animal video, ready for tracking.

Beside the DeepLabCut ``.h5`` of a video with several individuals, :func:`write_assemblies`
writes the same rows, one entry per individual a frame has, in two files, and in a third on
request (all hold only numbers, strings and plain containers, so they load without running
any code):

``<video stem><scorer>_assemblies.pickle``: DeepLabCut 3's own layout
(``deeplabcut/pose_estimation_pytorch/apis/videos.py`` ``_generate_assemblies_file``, l. 765-
825), which its ``convert_detections2tracklets`` (``apis/tracklets.py`` ``build_tracklets``, l.
197-300) and ``find_outliers_in_raw_data`` (``refine_training_dataset/outlier_frames.py``, l.
82-93) read::

    {frame index (int): (n, K, 4) float64 x, y, likelihood, identity,
     ...,
     'single': {frame index: (U, 3) float64 x, y, likelihood of the unique bodyparts}}

``n`` is the individuals the frame has, in the ``.h5``'s individual order (DeepLabCut drops
the rows it padded with -1: ``~np.all(preds < 0)``); ``identity`` is each keypoint's most
likely identity (argmax of an identity head's scores) or -1 without an identity head. A plain
dict of int keys and numpy arrays: DeepLabCut's ``pickle.load`` reads it, and so does posecfg's
restricted unpickler (:func:`posecfg.interop.dlc.safe_pickle.load_pickle`), which refuses any
pickle naming anything but numpy's array rebuilders. Frames that did not decode have no key
(DeepLabCut's trackers skip a missing frame). No other key is added: DeepLabCut's outlier
extraction takes every key but ``'single'`` for a frame.

``<video stem><scorer>_assemblies.npz``: posecfg's flat table with what DeepLabCut's layout
has no room for (the assembly's affinity), one row per assembled individual, read with
``numpy.load(path, allow_pickle=False)`` or :func:`read_assemblies`:

==================  ==============  ====================================================
``frame``           (M,) int64      video frame index
``individual``      (M,) int64      the individual's slot: its index in ``individuals``
``keypoints``       (M, K, 3) f8    x, y (original video pixels), likelihood: the ``.h5``
``identity``        (M, K) int64    per keypoint, as the pickle's 4th column
``affinity``        (M,) float64    mean part-affinity of the individual's links (PAF
                                    models); NaN where the model gives none (DEKR, ...)
``unique_frame``    (F,) int64      frames with unique bodyparts
``unique``          (F, U, 3) f8    x, y, likelihood of the unique bodyparts
``bodyparts``       (K,) str        the multi-animal bodyparts, in column order
``individuals``     (N,) str        the ``.h5``'s individuals (without ``single``)
``unique_bodyparts`` (U,) str       DeepLabCut's unique bodyparts
``decoded``         (T,) bool       which frames decoded (T: the ``.h5``'s rows)
==================  ==============  ====================================================

``<video stem><scorer>_full.pickle``, on request (``full_path``; off by default in
:func:`~posecfg.apis.video_inference.infer_video`: pickling its two small arrays per bodypart
and frame takes about a minute per hour of 30 frames/s video on a 2-core Xeon, where the
other two files take a few seconds): what DeepLabCut 3's ``analyze_videos`` writes for a
multi-animal model (``_generate_output_data``, videos.py l. 884-944), which its
``convert_detections2tracklets`` also opens (``LoadFullMultiAnimalData``: ``metadata``'s
``all_joints_names`` and ``nframes``) and from which it rebuilds the assemblies: ``metadata``
(``nms radius``, ``minimal confidence``: None, not known to posecfg; ``sigma`` 1;
``PAFgraph``/``PAFinds`` the PAF model's graph and kept edges, else None/[]; ``all_joints``
``[[0], ..., [K+U-1]]``; ``all_joints_names`` bodyparts then unique bodyparts; ``nframes``;
``key_str_width`` ``ceil(log10(T))``) and per frame ``'frame' + str(t).zfill(width)``:
``coordinates`` = ``([(N, 2) per bodypart, then (1, 2) per unique bodypart],)``,
``confidence`` = ``[(N, 1) ..., (1, 1) ...]``, ``costs`` None: the ``.h5``'s rows (-1 for
individuals absent, NaN for frames that did not decode). No identity scores (posecfg keeps
only the most likely identity, in the assemblies). Plain dicts, lists, tuples and arrays.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from posecfg.files import write_atomically

__all__ = ['assembled_rows', 'dlc_assemblies', 'dlc_full_data', 'write_assemblies',
           'read_assemblies']


def assembled_rows(values: np.ndarray, decoded: np.ndarray,
                   extras: Optional[Mapping[int, dict]] = None) -> Dict[str, np.ndarray]:
    """The individuals each decoded frame has, as the flat arrays of the ``.npz``.

    Args:
        values: (T, N, K, 3) the ``.h5`` rows: an individual a frame does not have is all NaN
            or all -1 (DeepLabCut's padding).
        decoded: (T,) bool.
        extras: frame → dict(affinity (N',), identity (N', K)) of the frame's first N' slots
            (:func:`~posecfg.apis.video_inference.predictors.assembly_extras`); frames
            without an entry get NaN affinities and identity -1.
    Returns:
        ``frame``, ``individual``, ``keypoints``, ``identity``, ``affinity`` (module table).
    """
    values = np.asarray(values, np.float64)
    t_count, n, k = values.shape[:3]
    present = ~(np.isnan(values).all(axis=(2, 3)) | (values == -1).all(axis=(2, 3)))
    present &= np.asarray(decoded, bool)[:, None]
    frame, slot = np.nonzero(present)
    identity = np.full((len(frame), k), -1, np.int64)
    affinity = np.full(len(frame), np.nan)
    for row, (t, j) in enumerate(zip(frame, slot)):
        found = (extras or {}).get(int(t))
        if found is not None and j < len(found['affinity']):
            affinity[row] = found['affinity'][j]
            identity[row] = found['identity'][j]
    return dict(frame=frame.astype(np.int64), individual=slot.astype(np.int64),
                keypoints=values[frame, slot], identity=identity, affinity=affinity)


def dlc_assemblies(rows: Mapping[str, np.ndarray], decoded: np.ndarray,
                   unique: Optional[np.ndarray] = None) -> dict:
    """DeepLabCut's ``_assemblies.pickle`` dict (module docstring) from
    :func:`assembled_rows`; ``unique`` (T, U, 3) or None."""
    k = rows['keypoints'].shape[1]
    both = np.concatenate([rows['keypoints'], rows['identity'][..., None].astype(np.float64)],
                          axis=-1)  # (M, K, 4)
    frames = np.flatnonzero(decoded)
    # rows come sorted by frame: each frame's rows are one slice (no scan per frame)
    starts = np.searchsorted(rows['frame'], frames, 'left')
    ends = np.searchsorted(rows['frame'], frames, 'right')
    data = {'single': {}}
    for t, start, end in zip(frames, starts, ends):
        data[int(t)] = both[start:end].reshape(-1, k, 4)
        if unique is not None and np.shape(unique)[1]:
            data['single'][int(t)] = np.asarray(unique[t], np.float64)
    return data


def dlc_full_data(values: np.ndarray, unique: Optional[np.ndarray], bodyparts: Sequence[str],
                  unique_bodyparts: Sequence[str] = (), graph: Optional[Sequence] = None,
                  edges_to_keep: Optional[Sequence[int]] = None) -> dict:
    """DeepLabCut's ``_full.pickle`` dict (module docstring) of the ``.h5``'s ``values``
    (T, N, K, 3) and ``unique`` (T, U, 3) or None."""
    values = np.asarray(values, np.float64)
    t_count = len(values)
    names = list(bodyparts) + list(unique_bodyparts)
    width = int(np.ceil(np.log10(t_count))) if t_count else 0
    data = {'metadata': {
        'nms radius': None, 'minimal confidence': None, 'sigma': 1,
        'PAFgraph': None if graph is None else [list(map(int, e)) for e in graph],
        'PAFinds': (np.arange(len(graph or [])) if edges_to_keep is None
                    else np.asarray(edges_to_keep, np.int64)),
        'all_joints': [[i] for i in range(len(names))], 'all_joints_names': names,
        'nframes': t_count, 'key_str_width': width}}
    for t in range(t_count):
        per_part = values[t].transpose(1, 0, 2)  # (K, N, 3)
        coordinates = [p[:, :2] for p in per_part]
        confidence = [p[:, 2:3] for p in per_part]
        if unique is not None and len(unique_bodyparts):
            for point in np.asarray(unique[t], np.float64).reshape(-1, 3):
                coordinates.append(point[None, :2])
                confidence.append(point[None, 2:3])
        data['frame' + str(t).zfill(width)] = {'coordinates': (coordinates,),
                                               'confidence': confidence, 'costs': None}
    return data


def write_assemblies(pickle_path, table_path, values: np.ndarray, decoded: np.ndarray,
                     bodyparts: Sequence[str], individuals: Sequence[str],
                     extras: Optional[Mapping[int, dict]] = None,
                     unique: Optional[np.ndarray] = None,
                     unique_bodyparts: Sequence[str] = (), full_path=None,
                     graph: Optional[Sequence] = None,
                     edges_to_keep: Optional[Sequence[int]] = None) -> List[Path]:
    """Write the files of the module docstring atomically (``_full.pickle`` when
    ``full_path``); returns their paths.

    ``values`` (T, N, K, 3) and ``unique`` (T, U, 3): exactly what went into the ``.h5``;
    ``graph``/``edges_to_keep``: a PAF model's (``_full.pickle``'s metadata).
    """
    from posecfg.interop.dlc.safe_pickle import dump_pickle
    decoded = np.asarray(decoded, bool)
    rows = assembled_rows(values, decoded, extras)
    dump_pickle(dlc_assemblies(rows, decoded, unique), pickle_path)
    written = [Path(pickle_path), Path(table_path)]
    if full_path is not None:
        dump_pickle(dlc_full_data(values, unique, bodyparts, unique_bodyparts, graph,
                                  edges_to_keep), full_path)
        written.append(Path(full_path))
    unique = (np.zeros((len(decoded), 0, 3)) if unique is None else
              np.asarray(unique, np.float64))
    has_unique = np.flatnonzero(decoded) if unique.shape[1] else np.zeros(0, np.int64)
    table = dict(rows, unique_frame=has_unique.astype(np.int64), unique=unique[has_unique],
                 bodyparts=np.array(list(bodyparts), dtype=str),
                 individuals=np.array(list(individuals), dtype=str),
                 unique_bodyparts=np.array(list(unique_bodyparts), dtype=str),
                 decoded=decoded)
    write_atomically(lambda f: np.savez(f, **table), table_path)
    return written


def read_assemblies(path) -> dict:
    """An assemblies file back: the ``.pickle`` through the restricted unpickler (DeepLabCut's
    dict, checked to be its layout), the ``.npz`` without pickle (its arrays by name)."""
    path = Path(path)
    if path.suffix == '.npz':
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    from posecfg.interop.dlc.safe_pickle import load_pickle
    data = load_pickle(path)
    if not isinstance(data, dict) or not isinstance(data.get('single'), dict):
        raise ValueError(f"{path}: not DeepLabCut assemblies (a dict with 'single' and frame "
                         f'index keys), got {type(data).__name__}')
    for key, value in data.items():
        if key == 'single':
            continue
        if not isinstance(key, int) or not isinstance(value, np.ndarray) \
                or value.ndim != 3 or value.shape[-1] != 4:
            raise ValueError(f'{path}: entry {key!r} is not frame index → (n, K, 4) array '
                             f'(x, y, likelihood, identity)')
    return data
