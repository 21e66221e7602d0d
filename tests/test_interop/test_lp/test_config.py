"""Lightning Pose config.yaml: loading with lines, OmegaConf's YAML rules, interpolation,
overrides, the key table, and Lightning Pose's checks at load time."""
import datetime
import textwrap

import pytest

from posecfg.config.options import parse_options
from posecfg.interop.lp import dialect
from posecfg.interop.lp.checks import check_project, milestones_in_epochs, steps_per_epoch
from posecfg.interop.lp.config import LPConfigError, load_lp_config
from posecfg.interop.lp.interpolation import LPInterpolationError, Resolver
from posecfg.interop.lp.yaml_io import dump_yaml, load_yaml_with_lines
from tests.conftest import shared_path

MIRROR = 'config_mirror-mouse-example.yaml'
DEFAULT = 'config_default.yaml'


def sample(name):
    return str(shared_path('lp-configs', name))


def mirror(*options, **kw):
    return load_lp_config(sample(MIRROR), parse_options(
        ['data.data_dir=/proj', *options]), **kw)


def problems_of(excinfo):
    return '\n'.join(excinfo.value.problems)


def walk(tree, prefix=()):
    for key, value in tree.items():
        yield prefix + (key,), value
        if isinstance(value, dict):
            yield from walk(value, prefix + (key,))


# ----------------------------------------------------------------------------- loading

def test_mirror_mouse_sample_loads_and_resolves():
    cfg = mirror()
    assert cfg.get('data.data_dir') == '/proj'
    assert cfg.get('data.video_dir') == '/proj/videos'               # ${data.data_dir}/videos
    assert cfg.get('eval.test_videos_directory') == '/proj/videos'   # ${data.video_dir}
    assert cfg.raw['eval']['test_videos_directory'] == '${data.video_dir}'   # kept as written
    lr = cfg.get('training.optimizer_params.learning_rate')
    assert lr == 1e-3 and isinstance(lr, float)                      # OmegaConf reads 1e-3
    assert cfg.get('data.mirrored_column_matches')[1] == [8, 9, 10, 11, 12, 13, 14]
    assert cfg.losses_to_use == ['pca_singleview'] and cfg.semi_supervised
    assert not cfg.step_mode and not cfg.multiview
    # defaults of keys the file leaves out: what Lightning Pose uses
    assert cfg.get('training.imgaug_hflip') is False
    assert cfg.get('training.accumulate_grad_batches') == 1
    assert cfg.get('training.uniform_heatmaps_for_nan_keypoints') is False
    assert cfg.get('data.downsample_factor') == 2
    assert cfg.get('model.backbone_pretrained') is True
    with pytest.raises(KeyError):
        cfg.get('training.min_steps')


def test_provenance_lines_and_options():
    cfg = mirror()
    path = sample(MIRROR)
    assert cfg.where('data.video_dir') == f'{path}:11'
    assert cfg.where('training.train_prob') == f'{path}:42'
    assert cfg.where(('data', 'keypoint_names', 2)) == f'{path}:17'
    assert cfg.where('data.data_dir') == '--cfg-options data.data_dir=/proj'
    _, events = cfg.provenance.history(('data', 'video_dir'))
    assert events[-1].action == 'interpolate' and '${data.data_dir}' in events[-1].note


def test_lp_root_path_from_environment_or_a_clear_error():
    cfg = load_lp_config(sample(MIRROR), environ={'LP_ROOT_PATH': '/repo'})
    assert cfg.get('data.data_dir') == '/repo/data/mirror-mouse-example'
    assert cfg.get('data.video_dir') == '/repo/data/mirror-mouse-example/videos'
    with pytest.raises(LPConfigError, match=r'config_mirror-mouse-example.yaml:10: \$\{LP_ROOT_PATH'
                                            r':\}.*set the LP_ROOT_PATH environment variable'):
        load_lp_config(sample(MIRROR), environ={})


