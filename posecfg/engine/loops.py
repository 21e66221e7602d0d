"""Training, validation and test loops for the seed schema.

- :class:`WorkflowTrainLoop` runs MMPose 0.x's ``workflow``: ``[('train', 2), ('val', 1)]``
  trains two epochs, then runs one validation-loss epoch (the val dataset through the *train*
  pipeline, so targets exist, without gradients), and repeats until ``total_epochs`` train
  epochs are done (a val phase after the last train epoch still runs, as in mmcv). Each
  validation-loss epoch calls the hooks' ``after_val_loss_epoch(metrics={'val/loss': ...,
  'val/<term>': ...})`` (``posecfg.engine.hooks.monitored``). Metric evaluation
  (``evaluation.interval``) comes after train epochs, as mmengine does.
- :class:`PoseValLoop` / :class:`PoseTestLoop` build their evaluators from metric configs (the
  expansion of ``evaluation.metric`` by ``runner_config``, which asks the dataset class: it knows
  its sigmas, PCK normalisation and NMS settings), checked against the loaded dataset. With
  ``fold_bn`` (``runtime.fold_bn``; ``'auto'``, the default, for evaluations of 64+ samples) they
  evaluate a copy of the model whose BatchNorms are folded into the convolutions before them:
  the same function (checked on an example), ~14% faster on ResNet-50.
"""
from __future__ import annotations

import copy
import json
import logging
import math
from typing import Dict, List, Sequence, Union

import numpy as np
import torch
from mmengine.evaluator import Evaluator
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop, TestLoop, ValLoop
from mmengine.runner.amp import autocast

from posecfg.models.utils.weight_sharing_copy import weight_sharing_copy
from posecfg.registry import LOOPS

from .checkpoint import write_atomically
from .streams import CombinedLoader


