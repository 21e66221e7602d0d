"""The DeepLabCut dialect on multi-animal shuffles: DLCRNetHead (part affinity fields), DEKR,
unique-bodypart and identity heads translate as a pass-through of DeepLabCut's keys.

The project is a tmp copy of ../shared/data/dlc-synthetic-multianimal (DeepLabCut's own fake
multi-animal project: 3 individuals, bodyparts a-d, unique bodypart unique_a). The oracle of a
translated head is the shuffle's own file: every key and value as written, with DeepLabCut's
part types as posecfg's registered names (DeepLabCut's names, except its ``HeatmapHead`` which
is posecfg's ``DLCHeatmapHead``).
"""
import pytest
import torch

from posecfg.config.errors import ConfigError
from posecfg.interop.dlc.create_dataset import create_training_dataset
from posecfg.interop.dlc.to_config import load_as_config
from posecfg.interop.dlc.yaml_io import load_yaml
from posecfg.registry import MODELS
from tests.conftest import shared_path
from tests.test_interop.test_dlc.conftest import copy_synthetic_ma
from tests.test_interop.test_dlc.test_to_config import line_of

NETS = {1: 'resnet_50', 2: 'dekr_w18', 3: 'dlcrnet_stride32_ms5', 5: 'dlcrnet_stride16_ms5'}
IDENTITY_SHUFFLE = 4  # hrnet_w18 with identity: true


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    root = copy_synthetic_ma(shared_path, tmp_path_factory.mktemp('ma_dialect') / 'synthetic')
    cfg = root / 'config.yaml'
    paths = {shuffle: create_training_dataset(cfg, shuffle=shuffle,
                                              net_type=net).pose_config_path
             for shuffle, net in NETS.items()}
    cfg.write_text(cfg.read_text().replace('identity: false', 'identity: true'))
    paths[IDENTITY_SHUFFLE] = create_training_dataset(
        cfg, shuffle=IDENTITY_SHUFFLE, net_type='hrnet_w18').pose_config_path
    return root, paths


def posecfg_names(part):
    """The oracle: DeepLabCut's part config with its type names as posecfg registers them."""
    if isinstance(part, dict):
        out = {k: posecfg_names(v) for k, v in part.items()}
        if out.get('type') == 'HeatmapHead':
            out['type'] = 'DLCHeatmapHead'
        return out
    if isinstance(part, list):
        return [posecfg_names(v) for v in part]
    return part


@pytest.mark.parametrize('shuffle', [1, 2, 3, IDENTITY_SHUFFLE])
def test_heads_are_deeplabcuts_keys_passed_through(project, shuffle):
    root, paths = project
    yaml = load_yaml(paths[shuffle])
    cfg = load_as_config(paths[shuffle])
    heads = cfg['model']['heads']
    assert list(heads) == list(yaml['model']['heads'])
    for name, head in yaml['model']['heads'].items():
        assert dict(heads[name]) == posecfg_names(head), name
    kind = {1: 'DLCRNetHead', 2: 'DEKRHead', 3: 'DLCRNetHead',
            IDENTITY_SHUFFLE: 'DLCRNetHead'}[shuffle]
    assert heads['bodypart']['type'] == kind
    expected_heads = ['bodypart', 'unique_bodypart'] + (
        ['identity'] if shuffle == IDENTITY_SHUFFLE else [])
    assert list(heads) == expected_heads
    # the identity head trains on the individuals' ids: the batch carries them
    collect = cfg['data']['train']['pipeline'][-1]
    assert collect['type'] == 'Collect'
    assert ('identities' in collect['keys']) == (shuffle == IDENTITY_SHUFFLE)
    assert {'unique_keypoints', 'unique_keypoints_visible'} <= set(collect['keys'])
    # DeepLabCut's loss names: <head>_<criterion key> (models/model.py get_loss)
    hook = next(h for h in cfg['custom_hooks'] if h['type'] == 'DLCSnapshotHook')
    terms = {1: ['heatmap', 'locref', 'paf'], 2: ['heatmap', 'offset'],
             3: ['heatmap', 'locref', 'paf'], IDENTITY_SHUFFLE: ['heatmap', 'locref', 'paf']}
    assert {f'bodypart_{t}' for t in terms[shuffle]} <= set(hook['loss_names'].values())
    with torch.device('meta'):  # the translated model builds (shapes only)
        model = MODELS.build(cfg['model'])
    assert set(dict(model.named_children())) >= {'backbone'}


