"""A shuffle's ``pytorch_config.yaml`` and ``test/pose_cfg.yaml``, as DeepLabCut 3.0.2 writes them.

The build follows ``deeplabcut/pose_estimation_pytorch/config/make_pose_config.py``
(``build_pose_config_defaults``) and ``config/pose.py`` (``PoseConfig.build``):

1. the backbone's YAML, ``method: bu``, and a ``bodypart`` head: ``head_bodyparts.yaml`` for a
   single-animal project, ``head_bodyparts_with_paf.yaml`` for a multi-animal one, with its
   placeholders filled (``num_bodyparts``, ``num_individuals``, ``backbone_output_channels``,
   ``paf_graph``, ``paf_edges_to_keep``, ``num_limbs``; ``x``, ``+``, ``//`` arithmetic); the
   whole-model net types ``dekr_w18/w32/w48`` and ``dlcrnet_stride16_ms5/stride32_ms5``
   (``dlcrnet_ms5``) instead read their own file (``dekr/``, ``dlcrnet/``) with the
   placeholders filled everywhere (DLCRNet: multi-animal projects only, as it needs the PAF
   parameters);
2. ``net_type``; ``data`` from ``aug_default.yaml`` merged in; all of it merged over
   ``base.yaml`` (a nested mapping merges key by key, except that ``optimizer`` and
   ``scheduler`` are replaced whole: DeepLabCut compares the parent's ``type`` with the new
   section's, which always differ);
3. a ``unique_bodypart`` head (``head_bodyparts.yaml`` with ``label_keypoint_key:
   keypoints_unique``) when the project has unique bodyparts, an ``identity`` head when
   ``identity: true``; ``inference`` defaults; ``metadata`` from the project;
4. validation through the pydantic ``PoseConfig``, whose dump orders the keys as its fields
   are declared and adds every field's default (see :mod:`.pose_config_defaults`).

The result is written with DeepLabCut's YAML layout (:func:`~.yaml_io.dump_yaml`).
"""
from __future__ import annotations

import copy
import itertools
import random
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union

from posecfg.files import write_atomically

from . import pose_config_defaults as D
from .project import DLCProject, read_project
from .yaml_io import ConfigFileError, dump_yaml

#: net types this module builds configs for (DeepLabCut's bottom-up backbones)
NET_TYPES = tuple(D.BACKBONES) + tuple(D.ARCHITECTURES)
#: DeepLabCut prunes a complete PAF graph with at least this many edges
#: (paf_parameters.py ``num_limbs_threshold``) to this average degree (``paf_graph_degree``)
PAF_PRUNE_THRESHOLD = 105
PAF_GRAPH_DEGREE = 6


def fill_placeholders(config: Any, **values: Any) -> Any:
    """DeepLabCut's ``replace_default_values``: strings naming a value become that value.

    A string whose first word is a key of ``values`` is replaced: ``"name"`` by the value,
    ``"name x F"``, ``"name + F"``, ``"name // F"`` (F an integer) by the arithmetic. A value
    given as None that is still needed is an error, as in DeepLabCut.
    """
    if isinstance(config, dict):
        return {k: fill_placeholders(v, **values) for k, v in config.items()}
    if isinstance(config, list):
        return [fill_placeholders(v, **values) for v in config]
    if not isinstance(config, str):
        return config
    parts = config.strip().split(' ')
    if parts[0] not in values:
        return config
    base = values[parts[0]]
    if base is None:
        raise ValueError(f'placeholder {config!r} needs a value for {parts[0]!r}')
    if len(parts) == 1:
        return copy.deepcopy(base)
    if len(parts) != 3 or not parts[2].isdigit():
        raise ValueError(f'cannot parse placeholder {config!r} (expected "name OP integer")')
    op, factor = parts[1], int(parts[2])
    if op == 'x':
        return base * factor
    if op == '+':
        return base + factor
    if op == '//':
        return base // factor
    raise ValueError(f'unknown operator {op!r} in placeholder {config!r}')