@LOOPS.register_module()
class WorkflowTrainLoop(EpochBasedTrainLoop):
    """Epoch-based training following a ``workflow`` of (phase, epochs) entries.

    Args:
        workflow: e.g. ``[['train', 1]]`` or ``[['train', 1], ['val', 1]]``.
        val_loss_dataloader: the dataloader config of the ``('val', n)`` phase; built on first
            use (``build_runner`` derives it from ``data.val`` with the train pipeline).
        extra_dataloaders: name → dataloader config of further streams drawn in every training
            step (``data.unlabeled``): each batch carries one batch of each under its name, an
            epoch lasts as long as the longest stream (:class:`~posecfg.engine.streams.
            CombinedLoader`).
        epoch_length: iterations per epoch, at most (Lightning's ``limit_train_batches``: an
            epoch ends after that many batches; the next starts a fresh pass); None: the whole
            dataloader.
        max_iters: train for this many iterations (Lightning's ``max_steps`` times the gradient
            accumulation), stopping inside an epoch if need be: ``max_epochs`` becomes
            ceil(max_iters / iterations per epoch), and the last, partial epoch ends as any
            other (its hooks, its validation).
    """

    #: built with ``runner`` and ``dataloader`` (default_args)
    example_args = dict(max_epochs=1, workflow=[('train', 1)])

    def __init__(self, runner, dataloader, max_epochs: int, workflow: Sequence = (('train', 1),),
                 val_loss_dataloader: Union[dict, None] = None,
                 extra_dataloaders: Union[dict, None] = None,
                 epoch_length: Union[int, None] = None, max_iters: Union[int, None] = None,
                 **kwargs):
        super().__init__(runner, dataloader, max_epochs, **kwargs)
        if extra_dataloaders:
            extras = {name: loader if isinstance(loader, torch.utils.data.DataLoader)
                      else runner.build_dataloader(loader, seed=runner.seed)
                      for name, loader in extra_dataloaders.items()}
            self.dataloader = CombinedLoader(self.dataloader, extras)
            self._max_iters = self._max_epochs * len(self.dataloader)
        for name, value in (('epoch_length', epoch_length), ('max_iters', max_iters)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                      or value < 1):
                raise ValueError(f'WorkflowTrainLoop: {name} must be a positive integer or '
                                 f'None, got {value!r}')
        self.epoch_length = min(epoch_length or len(self.dataloader), len(self.dataloader))
        self._iter_limit = max_iters
        if max_iters is not None:
            self._max_epochs = math.ceil(max_iters / self.epoch_length)
            self._max_iters = max_iters
        elif epoch_length is not None:
            self._max_iters = self._max_epochs * self.epoch_length
        self.workflow = [(str(phase), int(n)) for phase, n in workflow]
        self._val_loss_dataloader = val_loss_dataloader
        if any(phase == 'val' for phase, _ in self.workflow) and val_loss_dataloader is None:
            raise ValueError("workflow has a ('val', n) phase but there is no data.val dataset")

    def run(self) -> torch.nn.Module:
        self.runner.call_hook('before_train')
        while self._epoch < self._max_epochs and not self.stop_training:
            for phase, epochs in self.workflow:
                for _ in range(epochs):
                    # as mmcv's EpochBasedRunner: only training stops at max_epochs, so the
                    # validation-loss phase after the last train epoch still runs
                    if self.stop_training or (phase == 'train'
                                              and self._epoch >= self._max_epochs):
                        break
                    if phase == 'train':
                        self._train_epoch_and_maybe_validate()
                    else:
                        self.run_val_loss_epoch()
        self.runner.call_hook('after_train')
        return self.runner.model

    def run_epoch(self) -> None:
        """One epoch: at most :attr:`epoch_length` batches, and none past ``max_iters``."""
        if self.epoch_length >= len(self.dataloader) and self._iter_limit is None:
            return super().run_epoch()
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        for idx, data_batch in enumerate(self.dataloader):
            if idx >= self.epoch_length or (self._iter_limit is not None
                                            and self._iter >= self._iter_limit):
                break
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1

    def _train_epoch_and_maybe_validate(self):
        self.run_epoch()
        self._decide_current_val_interval()
        if (self.runner.val_loop is not None and self._epoch >= self.val_begin
                and (self._epoch % self.val_interval == 0 or self._epoch == self._max_epochs)):
            self.runner.val_loop.run()

    @torch.no_grad()
    def run_val_loss_epoch(self) -> Dict[str, float]:
        """One pass over the validation data computing the training losses; logs their means."""
        if not isinstance(self._val_loss_dataloader, torch.utils.data.DataLoader):
            self._val_loss_dataloader = self.runner.build_dataloader(
                self._val_loss_dataloader, seed=self.runner.seed)
        model = self.runner.model.module if is_model_wrapper(self.runner.model) \
            else self.runner.model
        model.eval()
        totals: Dict[str, float] = {}
        batches = 0
        for data_batch in self._val_loss_dataloader:
            with self.runner.optim_wrapper.optim_context(model):
                data = model.data_preprocessor(data_batch, True)
                losses = model(**data, mode='loss')
            for key, value in losses.items():
                totals[key] = totals.get(key, 0.0) + float(value.mean())
            batches += 1
        means = {f'val/{k}': v / max(batches, 1) for k, v in totals.items()}
        loss = sum(v for k, v in means.items() if 'loss' in k)
        means['val/loss'] = loss
        self.runner.visualizer.add_scalars(means, step=self._epoch)
        summary = '  '.join(f'{k}: {v:.6f}' for k, v in means.items())
        print_log(f'Epoch(val-loss) [{self._epoch}/{self._max_epochs}] {summary}',
                  logger='current')
        # hooks that monitor the validation loss (EarlyStoppingHook, ModelCheckpointHook)
        self.runner.call_hook('after_val_loss_epoch', metrics=means)
        return means


#: ``compile_eval='auto'`` compiles when an evaluation has at least this many samples: compiling
#: ResNet-50 takes ~16 s and HRNet-W32 ~37 s on a 2-core CPU, each sample then runs ~25% faster
#: (the break-even is a few hundred samples; this is 50 batches of 32)
COMPILE_EVAL_MIN_SAMPLES = 1600


#: ``fold_bn='auto'`` prepares (folds BatchNorms, casts bf16 weights once) evaluations of at least
#: this many samples: the preparation (a copy, a recorded run, checks in float32 and bf16) costs
#: about ten forward passes and saves 15-30% of each (DEKR-W32 on 25 256x256 images: 1.2 s spent,
#: 0.5 s saved)
PREPARE_EVAL_MIN_SAMPLES = 64