def test_dekr_with_center_keypoints_and_dlcrnet_pose_model_accepted(project):
    _, paths = project
    dekr = load_as_config(paths[2])
    assert load_yaml(paths[2])['with_center_keypoints'] is True
    assert dekr['model']['heads']['bodypart']['target_generator']['type'] == 'DEKRGenerator'
    assert load_yaml(paths[3])['model']['pose_model'] == {'stride': 8}
    load_as_config(paths[3])
    with pytest.raises(ConfigError, match='DEKR heads only'):
        load_as_config(paths[1], ['with_center_keypoints=true'])


def test_dlcrnet_shuffle_freezes_batchnorm_as_deeplabcut_and_prints_it(project, tmp_path):
    """dlcrnet_stride16_ms5.yaml sets neither ``freeze_bn_stats`` nor ``freeze_bn_weights``, so
    DeepLabCut's BaseBackbone defaults (both True, models/backbones/base.py) apply: every
    BatchNorm2d of the backbone (the ResNet's and the multi-scale conv blocks') stays in eval
    mode and its weight and bias are not trained; the heads' layers are not affected. The file
    translates, builds, and prints as a .py config that states both options and loads back."""
    from torch.nn.modules.batchnorm import _BatchNorm

    from posecfg.config import Config
    from posecfg.interop.dlc.to_config import format_config
    _, paths = project
    backbone = load_yaml(paths[5])['model']['backbone']
    assert backbone['type'] == 'DLCRNet' and not {'freeze_bn_stats', 'freeze_bn_weights'} & \
        set(backbone)
    cfg = load_as_config(paths[5])
    assert cfg['model']['backbone']['norm_eval'] is True
    assert cfg['model']['backbone']['freeze_norm_weights'] is True
    model = MODELS.build(cfg.to_dict()['model']).train()
    norms = [m for m in model.backbone.modules() if isinstance(m, _BatchNorm)]
    assert len(norms) == 53 + 5  # ResNet-50's and conv_block1..5's
    assert not any(bn.training or bn.weight.requires_grad or bn.bias.requires_grad
                   for bn in norms)
    assert all(p.requires_grad for name, p in model.named_parameters()
               if not name.startswith('backbone.'))
    text, _ = format_config(cfg, 'py')
    assert 'norm_eval=True' in text and 'freeze_norm_weights=True' in text
    path = tmp_path / 'dlcrnet_shuffle5.py'
    path.write_text(text)
    assert Config.fromfile(str(path)).to_dict() == cfg.to_dict()
    off = load_as_config(paths[5], ['+model.backbone.freeze_bn_weights=false',
                                    '+model.backbone.freeze_bn_stats=false'])
    assert not off['model']['backbone']['norm_eval']
    assert not off['model']['backbone']['freeze_norm_weights']
    assert '--cfg-options +model.backbone.freeze_bn_weights=false' in \
        off.explain('model.backbone.freeze_norm_weights')


def test_unsupported_parts_and_mismatches_name_the_line(project):
    _, paths = project
    path = paths[1]
    line = line_of(path, r'model:', r'  heads:', r'    bodypart:', r'      type:')
    # TransformerHead is one of DeepLabCut's heads posecfg does not build
    text = path.read_text()
    try:
        path.write_text(text.replace('      type: DLCRNetHead', '      type: TransformerHead'))
        with pytest.raises(ConfigError, match=rf'pytorch_config.yaml:{line}: model\.heads\.'
                                              rf"bodypart\.type: 'TransformerHead' is not "
                                              rf'supported by posecfg yet \(supported: .*'
                                              rf'DLCRNetHead.*DEKRHead'):
            load_as_config(path)
    finally:
        path.write_text(text)
    with pytest.raises(ConfigError, match=r"predictor\.min_afinity: unknown key for "
                                          r"PartAffinityFieldPredictor.*did you mean "
                                          r"model\.heads\.bodypart\.predictor\.min_affinity"):
        load_as_config(path, ['+model.heads.bodypart.predictor.min_afinity=0.1'])
    with pytest.raises(ConfigError, match=r'generators\.0\.num_heatmaps: 5 maps but the '
                                          r'project has 4 bodyparts'):
        load_as_config(path, ['model.heads.bodypart.target_generator.generators.0.'
                              'num_heatmaps=5'])
    with pytest.raises(ConfigError, match=r'with_identity: True but the model has no '
                                          r'identity head'):
        load_as_config(path, ['metadata.with_identity=true'])
    with pytest.raises(ConfigError, match=r'num_heatmaps: 2 maps but the project has 3 '
                                          r'individuals'):
        load_as_config(paths[IDENTITY_SHUFFLE],
                       ['model.heads.identity.target_generator.num_heatmaps=2'])