def test_default_template_needs_its_blanks_filled():
    with pytest.raises(LPConfigError) as excinfo:
        load_lp_config(sample(DEFAULT))
    path = sample(DEFAULT)
    assert excinfo.value.problems == [
        f'data.image_resize_dims.height ({path}:7): must be set (it is null)',
        f'data.image_resize_dims.width ({path}:8): must be set (it is null)',
        f'data.num_keypoints ({path}:17): must be set (it is null)']
    cfg = load_lp_config(path, parse_options([
        'data.image_resize_dims.height=256', 'data.image_resize_dims.width=384',
        'data.num_keypoints=4']))
    # Hydra's own section stays as written (never resolved by Lightning Pose)
    assert cfg.get('hydra.run.dir') == 'outputs/${now:%Y-%m-%d}/${now:%H-%M-%S}'


def test_every_key_of_the_samples_and_seeds_is_known():
    for name in (MIRROR, DEFAULT):
        cfg = load_lp_config(sample(name), check=False, environ={'LP_ROOT_PATH': '/r'})
        for path, _ in walk(cfg.raw):
            dotted = '.'.join(map(str, path))
            assert (dialect.key_spec(dotted) or dialect.is_group(dotted)
                    or dialect.inside_subtree(dotted)), f'{name}: {dotted}'
    # the keys seeds 000/001 document (height/width etc. expanded)
    seed_keys = """
        data.image_resize_dims.height data.image_resize_dims.width data.data_dir data.video_dir
        data.csv_file data.downsample_factor data.num_keypoints data.keypoint_names
        data.mirrored_column_matches data.columns_for_singleview_pca training.imgaug
        training.train_batch_size training.val_batch_size training.test_batch_size
        training.train_prob training.val_prob training.train_frames training.num_gpus
        training.num_workers training.unfreezing_epoch training.min_epochs training.max_epochs
        training.log_every_n_steps training.ckpt_every_n_epochs training.early_stopping
        training.early_stop_patience training.rng_seed_data_pt training.rng_seed_model_pt
        training.optimizer training.optimizer_params.learning_rate training.lr_scheduler
        training.lr_scheduler_params.multisteplr training.lr_scheduler_params.multistep_lr
        training.uniform_heatmaps_for_nan_keypoints training.accumulate_grad_batches
        model.losses_to_use model.backbone model.model_type model.heatmap_loss_type
        model.model_name model.checkpoint dali.base.train.sequence_length
        dali.base.predict.sequence_length dali.context.train.batch_size
        dali.context.predict.sequence_length eval.predict_vids_after_training
        eval.test_videos_directory eval.save_vids_after_training eval.colormap
        eval.confidence_thresh_for_vid eval.hydra_paths creation_datetime
        model.lightning_pose_version""".split()
    for key in seed_keys:
        assert dialect.key_spec(key), key
    # undocumented keys Lightning Pose 2.4.3 reads (lp-facts.md)
    for key in ('training.limit_train_batches', 'training.profiler', 'training.val_check_interval',
                'model.backbone_pretrained', 'model.backbone_checkpoint',
                'training.unfreezing_step', 'training.min_steps', 'training.max_steps',
                'training.lr_scheduler_params.multisteplr.milestone_steps',
                'losses.pca_singleview.empirical_epsilon_percentile',
                'losses.pca_singleview.empirical_epsilon_multiplier',
                'losses.pca_singleview.centering_method', 'dali.general.seed'):
        assert dialect.key_spec(key), key
    # every backbone of seed 000 that Lightning Pose 2.4.3 builds
    for backbone in ('resnet18', 'resnet50_animal_ap10k', 'resnet50_human_hand', 'efficientnet_b2',
                     'vits_dino', 'vits_dinov3', 'vitb_imagenet', 'vitb_sam'):
        assert backbone in dialect.BACKBONES


# ------------------------------------------------------------------------------ YAML rules

def test_yaml_follows_omegaconf():
    data, lines = load_yaml_with_lines('a: 1e-3\nb: 1.5e3\nc: 2024-01-01\nd: [1, 2]\ne:\n  f: 5\n')
    assert data == {'a': 0.001, 'b': 1500.0, 'c': '2024-01-01', 'd': [1, 2], 'e': {'f': 5}}
    assert lines[('e', 'f')] == 6 and lines[('d', 1)] == 4
    with pytest.raises(ValueError, match='found duplicate key a'):
        load_yaml_with_lines('a: 1\na: 2\n')


