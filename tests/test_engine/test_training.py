"""Training for real, on a tiny generated dataset: what lands in the work dir, resuming exactly
after ``kill -9``, two CPU processes training one model, and test.py agreeing with training."""
import glob
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import torch

from posecfg.config import Config
from posecfg.engine import build_runner
from posecfg.engine.checkpoint import load_checkpoint_file
from posecfg.engine.runner_config import expanded_config
from tiny_training import REPO, TOOLS, make_tiny, run_tool


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """(config path, data dir) of a 2-epoch run on 12 train / 6 val generated images."""
    return make_tiny(tmp_path_factory.mktemp('tiny'))


def ap_values(log_text):
    return [float(v) for v in re.findall(r'\bAP: ([0-9.]+)', log_text)]


def state_of(checkpoint):
    return load_checkpoint_file(checkpoint)['state_dict']


def test_training_fills_the_work_dir(tiny, tmp_path):
    config, _ = tiny
    work = tmp_path / 'work'
    cfg = Config.fromfile(config, ['workflow=[(train,1),(val,1)]'])
    runner = build_runner(cfg, work_dir=str(work))
    runner.train()
    assert (work / 'tiny.py').exists()
    # the resolved config, with the evaluator the engine expanded evaluation.metric into
    resolved = expanded_config(cfg, ['val'])
    assert Config.fromfile(str(work / 'tiny.py')).to_dict() == resolved.to_dict()
    assert [m['type'] for m in resolved['val_evaluator']] == ['CocoKeypointMetric']
    assert sorted(os.path.basename(p) for p in glob.glob(str(work / '*.pth'))) == [
        'best_AP_epoch_1.pth', 'epoch_1.pth', 'epoch_2.pth'] or \
        sorted(os.path.basename(p) for p in glob.glob(str(work / '*.pth'))) == [
        'best_AP_epoch_2.pth', 'epoch_1.pth', 'epoch_2.pth']
    checkpoint = load_checkpoint_file(str(work / 'epoch_2.pth'))
    assert checkpoint['meta']['cfg'] == resolved.pretty_text
    mask = os.umask(0)
    os.umask(mask)
    for kept in ('epoch_2.pth', 'tiny.py', 'last_checkpoint'):  # the umask, not mkstemp's 0600
        assert (work / kept).stat().st_mode & 0o777 == 0o666 & ~mask, kept
    assert checkpoint['meta']['epoch'] == 2
    run_dirs = [d for d in glob.glob(str(work / '2*')) if os.path.isdir(d)]
    assert len(run_dirs) == 1
    text_log = glob.glob(os.path.join(run_dirs[0], '*.log'))[0]
    log = open(text_log).read()
    assert 'Epoch(val-loss) [1/2]' in log and 'val/heatmap_loss' in log
    scalars = [json.loads(line) for line in
               open(os.path.join(run_dirs[0], 'vis_data', 'scalars.json'))]
    assert any('loss' in s and 'lr' in s for s in scalars)  # train iterations
    assert any('AP' in s and 'AR' in s for s in scalars)  # evaluations
    assert any('val/loss' in s for s in scalars)  # the ('val', 1) workflow phase
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(os.path.join(run_dirs[0], 'vis_data'))
    events.Reload()
    tags = events.Tags()['scalars']
    assert {'loss', 'AP', 'lr'} <= set(tags), tags
    assert len(events.Scalars('AP')) == 2


SEED_CONFIG = os.path.join(REPO, 'configs', 'body', '2d_kpt_sview_rgb_img', 'topdown_heatmap',
                           'coco', 'res50_coco_256x192.py')


def with_seed_pipeline(config, folder):
    """A child of ``config`` training through the seed config's train pipeline (random flip,
    half-body, scale and rotation), copied from the seed file itself."""
    pipeline = Config.fromfile(SEED_CONFIG).to_dict()['train_pipeline']
    assert [s['type'] for s in pipeline][1:4] == [
        'TopDownRandomFlip', 'TopDownHalfBodyTransform', 'TopDownGetRandomScaleRotation']
    path = folder / 'tiny_seed_pipeline.py'
    path.write_text(f"_base_ = ['{config}']\ntrain_pipeline = {pipeline!r}\n"
                    f"data = dict(train=dict(pipeline=train_pipeline))\n")
    return str(path)


