"""Every zoo config resolves to exactly the data it resolved to before the zoo was split into
``configs/_base_/`` parts (models, pipelines, schedules): moving a value into a shared file must
not change any experiment.

``resolved_configs.repr.xz`` holds ``repr({path relative to configs/: Config.fromfile(path)
.to_dict()})`` of every config outside ``_base_/`` at commit 21b337b (before the split),
xz-compressed (10 KB instead of 700 KB of text; ``repr`` keeps tuples, floats round-trip exactly).
Read it with ``xz -dc tests/test_configs/resolved_configs.repr.xz``.

The comparison is strict about types (``1`` is not ``1.0``, a tuple is not a list), unlike ``==``.
Key order is free: a value moved into a base file is merged in another order.
A config that changes on purpose regenerates its entry with ``python
tests/test_configs/test_resolved_snapshots.py --update CONFIG`` (review the diff of the
experiment first).
"""
import ast
import lzma
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SNAPSHOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'resolved_configs.repr.xz')


def load_snapshots() -> dict:
    with open(SNAPSHOT, 'rb') as f:
        return ast.literal_eval(lzma.decompress(f.read()).decode())


SNAPSHOTS = load_snapshots()


def differences(old, new, path='') -> list:
    """Where ``new`` differs from ``old``, type included (['a.b: 50 → 18', …])."""
    if type(old) is not type(new):
        return [f'{path or "<root>"}: {old!r} ({type(old).__name__}) → {new!r} '
                f'({type(new).__name__})']
    if isinstance(old, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            where = f'{path}.{key}' if path else str(key)
            if key not in new:
                out.append(f'{where}: removed (was {old[key]!r})')
            elif key not in old:
                out.append(f'{where}: added ({new[key]!r})')
            else:
                out += differences(old[key], new[key], where)
        return out
    if isinstance(old, (list, tuple)):
        if len(old) != len(new):
            return [f'{path}: {len(old)} items → {len(new)} items']
        return [d for i, (a, b) in enumerate(zip(old, new))
                for d in differences(a, b, f'{path}.{i}')]
    return [] if old == new else [f'{path}: {old!r} → {new!r}']


def test_differences_is_strict_about_types():
    assert differences({'a': (1, 2)}, {'a': [1, 2]}) == ['a: (1, 2) (tuple) → [1, 2] (list)']
    assert differences({'a': 1}, {'a': 1.0}) == ['a: 1 (int) → 1.0 (float)']
    assert differences({'a': True}, {'a': 1}) == ['a: True (bool) → 1 (int)']
    assert differences({'a': {'b': 1}}, {'a': {'c': 1}}) == ['a.b: removed (was 1)',
                                                           'a.c: added (1)']
    assert differences({'a': [1, {'b': 'x'}]}, {'a': [1, {'b': 'x'}]}) == []


def test_snapshot_covers_the_zoo():
    assert len(SNAPSHOTS) == 30
    assert 'body/2d_kpt_sview_rgb_img/topdown_heatmap/coco/res50_coco_256x192.py' in SNAPSHOTS


@pytest.mark.parametrize('config', sorted(SNAPSHOTS))
def test_config_resolves_as_before(config):
    from posecfg.config import Config

    path = os.path.join(REPO, 'configs', config)
    assert os.path.isfile(path), f'{config} is gone; the zoo keeps every experiment'
    found = differences(SNAPSHOTS[config], Config.fromfile(path).to_dict())
    assert not found, f'{config} resolves differently:\n' + '\n'.join(found[:20])


def _update(configs):
    sys.path.insert(0, REPO)
    from posecfg.config import Config
    snapshots = load_snapshots()
    for config in configs:
        rel = os.path.relpath(os.path.abspath(config), os.path.join(REPO, 'configs'))
        snapshots[rel] = Config.fromfile(os.path.join(REPO, 'configs', rel)).to_dict()
    tmp = SNAPSHOT + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(lzma.compress(repr(dict(sorted(snapshots.items()))).encode(), preset=9))
    os.replace(tmp, SNAPSHOT)


if __name__ == '__main__':
    if sys.argv[1:2] != ['--update'] or len(sys.argv) < 3:
        sys.exit(f'usage: python {sys.argv[0]} --update CONFIG [CONFIG ...]')
    _update(sys.argv[2:])
