"""--cfg-options applied to configs: existence checks, typed keys, list indices, add/delete,
dict merge vs replace, and derived values following their sources."""
import os
import textwrap
import warnings

import mmengine
import pytest

from posecfg.config import Config, ConfigFileError, ConfigWarning, OverrideError, TypeInfo


class FakeTypes(TypeInfo):
    """Registry answers for the tests: ResNet takes depth/norm_eval, TopDown has test_cfg keys."""
    ARGS = {'ResNet': ['depth', 'norm_eval', 'frozen_stages'],
            'TopDown': ['backbone', 'test_cfg', 'test_cfg.flip_test', 'test_cfg.use_udp']}

    def accepts(self, type_name, rel_path):
        if type_name not in self.ARGS:
            return None
        return '.'.join(map(str, rel_path)) in self.ARGS[type_name]

    def arguments(self, type_name):
        return list(self.ARGS.get(type_name, []))


BASE = '''
data_root = 'data/coco'
channel_cfg = dict(num_output_channels=17)
codec = dict(type='MSRAHeatmap', sigma=2)
model = dict(
    type='TopDown',
    backbone=dict(type='ResNet', depth=50),
    head=dict(out_channels=channel_cfg['num_output_channels'], decoder=codec))
data_cfg = dict(image_size=[192, 256], use_gt_bbox=False)
val_pipeline = [dict(type='LoadImageFromFile'), dict(type='TopDownAffine', use_udp=False),
                dict(type='Collect', keys=['img'])]
test_pipeline = val_pipeline
data = dict(
    samples_per_gpu=64,
    train=dict(type='TopDownCocoDataset', data_cfg=data_cfg,
               ann_file=f'{data_root}/annotations/train.json',
               pipeline=[dict(type='LoadImageFromFile'), dict(type='TopDownRandomFlip',
                                                                flip_prob=0.5)]),
    val=dict(data_cfg=data_cfg, pipeline=val_pipeline, ann_file=f'{data_root}/val.json'),
    test=dict(data_cfg=data_cfg, pipeline=test_pipeline, ann_file=f'{data_root}/val.json'))
workflow = [('train', 1)]
'''


@pytest.fixture
def cfg_path(tmp_path):
    path = tmp_path / 'cfg.py'
    path.write_text(textwrap.dedent(BASE))
    return str(path)


def load(path, *options):
    return Config.fromfile(path, list(options), type_info=FakeTypes())


def test_seed_examples(cfg_path):
    cfg = load(cfg_path, 'model.backbone.norm_eval=False', 'data.train.pipeline.1.flip_prob=0.0',
               'workflow=[(train,1),(val,1)]', 'work_dir="/tmp/my dir"')
    assert cfg['model']['backbone'] == {'type': 'ResNet', 'depth': 50, 'norm_eval': False}
    assert cfg['data']['train']['pipeline'][1]['flip_prob'] == 0.0
    assert cfg['workflow'] == [('train', 1), ('val', 1)]
    assert cfg['work_dir'] == '/tmp/my dir'


def test_typo_in_constructor_argument(cfg_path):
    with pytest.raises(OverrideError) as e:
        load(cfg_path, 'model.backbone.detph=50')
    message = str(e.value)
    assert "--cfg-options 'model.backbone.detph=50': key model.backbone.detph does not exist; " \
           'did you mean model.backbone.depth?' in message
    # keys the config has, and arguments the type accepts, listed apart
    assert '\n  model.backbone has: type, depth\n' in message
    assert '\n  ResNet also accepts: norm_eval, frozen_stages\n' in message
    assert 'to add a new key on purpose, write +model.backbone.detph=…' in message


def test_typo_in_top_level_key(cfg_path):
    with pytest.raises(OverrideError, match=r'key optimzer.lr does not exist'):
        load(cfg_path, 'optimzer.lr=0.1')


