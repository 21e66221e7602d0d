"""Lightning Pose's ``model.checkpoint``: a Lightning ``.ckpt`` written in Lightning Pose's layout
loads into posecfg's Lightning Pose model (posecfg.interop.lp.checkpoint, LPCheckpointHook).

The oracle is Lightning Pose 2.4.3's key layout, written out here from its sources: the tracker's
``self.backbone`` is ``nn.Sequential(*list(torchvision_resnet.children())[:-2])``
(``models/backbones/torchvision.py``; children 0 conv1, 1 bn1, 2 relu, 3 maxpool, 4-7
layer1-4), its ``self.head`` a ``HeatmapHead`` whose ``upsampling_layers`` Sequential starts
with a parameterless ``PixelShuffle`` (``models/heads/heatmap.py:20-71``), its loss modules under
``loss_factory``; Lightning saves them under ``state_dict`` with ``epoch``, ``global_step`` and
the rest (``models/factory.py:303-321`` reads ``torch.load(ckpt)['state_dict']``).
"""
import warnings

import pytest
import torch

from posecfg.interop.lp.checkpoint import LPCheckpointError, load_lp_checkpoint
from posecfg.models.utils import UnsafeCheckpointError
from posecfg.registry import MODELS
from tests.test_interop.test_lp.test_to_config import load, project  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py

#: Lightning Pose's trunk index of each torchvision ResNet child with weights
LP_RESNET_CHILDREN = {'conv1': '0', 'bn1': '1', 'layer1': '4', 'layer2': '5', 'layer3': '6',
                      'layer4': '7'}


def lp_layout(state):
    """posecfg's state dict (torchvision names under ``backbone.``, head under ``bodypart.``)
    → Lightning Pose's names, by the layout written out above."""
    out = {}
    for key, value in state.items():
        part, child, rest = key.split('.', 2) if key.count('.') >= 2 else (*key.split('.'), '')
        if part == 'backbone':
            out[f'backbone.{LP_RESNET_CHILDREN[child]}.{rest}'] = value
        else:
            assert part == 'bodypart'
            out['head.' + key[len('bodypart.'):]] = value
    return out


def model_of(project, seed, *options):
    cfg = load(project, *options)
    torch.manual_seed(seed)
    model = MODELS.build(cfg.to_dict()['model'])
    model.init_weights()
    return model


def write_ckpt(path, state):
    torch.save({'epoch': 3, 'global_step': 12, 'pytorch-lightning_version': '2.5.1',
                'state_dict': dict(state, **{'loss_factory.loss_instance_dict.x': torch.ones(3)}),
                'hyper_parameters': {'num_keypoints': 17, 'backbone': 'resnet18'},
                'optimizer_states': [], 'lr_schedulers': [], 'callbacks': {}}, path)
    return path


