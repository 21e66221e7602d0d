"""Project config.yaml and label files of DeepLabCut projects → arrays, reports, errors."""
import csv
import warnings

import numpy as np
import pandas as pd
import pytest

from posecfg.interop.dlc.labels import (LabelFileError, format_report, merge_project_labels,
                                        read_labels, read_project_labels)
from posecfg.interop.dlc.project import read_project
from posecfg.interop.dlc.yaml_io import ConfigFileError, parse_yaml


def _csv_rows(path):
    with open(path, newline='') as f:
        return list(csv.reader(f))


# -- config.yaml ------------------------------------------------------------------------------

def test_openfield_config(openfield):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # 'multianimalproject:' is empty in the demo file
        p = read_project(openfield / 'config.yaml')
    assert (p.task, p.scorer, p.date) == ('openfield', 'Pranav', 'Oct30')
    assert p.bodyparts == ['snout', 'leftear', 'rightear', 'tailbase']
    assert p.multi_animal is False and p.unique_bodyparts == [] and p.with_identity is None
    assert p.training_fractions == [0.95] and p.iteration == 0 and p.pcutoff == 0.4
    assert p.video_names == ['m4s1']
    assert p.individuals == ['individual_1']          # DeepLabCut's ProjectConfig default
    assert p.cfg['default_net_type'] == 'resnet_50' and p.cfg['skeleton'] == []


def test_multianimal_config(synthetic_ma):
    p = read_project(synthetic_ma)
    assert p.multi_animal and p.cfg['bodyparts'] == 'MULTI!'
    assert p.bodyparts == ['a', 'b', 'c', 'd'] and p.unique_bodyparts == ['unique_a']
    assert p.individuals == ['animal_0', 'animal_1', 'animal_2'] and p.with_identity is False
    assert p.video_names == ['cat'] and p.training_fractions == [0.8]


def test_yaml12_numbers():
    # DeepLabCut reads YAML 1.2 (ruamel): 5e-4 is a float, 'yes' a string; PyYAML differs
    assert parse_yaml('a: 5e-4\nb: 1e-05\nc: yes\nd: 0.95\ne: 12\nf: .inf\ng: true') == {
        'a': 5e-4, 'b': 1e-5, 'c': 'yes', 'd': 0.95, 'e': 12, 'f': float('inf'), 'g': True}


def test_yaml_reads_with_libyaml_to_the_pure_python_values():
    """The YAML 1.2 loader runs on libyaml's parser where PyYAML has it (~6x faster: an
    evaluation reads ~10 project files); the values are the pure-Python parser's."""
    import yaml

    from posecfg.interop.dlc import yaml_io
    if not getattr(yaml, '__with_libyaml__', False):
        pytest.skip('PyYAML without libyaml')
    assert issubclass(yaml_io._Yaml12Loader, yaml.CSafeLoader)

    class PurePython(yaml.SafeLoader):
        yaml_implicit_resolvers = yaml_io._Yaml12Loader.yaml_implicit_resolvers
        yaml_constructors = yaml_io._Yaml12Loader.yaml_constructors

    text = ('a: 5e-4\nb: [1e-05, yes, on, 0x1F, 0o17, -.inf, .NaN, "12", ~]\nc:\n  d: True\n'
            '  e: 2026-12-01\n  f: |\n    two\n    lines\nskeleton:\n- [snout, tail]\n')
    ours, pure = parse_yaml(text), yaml.load(text, Loader=PurePython)
    assert repr(ours) == repr(pure)
    with pytest.raises(ConfigFileError, match='not valid YAML'):
        parse_yaml('a: [1, 2\nb: 3')