def inference_model(runner, dataloader, fold_bn='auto', compile_eval='auto', fp16=False,
                    samples=None):
    """The model an evaluation loop runs: the runner's (unwrapped from DDP: evaluation does not
    synchronise), prepared by :func:`prepare_for_inference` (``fold_bn='auto'``: for
    evaluations of at least :data:`PREPARE_EVAL_MIN_SAMPLES` samples); ``compile_eval='auto'``
    compiles for evaluations of at least :data:`COMPILE_EVAL_MIN_SAMPLES` samples on CPUs.
    ``samples``: how many samples the model will run (default: ``dataloader``'s dataset)."""
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    samples = len(dataloader.dataset) if samples is None else samples
    if compile_eval == 'auto':
        compile_eval = samples >= COMPILE_EVAL_MIN_SAMPLES and not torch.cuda.is_available()
    if fold_bn == 'auto':
        if samples < PREPARE_EVAL_MIN_SAMPLES and not compile_eval:
            # a model compiled for training (CompileModelHook) would compile again for
            # inference (~16-37 s); a copy runs eagerly and costs no weight memory
            return weight_sharing_copy(model).eval() if compiled(model) else model
        fold_bn = True
    if not (fold_bn or compile_eval or reduced_weights(model, fp16)):
        return model
    shape = tuple(dataloader.dataset[0]['img'].shape)  # (3, h, w): the model's input size
    return prepare_for_inference(model, shape, fold_bn, bool(compile_eval), fp16)


def compiled(model) -> bool:
    """Whether a module of ``model`` runs compiled (``nn.Module.compile``)."""
    return any(getattr(m, '_compiled_call_impl', None) is not None for m in model.modules())


def tested_samples(runner, dataloader) -> int:
    """How many samples a test run puts through its model: the test dataset's, and those hooks
    run after it through :meth:`PoseTestLoop.test_steps` and declare with an
    ``extra_test_samples(runner)`` method (:class:`~posecfg.engine.hooks.DLCEvaluationHook`'s
    train split)."""
    extra = [hook.extra_test_samples(runner) for hook in runner.hooks
             if callable(getattr(hook, 'extra_test_samples', None))]
    return len(dataloader.dataset) + sum(extra)


def prepare_for_inference(model, input_shape, fold_bn: bool = True, compile_eval: bool = False,
                          fp16: bool = False):
    """A copy of ``model`` with BatchNorms folded, convolution and linear weights in bfloat16
    when ``fp16`` autocasts on a CPU (:func:`reduced_weights`) and/or its networks compiled
    (inductor, frozen weights), each step checked against the model on a random input of
    ``input_shape`` (C, H, W), or (T, C, H, W) for context models; falls back to what passed
    the check. ``model`` is run in eval mode for the checks (a caller may hand over a model in
    training mode: a training-mode run would move its BatchNorm statistics and give the copies
    dropout) and left in the mode it came in."""
    was_training = model.training
    model.eval()
    try:
        return _prepared(model, input_shape, fold_bn, compile_eval, fp16)
    finally:
        model.train(was_training)


def _prepared(model, input_shape, fold_bn: bool, compile_eval: bool, fp16: bool):
    """:func:`prepare_for_inference` of an eval-mode ``model``."""
    example = torch.randn(1, *input_shape, generator=torch.Generator().manual_seed(0))
    example = example.to(next(model.parameters()).device)
    if getattr(model.data_preprocessor, 'channels_last', False) and example.dim() == 4:
        # (1, V or T, C, H, W) inputs (multi-view, context models) have no NHWC form
        example = example.contiguous(memory_format=torch.channels_last)

    def run(m, reduced: bool = fp16):
        with autocast(enabled=reduced):
            return _one_tensor(m(example, mode='tensor'))
    from posecfg.models.utils.fold_bn import fold_batchnorms
    # the fold is exact arithmetic, so it is found and checked in float32: under bf16 autocast
    # the folded and unfolded convolutions round differently (~1e-2), which the check's 1e-3
    # tolerance read as a wrong fold, and nothing was ever folded where bf16 is native
    evaluated, count = (fold_batchnorms(model, lambda m: run(m, False)) if fold_bn
                        else (model, 0))
    if count:
        print_log(f'evaluating with {count} BatchNorm layers folded into convolutions',
                  logger='current')
    if reduced_weights(evaluated, fp16):
        evaluated = _reduced_weights_copy(evaluated, run, own=evaluated is not model)
    if compile_eval:
        evaluated = _compiled_copy(evaluated, run)
    return evaluated