def test_typo_in_untyped_section(cfg_path):
    with pytest.raises(OverrideError) as e:
        load(cfg_path, 'data_cfg.use_gt_box=True')
    assert 'did you mean data_cfg.use_gt_bbox?' in str(e.value)


def test_schema_keys_may_be_set(cfg_path):
    cfg = load(cfg_path, 'work_dir=/w', 'seed=3', 'data.workers_per_gpu=0',
               'data.val_dataloader.samples_per_gpu=8', 'evaluation.interval=1')
    assert (cfg['work_dir'], cfg['seed']) == ('/w', 3)
    assert cfg['data']['val_dataloader'] == {'samples_per_gpu': 8}
    assert cfg['evaluation'] == {'interval': 1}


def test_option_dict_keys_of_a_type(cfg_path):
    cfg = load(cfg_path, 'model.test_cfg.flip_test=False')
    assert cfg['model']['test_cfg'] == {'flip_test': False}
    with pytest.raises(OverrideError, match='model.test_cfg.flip_tset does not exist'):
        load(cfg_path, 'model.test_cfg.flip_tset=False')


def test_unknown_type_does_not_accept_keys(cfg_path):
    with pytest.raises(OverrideError, match='data.train.whatever does not exist'):
        load(cfg_path, 'data.train.whatever=1')


def test_add_and_delete(cfg_path):
    cfg = load(cfg_path, '+model.neck.type=GAP', '~data_cfg.use_gt_bbox', '~val_pipeline.2',
               '~data.samples_per_gpu')
    assert cfg['model']['neck'] == {'type': 'GAP'}
    assert 'use_gt_bbox' not in cfg['data_cfg']
    assert 'use_gt_bbox' not in cfg['data']['train']['data_cfg']  # derived: follows the delete
    assert [s['type'] for s in cfg['data']['val']['pipeline']] == ['LoadImageFromFile',
                                                                   'TopDownAffine']
    assert 'samples_per_gpu' not in cfg['data']
    with pytest.raises(OverrideError, match='the key to delete data_cfg.nothing does not exist'):
        load(cfg_path, '~data_cfg.nothing')


def test_list_indices(cfg_path):
    cfg = load(cfg_path, 'workflow.0=(val,1)', 'data.val.pipeline.-1.keys=[img,target]')
    assert cfg['workflow'] == [('val', 1)]
    assert cfg['data']['val']['pipeline'][2]['keys'] == ['img', 'target']
    cfg = load(cfg_path, 'workflow.0.1=3')  # inside a tuple
    assert cfg['workflow'] == [('train', 3)]
    with pytest.raises(OverrideError) as e:
        load(cfg_path, 'workflow.3=(val,1)')
    assert 'workflow is a list of 1 items; index 3 is out of range' in str(e.value)
    with pytest.raises(OverrideError) as e:
        load(cfg_path, 'data.samples_per_gpu.x=1')
    assert 'data.samples_per_gpu is int 64, not a dict or list' in str(e.value)


def test_list_items_by_type(cfg_path):
    cfg = load(cfg_path, 'data.train.pipeline.TopDownRandomFlip.flip_prob=0.1')
    assert cfg['data']['train']['pipeline'][1]['flip_prob'] == 0.1
    with pytest.raises(OverrideError) as e:
        load(cfg_path, 'data.train.pipeline.TopDownFlip.flip_prob=0.1')
    assert ("data.train.pipeline is a list; index it with a number or the type of one of its "
            "items (no item has type 'TopDownFlip'); its items: 0: LoadImageFromFile, "
            "1: TopDownRandomFlip") in str(e.value)


def test_dict_values_merge_or_replace(cfg_path):
    cfg = load(cfg_path, 'model.backbone={depth:18}')
    assert cfg['model']['backbone'] == {'type': 'ResNet', 'depth': 18}
    cfg = load(cfg_path, 'model.backbone={_delete_:True,type:MobileNetV2}')
    assert cfg['model']['backbone'] == {'type': 'MobileNetV2'}
    with pytest.raises(OverrideError, match='model.backbone.dpth does not exist'):
        load(cfg_path, 'model.backbone={dpth:18}')