@pytest.mark.parametrize('edit, message', [
    (('TrainingFraction:\n- 0.95', 'TrainingFraction:\n- 1.5'), "TrainingFraction.0"),
    (('pcutoff: 0.4', 'pcutoff: high'), "'pcutoff'"),
    (('iteration: 0', 'iteraton: 0'), "did you mean 'iteration'"),
    (('skeleton: []', 'skeleton:\n- [snout, nose]'), "skeleton.0 names ['nose']"),
    (('bodyparts:\n- snout', 'bodyparts:\n- snout\n- snout'), "lists ['snout'] more than once"),
    (('Task: openfield', 'Task: ""'), "'Task' is missing or empty"),
])
def test_config_errors_name_file_and_key(openfield, edit, message):
    cfg = openfield / 'config.yaml'
    text = cfg.read_text()
    assert edit[0] in text
    cfg.write_text(text.replace(edit[0], edit[1]))
    with pytest.raises(ConfigFileError) as err, warnings.catch_warnings():
        warnings.simplefilter('ignore')
        read_project(cfg)
    assert str(cfg) in str(err.value) and message in str(err.value)


# -- label files ------------------------------------------------------------------------------

def test_openfield_labels_match_csv_cells(openfield):
    """Arrays hold exactly the CSV's numbers (independent oracle: the csv module)."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        labels = read_project_labels(openfield)
    rows = _csv_rows(openfield / 'labeled-data/m4s1/CollectedData_Pranav.csv')
    assert rows[1][1::2] == ['snout', 'leftear', 'rightear', 'tailbase']
    body = rows[3:]
    assert labels.keypoints.shape == (116, 1, 4, 2) and labels.unique_keypoints.shape == (116, 0, 2)
    assert list(labels.image_paths) == [r[0] for r in body]  # already sorted in the file
    expected = np.array([[float(v) for v in r[1:]] for r in body]).reshape(116, 1, 4, 2)
    np.testing.assert_array_equal(labels.keypoints, expected)
    for suffix in ('.h5', '.csv'):  # both formats, same arrays
        single = read_labels(openfield / f'labeled-data/m4s1/CollectedData_Pranav{suffix}')
        np.testing.assert_array_equal(single.keypoints, expected)
        assert single.scorer == 'Pranav' and not single.multi_animal


def test_multianimal_labels_match_csv_cells(synthetic_ma):
    labels = read_project_labels(synthetic_ma)
    rows = _csv_rows(synthetic_ma / 'labeled-data/cat/CollectedData_synthetic.csv')
    assert [r[0] for r in rows[:4]] == ['scorer', 'individuals', 'bodyparts', 'coords']
    header = list(zip(rows[1][3:], rows[2][3:], rows[3][3:]))
    body = rows[4:]
    assert labels.keypoints.shape == (25, 3, 4, 2) and labels.unique_keypoints.shape == (25, 1, 2)
    assert list(labels.image_paths) == ['/'.join(r[:3]) for r in body]
    for r, row in enumerate(body):
        for (ind, bp, coord), cell in zip(header, row[3:]):
            value = float(cell) if cell else np.nan
            c = 'xy'.index(coord)
            got = (labels.unique_keypoints[r, 0, c] if ind == 'single' else
                   labels.keypoints[r, labels.individuals.index(ind),
                                    labels.bodyparts.index(bp), c])
            np.testing.assert_equal(got, value)
    csv_labels = read_labels(synthetic_ma / 'labeled-data/cat/CollectedData_synthetic.csv')
    np.testing.assert_array_equal(csv_labels.keypoints, labels.keypoints)
    np.testing.assert_array_equal(csv_labels.unique_keypoints, labels.unique_keypoints)


def test_reports(openfield, synthetic_ma):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        single = read_project_labels(openfield).report()
    assert single['images'] == 116 and single['individuals'] == 1
    assert single['labelled_points'] == {'snout': 116, 'leftear': 116, 'rightear': 116,
                                         'tailbase': 116}
    assert single['empty_images'] == []
    labels = read_project_labels(synthetic_ma)
    multi = labels.report()
    # oracle: count non-empty x cells per bodypart straight from the CSV
    rows = _csv_rows(synthetic_ma / 'labeled-data/cat/CollectedData_synthetic.csv')
    counts, empty = {}, []
    for row in rows[4:]:
        any_cell = False
        for bp, coord, cell in zip(rows[2][3:], rows[3][3:], row[3:]):
            if coord == 'x' and cell:
                counts[bp] = counts.get(bp, 0) + 1
                any_cell = True
        if not any_cell:
            empty.append('/'.join(row[:3]))
    assert multi['labelled_points'] == counts
    assert multi['empty_images'] == empty == ['labeled-data/cat/img0012.png']
    assert multi['images'] == 25 and multi['individuals'] == 3 and multi['unique_bodyparts'] == 1
    text = format_report(labels)
    assert 'unique_a: 24' in text and 'img0012.png' in text


def test_merge_sorts_rows_and_orders_bodyparts(openfield):
    """Several videos merge in DeepLabCut's order: sorted rows, config bodypart order."""
    src = openfield / 'labeled-data/m4s1/CollectedData_Pranav.h5'
    df = pd.read_hdf(src)
    second = df.iloc[:3].copy()
    second.index = [i.replace('m4s1', 'a0') for i in second.index]
    second = second[second.columns[::-1]]  # another column order in the file
    (openfield / 'labeled-data/a0').mkdir()
    second.to_hdf(openfield / 'labeled-data/a0/CollectedData_Pranav.h5', key='df_with_missing')
    cfg = openfield / 'config.yaml'
    cfg.write_text(cfg.read_text().replace('video_sets:\n', f'video_sets:\n  {openfield}/videos/a0.avi:\n    crop: 0, 640, 0, 480\n', 1))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        merged = merge_project_labels(openfield)
        labels = read_project_labels(openfield)
    assert merged.index[0] == ('labeled-data', 'a0', 'img0000.png') and len(merged) == 119
    assert list(merged.columns.get_level_values('bodyparts')[::2]) == [
        'snout', 'leftear', 'rightear', 'tailbase']
    np.testing.assert_array_equal(labels.keypoints[0, 0, 0], df.iloc[0][('Pranav', 'snout')].values)


