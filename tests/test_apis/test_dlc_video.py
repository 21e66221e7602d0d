"""posecfg.apis.dlc_video.create_labeled_video with DeepLabCut's options: each changes what
it says, read back from the written file (the lossless 'png ' fourcc in the MP4)."""
import cv2
import numpy as np
import pandas as pd
import pytest

from posecfg.apis import dlc_video
from posecfg.apis.video import keypoint_colors

W, H, T, GREY = 64, 48, 4, 40
SCORER = 'DLC_test'
#: (individual, bodypart) → (x, y) at frame 0; mus1's nose moves 10 px right per frame
PLACES = {('mus1', 'nose'): (10, 12), ('mus1', 'tail'): (10, 36),
          ('mus2', 'nose'): (30, 12), ('mus2', 'tail'): (30, 36), ('single', 'u1'): (50, 24)}


def predictions(shift=0.0, likelihood=0.9):
    """(T, 15) DeepLabCut multi-animal predictions with the 'single' unique bodypart."""
    columns = pd.MultiIndex.from_tuples(
        [(SCORER, i, b, c) for (i, b) in PLACES for c in ('x', 'y', 'likelihood')],
        names=['scorer', 'individuals', 'bodyparts', 'coords'])
    rows = []
    for t in range(T):
        row = []
        for (i, b), (x, y) in PLACES.items():
            moving = 10 * t if (i, b) == ('mus1', 'nose') else 0
            row += [x + moving + shift, y, likelihood]
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A video, its .h5 by scorer DLC_test, a config.yaml; no model is loaded."""
    video = tmp_path / 'v.avi'
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*'FFV1'), 10, (W, H))
    for _ in range(T):
        writer.write(np.full((H, W, 3), GREY, np.uint8))
    writer.release()
    predictions().to_hdf(tmp_path / f'v{SCORER}.h5', key='df_with_missing')
    config = tmp_path / 'config.yaml'
    config.write_text('skeleton_color: red\n')
    from posecfg.apis import video_inference
    from posecfg.engine import checkpoint
    monkeypatch.setattr(dlc_video, 'load_config_and_checkpoint', lambda *a, **k: ({}, 'w.pt'))
    monkeypatch.setattr(checkpoint, 'load_checkpoint_file', lambda path: {})
    monkeypatch.setattr(video_inference, 'dlc_scorer', lambda *a, **k: SCORER)

    def run(**kwargs):
        if not kwargs.pop('default_codec', False):
            kwargs.setdefault('codec', 'png ')
        kwargs = {'dotsize': 2, 'overwrite': True, **kwargs}
        path, = dlc_video.create_labeled_video(str(config), [str(video)], **kwargs)
        capture = cv2.VideoCapture(path)
        reads = iter(capture.read, (False, None))
        return path, [cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) for _, frame in reads], capture
    return run


def color_at(frame, individual, bodypart, t=0):
    x, y = PLACES[individual, bodypart]
    return frame[y, x + (10 * t if (individual, bodypart) == ('mus1', 'nose') else 0)].tolist()


BY_NAME = keypoint_colors('rainbow', 3).tolist()  # nose, tail, u1
GREY_PIXEL = [GREY] * 3


def test_defaults_draw_everything_by_bodypart(project):
    path, frames, capture = project()
    assert path.endswith(f'v{SCORER}_bp_p60_labeled.mp4') and len(frames) == T
    frame = frames[0]
    assert color_at(frame, 'mus1', 'nose') == BY_NAME[0]
    assert color_at(frame, 'mus2', 'tail') == BY_NAME[1]
    assert color_at(frame, 'single', 'u1') == BY_NAME[2]
    assert frame[24, 10].tolist() == GREY_PIXEL  # no skeleton unless asked


def test_displayed_bodyparts_hide_the_others_and_keep_the_colours(project):
    _, frames, _ = project(displayedbodyparts=['tail'])
    frame = frames[0]
    assert color_at(frame, 'mus1', 'nose') == GREY_PIXEL
    assert color_at(frame, 'single', 'u1') == GREY_PIXEL
    assert color_at(frame, 'mus1', 'tail') == color_at(frame, 'mus2', 'tail') == BY_NAME[1]
    _, frames, _ = project(displayedbodyparts='u1')  # one name as a string
    assert color_at(frames[0], 'single', 'u1') == BY_NAME[2]
    assert color_at(frames[0], 'mus2', 'tail') == GREY_PIXEL


def test_displayed_individuals_choose_the_individuals_and_their_colours(project):
    _, frames, _ = project(displayedindividuals=['mus2'], color_by='individual')
    frame = frames[0]
    assert color_at(frame, 'mus1', 'tail') == color_at(frame, 'single', 'u1') == GREY_PIXEL
    assert color_at(frame, 'mus2', 'nose') == keypoint_colors('rainbow', 1)[0].tolist()
    path, frames, _ = project(displayedindividuals=['mus1', 'single'], color_by='individual')
    assert path.endswith('_id_p60_labeled.mp4')
    two = keypoint_colors('rainbow', 2).tolist()  # over the individuals shown
    assert color_at(frames[0], 'mus1', 'nose') == two[0]
    assert color_at(frames[0], 'single', 'u1') == two[1]
    assert color_at(frames[0], 'mus2', 'nose') == GREY_PIXEL


def test_codec_frame_rate_frames_and_keypoints_only(project):
    _, frames, capture = project(outputframerate=25, Frames2plot=[2])
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(25)
    assert fourcc_of(capture) == 'MPNG'  # what FFmpeg calls the PNG frames read back
    assert len(frames) == 1 and color_at(frames[0], 'mus1', 'nose', t=2) == BY_NAME[0]
    _, frames, _ = project(keypoints_only=True)
    assert len(frames) == T and frames[0][0, 0].tolist() == [0, 0, 0]
    assert color_at(frames[0], 'mus2', 'tail') == BY_NAME[1]


def fourcc_of(capture):
    code = int(capture.get(cv2.CAP_PROP_FOURCC))
    return ''.join(chr((code >> 8 * i) & 255) for i in range(4))


def test_default_codec_is_mp4v(project):
    _, _, capture = project(codec='mp4v')
    assert fourcc_of(capture) == 'FMP4'  # what FFmpeg calls MPEG-4 part 2 read back
    _, _, capture = project(default_codec=True)
    assert fourcc_of(capture) == 'FMP4'


def test_trailpoints_and_confidence_to_alpha(project):
    _, frames, _ = project(trailpoints=2)
    nose = BY_NAME[0]
    assert [frames[3][12, x].tolist() == nose for x in (10, 20, 30, 40)] == [
        False, True, True, True]
    _, frames, _ = project()
    assert [frames[3][12, x].tolist() == nose for x in (10, 20, 40)] == [False, False, True]
    # likelihood 0.9, pcutoff 0.6: opacity (0.9 - 0.6) / 0.4 = 0.75
    _, frames, _ = project(confidence_to_alpha=True)
    want = 0.75 * np.array(BY_NAME[0]) + 0.25 * GREY
    assert np.abs(np.array(color_at(frames[0], 'mus1', 'nose')) - want).max() <= 1


def test_skeleton_colour_from_the_project_or_the_argument(project):
    _, frames, _ = project(draw_skeleton=True, skeleton=[['nose', 'tail']])
    red = np.array([255, 0, 0])  # config.yaml skeleton_color: red, anti-aliased
    assert np.abs(frames[0][24, 10] - red).max() <= 25
    assert np.abs(frames[0][24, 30] - red).max() <= 25  # every individual's
    _, frames, _ = project(draw_skeleton=True, skeleton=[['nose', 'tail']],
                           skeleton_color='blue')
    assert np.abs(frames[0][24, 10] - np.array([0, 0, 255])).max() <= 25
    with pytest.raises(ValueError, match=r"skeleton names \['paw'\]"):
        project(draw_skeleton=True, skeleton=[['nose', 'paw']])


def test_project_style_is_the_default_and_arguments_win(project, tmp_path):
    (tmp_path / 'config.yaml').write_text('pcutoff: 0.95\ncolormap: cool\ndotsize: 1\n')
    path, frames, _ = project(dotsize=None)
    assert path.endswith('_bp_p95_labeled.mp4')  # likelihood 0.9 <= 0.95: nothing drawn
    assert np.all(frames[0] == GREY)
    path, frames, _ = project(dotsize=None, pcutoff=0.5)
    assert path.endswith('_bp_p50_labeled.mp4')
    assert color_at(frames[0], 'mus1', 'tail') == keypoint_colors('cool', 3)[1].tolist()
    assert frames[0][36, 13].tolist() == GREY_PIXEL  # dotsize 1
    _, frames, _ = project(dotsize=3, pcutoff=0.5, colormap='rainbow')
    assert color_at(frames[0], 'mus1', 'tail') == BY_NAME[1]
    assert frames[0][36, 12].tolist() == BY_NAME[1]


def test_save_frames_as_deeplabcut_names_them(project, tmp_path):
    _, frames, _ = project(save_frames=True, Frames2plot=[1, 3], keypoints_only=True)
    folder = tmp_path / 'temp-v'
    assert sorted(p.name for p in folder.iterdir()) == ['file1.png', 'file3.png']
    assert len(frames) == 2
    for frame, t in zip(frames, (1, 3)):
        image = cv2.cvtColor(cv2.imread(str(folder / f'file{t}.png')), cv2.COLOR_BGR2RGB)
        np.testing.assert_array_equal(image, frame)  # the video's frame, not keypoints only
        assert image[0, 0].tolist() == GREY_PIXEL
        assert color_at(image, 'mus1', 'nose', t=t) == BY_NAME[0]


def test_save_frames_again_keeps_only_this_runs_frames(project, tmp_path):
    folder = tmp_path / 'temp-v'
    folder.mkdir()
    (folder / 'file2.png').write_bytes(b'an earlier run')
    (folder / 'notes.txt').write_text('not a frame image')
    project(save_frames=True, Frames2plot=[1], keypoints_only=True)
    assert sorted(p.name for p in folder.iterdir()) == ['file1.png', 'notes.txt']


def test_filtered_predictions(project, tmp_path):
    with pytest.raises(FileNotFoundError, match=f'v{SCORER}_filtered.h5.*filterpredictions'):
        project(filtered=True)
    predictions(shift=4).to_hdf(tmp_path / f'v{SCORER}_filtered.h5', key='df_with_missing')
    path, frames, _ = project(filtered=True)
    assert path.endswith(f'v{SCORER}_filtered_bp_p60_labeled.mp4')
    assert frames[0][36, 14].tolist() == BY_NAME[1]  # the filtered tail, 4 px right
    assert frames[0][36, 10].tolist() == GREY_PIXEL


def test_bad_names_and_options_posecfg_cannot_honour_are_refused(project):
    with pytest.raises(ValueError, match=r"displayedbodyparts \['paw'\] not in"):
        project(displayedbodyparts=['tail', 'paw'])
    with pytest.raises(ValueError, match=r"displayedindividuals \['mus3'\] not in"):
        project(displayedindividuals=['mus3'])
    for option in (dict(track_method='ellipse'),
                   dict(superanimal_name='superanimal_quadruped'), dict(init_weights='x.pt'),
                   dict(modelprefix='other')):
        name = next(iter(option))
        with pytest.raises(ValueError, match=f'cannot honour {name}='):
            project(**option)
    with pytest.raises(ValueError, match='fps must be > 0, got 0'):
        project(outputframerate=0)
    with pytest.raises(TypeError, match='trail_points'):
        project(trail_points=3)
    # DeepLabCut's defaults of the options without effect here are accepted
    project(fastmode=False, displaycropped=True, alphavalue=0.7, plot_bboxes=False,
            bboxes_pcutoff=0.5, max_workers=2)
