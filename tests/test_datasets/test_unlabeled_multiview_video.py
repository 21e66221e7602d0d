"""``MultiviewUnlabeledVideoDataset``: every view's video of a session read in step, as Lightning
Pose 2.4.3 reads multi-view unlabeled video (``utils/io.py:488-515``
``collect_video_files_by_view``: the view name as a delimited token of the file stem;
``data/video/dali.py:114-160``: one reader per view with the same seed, so batch i is the same
frames of every view)."""
import numpy as np
import pytest
import torch

from posecfg.datasets.unlabeled_multiview_video import (MultiviewUnlabeledVideoDataset,
                                                        multiview_sequence_collate,
                                                        videos_by_view)
from posecfg.datasets.unlabeled_video import UnlabeledVideoDataset
from tests.test_datasets.lp_two_view_rig import VIEWS, write_two_view_videos


def test_videos_are_matched_to_views_by_a_name_token():
    videos = ['/v/s2_bot.mp4', '/v/s1-top.mp4', '/v/s1-bot.mp4', '/v/s2_top.mp4']
    assert videos_by_view(videos, ['top', 'bot']) == {
        'top': ['/v/s1-top.mp4', '/v/s2_top.mp4'], 'bot': ['/v/s1-bot.mp4', '/v/s2_bot.mp4']}
    # "mousetop3" holds no token "top" (Lightning Pose's rule)
    with pytest.raises(ValueError, match='exactly one of the view names'):
        videos_by_view(['/v/mousetop3.mp4', '/v/mouse_bot_3.mp4'], ['top', 'bot'])
    with pytest.raises(ValueError, match='not the sessions of view'):
        videos_by_view(['/v/s1_top.mp4', '/v/s1_bot.mp4', '/v/s2_top.mp4'], ['top', 'bot'])
    with pytest.raises(ValueError, match='exactly one of the view names'):
        videos_by_view(['/v/top_bot.mp4'], ['top', 'bot'])


def test_sample_i_is_the_same_frames_of_every_view(tmp_path):
    folder = write_two_view_videos(tmp_path / 'videos', frames=8)
    ds = MultiviewUnlabeledVideoDataset(str(folder), list(VIEWS), sequence_length=4,
                                        image_resize_dims=(64, 128), imgaug='default')
    assert len(ds) == 2
    for i in range(2):
        sample = ds[i]
        assert sample['img'].shape == (2, 4, 3, 64, 128)
        metas = sample['img_metas']['views']
        assert [m['start'] for m in metas] == [4 * i] * 2
        for v, view in enumerate(VIEWS):
            assert metas[v]['video'].endswith(f'test_vid_{view}.mp4')
            alone = UnlabeledVideoDataset(str(folder / f'test_vid_{view}.mp4'), 4, (64, 128),
                                          'default')[i]
            assert torch.equal(sample['img'][v], alone['img'])
    batch = multiview_sequence_collate([ds[0], ds[1]])
    assert batch['img'].shape == (16, 3, 64, 128) and batch['num_views'] == 2
    assert torch.equal(batch['img'][4:8], ds[0]['img'][1])  # sample 0, view 1


def test_views_are_augmented_each_with_its_own_warp(tmp_path):
    folder = write_two_view_videos(tmp_path / 'videos', frames=4)
    ds = MultiviewUnlabeledVideoDataset(str(folder), list(VIEWS), sequence_length=4,
                                        image_resize_dims=(64, 128), imgaug='dlc')
    a, b = ds[(0, 11)], ds[(0, 11)]
    assert torch.equal(a['img'], b['img'])
    top, bot = (m['warp_mat'] for m in a['img_metas']['views'])
    assert not np.allclose(top, bot)


def test_views_of_a_session_need_the_same_frames(tmp_path):
    folder = write_two_view_videos(tmp_path / 'videos', frames=8)
    short = write_two_view_videos(tmp_path / 'short', frames=4)
    (folder / 'test_vid_bot.mp4').write_bytes((short / 'test_vid_bot.mp4').read_bytes())
    with pytest.raises(ValueError, match='has 4 frames but .* has 8'):
        MultiviewUnlabeledVideoDataset(str(folder), list(VIEWS), sequence_length=4)