#: layers whose weights CPU autocast casts to bfloat16 on every call (torch's lower-precision
#: list: convolutions, transposed convolutions, linear)
AUTOCAST_LAYERS = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d, torch.nn.ConvTranspose1d,
                   torch.nn.ConvTranspose2d, torch.nn.ConvTranspose3d, torch.nn.Linear)


def reduced_weights(model, fp16: bool) -> bool:
    """Whether inference casts ``model``'s weights to bfloat16 once (:func:`prepare_for_inference`):
    under autocast (``fp16``) on a CPU, where mmengine's autocast is bfloat16. Autocast casts a
    layer's float32 weights at every call (ResNet-50: 25M weights read and written per image,
    ~10% of a 640x480 forward on 2 cores); cast once, the same rounding gives the same
    outputs."""
    param = next(model.parameters(), None)
    return bool(fp16) and param is not None and param.device.type == 'cpu'


def _reduced_weights_copy(model, run, own: bool = False):
    """A copy of ``model`` with the weights and biases of its :data:`AUTOCAST_LAYERS` in
    bfloat16; ``model`` itself if the copy's output on the example differs from the model's
    under autocast (a layer run outside autocast, say) or the copy fails. The copy is a
    :func:`weight_sharing_copy` (no weight copied): the cast replaces each parameter's data, so
    the model's own weights stay float32. ``own``: ``model`` is already a copy made for this
    evaluation (the BatchNorm fold's), cast itself and put back if the check fails."""
    reduced = model if own else weight_sharing_copy(model).eval()
    params = [param for module in reduced.modules() if isinstance(module, AUTOCAST_LAYERS)
              for param in module.parameters(recurse=False)]
    if not params:
        return model
    originals = [param.data for param in params]

    def restore():
        for param, data in zip(params, originals):
            param.data = data
    try:
        with torch.no_grad():
            reference = run(model).float()  # before the cast: ``model`` may be ``reduced``
            for param in params:
                param.data = param.data.to(torch.bfloat16)
            result = run(reduced).float()
    except Exception as e:  # noqa: BLE001  (whatever fails: evaluate with float32 weights)
        restore()
        print_log(f'bfloat16 weights for evaluation failed ({type(e).__name__}: {e}); '
                  'autocasting float32 weights', logger='current', level=logging.WARNING)
        return model
    # autocast rounds the weights as .to(bfloat16) does: the same outputs, up to kernels
    # choosing another order of summation
    if not torch.allclose(result, reference, rtol=1e-2, atol=1e-2 * reference.abs().max()):
        restore()
        print_log("bfloat16 weights change the evaluation model's outputs; autocasting "
                  'float32 weights', logger='current', level=logging.WARNING)
        return model
    print_log(f'evaluating with {len(params)} weight tensors cast to bfloat16 once',
              logger='current')
    return reduced


def _one_tensor(outputs):
    """A model's tensor-mode outputs (a tensor, or several heads' dict of tensors) as one
    tensor, for comparing a prepared copy with the model."""
    if isinstance(outputs, dict):
        return torch.cat([_one_tensor(v).flatten() for v in outputs.values()])
    if isinstance(outputs, (list, tuple)):
        return torch.cat([_one_tensor(v).flatten() for v in outputs])
    return outputs.float()


def _compiled_copy(model, run):
    """``model``'s networks compiled for inference (weights frozen into the graph); the model
    itself if the compiled one disagrees with it beyond bf16 rounding, or compiling fails."""
    from .hooks import compile_networks
    compiled = copy.deepcopy(model).eval()
    try:
        with torch.no_grad():
            reference = run(model).float()
            parts = compile_networks(compiled, dict(options={'freezing': True}))
            result = run(compiled).float()  # compiles
    except Exception as e:  # an op inductor cannot handle: evaluate eagerly
        print_log(f'torch.compile of the evaluation model failed ({type(e).__name__}: {e}); '
                  'evaluating eagerly', logger='current', level=logging.WARNING)
        return model
    if not torch.allclose(result, reference, rtol=0.05, atol=0.05 * reference.abs().max()):
        print_log('the compiled evaluation model disagrees with the eager one; evaluating '
                  'eagerly', logger='current', level=logging.WARNING)
        return model
    print_log(f'evaluating with {", ".join(parts)} compiled', logger='current')
    return compiled