#: DeepLabCut keys shrinking the resnet_50 + PAF shuffle for a CPU test (timm resnet18, 512
#: output channels, no pretrained file); everything else is the file's
SMALL_PAF = ['model.backbone.model_name=resnet18', '+model.backbone.pretrained=false',
             'model.backbone.output_stride=32', 'model.backbone_output_channels=512',
             'model.heads.bodypart.heatmap_config.channels=[512,4]',
             'model.heads.bodypart.locref_config.channels=[512,8]',
             'model.heads.bodypart.paf_config.channels=[512,12]',
             'model.heads.unique_bodypart.heatmap_config.channels=[512,1]',
             'model.heads.unique_bodypart.locref_config.channels=[512,2]']


@pytest.mark.usefixtures('one_thread')
def test_paf_shuffle_trains_and_evaluates_into_deeplabcuts_files(project):
    """tools/train.py then tools/test.py on the resnet_50 (PAF) shuffle: DeepLabCut's snapshot
    and loss names, and its multi-animal evaluation files (4-level H5 with ``single``; rows of
    individuals not predicted are -1, apis/utils.py build_predictions_dataframe after
    PadOutputs(pad_value=-1))."""
    import csv

    import numpy as np
    import pandas as pd
    from tests.test_interop.test_dlc.test_to_config import run_main
    root, paths = project
    path = paths[1]
    assert run_main('train', path, '--cfg-options', 'train_settings.epochs=1',
                    'train_settings.batch_size=2', 'runner.eval_interval=1',
                    'data.train.crop_sampling.width=128', 'data.train.crop_sampling.height=128',
                    *SMALL_PAF) == 0
    train = path.parent
    assert (train / 'snapshot-best-001.pt').is_file()
    with open(train / 'learning_stats.csv', newline='') as f:
        header = next(csv.reader(f))
    # models/model.py get_loss: <head>_<criterion key>, each head's total, the mean total
    assert {'losses/train.total_loss', 'losses/train.bodypart_total_loss',
            'losses/train.bodypart_heatmap', 'losses/train.bodypart_locref',
            'losses/train.bodypart_paf', 'losses/train.unique_bodypart_heatmap',
            'losses/train.unique_bodypart_locref', 'metrics/test.mAP'} <= set(header)

    assert run_main('test', path, '--cfg-options', *SMALL_PAF) == 0
    folder = root / 'evaluation-results-pytorch' / 'iteration-0' / train.parent.name
    scorer = 'DLC_Resnet50_syntheticNov11shuffle1_snapshot_best-1'
    df = pd.read_hdf(folder / f'{scorer}.h5', key='df_with_missing')
    assert list(df.columns.names) == ['scorer', 'individuals', 'bodyparts', 'coords']
    assert df.columns.get_level_values('individuals').unique().tolist() == [
        'animal_0', 'animal_1', 'animal_2', 'single']
    assert len(df) == 25 and not df.isna().all(axis=1).any()  # train and test rows
    animals = df.drop(columns='single', level='individuals').to_numpy().reshape(25, 3, 4, 3)
    empty = (animals == -1).all(axis=(2, 3))
    predicted = ~empty
    # a predicted individual's keypoints: NaN (missing) or a score in [0, 1]
    scores = animals[..., 2][predicted]
    assert np.all(np.isnan(scores) | ((scores >= 0) & (scores <= 1)))
    results = pd.read_csv(folder / f'{scorer}-results.csv', index_col=[0, 1, 2, 3, 4])
    assert list(results.columns) == [f'{s} {m}' for s in ('train', 'test')
                                     for m in ('rmse', 'rmse_pcutoff', 'mAP', 'mAR')]
    assert results.index[0][:3] == (0.8, 1, 1)

    # DeepLabCut's analyze_videos: per frame the assembled individuals in DeepLabCut's video
    # layout (apis/videos.py create_df_from_prediction: 4 levels, unique bodyparts under
    # single, max_individuals rows, -1 for individuals a frame does not have)
    from posecfg.apis import dlc
    from tests.test_interop.test_dlc.test_to_config import write_clip
    video = write_clip(root / 'videos' / 'video.mp4', root / 'videos' / 'clip.avi', 3)
    video_scorer = dlc.analyze_videos(root / 'config.yaml', [video], shuffle=1,
                                      cfg_options=list(SMALL_PAF), progress=False,
                                      save_full_pickle=True)
    table = pd.read_hdf(root / 'videos' / f'clip{video_scorer}.h5')
    assert list(table.columns.names) == ['scorer', 'individuals', 'bodyparts', 'coords']
    assert table.columns.get_level_values('individuals').unique().tolist() == [
        'animal_0', 'animal_1', 'animal_2', 'single']
    assert table.shape == (3, (3 * 4 + 1) * 3)
    animals = table.drop(columns='single', level='individuals').to_numpy().reshape(3, 3, 4, 3)
    rows_absent = (animals == -1).all(axis=(2, 3))
    rows_found = ~np.isnan(animals[..., 2]).all(axis=2) & ~rows_absent
    assert (rows_absent | rows_found).all()  # every row: an individual, or DeepLabCut's -1
    assert np.isfinite(table.xs('single', axis=1, level='individuals').to_numpy()).all()
    # the assembled individuals for tracking: the .h5's rows of the individuals found, with
    # the PAF model's affinities (posecfg.apis.video_inference.assemblies)
    from posecfg.apis.video_inference.assemblies import read_assemblies
    prefix = root / 'videos' / f'clip{video_scorer}'
    assemblies = read_assemblies(f'{prefix}_assemblies.pickle')
    table_rows = read_assemblies(f'{prefix}_assemblies.npz')
    for t in range(3):
        np.testing.assert_array_equal(assemblies[t][..., :3], animals[t][rows_found[t]])
        np.testing.assert_array_equal(assemblies['single'][t], table.xs(
            'single', axis=1, level='individuals').to_numpy()[t].reshape(-1, 3))
    found = table_rows['affinity']
    assert len(found) == rows_found.sum() > 0 and ((found >= 0) & (found <= 1)).all()
    # DeepLabCut's _full.pickle, with the model's PAF graph (3 edges of bodyparts a-d kept)
    from posecfg.interop.dlc.safe_pickle import load_pickle
    full = load_pickle(f'{prefix}_full.pickle')
    assert full['metadata']['nframes'] == 3 and len(full['metadata']['PAFgraph']) == 6
    assert full['metadata']['all_joints_names'] == ['a', 'b', 'c', 'd', 'unique_a']
    labeled = dlc.create_labeled_video(root / 'config.yaml', [video], shuffle=1,
                                       color_by='individual', cfg_options=list(SMALL_PAF))
    assert labeled == [f'{prefix}_id_p60_labeled.mp4']


