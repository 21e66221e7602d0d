"""tools/print_config.py end to end, as a user runs it."""
import json
import os
import subprocess
import sys

import mmengine

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED = 'configs/body/2d_kpt_sview_rgb_img/topdown_heatmap/coco/res50_coco_256x192.py'


def run(*args, cwd=REPO):
    return subprocess.run([sys.executable, os.path.join(REPO, 'tools', 'print_config.py'), *args],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def test_issue_example_prints_the_four_values():
    result = run(SEED, '--format', 'json', '--cfg-options', 'model.backbone.norm_eval=False',
                 'data.train.pipeline.1.flip_prob=0.0', 'workflow=[(train,1),(val,1)]',
                 'work_dir="/tmp/my dir"')
    assert result.returncode == 0, result.stderr
    cfg = json.loads(result.stdout)
    assert cfg['model']['backbone']['norm_eval'] is False
    assert cfg['data']['train']['pipeline'][1] == {'type': 'TopDownRandomFlip', 'flip_prob': 0.0}
    assert cfg['workflow'] == [['train', 1], ['val', 1]]
    assert cfg['work_dir'] == '/tmp/my dir'
    assert 'note: tuple written as a list: workflow.0, workflow.1' in result.stderr


def test_typo_exits_non_zero_naming_the_key():
    result = run(SEED, '--cfg-options', 'model.backbone.detph=50')
    assert result.returncode == 2
    assert result.stdout == ''
    assert result.stderr.startswith("error: --cfg-options 'model.backbone.detph=50': key "
                                    'model.backbone.detph does not exist; did you mean '
                                    'model.backbone.depth?')
    assert 'Traceback' not in result.stderr


def test_options_alias_and_py_output_loads_in_mmengine(tmp_path):
    result = run(SEED, '--options', 'model.backbone.depth=101', 'total_epochs=3')
    assert result.returncode == 0, result.stderr
    out = tmp_path / 'printed.py'
    out.write_text(result.stdout)
    cfg = mmengine.Config.fromfile(str(out))
    assert cfg.model.backbone.depth == 101 and cfg.total_epochs == 3
    assert cfg.workflow == [('train', 1)]


def test_explain():
    result = run(SEED, '--explain', 'model.backbone.depth', '--explain', 'log_level',
                 '--cfg-options', 'model.backbone.depth=18')
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.strip().split('\n\n')
    assert first.splitlines()[0] == 'model.backbone.depth = 18'
    assert first.splitlines()[1].strip().startswith('set')
    # the model comes from the zoo's model part (configs/_base_/models/)
    assert first.splitlines()[1].strip().endswith('configs/_base_/models/topdown_res50.py:8')
    assert first.splitlines()[2].strip() == 'override  --cfg-options model.backbone.depth=18'
    assert second.splitlines()[1].strip().endswith('configs/_base_/default_runtime.py:2')
    assert 'configs/_base_/default_runtime.py → configs/_base_/topdown_heatmap/coco_256x192.py ' \
           '→ configs/body' in second


def test_yaml_format():
    result = run(SEED, '--format', 'yaml')
    assert result.returncode == 0 and 'total_epochs: 210' in result.stdout


def test_config_package_imports_nothing_heavy():
    code = ('import sys, posecfg.config; '
            "heavy = [m for m in ('torch', 'mmengine', 'mmcv', 'cv2', 'numpy') if m in sys.modules]; "
            'print(heavy)')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            cwd=REPO, timeout=60)
    assert result.stdout.strip() == '[]', result.stdout + result.stderr


def test_values_as_a_user_types_them():
    """Issue 8: booleans in any case, whitespace around values and items."""
    result = run(SEED, '--format', 'json', '--cfg-options', 'deterministic=false',
                 'model.backbone.norm_eval=FALSE', 'lr_config.step=170, 200',
                 'evaluation.interval=5 ')
    assert result.returncode == 0, result.stderr
    cfg = json.loads(result.stdout)
    assert cfg['deterministic'] is False and cfg['model']['backbone']['norm_eval'] is False
    assert cfg['lr_config']['step'] == [170, 200] and cfg['evaluation']['interval'] == 5


def test_explain_through_a_type_selector_and_a_derivation():
    result = run(SEED, '--explain', 'data.train.pipeline.TopDownRandomFlip.flip_prob',
                 '--explain', 'data.train.ann_file', '--cfg-options', 'data_root=/x',
                 'data.train.pipeline.TopDownRandomFlip.flip_prob=0.1')
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.strip().split('\n\n')
    assert first.splitlines()[0] == 'data.train.pipeline.TopDownRandomFlip.flip_prob = 0.1'
    assert first.splitlines()[2].strip() == \
        'override  --cfg-options data.train.pipeline.TopDownRandomFlip.flip_prob=0.1'
    assert 'train_pipeline' not in first  # no longer a copy of train_pipeline's value
    assert second.splitlines()[0] == \
        "data.train.ann_file = '/x/annotations/person_keypoints_train2017.json'"
    assert '(following --cfg-options data_root=/x)' in second.splitlines()[1]


def test_engine_option_shows_the_evaluators_evaluation_metric_becomes():
    result = run(SEED, '--engine', '--format', 'json', '--cfg-options',
                 'evaluation.metric=[mAP,PCK]', 'data_cfg.use_gt_bbox=True')
    assert result.returncode == 0, result.stderr
    cfg = json.loads(result.stdout)
    for key in ('val_evaluator', 'test_evaluator'):
        assert [m['type'] for m in cfg[key]] == ['CocoKeypointMetric', 'PCKAccuracy']
        assert cfg[key][0]['ann_file'] == 'data/coco/annotations/person_keypoints_val2017.json'
    plain = json.loads(run(SEED, '--format', 'json').stdout)
    assert 'val_evaluator' not in plain  # without --engine: the file as written