def _evaluator_for(runner, dataloader, evaluator):
    """An :class:`Evaluator` from metric configs (``runner_config`` expands
    ``evaluation.metric`` into them), after the dataset has checked that its samples carry
    what they read (``check_evaluator``: ground truth, head sizes)."""
    if isinstance(evaluator, Evaluator):
        return evaluator
    configs = evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
    check = getattr(dataloader.dataset, 'check_evaluator', None)
    if check is not None:
        check(configs)
    return runner.build_evaluator(evaluator)


def weight_cast_scope():
    """The context an evaluation loop runs in: a disabled autocast. torch keeps autocast's
    low-precision copies of the weights until the *outermost* autocast context exits; without
    this one that is each batch's own context, so every batch cast every weight again (DEKR-W32:
    29M weights, ~20% of a bf16 256x256 forward on 2 cores). Inside it each weight is cast once
    per evaluation; only the batches' own contexts enable autocast."""
    return torch.autocast('cpu', enabled=False)


class _InferenceModelMixin:
    """The model an evaluation loop runs, prepared at its first batch (:func:`inference_model`):
    after the ``before_*_epoch`` hooks, so that weights they swap in (mmengine's EMAHook) are
    the ones prepared. ``samples()`` counts what it will run."""

    _model = None

    def samples(self) -> int:
        return len(self.dataloader.dataset)

    def inference_model(self):
        if self._model is None:
            self._model = inference_model(self.runner, self.dataloader, self.fold_bn,
                                          self.compile_eval, self.fp16, samples=self.samples())
            # the preparation's checks ran the model under autocast inside weight_cast_scope:
            # their casts of its float32 weights, unused by a bf16 copy, would stay cached
            torch.clear_autocast_cache()
        return self._model

    def _run_prepared(self, run):
        try:
            with weight_cast_scope():
                return run()
        finally:
            self._model = None  # a prepared copy holds a model's worth of weights


@LOOPS.register_module()
class PoseValLoop(_InferenceModelMixin, ValLoop):
    """mmengine's ValLoop with evaluators checked by its dataset; ``fp16`` autocasts inference,
    ``fold_bn`` evaluates a BatchNorm-folded copy of the model."""

    #: built with ``runner`` and ``dataloader`` (default_args)
    example_args = dict(evaluator=dict(type='EPE'), fold_bn=True)

    def __init__(self, runner, dataloader, evaluator, fp16: bool = False, fold_bn='auto',
                 compile_eval='auto'):
        if isinstance(dataloader, dict):
            dataloader = runner.build_dataloader(dataloader, seed=runner.seed)
        super().__init__(runner, dataloader, _evaluator_for(runner, dataloader, evaluator), fp16)
        self.fold_bn, self.compile_eval = fold_bn, compile_eval

    def run(self) -> dict:
        return self._run_prepared(super().run)

    @torch.no_grad()
    def run_iter(self, idx, data_batch):
        self.runner.call_hook('before_val_iter', batch_idx=idx, data_batch=data_batch)
        model = self.inference_model()
        with autocast(enabled=self.fp16):
            outputs = model.val_step(data_batch)
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        self.runner.call_hook('after_val_iter', batch_idx=idx, data_batch=data_batch,
                              outputs=outputs)