@pytest.fixture
def trained(project, tmp_path):
    """(model, its Lightning Pose checkpoint) with weights a fresh model does not have."""
    model = model_of(project, 1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
        model.backbone.bn1.running_mean.add_(1.5)
    folder = tmp_path / 'tb_logs' / 'm' / 'version_0' / 'checkpoints'
    folder.mkdir(parents=True)
    return model, write_ckpt(folder / 'epoch=3-step=12-best.ckpt', lp_layout(model.state_dict()))


def test_a_lightning_pose_checkpoint_loads_every_tensor(project, trained, tmp_path):
    model, ckpt = trained
    fresh = model_of(project, 2)
    result = load_lp_checkpoint(fresh, str(ckpt))
    assert not result['skipped']
    want = model.state_dict()
    assert set(result['loaded']) == set(want)
    for key, value in fresh.state_dict().items():
        torch.testing.assert_close(value, want[key], msg=key)
    # a folder: the .ckpt below it (Lightning Pose's glob)
    again = model_of(project, 3)
    load_lp_checkpoint(again, str(tmp_path))
    torch.testing.assert_close(again.bodypart.upsampling_layers[1].weight,
                               model.bodypart.upsampling_layers[1].weight)


def test_a_head_of_other_keypoints_leaves_the_head_as_lightning_pose_does(project, trained,
                                                                          tmp_path):
    """models/factory.py:314-319: when the state dict does not fit, only backbone keys load."""
    model, _ = trained
    state = lp_layout(model.state_dict())
    last = max(k for k in state if k.startswith('head.') and k.endswith('weight'))
    state[last] = state[last][:, :5]  # a 5-keypoint model's last layer
    state[last.replace('weight', 'bias')] = state[last.replace('weight', 'bias')][:5]
    ckpt = write_ckpt(tmp_path / 'other.ckpt', state)
    fresh = model_of(project, 2)
    head_before = {k: v.clone() for k, v in fresh.bodypart.state_dict().items()}
    with pytest.warns(UserWarning, match='only the backbone is loaded'):
        result = load_lp_checkpoint(fresh, str(ckpt))
    assert result['skipped'] and all(k.startswith('backbone.') for k in result['loaded'])
    torch.testing.assert_close(fresh.backbone.layer4[1].conv2.weight,
                               model.backbone.layer4[1].conv2.weight)
    for key, value in fresh.bodypart.state_dict().items():
        torch.testing.assert_close(value, head_before[key])


class NotPlainData:
    """A class a pickle would have to import and build."""


def test_refusals(project, trained, tmp_path):
    model, ckpt = trained
    state = lp_layout(model.state_dict())
    with pytest.raises(LPCheckpointError, match='keys of no Lightning Pose model part.*extra'):
        load_lp_checkpoint(model_of(project, 2), str(write_ckpt(
            tmp_path / 'extra.ckpt', dict(state, **{'extra.weight': torch.ones(1)}))))
    with pytest.raises(LPCheckpointError, match='backbone does not fit model.backbone'):
        load_lp_checkpoint(model_of(project, 2, 'model.backbone=resnet34'), str(ckpt))
    with pytest.raises(LPCheckpointError, match='no .ckpt file'):
        load_lp_checkpoint(model, str(tmp_path / 'empty'))
    unsafe = tmp_path / 'unsafe.ckpt'
    torch.save({'state_dict': state, 'hyper_parameters': NotPlainData()}, unsafe)
    with pytest.raises(UnsafeCheckpointError, match='NotPlainData'):
        load_lp_checkpoint(model, str(unsafe))


def test_model_checkpoint_key_starts_training_from_it(project, trained, tmp_path):
    """model.checkpoint → LPCheckpointHook: a run with learning rate 1e-12 ends with the
    checkpoint's weights (BatchNorm statistics aside, which training updates)."""
    from posecfg.config.cli import flag_override
    from posecfg.engine import build_runner
    model, ckpt = trained
    cfg = load(project, f'model.checkpoint={ckpt}', 'training.max_epochs=1',
               'training.min_epochs=1', 'training.limit_train_batches=1',
               'training.optimizer_params.learning_rate=1e-12',
               'eval.predict_vids_after_training=false',
               extra=[flag_override('--work-dir', 'work_dir', str(tmp_path / 'run'))])
    index = [i for i, h in enumerate(cfg['custom_hooks']) if h['type'] == 'LPCheckpointHook']
    assert len(index) == 1
    assert cfg['custom_hooks'][index[0]] == dict(type='LPCheckpointHook', checkpoint=str(ckpt))
    assert 'model.checkpoint' in cfg.explain(f'custom_hooks.{index[0]}.checkpoint')
    runner = build_runner(cfg)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        runner.train()
    trained_model = runner.model
    for name in ('backbone.conv1.weight', 'backbone.layer3.0.conv1.weight',
                 'bodypart.upsampling_layers.1.weight'):
        torch.testing.assert_close(trained_model.state_dict()[name].float(),
                                   model.state_dict()[name], msg=name)
