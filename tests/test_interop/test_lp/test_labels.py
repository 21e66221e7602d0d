"""Lightning Pose labels CSV: the mirror-mouse file, #210's empty first row, visibility and
likelihood columns, and the errors for files Lightning Pose would misread."""
import numpy as np
import pytest

from posecfg.interop.lp.labels import (LPLabelsError, read_lp_labels, resolve_csv_path)
from tests.conftest import shared_path

HEADER = ('scorer,me,me,me,me\n'
          'bodyparts,nose,nose,tail,tail\n'
          'coords,x,y,x,y\n')


def write(tmp_path, text, name='CollectedData.csv'):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_mirror_mouse_file():
    csv = shared_path('lp-mirror-mouse', 'CollectedData.csv')
    labels = read_lp_labels(str(csv))
    assert labels.num_images == 90 and labels.num_keypoints == 17
    assert labels.image_names[0] == 'labeled-data/img01.png'
    assert labels.image_names[-1] == 'labeled-data/img90.png'
    assert labels.keypoint_names[:2] == ('paw1LH_top', 'paw2LF_top')
    assert labels.keypoint_names[-1] == 'obsLow_bot'
    assert set(labels.scorer) == {'rick'}
    # first row of the file: 77.25,36.25,253.5,101.900392541708,...,(tailBase_top empty)
    assert labels.keypoints[0, 0].tolist() == [77.25, 36.25]
    assert labels.keypoints[0, 1].tolist() == [253.5, 101.900392541708]
    assert np.isnan(labels.keypoints[0, 4]).all()           # tailBase_top: two empty cells
    assert labels.keypoints[0, 6].tolist() == [390.75, 24.25]
    assert labels.visibility is None and labels.likelihood is None
    assert labels.instance_keypoints.shape == (90, 1, 17, 2)


def test_empty_first_row_is_kept_as_nan_row(tmp_path):
    # paninski-lab/lightning-pose#210: pandas drops an all-empty first row
    path = write(tmp_path, HEADER + 'img0.png,,,,\nimg1.png,1,2,3,4\n')
    labels = read_lp_labels(path)
    assert labels.image_names == ('img0.png', 'img1.png')
    assert np.isnan(labels.keypoints[0]).all()
    assert labels.keypoints[1].tolist() == [[1, 2], [3, 4]]


def test_visible_column(tmp_path):
    text = ('scorer,me,me,me,me,me,me\nbodyparts,a,a,a,b,b,b\ncoords,x,y,visible,x,y,visible\n'
            'i0.png,1,2,2,,,0\ni1.png,3,4,1,5,6,2\n')
    labels = read_lp_labels(write(tmp_path, text))
    assert labels.visibility.tolist() == [[2, 0], [1, 2]]
    assert labels.keypoints[1].tolist() == [[3, 4], [5, 6]]
    bad = text.replace('i1.png,3,4,1', 'i1.png,3,4,3')
    with pytest.raises(LPLabelsError, match=r'visible of i1.png / a is 3\.0'):
        read_lp_labels(write(tmp_path, bad, 'bad.csv'))


def test_likelihood_columns_are_not_paired_as_coordinates(tmp_path):
    text = ('scorer,m,m,m,m,m,m\nbodyparts,a,a,a,b,b,b\ncoords,x,y,likelihood,x,y,likelihood\n'
            'i0.png,1,2,0.9,3,4,0.5\n')
    labels = read_lp_labels(write(tmp_path, text))
    assert labels.keypoints[0].tolist() == [[1, 2], [3, 4]]
    assert labels.likelihood.tolist() == [[0.9, 0.5]]


@pytest.mark.parametrize('row, message', [
    ('img0.png,1,,3,4', r'only one of x, y.*img0.png / nose \(y is empty\)'),
    ('img0.png,1,2,oops,4', r"image 'img0.png', column tail/x holds 'oops', not a number"),
])
def test_bad_cells(tmp_path, row, message):
    with pytest.raises(LPLabelsError, match=message):
        read_lp_labels(write(tmp_path, HEADER + row + '\n'))


@pytest.mark.parametrize('header, message', [
    ('scorer,m,m,m\nbodyparts,a,a,b\ncoords,x,y,x\n', 'not a multiple of 2'),
    ('scorer,m,m,m,m\nbodyparts,a,b,a,b\ncoords,x,x,y,y\n', r'columns 2-3 are a/x, b/x'),
    ('scorer,m,m,m,m\nbodyparts,a,a,b,b\ncoords,x,y,z,w\n', r"unknown coords \['w', 'z'\]"),
    ('scorer,m,m,m,m\nbodyparts,a,a,a,a\ncoords,x,y,x,y\n', r"keypoints \['a'\] appear more"),
])
def test_bad_headers(tmp_path, header, message):
    cells = header.splitlines()[0].count(',')
    with pytest.raises(LPLabelsError, match=message):
        read_lp_labels(write(tmp_path, header + 'i.png' + ',1' * cells + '\n'))


def test_missing_file_names_the_key(tmp_path):
    with pytest.raises(FileNotFoundError, match='data.csv_file: labels file .*nope.csv'):
        read_lp_labels(str(tmp_path / 'nope.csv'))


def test_resolve_csv_path(tmp_path):
    assert resolve_csv_path('CollectedData.csv', '/d') == '/d/CollectedData.csv'
    assert resolve_csv_path('/abs/c.csv', '/d') == '/abs/c.csv'