@pytest.mark.usefixtures('one_thread')
def test_dekr_shuffle_trains_evaluates_and_analyses_the_video(project):
    """The dekr_w18 shuffle as DeepLabCut writes it (HRNet-w18, DEKR heads, no pretrained
    weights here): tools/train.py one epoch on 128 px crops, tools/test.py into DeepLabCut's
    evaluation files, and analyze_videos into its 4-level video layout."""
    import numpy as np
    import pandas as pd
    from tests.test_interop.test_dlc.test_to_config import run_main, write_clip
    root, paths = project
    path = paths[2]
    small = ['+model.backbone.pretrained=false']
    assert run_main('train', path, '--cfg-options', 'train_settings.epochs=1',
                    'train_settings.batch_size=2', 'runner.eval_interval=1',
                    'data.train.crop_sampling.width=128', 'data.train.crop_sampling.height=128',
                    *small) == 0
    train = path.parent
    assert (train / 'snapshot-best-001.pt').is_file()
    assert run_main('test', path, '--cfg-options', *small) == 0
    folder = root / 'evaluation-results-pytorch' / 'iteration-0' / train.parent.name
    (h5,) = folder.glob('DLC_Dekr*snapshot_best-1.h5')
    df = pd.read_hdf(h5, key='df_with_missing')
    assert list(df.columns.names) == ['scorer', 'individuals', 'bodyparts', 'coords']
    assert len(df) == 25
    (results,) = folder.glob('DLC_Dekr*snapshot_best-1-results.csv')
    assert 'test mAP' in pd.read_csv(results).columns

    from posecfg.apis import dlc
    video = write_clip(root / 'videos' / 'video.mp4', root / 'videos' / 'dekr_clip.avi', 2)
    scorer = dlc.analyze_videos(root / 'config.yaml', [video], shuffle=2, cfg_options=small,
                                progress=False)
    table = pd.read_hdf(root / 'videos' / f'dekr_clip{scorer}.h5')
    assert list(table.columns.names) == ['scorer', 'individuals', 'bodyparts', 'coords']
    assert len(table) == 2
    animals = table.drop(columns='single', level='individuals').to_numpy().reshape(2, 3, 4, 3)
    absent = (animals == -1).all(axis=(2, 3))
    assert (absent | np.isfinite(animals).all(axis=(2, 3))).all()  # DEKR places every keypoint