def test_derived_values_follow(cfg_path):
    cfg = load(cfg_path, 'data_root=/data/coco', 'channel_cfg.num_output_channels=20',
               'codec.sigma=3', 'data_cfg.image_size=[96,128]', 'val_pipeline.1.use_udp=True')
    assert cfg['data']['train']['ann_file'] == '/data/coco/annotations/train.json'
    assert cfg['data']['val']['ann_file'] == '/data/coco/val.json'
    assert cfg['model']['head'] == {'out_channels': 20,
                                    'decoder': {'type': 'MSRAHeatmap', 'sigma': 3}}
    for split in ('train', 'val', 'test'):
        assert cfg['data'][split]['data_cfg']['image_size'] == [96, 128]
    assert cfg['data']['val']['pipeline'][1]['use_udp'] is True
    assert cfg['data']['test']['pipeline'][1]['use_udp'] is True  # test_pipeline = val_pipeline
    assert cfg.warnings == []


def test_override_through_one_path_leaves_siblings(cfg_path):
    """val and test share one pipeline list and one data_cfg dict in the file; overriding one of
    them changes only that one."""
    cfg = load(cfg_path, 'data.test.pipeline.1.use_udp=True', 'data.val.data_cfg.use_gt_bbox=True')
    assert cfg['data']['test']['pipeline'][1]['use_udp'] is True
    assert cfg['data']['val']['pipeline'][1]['use_udp'] is False
    assert cfg['val_pipeline'][1]['use_udp'] is False
    assert cfg['data']['val']['data_cfg']['use_gt_bbox'] is True
    assert cfg['data']['test']['data_cfg']['use_gt_bbox'] is False
    assert cfg['data_cfg']['use_gt_bbox'] is False


def test_mmengine_agrees_where_nothing_is_derived(cfg_path):
    options = {'model.backbone.depth': 101, 'data.samples_per_gpu': 8, 'workflow': [('val', 1)],
               'data.train.pipeline.1.flip_prob': 0.25}
    ours = load(cfg_path, *[f'{k}={v!r}'.replace("'", '') for k, v in options.items()])
    theirs = mmengine.Config.fromfile(cfg_path)
    theirs.merge_from_dict(options)
    assert ours.to_dict() == theirs.to_dict()


def test_base_copies_follow_options(tmp_path):
    (tmp_path / 'base.py').write_text("codec = dict(sigma=2)\nroot = 'r'\n")
    (tmp_path / 'top.py').write_text(
        "_base_ = 'base.py'\nhead = dict(decoder=_base_.codec)\nann = _base_.root + '/a'\n"
        "copy = {{_base_.codec}}\n")
    cfg = Config.fromfile(str(tmp_path / 'top.py'), ['codec.sigma=5', 'root=/x'])
    assert cfg['head']['decoder'] == {'sigma': 5}
    assert cfg['copy'] == {'sigma': 5}
    assert cfg['codec'] == {'sigma': 5}
    assert cfg['ann'] == '/x/a'
    assert cfg.warnings == []


def test_stale_copy_warns_when_a_child_overrides(tmp_path):
    (tmp_path / 'base.py').write_text(
        "channel_cfg = dict(n=17)\nmodel = dict(head=dict(out=channel_cfg['n']))\n")
    (tmp_path / 'mid.py').write_text("_base_ = 'base.py'\nhead2 = _base_.model.head\n")
    (tmp_path / 'top.py').write_text("_base_ = 'mid.py'\nx = 1\nchannel_cfg = dict(n=20)\n")
    with pytest.warns(ConfigWarning) as record:
        cfg = Config.fromfile(str(tmp_path / 'top.py'))
    assert cfg['model']['head']['out'] == 17  # the same value mmengine gives, but flagged
    messages = [str(w.message) for w in record]
    assert any(m.startswith('model.head.out (') and 'base.py:2) was computed from channel_cfg.n'
               in m and 'top.py:3 changes channel_cfg.n afterwards, so model.head.out keeps 17'
               in m and "write '${channel_cfg.n}'" in m for m in messages), messages


