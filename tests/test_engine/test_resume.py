"""Strict checkpoints and resuming with a changed config: a checkpoint of another model is an
error listing its keys (or a summary with load_partial), a new learning rate is applied, an
optimizer change is refused naming the key."""
import os
import re

import pytest
import torch

from posecfg.config import Config
from posecfg.engine import build_runner
from posecfg.engine.checkpoint import load_checkpoint_file
from posecfg.engine.resume import ResumeConfigError, parse_config_text, plan_resume
from posecfg.engine.weights import CheckpointMismatchError
from tiny_training import TOOLS, logged_lrs, make_tiny, run_tool


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """(config, checkpoint of one epoch: Adam lr 2e-3 with a 4-iteration linear warm-up)."""
    root = tmp_path_factory.mktemp('resume')
    config, _ = make_tiny(root)
    # its own experiment name: a runner started in the same second would share its visualizer
    runner = build_runner(Config.fromfile(config, ['total_epochs=1', 'experiment_name=trained']),
                          work_dir=str(root / 'w'),
                          validate=False)
    runner.train()
    return config, str(root / 'w' / 'epoch_1.pth')


def test_a_resumed_run_takes_the_new_learning_rate(trained, tmp_path):
    """The issue's case: lr changed and the warm-up switched off on resume. mmengine kept the
    checkpoint's warm-up lr; posecfg rebuilds the schedule from the config: lr 1e-3 in epoch 2,
    x0.1 from epoch 3 (lr_config.step=[2], epochs counted from 0)."""
    config, checkpoint = trained
    cfg = Config.fromfile(config, [f'resume_from={checkpoint}', 'total_epochs=3',
                                   'optimizer.lr=0.001', 'lr_config.warmup=None'])
    runner = build_runner(cfg, work_dir=str(tmp_path), validate=False)
    runner.train()
    lrs = logged_lrs(str(tmp_path))
    assert set(lrs) == {2, 3}
    assert lrs[2] == pytest.approx([1e-3] * len(lrs[2]), rel=1e-12)
    assert lrs[3] == pytest.approx([1e-4] * len(lrs[3]), rel=1e-12)
    state = load_checkpoint_file(str(tmp_path / 'epoch_3.pth'))
    assert state['optimizer']['state'][0]['step'] > 0  # Adam's moments came along
    log = open(next(str(p) for p in tmp_path.glob('*/*.log'))).read()
    assert 'changed since the checkpoint (applied): ' in log
    assert 'optimizer.lr 0.002 → 0.001' in log and "lr_config.warmup 'linear' → None" in log


def test_what_counts_as_a_change(trained):
    config, checkpoint = trained
    saved = load_checkpoint_file(checkpoint)['meta']['cfg']
    same = Config.fromfile(config, ['total_epochs=1', f'resume_from={checkpoint}',
                                    'work_dir=elsewhere'])
    plan = plan_resume(saved, same.pretty_text)
    assert plan.changes == [] and not plan.reschedule  # the checkpoint's schedule is loaded
    longer = plan_resume(saved, Config.fromfile(config, ['total_epochs=4']).pretty_text)
    assert longer.changes == [('total_epochs', 1, 4)] and longer.reschedule


def test_a_changed_optimizer_type_is_refused_naming_the_key(trained, tmp_path):
    config, checkpoint = trained
    cfg = Config.fromfile(config, [f'resume_from={checkpoint}', 'optimizer.type=SGD',
                                   '+optimizer.momentum=0.9'])
    runner = build_runner(cfg, work_dir=str(tmp_path), validate=False)
    with pytest.raises(ResumeConfigError) as e:  # a ConfigError: the tools print it, exit 2
        runner.train()
    message = str(e.value)
    assert 'cannot resume' in message and 'use load_from=<checkpoint>' in message
    assert "optimizer.type: 'Adam' → 'SGD' (the optimizer state in the checkpoint belongs to " \
        'the old optimizer)' in message


