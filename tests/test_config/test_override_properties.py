"""Properties of --cfg-options on config chains (hypothesis): every override is applied exactly
once, at the place it names in the merged config, whatever the files did to get there.

The oracle is independent of posecfg: mmengine loads the files (no overrides), and the test
applies the overrides to that plain dict one after the other with its own few lines (an index
or the type of one item selects a list item, against the list as the earlier overrides left
it). The generated chains hold what made posecfg apply an override twice or in the wrong place:
a child that merges into the dict holding a list, a child that replaces a base's list with a
reordered copy, a third file on top, ``_base_.x`` copies, selectors whose item changes type.
"""
import copy
import os
import tempfile

import mmengine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posecfg.config import Config, TypeInfo


class NoTypes(TypeInfo):
    """No registry: only keys that exist (or are added with +) may be set."""

    def accepts(self, type_name, rel_path):
        return None

    def arguments(self, type_name):
        return []


LISTS = ('lst', 'data.train.pipeline')


def item(type_name, v):
    return {'type': type_name, 'v': v}


def pick(node, segment):
    """The oracle's reading of one key segment."""
    if isinstance(node, list):
        if segment.lstrip('-').isdigit():
            return int(segment)
        matches = [i for i, x in enumerate(node) if x.get('type') == segment]
        assert len(matches) == 1
        return matches[0]
    return segment


def oracle_apply(data, key, value=None, delete=False):
    segments = key.split('.')
    node = data
    for segment in segments[:-1]:
        node = node[pick(node, segment)]
    last = pick(node, segments[-1])
    if delete:
        del node[last]
    elif isinstance(value, dict) and value.get('_delete_'):
        node[last] = {k: v for k, v in value.items() if k != '_delete_'}
    else:
        node[last] = value


def get(data, dotted):
    for segment in dotted.split('.'):
        data = data[segment]
    return data


@st.composite
def chains(draw):
    """Files base.py ← child.py (← top.py): their texts, the top file's name, and whether a
    file above the base replaced ``lst``."""
    n_lst, n_pipe = draw(st.integers(2, 5)), draw(st.integers(2, 4))
    lst = [item(f'L{i}', i) for i in range(n_lst)]
    pipe = [item(f'P{i}', 10 + i) for i in range(n_pipe)]
    base = (f'lst = {lst!r}\n'
            f'data = dict(n=0, train=dict(pipeline={pipe!r}), other=dict(x=1))\n')
    child = ["_base_ = 'base.py'"]
    if draw(st.booleans()):  # a dict merge over the dict that holds a list
        child.append('data = dict(n=1)')
    reorder = draw(st.booleans())
    if reorder:  # the child's own list: the base's items in another order
        order = draw(st.permutations(range(n_lst)))
        child.append('lst = [' + ', '.join(f'_base_.lst[{i}]' for i in order) + ']')
    if draw(st.booleans()):
        child.append('lst_copy = _base_.lst')
    if draw(st.booleans()):  # the child replaces the nested list too (reversed)
        child.append('data = dict(train=dict(pipeline=_base_.data.train.pipeline[::-1]))')
    files = {'base.py': base, 'child.py': '\n'.join(child) + '\n'}
    top = 'child.py'
    if draw(st.booleans()):
        files['top.py'] = "_base_ = 'child.py'\ndata = dict(n=2)\nextra = 1\n"
        top = 'top.py'
        if draw(st.booleans()):  # the list made again, two files above the base
            files['top.py'] += 'lst = _base_.lst[1:] + _base_.lst[:1]\n'
            reorder = True
    return files, top, reorder


@st.composite
def option_sequences(draw, plain):
    """Options valid one after the other on ``plain`` (as the oracle sees it), and the oracle's
    result."""
    state = copy.deepcopy(plain)
    options, fresh = [], iter(range(1000))
    for _ in range(draw(st.integers(1, 5))):
        name = draw(st.sampled_from(LISTS))
        lst = get(state, name)
        kinds = ['set', 'retype', 'replace', 'dict'] + (['delete'] if len(lst) > 1 else [])
        kind = draw(st.sampled_from(kinds))
        if kind == 'dict':
            key, value = draw(st.sampled_from([('data.n', 7), ('data.other.x', 8)]))
            options.append(f'{key}={value}')
            oracle_apply(state, key, value)
            continue
        index = draw(st.integers(0, len(lst) - 1))
        how = draw(st.sampled_from(['index', 'negative', 'type']))
        segment = {'index': str(index), 'negative': str(index - len(lst)),
                   'type': lst[index]['type']}[how]
        key = f'{name}.{segment}'
        if kind == 'delete':
            options.append(f'~{key}')
            oracle_apply(state, key, delete=True)
        elif kind == 'set':
            value = draw(st.integers(100, 999))
            options.append(f'{key}.v={value}')
            oracle_apply(state, f'{key}.v', value)
        elif kind == 'retype':  # the selector's own item changes type
            new = f'N{next(fresh)}'
            options.append(f'{key}.type={new}')
            oracle_apply(state, f'{key}.type', new)
        else:
            new = f'R{next(fresh)}'
            options.append(f'{key}={{_delete_:True,type:{new},v:0}}')
            oracle_apply(state, key, {'_delete_': True, 'type': new, 'v': 0})
    return options, state


def write_files(root, files):
    for name, text in files.items():
        with open(os.path.join(root, name), 'w') as f:
            f.write(text)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chains(), st.data())
def test_each_override_applies_once_where_it_points(chain, data):
    files, top, reorder = chain
    with tempfile.TemporaryDirectory() as root:
        write_files(root, files)
        path = os.path.join(root, top)
        plain = mmengine.Config.fromfile(path).to_dict()
        options, expected = data.draw(option_sequences(plain))
        cfg = Config.fromfile(path, options, type_info=NoTypes(), warn=False)
    result = cfg.to_dict()
    if 'lst_copy' in plain and not reorder:
        # a copy of the base's list, which is the final one: it follows the overrides of lst
        expected['lst_copy'] = copy.deepcopy(expected['lst'])
    assert result == expected, options


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 6), st.data())
def test_selector_follows_its_item_through_changes(n, data):
    """Overrides that select an item by type, change its type or move it, one file."""
    items = [item(f'T{i}', i) for i in range(n)]
    with tempfile.TemporaryDirectory() as root:
        path = os.path.join(root, 'cfg.py')
        with open(path, 'w') as f:
            f.write(f'lst = {items!r}\nalias = lst\n')
        plain = mmengine.Config.fromfile(path).to_dict()
        state = copy.deepcopy(plain)
        options = []
        for step in range(data.draw(st.integers(1, 6))):
            lst = state['lst']
            index = data.draw(st.integers(0, len(lst) - 1))
            choice = data.draw(st.sampled_from(['retype', 'delete', 'set'] if len(lst) > 1
                                               else ['retype', 'set']))
            key = f"lst.{lst[index]['type']}"
            if choice == 'retype':
                options.append(f'{key}.type=X{step}')
                oracle_apply(state, f'{key}.type', f'X{step}')
            elif choice == 'delete':
                options.append(f'~{key}')
                oracle_apply(state, key, delete=True)
            else:
                options.append(f'{key}.v={step}')
                oracle_apply(state, f'{key}.v', step)
        cfg = Config.fromfile(path, options, type_info=NoTypes(), warn=False)
    expected = dict(state, alias=state['lst'])  # alias = lst in the file: it follows
    assert cfg.to_dict() == expected, options