def test_dump_follows_omegaconf_save():
    text = dump_yaml({'s': '1e-3', 'b': 'yes', 't': 'text', 'z': None, 'f': 0.001,
                      'l': [[0, 1], [2]], 'ref': '${data.video_dir}', 'd': {'x': True}})
    assert text == ("s: '1e-3'\nb: 'yes'\nt: text\nz: null\nf: 0.001\nl:\n- - 0\n  - 1\n- - 2\n"
                    "ref: ${data.video_dir}\nd:\n  x: true\n")


# ----------------------------------------------------------------------------- interpolation

def test_interpolation_rules():
    data = {'a': {'b': 3, 'c': '${.b}', 'd': 'x${..top}y', 'e': '${a.list[1]}',
                  'list': ['p', 'q'], 'esc': r'\${a.b}'},
            'top': 7, 'env': '${oc.env:HOME_X,/fallback}', 'env2': '${oc.env:V}',
            'nest': '${oc.env:MISSING,${top}}', 'when': '${now:%Y}', 'none': '${oc.env:NO,null}'}
    out = Resolver(data, environ={'V': 'v'}, now=datetime.datetime(2024, 5, 6)).resolve_tree()
    assert out['a']['c'] == 3 and isinstance(out['a']['c'], int)
    assert out['a']['d'] == 'x7y' and out['a']['e'] == 'q' and out['a']['esc'] == '${a.b}'
    assert out['env'] == '/fallback' and out['env2'] == 'v' and out['nest'] == '7'
    assert out['when'] == '2024' and out['none'] is None


@pytest.mark.parametrize('data, message', [
    ({'a': '${b}', 'b': '${a}'}, 'cyclic'),
    ({'a': '${data.nope}', 'data': {}}, r'refers to data.nope, which does not exist'),
    ({'a': '${hydra:runtime.cwd}'}, "resolver 'hydra'"),
    ({'a': '${oc.env:SURELY_UNSET}'}, 'SURELY_UNSET is not set'),
    ({'a': '${b'}, 'unclosed'),
])
def test_interpolation_errors(data, message):
    with pytest.raises(LPInterpolationError, match=message):
        Resolver(data, environ={}).resolve_tree()


# --------------------------------------------------------------------------------- overrides

def test_overrides_use_lightning_pose_key_names():
    cfg = mirror('training.max_epochs=5', 'model.backbone=resnet18', 'model.losses_to_use=[]',
                 'training.accumulate_grad_batches=2', '+training.limit_train_batches=3',
                 '~training.early_stop_patience', 'data.mirrored_column_matches=[[0,1],[8,9]]')
    assert cfg.get('training.max_epochs') == 5 and cfg.get('model.backbone') == 'resnet18'
    assert cfg.losses_to_use == [] and not cfg.semi_supervised
    assert cfg.get('training.accumulate_grad_batches') == 2   # known to LP, absent from file
    assert cfg.get('training.limit_train_batches') == 3
    assert 'early_stop_patience' not in cfg.raw['training']
    assert cfg.get('data.mirrored_column_matches') == [[0, 1], [8, 9]]
    assert cfg.where('training.max_epochs') == '--cfg-options training.max_epochs=5'


def test_hydra_spellings_of_null_and_booleans():
    cfg = mirror('data.keypoint_names=null', 'training.imgaug_hflip=true',
                 'model.model_name=null', 'training.early_stopping=False')
    assert cfg.get('data.keypoint_names') is None and cfg.get('training.imgaug_hflip') is True
    assert cfg.get('model.model_name') == 'null'          # a string key keeps the string
    assert cfg.get('training.early_stopping') is False


def test_override_typo_gets_close_matches():
    with pytest.raises(LPConfigError, match=r'training.check_val_every_n_epochs is not a key.*'
                                            r'did you mean training.check_val_every_n_epoch'):
        mirror('training.check_val_every_n_epochs=3')
    # "+" adds the key; the typo guard then names it with its origin
    with pytest.raises(LPConfigError, match=r'training.max_epoch \(--cfg-options '
                                            r'\+training.max_epoch=3\): unknown key.*did you mean '
                                            r'training.max_epochs'):
        mirror('+training.max_epoch=3')