def test_a_changed_architecture_on_resume_names_keys_and_tensors(trained, tmp_path):
    config, checkpoint = trained
    cfg = Config.fromfile(config, [f'resume_from={checkpoint}', 'model.backbone.depth=34',
                                   'total_epochs=1'])
    runner = build_runner(cfg, work_dir=str(tmp_path), validate=False)
    with pytest.raises(CheckpointMismatchError) as e:
        runner.train()
    message = str(e.value)
    assert f'resume_from {checkpoint} does not fit the model of this config' in message
    assert 'missing backbone.layer1.2.' in message
    assert 'The model config changed since the checkpoint: model.backbone.depth: 18 → 34' \
        in message


def test_testing_a_checkpoint_of_another_model_fails(trained, tmp_path):
    config, checkpoint = trained
    result = run_tool(os.path.join(TOOLS, 'test.py'), config, checkpoint, '--cfg-options',
                      'model.keypoint_head.num_deconv_filters=(16,16,16)',
                      f'work_dir={tmp_path}')
    assert result.returncode == 2, result.stderr[-2000:]
    assert f'error: the checkpoint to test {checkpoint} does not fit the model of this config' \
        in result.stderr
    assert 'shape mismatch keypoint_head.deconv_layers.0.weight [128, 32, 4, 4] vs ' \
        '[128, 16, 4, 4]' in result.stderr
    assert not re.search(r'\bAP: ', result.stdout + result.stderr)


def test_load_from_is_strict_unless_load_partial(trained, tmp_path):
    config, checkpoint = trained
    options = [f'load_from={checkpoint}', 'total_epochs=1',
               'model.keypoint_head.num_deconv_filters=(32,32,16)']
    runner = build_runner(Config.fromfile(config, options), work_dir=str(tmp_path / 'a'),
                          validate=False)
    with pytest.raises(CheckpointMismatchError) as e:
        runner.load_or_resume()
    assert 'final_layer.weight [14, 32, 1, 1] vs [14, 16, 1, 1]' in str(e.value)
    assert 'set load_partial=True' in str(e.value)
    runner = build_runner(Config.fromfile(config, options + ['load_partial=True',
                          # a logger of its own, though built in the same second as the first
                          'experiment_name=partial']),
                          work_dir=str(tmp_path / 'b'), validate=False)
    runner.load_or_resume()
    trained_state = load_checkpoint_file(checkpoint)['state_dict']
    own = runner.model.state_dict()
    assert torch.equal(own['backbone.conv1.weight'], trained_state['backbone.conv1.weight'])
    assert own['keypoint_head.final_layer.weight'].shape[1] == 16  # left as initialised
    log = open(next(str(p) for p in (tmp_path / 'b').glob('*/*.log'))).read()
    assert re.search(rf'loaded \d+/{len(own)} tensors of TopDown from {re.escape(checkpoint)}',
                     log)
    assert 'TopDown: skipped tensors whose shape differs (in ' in log
    assert 'keypoint_head.final_layer.weight [14, 32, 1, 1] vs [14, 16, 1, 1]' in log


def test_the_checkpoint_text_is_read_without_running_it(tmp_path):
    marker = tmp_path / 'ran'
    text = (f"optimizer = dict(type='Adam', lr=1e-3, betas=(0.9, 0.999))\n"
            f"x = __import__('os').system('touch {marker}')\n"
            f"inf = float('inf')\nneg = -2\n")
    parsed = parse_config_text(text)
    assert parsed['optimizer'] == dict(type='Adam', lr=1e-3, betas=(0.9, 0.999))
    assert parsed['inf'] == float('inf') and parsed['neg'] == -2
    assert parsed['x'].startswith('__import__') and not marker.exists()


def test_plan_kinds():
    old = "optimizer = dict(type='Adam', lr=0.002)\nseed = 0\nmodel = dict(depth=18)\n" \
          "work_dir = 'a'\n"
    plan = plan_resume(old, old.replace('0.002', '0.001').replace('seed = 0', 'seed = 1')
                       .replace("'a'", "'b'"))
    assert [c[0] for c in plan.applied] == ['optimizer.lr']
    assert [c[0] for c, _ in plan.kept] == ['seed']  # work_dir differs by nature: ignored
    with pytest.raises(ResumeConfigError, match=r"optimizer\.type: 'Adam' → 'SGD'"):
        plan_resume(old, old.replace('Adam', 'SGD'))
