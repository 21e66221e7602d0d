"""``LPCheckpointHook``: a training run starts from a Lightning Pose checkpoint's weights
(Lightning Pose's ``model.checkpoint``; :mod:`posecfg.interop.lp.checkpoint` has the key layout
and the rules).

The weights are loaded at ``before_train``: after mmengine initialised the model (its
``init_weights``, which would overwrite them at ``before_run``) and after ``load_from`` /
``resume``; a run that resumed (its iteration count is not 0) or that loads ``load_from`` keeps
those weights, as a resumed Lightning Pose run keeps its own.
"""
from __future__ import annotations

from pathlib import Path

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from posecfg.datasets.examples import ExampleArgs
from posecfg.registry import HOOKS


def _write_example_checkpoint(root: Path) -> Path:
    """A Lightning Pose-layout ``.ckpt`` of the TopDown example model (the registry test's
    tiny runner): ``backbone.*`` and ``head.*`` under ``state_dict``, and a loss buffer."""
    import copy

    import torch

    from posecfg.registry import MODELS
    root.mkdir(parents=True, exist_ok=True)
    args = copy.deepcopy(MODELS.get('TopDown').example_args)
    state = MODELS.build(dict(type='TopDown', **args)).state_dict()
    lp = {('head.' + k[len('keypoint_head.'):] if k.startswith('keypoint_head.') else k): v
          for k, v in state.items()}
    lp['loss_factory.loss_instance_dict.pca.buffer'] = torch.zeros(2)
    torch.save({'state_dict': lp, 'epoch': 0, 'global_step': 0}, root / 'example.ckpt')
    return root


@HOOKS.register_module()
class LPCheckpointHook(Hook):
    """Load a Lightning Pose checkpoint into the model before training.

    Args:
        checkpoint: a Lightning ``.ckpt`` file, or a folder searched for one.
        head: the estimator's head the checkpoint's ``head.*`` weights go to.
    """

    priority = 'VERY_HIGH'  # before other hooks look at the weights
    example_args = ExampleArgs('lp-checkpoint', _write_example_checkpoint,
                               lambda root: dict(checkpoint=str(root / 'example.ckpt'),
                                                 head='keypoint_head'))

    def __init__(self, checkpoint: str, head: str = 'bodypart'):
        self.checkpoint, self.head = str(checkpoint), head

    def before_train(self, runner) -> None:
        if runner.iter > 0 or getattr(runner, '_load_from', None):
            print_log(f'LPCheckpointHook: {self.checkpoint} not loaded: the run resumed or '
                      f'loaded load_from, whose weights it keeps', logger='current')
            return
        from posecfg.interop.lp.checkpoint import load_lp_checkpoint
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        result = load_lp_checkpoint(model, self.checkpoint, self.head)
        print_log(f'LPCheckpointHook: loaded {len(result["loaded"])} tensors from '
                  f'{self.checkpoint}', logger='current')