@LOOPS.register_module()
class PoseTestLoop(_InferenceModelMixin, TestLoop):
    """mmengine's TestLoop, evaluators checked by the dataset; ``out`` writes every prediction
    to a JSON file (atomically, on rank 0): one record per instance with its image, box id,
    keypoints (x, y, score in original-image pixels) and score (:func:`prediction_records`)."""

    #: built with ``runner`` and ``dataloader`` (default_args)
    example_args = dict(evaluator=dict(type='EPE'), fold_bn=True)

    def __init__(self, runner, dataloader, evaluator, fp16: bool = False, fold_bn='auto',
                 compile_eval='auto', out: str = None):
        if isinstance(dataloader, dict):
            dataloader = runner.build_dataloader(dataloader, seed=runner.seed)
        super().__init__(runner, dataloader, _evaluator_for(runner, dataloader, evaluator), fp16)
        self.fold_bn, self.compile_eval = fold_bn, compile_eval
        self.out = out
        self.predictions: List[List[dict]] = []
        self._running = False

    def samples(self) -> int:
        return tested_samples(self.runner, self.dataloader)

    def run(self) -> dict:
        self.predictions = []
        self._running = True
        try:
            metrics = self._run_prepared(super().run)
        finally:
            self._running = False
        if self.out:
            self._write_predictions()
        return metrics

    @torch.no_grad()
    def test_steps(self, loader):
        """``(batch, outputs)`` of each batch of another ``loader`` (e.g. a train split a hook
        evaluates too), run as this loop runs its own: the prepared inference model (folded,
        compiled) under the same autocast. Outside :meth:`run` the model is prepared anew.
        Within :meth:`run`, call it before hooks change the model's weights in place
        (EMAHook's ``after_test_epoch``, priority NORMAL): the prepared copy shares the
        weights it did not replace, and autocast's cast copies stay those of the epoch."""
        model = self.inference_model() if self._running else inference_model(
            self.runner, self.dataloader, self.fold_bn, self.compile_eval, self.fp16)
        was_training = model.training
        model.eval()
        try:
            for batch in loader:
                with autocast(enabled=self.fp16):
                    yield batch, model.test_step(batch)
        finally:
            model.train(was_training)

    @torch.no_grad()
    def run_iter(self, idx, data_batch):
        self.runner.call_hook('before_test_iter', batch_idx=idx, data_batch=data_batch)
        model = self.inference_model()
        with autocast(enabled=self.fp16):
            outputs = model.test_step(data_batch)
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        if self.out:
            # one entry per sample: collect_results cuts the list at the dataset's length
            self.predictions.extend(prediction_records(o) for o in outputs)
        self.runner.call_hook('after_test_iter', batch_idx=idx, data_batch=data_batch,
                              outputs=outputs)

    def _write_predictions(self):
        from mmengine.dist import collect_results, get_rank
        gathered = collect_results(self.predictions, len(self.dataloader.dataset))
        if get_rank() == 0:
            gathered = [record for sample in gathered for record in sample]
            write_atomically(json.dumps(gathered), self.out)
            print_log(f'wrote {len(gathered)} predictions to {self.out}', logger='current')


def prediction_records(output: dict) -> List[dict]:
    """One JSON record per predicted instance of a sample (``predict`` output, DESIGN.md):
    image_file, image_id, bbox_id (a top-down sample's id, else the instance's index in its
    image), keypoints [[x, y, score] × K] in original-image pixels, and the box: MMPose 0.x's
    center, scale, area and score for top-down samples (``boxes``), else bbox (xywh) and score."""
    keypoints = np.asarray(output['keypoints'], dtype=np.float64).reshape(
        -1, *np.shape(output['keypoints'])[-2:])
    scores = np.asarray(output['keypoint_scores'], dtype=np.float64).reshape(keypoints.shape[:2])
    boxes = output.get('boxes')
    records = []
    for n in range(len(keypoints)):
        points = np.concatenate([keypoints[n], scores[n][:, None]], axis=1)
        record = dict(image_file=output.get('image_file'), image_id=_plain(output.get('image_id')),
                      bbox_id=_plain(output['bbox_id']) if boxes is not None else n,
                      keypoints=points.tolist())
        if boxes is not None:
            record.update(center=[float(boxes[0]), float(boxes[1])],
                          scale=[float(boxes[2]), float(boxes[3])], area=float(boxes[4]),
                          score=float(boxes[5]))
        else:
            if output.get('bboxes') is not None:
                record['bbox'] = [float(v) for v in np.asarray(output['bboxes'])[n]]
            if output.get('bbox_scores') is not None:
                record['score'] = float(np.asarray(output['bbox_scores'])[n])
        records.append(record)
    return records


def _plain(value):
    return value.item() if hasattr(value, 'item') else value