def test_kill_minus_nine_then_resume_continues_exactly(tiny, tmp_path):
    """Killed at an epoch boundary and resumed, with the seed's random augmentations and two
    dataloader workers, training ends with the weights of an uninterrupted run without
    workers: augmentation depends on (seed, epoch, sample index) only."""
    config = with_seed_pipeline(tiny[0], tmp_path)
    options = ['--cfg-options', 'total_epochs=3', 'lr_config.step=[2]']
    straight = tmp_path / 'straight'
    result = run_tool(os.path.join(TOOLS, 'train.py'), config, '--work-dir', str(straight),
                      '--no-validate', *options, 'data.workers_per_gpu=0')
    assert result.returncode == 0, result.stderr[-3000:]

    killed = tmp_path / 'killed'
    process = subprocess.Popen(
        [sys.executable, os.path.join(TOOLS, 'train.py'), config, '--work-dir', str(killed),
         '--no-validate', *options, 'data.workers_per_gpu=2'], cwd=REPO,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pointer = killed / 'last_checkpoint'
    deadline = time.time() + 300
    while not (pointer.exists() and pointer.read_text().endswith('epoch_1.pth')) \
            and time.time() < deadline and process.poll() is None:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    last = pointer.read_text()
    assert last.endswith('epoch_1.pth'), last
    result = run_tool(os.path.join(TOOLS, 'train.py'), config, '--work-dir', str(killed),
                      '--no-validate', '--resume-from', last, *options,
                      'data.workers_per_gpu=2')
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'resumed epoch: 1' in result.stdout + result.stderr
    a = load_checkpoint_file(str(straight / 'epoch_3.pth'))
    b = load_checkpoint_file(str(killed / 'epoch_3.pth'))
    for key, value in a['state_dict'].items():
        assert torch.equal(value, b['state_dict'][key]), key
    step_a = a['optimizer']['state'][0]['step']
    step_b = b['optimizer']['state'][0]['step']
    assert float(step_a) == float(step_b) > 0  # Adam's state came back from the checkpoint
    assert a['param_schedulers'] == b['param_schedulers']


def test_load_from_takes_weights_only(tiny, tmp_path):
    config, _ = tiny
    first = tmp_path / 'first'
    runner = build_runner(Config.fromfile(config, ['total_epochs=1']), work_dir=str(first),
                          validate=False)
    runner.train()
    second = tmp_path / 'second'
    cfg = Config.fromfile(config, [f'load_from={first / "epoch_1.pth"}', 'total_epochs=1'])
    runner = build_runner(cfg, work_dir=str(second), validate=False)
    runner.load_or_resume()  # what train() does first
    assert runner.epoch == 0 and runner.iter == 0  # weights only: the count starts again
    trained = state_of(str(first / 'epoch_1.pth'))
    for key, value in runner.model.state_dict().items():
        assert torch.equal(value, trained[key]), key


def test_two_cpu_processes_train_one_model_and_resume_exactly(tiny, tmp_path):
    """Two processes train one model (with the seed's random augmentations), each rank on half
    of every epoch; killed after epoch 1 and resumed, they end with the same weights."""
    config = with_seed_pipeline(tiny[0], tmp_path)
    work = tmp_path / 'dist'
    port = 29500 + os.getpid() % 1000
    args = ['--no-validate', '--cfg-options', 'total_epochs=2', 'data.samples_per_gpu=2']
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(port))

    def launch(work_dir, *extra, **kwargs):
        env['PORT'] = str(int(env['PORT']) + 1)  # a port of its own: the last one may linger
        return subprocess.Popen([os.path.join(TOOLS, 'dist_train.sh'), config, '2',
                                 '--work-dir', str(work_dir), *extra, *args], cwd=REPO,
                                env=dict(env), start_new_session=True, **kwargs)

    straight = launch(work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log = straight.communicate(timeout=600)[0]
    assert straight.returncode == 0, log[-3000:]
    assert 'Distributed training: True' in log
    instances = len(json.load(open(tiny[1] / 'annotations' / 'train.json'))['annotations'])
    per_rank = -(-instances // 2)
    iters = -(-per_rank // 2)
    assert f'Epoch(train) [1][{iters}/{iters}]' in log  # each rank saw half the data
    assert sorted(os.path.basename(p) for p in glob.glob(str(work / '*.pth'))) == [
        'epoch_1.pth', 'epoch_2.pth']

    killed = tmp_path / 'killed'
    process = launch(killed, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pointer = killed / 'last_checkpoint'
    deadline = time.time() + 300
    while not (pointer.exists() and pointer.read_text().endswith('epoch_1.pth')) \
            and time.time() < deadline and process.poll() is None:
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)  # both ranks and their launcher
    process.wait()
    resumed = launch(killed, '--resume-from', pointer.read_text(), stdout=subprocess.PIPE,
                     stderr=subprocess.STDOUT, text=True)
    log = resumed.communicate(timeout=600)[0]
    assert resumed.returncode == 0, log[-3000:]
    assert 'resumed epoch: 1' in log
    a, b = state_of(str(work / 'epoch_2.pth')), state_of(str(killed / 'epoch_2.pth'))
    for key, value in a.items():
        assert torch.equal(value, b[key]), key

    # two processes test it too, each on half the data, gathered into the same AP as one process
    checkpoint = str(work / 'epoch_2.pth')
    single = run_tool(os.path.join(TOOLS, 'test.py'), config, checkpoint, '--eval', 'mAP')
    assert single.returncode == 0, single.stderr[-3000:]
    env['PORT'] = str(int(env['PORT']) + 1)  # a port of its own: the last one may linger
    result = subprocess.run(
        [os.path.join(TOOLS, 'dist_test.sh'), config, checkpoint, '2', '--eval', 'mAP'],
        capture_output=True, text=True, cwd=REPO, timeout=600, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert ap_values(result.stdout + result.stderr) == ap_values(single.stdout + single.stderr)
    assert len(ap_values(single.stdout + single.stderr)) == 1


def test_test_tool_reproduces_the_training_evaluation(tiny, tmp_path):
    config, _ = tiny
    work = tmp_path / 'work'
    result = run_tool(os.path.join(TOOLS, 'train.py'), config, '--work-dir', str(work),
                      '--cfg-options', 'total_epochs=1')
    assert result.returncode == 0, result.stderr[-3000:]
    trained_ap = ap_values(result.stdout + result.stderr)
    assert len(trained_ap) == 1
    out = tmp_path / 'predictions.json'
    result = run_tool(os.path.join(TOOLS, 'test.py'), config, str(work / 'epoch_1.pth'),
                      '--eval', 'mAP', '--out', str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    assert ap_values(result.stdout + result.stderr) == trained_ap
    predictions = json.load(open(out))
    val = json.load(open(tiny[1] / 'annotations' / 'val.json'))
    assert len(predictions) == len([a for a in val['annotations'] if a['num_keypoints'] > 0])
    files = {img['id']: img['file_name'] for img in val['images']}
    for record in predictions:  # which image and box each prediction is of
        assert record['image_file'].endswith('/' + files[record['image_id']])
    assert sorted(r['bbox_id'] for r in predictions) == list(range(len(predictions)))
    assert len(predictions[0]['keypoints']) == 14 and len(predictions[0]['keypoints'][0]) == 3


def test_bad_inputs_fail_before_training(tiny, tmp_path):
    config, data = tiny
    result = run_tool(os.path.join(TOOLS, 'train.py'), config, '--work-dir', str(tmp_path),
                      '--cfg-options', 'train_pipeline.0.type=LoadImageFromFil')
    assert result.returncode == 2
    assert result.stderr.startswith('error: --cfg-options train_pipeline.0.type=')
    assert "'LoadImageFromFil' is not registered; closest registered names: LoadImageFromFile" \
        in result.stderr
    assert not glob.glob(str(tmp_path / '*.pth'))


def test_missing_image_is_named(tiny, tmp_path):
    config, data = tiny
    images = tmp_path / 'images'
    images.mkdir()
    cfg = Config.fromfile(config, [f'data.train.img_prefix={images}/', 'total_epochs=1'])
    runner = build_runner(cfg, work_dir=str(tmp_path / 'w'), validate=False)
    with pytest.raises(Exception) as e:
        runner.train()
    assert str(images / '000001.jpg') in str(e.value) or \
        re.search(re.escape(str(images)) + r'/0000\d\d\.jpg', str(e.value))


def test_fp16_autocasts_on_cpu(tiny, tmp_path):
    config, _ = tiny
    cfg = Config.fromfile(config, ['+fp16.loss_scale=512.0', 'total_epochs=1'])
    runner = build_runner(cfg, work_dir=str(tmp_path), validate=False)
    runner.train()
    assert type(runner.optim_wrapper).__name__ == 'AutocastOptimWrapper'
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert loss == loss and loss > 0  # finite