def merge_defaults(config: Mapping, updates: Mapping) -> Dict[str, Any]:
    """DeepLabCut's ``_update_config``: ``updates`` merged into a copy of ``config``."""
    merged = copy.deepcopy(dict(config))
    for key, value in updates.items():
        if key in merged and isinstance(merged[key], dict) and isinstance(value, dict):
            if key in ('optimizer', 'scheduler') and merged.get('type') != value.get('type'):
                merged[key] = copy.deepcopy(value)  # replaced whole (see module docstring)
            else:
                merged[key] = merge_defaults(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def paf_parameters(num_bodyparts: int, paf_best: Optional[List[int]] = None,
                   seed: Optional[int] = None) -> Dict[str, Any]:
    """DeepLabCut's PAF graph for a multi-animal project (config/paf_parameters.py).

    The complete graph over the bodyparts (pairs ``[i, j]``, i < j, in lexicographic order);
    with ``PAF_PRUNE_THRESHOLD`` edges or more DeepLabCut keeps a random connected subgraph of
    average degree ``PAF_GRAPH_DEGREE`` (auxfun_multianimal.py ``prune_paf_graph``, unseeded
    there; seeded here with ``seed``).
    """
    graph = [list(edge) for edge in itertools.combinations(range(num_bodyparts), 2)]
    if len(graph) >= PAF_PRUNE_THRESHOLD:
        graph = _prune_graph(graph, num_bodyparts, random.Random(seed))
    return {'paf_graph': graph, 'num_limbs': len(graph),
            'paf_edges_to_keep': list(range(len(graph))) if paf_best is None else paf_best}


def _prune_graph(graph: List[List[int]], num_nodes: int, rng: random.Random) -> List[List[int]]:
    wanted = -(-num_nodes * PAF_GRAPH_DEGREE // 2)  # ceil(n * degree / 2)
    while True:
        edges = rng.sample(graph, wanted)
        nodes = {n for edge in edges for n in edge}
        if len(nodes) == num_nodes and _connected(edges, num_nodes):
            return sorted(sorted(edge) for edge in edges)


def _connected(edges: List[List[int]], num_nodes: int) -> bool:
    neighbours: Dict[int, set] = {n: set() for n in range(num_nodes)}
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    seen, todo = {0}, [0]
    while todo:
        for nxt in neighbours[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return len(seen) == num_nodes


def _normalise(value: Any, schema: D.Schema, where: str) -> Dict[str, Any]:
    """Order ``value`` as the pydantic model ``schema`` dumps it, adding defaults."""
    if not isinstance(value, dict):
        raise ConfigFileError(f'{where} must be a mapping, found {value!r}')
    unknown = [k for k in value if k not in schema]
    if unknown:
        raise ConfigFileError(f'{where}: unknown keys {unknown} (known: {list(schema)})')
    out: Dict[str, Any] = {}
    for key, default in schema.items():
        given = key in value
        if isinstance(default, D.Schema):
            out[key] = _normalise(value.get(key, {}), default, f'{where}.{key}')
        elif isinstance(default, D.OPTIONAL):
            out[key] = (None if value.get(key) is None
                        else _normalise(value[key], default.schema, f'{where}.{key}'))
        else:
            out[key] = copy.deepcopy(value[key] if given else default)
    return out


def build_pose_config(project: Union[str, Path, DLCProject], net_type: Optional[str] = None,
                      pose_config_path: Union[str, Path, None] = None,
                      weight_init: Optional[Mapping] = None,
                      paf_seed: Optional[int] = None) -> Dict[str, Any]:
    """The ``pytorch_config.yaml`` content DeepLabCut 3.0.2 writes for ``project``.

    Args:
        project: the project (its config.yaml, folder, or a read :class:`DLCProject`).
        net_type: one of :data:`NET_TYPES`; None takes the project's ``default_net_type``.
        pose_config_path: where the file will be written (recorded in ``metadata``).
        weight_init: DeepLabCut's ``train_settings.weight_init`` mapping, if any.
        paf_seed: seed of the PAF-graph pruning (projects with >= 15 bodyparts only).

    Returns:
        plain data in the written key order.
    """
    project = read_project(project)
    net_type = project.cfg['default_net_type'] if net_type is None else net_type
    net_type = D.NET_TYPE_ALIASES.get(net_type, net_type)
    if net_type not in NET_TYPES:
        raise ConfigFileError(
            f'net type {net_type!r} is not supported by posecfg yet; supported (DeepLabCut '
            f'bottom-up models): {", ".join(NET_TYPES)}')
    bodyparts, unique = project.bodyparts, project.unique_bodyparts
    individuals = project.individuals
    # make_pose_config.py: PAF parameters exist for multi-animal bottom-up projects only
    paf = (paf_parameters(len(bodyparts), project.cfg.get('paf_best'), seed=paf_seed)
           if project.multi_animal else None)

    if net_type in D.ARCHITECTURES:  # a whole model file: placeholders filled everywhere
        if net_type.startswith('dlcrnet') and paf is None:
            raise ConfigFileError(
                f'{net_type} predicts part affinity fields between individuals: DeepLabCut '
                f'builds it for multi-animal projects only (multianimalproject: true in '
                f'{project.config_path}); choose one of {", ".join(D.BACKBONES)}')
        model_cfg = fill_placeholders(D.ARCHITECTURES[net_type], num_bodyparts=len(bodyparts),
                                      num_individuals=len(individuals), **(paf or {}))
    else:
        model_cfg = copy.deepcopy(D.BACKBONES[net_type])
        channels = model_cfg['model']['backbone_output_channels']
        if paf is not None:
            head = fill_placeholders(D.HEAD_BODYPARTS_WITH_PAF, num_bodyparts=len(bodyparts),
                                     num_individuals=len(individuals),
                                     backbone_output_channels=channels, **paf)
        else:
            model_cfg['method'] = 'bu'
            head = fill_placeholders(D.HEAD_BODYPARTS, num_bodyparts=len(bodyparts),
                                     num_individuals=None, backbone_output_channels=channels)
        model_cfg['model']['heads'] = {'bodypart': head}
    channels = model_cfg['model']['backbone_output_channels']
    model_cfg['net_type'] = net_type
    model_cfg = merge_defaults(model_cfg, {'data': D.AUG_DEFAULT})
    cfg = merge_defaults(D.BASE, model_cfg)
    if unique:
        unique_head = fill_placeholders(D.HEAD_BODYPARTS, num_bodyparts=len(unique),
                                        num_individuals=None, backbone_output_channels=channels)
        unique_head['target_generator']['label_keypoint_key'] = 'keypoints_unique'
        cfg['model']['heads']['unique_bodypart'] = unique_head
    if project.with_identity:
        cfg['model']['heads']['identity'] = fill_placeholders(
            D.HEAD_IDENTITY, num_bodyparts=None, num_individuals=len(individuals),
            backbone_output_channels=channels)
    cfg['metadata'] = {
        'project_path': project.cfg['project_path'],
        'pose_config_path': None if pose_config_path is None else str(pose_config_path),
        'bodyparts': bodyparts, 'unique_bodyparts': unique, 'individuals': individuals,
        'with_identity': project.with_identity,
    }
    if weight_init is not None:
        cfg['train_settings']['weight_init'] = dict(weight_init)
    return _normalise(cfg, D.POSE_CONFIG, 'pytorch_config')


def build_test_config(pose_config: Mapping) -> Dict[str, Any]:
    """``test/pose_cfg.yaml`` for a pose config (config/pose.py ``TestConfig.build``)."""
    meta = pose_config['metadata']
    names = list(meta['bodyparts']) + list(meta['unique_bodyparts'])
    return _normalise({
        'dataset': meta['project_path'],
        'num_joints': len(names),
        'all_joints': [[i] for i in range(len(names))],
        'all_joints_names': names,
        'net_type': pose_config['net_type'],
        'dataset_type': 'multi-animal-imgaug',
        'global_scale': 1.0,
        'scoremap_dir': 'test',
    }, D.TEST_CONFIG, 'pose_cfg')


def build_inference_config(project: DLCProject) -> Dict[str, Any]:
    """``test/inference_cfg.yaml`` of a multi-animal shuffle (DeepLabCut's inference_cfg.yaml
    template with ``minimalnumberofconnections``, ``topktoretain`` and ``withid`` set, as in
    multiple_individuals_trainingsetmanipulation.py)."""
    cfg = dict(D.INFERENCE_CFG)
    cfg['minimalnumberofconnections'] = int(len(project.cfg['multianimalbodyparts']) / 2)
    cfg['topktoretain'] = len(project.individuals)
    cfg['withid'] = project.cfg.get('identity', False)
    return cfg


def pose_config_text(pose_config: Mapping) -> str:
    """The YAML text of a pose config, with DeepLabCut's comment above ``config_version``."""
    return dump_yaml(pose_config, comments={'config_version': D.CONFIG_VERSION_COMMENT})


def write_pose_config(pose_config: Mapping, path: Union[str, Path]) -> None:
    write_atomically(pose_config_text(pose_config), path)


def write_plain_yaml(data: Mapping, path: Union[str, Path]) -> None:
    write_atomically(dump_yaml(data), path)