# ------------------------------------------------------------------------------------ checks

def write_config(tmp_path, edit):
    """The mirror-mouse sample with ``edit`` applied to its text."""
    text = shared_path('lp-configs', MIRROR).read_text()
    path = tmp_path / 'config.yaml'
    path.write_text(edit(text))
    return str(path)


def test_unknown_key_in_file_names_line_and_suggestion(tmp_path):
    path = write_config(tmp_path, lambda t: t.replace('  early_stop_patience: 3',
                                                      '  early_stop_patiance: 3'))
    with pytest.raises(LPConfigError) as excinfo:
        load_lp_config(path, parse_options(['data.data_dir=/p']))
    assert problems_of(excinfo) == (
        f'training.early_stop_patiance ({path}:46): unknown key: Lightning Pose does not read it; '
        'did you mean training.early_stop_patience or training.early_stopping?')


@pytest.mark.parametrize('options, message', [
    (['data.image_resize_dims.width=200'], r'width \(--cfg-options.*200 is not a positive '
                                           r'multiple of 128'),
    (['training.max_epochs=0'], r'max_epochs \(--cfg-options.*must be at least 1'),
    (['training.train_prob=0.95'], r'train_prob \(0.95\) \+ training.val_prob \(0.1\) must be '
                                   r'<= 1.0'),
    (['+training.max_steps=100', '+training.min_steps=10'],
     r'training.min_epochs \(.*yaml:48\): mixes epoch-based and step-based fields'),
    (['data.num_keypoints=34'], r'data.keypoint_names \(.*yaml:14\): lists 17 names but '
                                r'data.num_keypoints is 34'),
    (['training.ckpt_every_n_epochs=15'], r'15 must be a positive multiple of '
                                          r'training.check_val_every_n_epoch \(10\)'),
    (['model.backbone=vits_dino', 'data.image_resize_dims.width=384'], 'needs height == width'),
    (['model.backbone=resnet19'], r"'resnet19' is not one of resnet18, "),
    (['model.losses_to_use=[pca_multiview]', 'data.mirrored_column_matches=None'],
     r'pca_multiview is in model.losses_to_use but no views are matched'),
    (['data.columns_for_singleview_pca=[]'], r'is empty but pca_singleview'),
    (['model.losses_to_use=[temporal,pca_singlview]'], r"'pca_singlview' is not one of.*did you "
                                                       r'mean pca_singleview'),
    (['losses.temporal.epsilon=[1,2]', 'model.losses_to_use=[temporal]'],
     r'lists 2 values; a list needs one per keypoint \(17\)'),
    (['training.train_prob="0.8"'], r"train_prob \(--cfg-options.*must be a number, got '0.8'"),
    (['training.early_stopping=True', '~training.early_stop_patience'],
     'early_stop_patience.*missing'),
    (['training.imgaug=dlc_lr'], r"'dlc_lr' is not one of default, none, dlc, dlc-lr"),
    (['model.model_type=regression', 'model.backbone=vitb_sam'], 'regression models take CNN'),
    (['losses.pca_singleview.components_to_keep=1.5'], 'a float is a fraction'),
    (['model.model_type=heatmap_mhcrnn', 'dali.context.train.batch_size=4'],
     'need at least 5 frames'),
])
def test_lightning_pose_rules_at_load_time(options, message):
    with pytest.raises(LPConfigError, match=message):
        mirror(*options)


def test_milestones_beyond_the_end_warn_or_fail_when_strict():
    # issue 12's test command lowers max_epochs to 2 and keeps milestones [150, 200, 250]
    cfg = mirror('training.min_epochs=2', 'training.max_epochs=2', 'training.unfreezing_epoch=0')
    assert any('[150, 200, 250] lie beyond training.max_epochs (2)' in w for w in cfg.warnings)
    with pytest.raises(LPConfigError, match=r'milestones \(.*yaml:60\): \[150, 200, 250\] lie '
                                            r'beyond training.max_epochs \(100\)'):
        mirror('training.max_epochs=100', strict=True)
    cfg = mirror('training.max_epochs=5')
    assert any('min_epochs (300) exceeds training.max_epochs (5)' in w for w in cfg.warnings)