def test_no_warning_when_the_child_sets_both(tmp_path):
    (tmp_path / 'base.py').write_text(
        "channel_cfg = dict(n=17)\nmodel = dict(head=dict(out=channel_cfg['n']))\n")
    (tmp_path / 'top.py').write_text(
        "_base_ = 'base.py'\nchannel_cfg = dict(n=20)\nmodel = dict(head=dict(out=20))\n")
    cfg = Config.fromfile(str(tmp_path / 'top.py'))
    assert cfg.warnings == [] and cfg['model']['head']['out'] == 20


# -- each override is applied once, where it was asked (issue 8) ---------------------------------
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
R50 = os.path.join(REPO, 'configs/body/2d_kpt_sview_rgb_img/topdown_heatmap/coco/'
                         'res50_coco_256x192.py')


def types(pipeline):
    return [step['type'] for step in pipeline]


def test_list_delete_runs_once_when_a_child_merges_the_dict(tmp_path):
    """The child sets data (a dict merge) but not data.train.pipeline, which R50 placed: the
    delete runs in R50 only, not again on the merged config."""
    child = tmp_path / 'child.py'
    child.write_text(f'_base_ = {R50!r}\ndata = dict(samples_per_gpu=2)\n')
    expected = mmengine.Config.fromfile(str(child)).to_dict()['data']['train']['pipeline']
    del expected[1]
    cfg = Config.fromfile(str(child), ['~data.train.pipeline.1'])
    assert cfg['data']['train']['pipeline'] == expected
    assert 'TopDownHalfBodyTransform' in types(cfg['data']['train']['pipeline'])
    assert cfg['data']['samples_per_gpu'] == 2


def test_type_selector_that_changes_the_type():
    cfg = Config.fromfile(R50, ['val_pipeline.TopDownAffine.type=TopDownAffineX',
                                '+val_pipeline.TopDownAffineX.use_udp=True'])
    assert cfg['val_pipeline'][1] == {'type': 'TopDownAffineX', 'use_udp': True}
    # test_pipeline = val_pipeline and data.val.pipeline=val_pipeline in R50: they follow
    assert cfg['data']['val']['pipeline'][1] == cfg['test_pipeline'][1] == cfg['val_pipeline'][1]
    cfg = Config.fromfile(R50, ['data.train.pipeline.TopDownRandomFlip={_delete_:True,type:Foo}'])
    assert cfg['data']['train']['pipeline'][1] == {'type': 'Foo'}
    assert cfg['train_pipeline'][1] == {'type': 'TopDownRandomFlip', 'flip_prob': 0.5}


REORDERING_CHILD = '''
_base_ = {base!r}
train_pipeline = [_base_.train_pipeline[0], _base_.train_pipeline[2],
                  _base_.train_pipeline[1]] + _base_.train_pipeline[3:]
other_pipeline = _base_.train_pipeline
data = dict(train=dict(pipeline=train_pipeline))
'''


@pytest.mark.parametrize('option', ['train_pipeline.1.prob_half_body=0', '~train_pipeline.1',
                                    'train_pipeline.TopDownHalfBodyTransform.prob_half_body=0'])