def test_bad_label_files(tmp_path):
    bad = tmp_path / 'CollectedData_x.csv'
    bad.write_text('frame,a,b\n1,2,3\n')
    with pytest.raises(LabelFileError, match="must start with 'scorer'"):
        read_labels(bad)
    bad.write_text('scorer,x,x\nbodyparts,a,a\ncoords,x,z\nlabeled-data/v/i.png,1,2\n')
    with pytest.raises(LabelFileError, match=r"coords level has \['z'\]"):
        read_labels(bad)
    with pytest.raises(LabelFileError, match='not found'):
        read_labels(tmp_path / 'missing.h5')


def test_an_unchanged_label_file_is_read_once(tmp_path, monkeypatch):
    """An evaluation reads the labels once per split: the second read of an unchanged file
    comes from memory (a copy), a replaced file is read again."""
    from posecfg.interop.dlc import labels
    frame = pd.DataFrame(
        [[1.0, 2.0], [3.0, 4.0]], index=pd.MultiIndex.from_tuples(
            [('labeled-data', 'v', 'a.png'), ('labeled-data', 'v', 'b.png')]),
        columns=pd.MultiIndex.from_tuples([('me', 'nose', 'x'), ('me', 'nose', 'y')],
                                          names=['scorer', 'bodyparts', 'coords']))
    path = tmp_path / 'CollectedData_me.h5'
    frame.to_hdf(path, key='df_with_missing', mode='w')
    reads = []
    read_hdf = pd.read_hdf
    monkeypatch.setattr(labels.pd, 'read_hdf',
                        lambda *a, **k: reads.append(a) or read_hdf(*a, **k))
    first = labels.read_label_frame(path)
    first.iloc[0, 0] = -1.0  # the caller's copy
    second = labels.read_label_frame(path)
    assert len(reads) == 1 and second.iloc[0, 0] == 1.0
    replaced = tmp_path / 'new.h5'
    (frame + 10).to_hdf(replaced, key='df_with_missing', mode='w')
    replaced.replace(path)  # a new file under the name (a writer's atomic rename)
    assert labels.read_label_frame(path).iloc[0, 0] == 11.0 and len(reads) == 2
