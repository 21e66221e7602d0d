"""Learning-rate schedules of MMPose 0.x's ``lr_config`` that mmengine lacks."""
from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler

from posecfg.registry import PARAM_SCHEDULERS


class ExpWarmupParamScheduler(_ParamScheduler):
    """mmcv's ``warmup='exp'``: the factor grows as ``warmup_ratio ** (1 - t / T)`` from
    ``warmup_ratio`` at step 0 to 1 at step ``T = end - begin - 1``."""

    def __init__(self, optimizer, param_name: str, warmup_ratio: float = 0.1, begin: int = 0,
                 end: int = INF, last_step: int = -1, by_epoch: bool = True,
                 verbose: bool = False):
        if not 0 < warmup_ratio <= 1:
            raise ValueError(f'warmup_ratio must be in (0, 1], got {warmup_ratio}')
        self.warmup_ratio = warmup_ratio
        self.total_iters = max(end - begin - 1, 1)
        super().__init__(optimizer, param_name=param_name, begin=begin, end=end,
                         last_step=last_step, by_epoch=by_epoch, verbose=verbose)

    def _get_value(self):
        # chainable form: each step multiplies by the ratio of consecutive factors
        step = self.warmup_ratio if self.last_step == 0 else \
            self.warmup_ratio ** (-1.0 / self.total_iters)
        return [group[self.param_name] * step for group in self.optimizer.param_groups]


@PARAM_SCHEDULERS.register_module()
class ExpWarmupLR(LRSchedulerMixin, ExpWarmupParamScheduler):
    """:class:`ExpWarmupParamScheduler` on the learning rate."""

    #: built with ``optimizer`` (default_args)
    example_args = dict(warmup_ratio=0.1, begin=0, end=5, by_epoch=False)