def test_reordered_list_in_a_child_is_the_one_indexed(tmp_path, option):
    """train_pipeline.1 is the child's item 1 (the half-body transform); the base's item 1 (the
    flip), which the child's copies of _base_.train_pipeline hold, is not touched."""
    child = tmp_path / 'child.py'
    child.write_text(REORDERING_CHILD.format(base=R50))
    plain = mmengine.Config.fromfile(str(child)).to_dict()
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        cfg = Config.fromfile(str(child), [option])
    expected = plain['train_pipeline']
    if option.startswith('~'):
        del expected[1]
    else:
        expected[1]['prob_half_body'] = 0
    assert cfg['train_pipeline'] == expected
    assert cfg['data']['train']['pipeline'] == expected  # a reference in the child: follows
    assert cfg['other_pipeline'] == plain['other_pipeline']  # a copy of the base's list


def test_base_copy_of_a_list_follows_when_the_child_keeps_the_list(tmp_path):
    (tmp_path / 'base.py').write_text("pipeline = [dict(type='A'), dict(type='B', p=1)]\n")
    (tmp_path / 'top.py').write_text(
        "_base_ = 'base.py'\ndata = dict(n=1)\ncopy = _base_.pipeline\n")
    cfg = Config.fromfile(str(tmp_path / 'top.py'), ['~pipeline.0', 'pipeline.0.p=2'])
    assert cfg['pipeline'] == [{'type': 'B', 'p': 2}]
    assert cfg['copy'] == cfg['pipeline'] and cfg.warnings == []


def test_statement_failing_after_an_override_names_it(tmp_path):
    path = tmp_path / 'rtm.py'
    path.write_text("codec = dict(type='SimCCLabel', input_size=(192, 256))\n"
                    "x = 1\n"
                    "model = dict(head=dict(\n"
                    "    in_featuremap_size=tuple([s // 32 for s in codec['input_size']])))\n")
    with pytest.raises(ConfigFileError) as e:
        Config.fromfile(str(path), ['codec.input_size=256', 'x=2'])
    message = str(e.value)
    assert "rtm.py:4: TypeError: 'int' object is not iterable" in message
    assert "caused by --cfg-options 'codec.input_size=256': this line reads codec, changed by " \
           'the override (without it the file loads)' in message
    assert 'x=2' not in message


def test_deleting_an_unset_constructor_argument():
    with pytest.raises(OverrideError) as e:
        Config.fromfile(R50, ['~model.backbone.out_indices'])
    message = str(e.value)
    assert message == ("--cfg-options '~model.backbone.out_indices': model.backbone.out_indices "
                       'is not set in the config, so there is nothing to delete (ResNet accepts '
                       'it; unset, it keeps its default)')


def test_unknown_key_lists_keys_and_arguments_apart(cfg_path):
    with pytest.raises(OverrideError) as e:
        load(cfg_path, '~model.backbone.frozen_stage')
    message = str(e.value)
    assert 'did you mean model.backbone.frozen_stages?' in message
    assert '\n  model.backbone has: type, depth\n  ResNet also accepts: norm_eval, frozen_stages' \
        in message
    with pytest.raises(OverrideError) as e:
        load(cfg_path, 'model.backbone.depht.x=1')
    assert 'did you mean model.backbone.depth.x?' in str(e.value)
    assert 'depht.x?' not in str(e.value).split('did you mean')[1].split('\n')[0].replace(
        'depth.x', '')  # never the key itself


def test_number_segment_never_creates_a_key():
    for option in ('model.backbone.out_indices.0=2', '+model.backbone.out_indices.0=2'):
        with pytest.raises(OverrideError) as e:
            Config.fromfile(R50, [option])
        message = str(e.value)
        assert 'model.backbone.out_indices is not in the config (it is an argument ResNet ' \
               'accepts, left at its default), so there is no list to index with 0; set the ' \
               'whole value instead: model.backbone.out_indices=[…]' in message
        assert 'write +' not in message
    with pytest.raises(OverrideError) as e:
        Config.fromfile(R50, ['+model.test_cfg.3=1'])
    assert 'model.test_cfg is a dict without key 3' in str(e.value)
    assert "a number in model.test_cfg.3 names a list index or an existing key" in str(e.value)
