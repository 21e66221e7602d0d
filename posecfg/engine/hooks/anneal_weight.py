"""``AnnealWeightHook``: a weight on the model that ramps up linearly per epoch — Lightning Pose
2.4.3's ``AnnealWeight`` callback (``callbacks.anneal_weight``) as a posecfg hook.

What Lightning Pose does (``lightning_pose/callbacks.py:32-76``, wired at l. 706-716):

- at the start of training the model's attribute ``attr_name`` is set to ``init_val``;
- at the start of every training epoch ``e`` (0-based) after ``freeze_until_epoch``::

      e <= freeze_until_epoch:  unchanged (init_val)
      e >  freeze_until_epoch:  min(init_val + (e - freeze_until_epoch) · increase_factor,
                                    final_val)

- the attribute is ``total_unsupervised_importance``, which multiplies every loss except the
  supervised heatmap losses (``losses/factory.py:261-277``), i.e. the unsupervised losses.

posecfg: the attribute is set on the (unwrapped) model, which must already have it (a typo in
``attr_name`` would otherwise anneal nothing): :class:`BasePoseEstimator` has
``total_unsupervised_importance`` (1.0 until set) and multiplies the losses of the unlabeled
stream (``data.unlabeled``) by it. The value depends only on the epoch, so a resumed run gets
the same value as an uninterrupted one (Lightning Pose recomputes it the same way). It is
logged as ``train/<attr_name>`` each iteration, as Lightning Pose logs it.
"""
from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from posecfg.registry import HOOKS


def annealed_value(epoch: int, init_val: float, increase_factor: float, final_val: float,
                   freeze_until_epoch: int) -> float:
    """The weight during 0-based ``epoch`` (callbacks.py:59-76)."""
    if epoch <= freeze_until_epoch:
        return float(init_val)
    return float(min(init_val + (epoch - freeze_until_epoch) * increase_factor, final_val))


@HOOKS.register_module()
class AnnealWeightHook(Hook):
    """Set ``model.<attr_name>`` to Lightning Pose's annealed weight at each epoch's start.

    Args:
        attr_name: the model attribute (``total_unsupervised_importance``).
        init_val: value until ``freeze_until_epoch`` (default 0.0, callbacks.py:38).
        increase_factor: added per epoch after it (default 0.01).
        final_val: largest value (default 1.0).
        freeze_until_epoch: last 0-based epoch at ``init_val`` (default 0).
    """

    priority = 'HIGH'  # before the epoch's other hooks and the first loss
    example_args = dict(attr_name='total_unsupervised_importance', init_val=0.0,
                        increase_factor=0.5, final_val=1.0, freeze_until_epoch=0)

    def __init__(self, attr_name: str, init_val: float = 0.0, increase_factor: float = 0.01,
                 final_val: float = 1.0, freeze_until_epoch: int = 0):
        if not isinstance(attr_name, str) or not attr_name.isidentifier():
            raise ValueError(f'AnnealWeightHook attr_name must be an attribute name, got '
                             f'{attr_name!r}')
        if (not isinstance(freeze_until_epoch, int) or isinstance(freeze_until_epoch, bool)
                or freeze_until_epoch < 0):
            raise ValueError(f'AnnealWeightHook freeze_until_epoch must be an integer >= 0, got '
                             f'{freeze_until_epoch!r}')
        if increase_factor < 0 or final_val < init_val:
            raise ValueError(f'AnnealWeightHook ramps up: need increase_factor >= 0 and '
                             f'final_val >= init_val, got increase_factor={increase_factor}, '
                             f'init_val={init_val}, final_val={final_val}')
        self.attr_name = attr_name
        self.init_val, self.increase_factor = float(init_val), float(increase_factor)
        self.final_val, self.freeze_until_epoch = float(final_val), freeze_until_epoch

    def value(self, epoch: int) -> float:
        return annealed_value(epoch, self.init_val, self.increase_factor, self.final_val,
                              self.freeze_until_epoch)

    def _model(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, self.attr_name):
            raise AttributeError(f'AnnealWeightHook: the model ({type(model).__name__}) has no '
                                 f'attribute {self.attr_name!r} to anneal (attr_name); '
                                 f'posecfg\'s estimators weight their unlabeled-stream losses by '
                                 f'total_unsupervised_importance')
        return model

    def before_train(self, runner) -> None:
        setattr(self._model(runner), self.attr_name, self.init_val)

    def before_train_epoch(self, runner) -> None:
        setattr(self._model(runner), self.attr_name, self.value(runner.epoch))

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        runner.message_hub.update_scalar(f'train/{self.attr_name}',
                                         getattr(self._model(runner), self.attr_name))