def test_warnings_for_legal_mistakes():
    cfg = mirror('data.columns_for_singleview_pca=None',
                 'losses.pca_singleview.empirical_epsilon_percentile=0.99')
    text = '\n'.join(cfg.warnings)
    assert 'pca_singleview uses all 17 keypoints' in text and '#380' in text


def test_step_mode(tmp_path):
    path = write_config(tmp_path, lambda t: t.replace(
        '  unfreezing_epoch: 20\n  min_epochs: 300\n  max_epochs: 300\n',
        '  unfreezing_step: 100\n  min_steps: 900\n  max_steps: 900\n').replace(
        'milestones: [150, 200, 250]', 'milestone_steps: [450, 600, 750]'))
    cfg = load_lp_config(path, parse_options(['data.data_dir=/p']))
    assert cfg.step_mode
    with pytest.raises(LPConfigError, match=r'milestone_steps.*\[950\] lie beyond '
                                            r'training.max_steps \(900\)'):
        load_lp_config(path, parse_options(
            ['data.data_dir=/p', 'training.lr_scheduler_params.multisteplr.milestone_steps=[950]']),
            strict=True)
    # train.py:325-333 and calculate_steps_per_epoch: 72 images, batch 8 -> 9 steps per epoch
    assert steps_per_epoch(72, 8) == 9 and steps_per_epoch(72, 16, num_gpus=2) == 9
    assert steps_per_epoch(20, 16, semi_supervised=True) == 10
    assert milestones_in_epochs([450, 600, 750], 9) == [50, 67, 84]


# ---------------------------------------------------------------------------- project checks

NAMES = ['paw1LH_top', 'paw2LF_top', 'paw3RF_top', 'paw4RH_top', 'tailBase_top', 'tailMid_top',
         'nose_top', 'obs_top', 'paw1LH_bot', 'paw2LF_bot', 'paw3RF_bot', 'paw4RH_bot',
         'tailBase_bot', 'tailMid_bot', 'nose_bot', 'obsHigh_bot', 'obsLow_bot']


def test_project_checks_against_the_csv():
    cfg = mirror()
    assert check_project(cfg, NAMES, num_train_frames=72) == NAMES
    with pytest.raises(LPConfigError, match=r'data.num_keypoints \(.*yaml:13\): is 17 but '
                                            r'CollectedData.csv has 8 keypoints \(a mirrored rig'):
        check_project(cfg, NAMES[:8])
    swapped = NAMES[:2][::-1] + NAMES[2:]
    with pytest.raises(LPConfigError, match=r"differ from the CSV from position 0 on "
                                            r"\('paw1LH_top' vs 'paw2LF_top'\)"):
        check_project(cfg, swapped)
    null_names = mirror('data.keypoint_names=None')
    assert check_project(null_names, NAMES) == NAMES       # taken from the CSV


def test_project_pca_and_hflip_checks():
    cfg = mirror('data.columns_for_singleview_pca=[0,1,17]')
    with pytest.raises(LPConfigError, match=r'indices \[17\] are out of range: the CSV has 17'):
        check_project(cfg, NAMES)
    cfg = mirror()
    with pytest.raises(LPConfigError, match=r'cannot fit PCA with 20 training frames < 28 '
                                            r'observation dimensions.*#169'):
        check_project(cfg, NAMES, num_train_frames=20)
    cfg = mirror('training.imgaug_hflip=True', 'data.num_keypoints=3',
                 'data.keypoint_names=[ear_left,ear_right,paw_left]')
    with pytest.raises(LPConfigError, match=r"\['paw_left'\] have no _right partner"):
        check_project(cfg, ['ear_left', 'ear_right', 'paw_left'])
    cfg = mirror('data.mirrored_column_matches=[[0,1],[8]]')
    with pytest.raises(LPConfigError, match='different numbers of keypoints'):
        check_project(cfg, NAMES)
