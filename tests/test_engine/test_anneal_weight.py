"""``AnnealWeightHook``: Lightning Pose 2.4.3's ``AnnealWeight`` (callbacks.py:32-76).

LP's rule, written out: ``on_train_start`` sets ``init_val``; ``on_train_epoch_start`` at
0-based epoch e leaves it while ``e <= freeze_until_epoch``, else sets
``min(init_val + (e - freeze_until_epoch) · increase_factor, final_val)``.
"""
import types

import pytest
import torch
from mmengine.logging import MessageHub

from posecfg.engine.hooks import AnnealWeightHook
from posecfg.models.pose_estimators import BasePoseEstimator
from posecfg.registry import HOOKS


def run_epochs(hook, epochs, model=None):
    """The values the hook gives the model at the start of each epoch in ``epochs``."""
    model = model or types.SimpleNamespace(total_unsupervised_importance=1.0)
    runner = types.SimpleNamespace(model=model, epoch=0,
                                   message_hub=MessageHub.get_instance('anneal_test'))
    hook.before_train(runner)
    values = []
    for epoch in epochs:
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        hook.before_train_iter(runner, 0)
        values.append(model.total_unsupervised_importance)
        assert runner.message_hub.get_scalar(
            'train/total_unsupervised_importance').current() == values[-1]
    return values


def test_lightning_pose_template_schedule():
    """config_default.yaml's callbacks.anneal_weight: init 0, +0.01 per epoch after epoch 60,
    up to 1.0."""
    hook = HOOKS.build(dict(type='AnnealWeightHook', attr_name='total_unsupervised_importance',
                            init_val=0.0, increase_factor=0.01, final_val=1.0,
                            freeze_until_epoch=60))
    epochs = [0, 1, 59, 60, 61, 62, 100, 159, 160, 161, 299]
    want = [0.0, 0.0, 0.0, 0.0, 0.01, 0.02, 0.40, 0.99, 1.0, 1.0, 1.0]
    assert run_epochs(hook, epochs) == pytest.approx(want, abs=1e-12)


def test_ramp_from_a_nonzero_start():
    hook = AnnealWeightHook('total_unsupervised_importance', init_val=0.2, increase_factor=0.3,
                            final_val=1.0, freeze_until_epoch=2)
    # epochs 0-2: 0.2; 3: 0.2 + 0.3; 4: 0.2 + 0.6; 5: min(0.2 + 0.9, 1.0)
    assert run_epochs(hook, range(6)) == pytest.approx([0.2, 0.2, 0.2, 0.5, 0.8, 1.0])


def test_a_resumed_run_gets_the_uninterrupted_value():
    hook = AnnealWeightHook('total_unsupervised_importance', increase_factor=0.1,
                            freeze_until_epoch=1)
    assert run_epochs(hook, [5]) == run_epochs(hook, range(6))[-1:]


def test_the_estimator_weights_its_unlabeled_losses():
    class Head(torch.nn.Module):
        def loss_unlabeled(self, feats, batch):
            return {'loss_temporal': torch.tensor(3.0)}

    model = types.SimpleNamespace(heads={'head': Head()}, head_names=['head'],
                                  extract_feat=lambda img: img,
                                  total_unsupervised_importance=0.25)
    losses = BasePoseEstimator.loss_unlabeled(model, {'img': torch.zeros(1)})
    assert losses == {'unlabeled_loss_temporal': pytest.approx(0.75)}
    assert BasePoseEstimator.total_unsupervised_importance == 1.0  # without the hook


def test_arguments_are_checked():
    with pytest.raises(AttributeError, match="no attribute 'total_unsupervised_importanc'"):
        run_epochs(AnnealWeightHook('total_unsupervised_importanc'), [0],
                   model=types.SimpleNamespace(total_unsupervised_importance=1.0))
    with pytest.raises(ValueError, match='freeze_until_epoch'):
        AnnealWeightHook('w', freeze_until_epoch=-1)
    with pytest.raises(ValueError, match='ramps up'):
        AnnealWeightHook('w', init_val=1.0, final_val=0.5)
