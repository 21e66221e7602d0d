"""A trained model ready for video: built from its config and checkpoint, with the runtime switches.

    vm = load_video_model('my_config.py', 'work_dirs/x/best.pth')
    vm.kind            # 'bottomup' (whole frames) or 'topdown' (boxes)
    vm.keypoint_names  # (K,) from the test dataset's metainfo
    with vm.inference():
        outputs = vm.model.test_step(batch)

Runtime switches (the config's ``runtime`` section, :mod:`posecfg.engine.runtime`):
- eval mode, ``torch.inference_mode`` around every forward pass;
- ``autocast``: bf16 only where the CPU computes it natively (``'auto'``: oneDNN says so;
  emulated bf16 is slower than float32); an explicit ``'bf16'`` is honoured;
- ``channels_last``: weights and input batches NHWC (oneDNN's layout);
- ``fold_bn``: the first batch runs through :func:`posecfg.engine.loops.prepare_for_inference`,
  which folds each BatchNorm into its convolution and checks the copy against the model on an
  example of that batch's input size (falls back to the model if they disagree);
- ``threads``: torch's intra-op threads (``'auto'`` probes).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Optional, Sequence

import torch

from posecfg.config import Config

__all__ = ['VideoModel', 'load_video_model', 'model_kind']


def model_kind(model: torch.nn.Module) -> str:
    """``'topdown'`` for :class:`TopDown` estimators (crops of boxes), ``'bottomup'`` for
    whole-image ones (:class:`BottomUp`)."""
    from posecfg.models.pose_estimators.bottomup import BottomUp
    from posecfg.models.pose_estimators.topdown import TopDown
    if isinstance(model, TopDown):
        return 'topdown'
    if isinstance(model, BottomUp):
        return 'bottomup'
    raise TypeError(f'video inference runs TopDown and BottomUp estimators; the config builds '
                    f'a {type(model).__name__}')


@dataclass
class VideoModel:
    """A model in eval mode with its config, metainfo and runtime switches."""
    model: torch.nn.Module
    cfg: Config
    checkpoint: Optional[str]
    autocast: Optional[torch.dtype] = None
    channels_last: bool = False
    fold_bn: bool = False
    checkpoint_meta: dict = field(default_factory=dict)
    _prepared: Optional[torch.nn.Module] = None

    @property
    def kind(self) -> str:
        return model_kind(self.model)

    @property
    def meta(self):
        return self.model.dataset_meta

    @property
    def context(self) -> int:
        """Frames on each side of a frame the model reads (0: single frames; 2: Lightning
        Pose's context models), the most any of its heads declares (``head.context``)."""
        heads = getattr(self.model, 'heads', {}) or {}
        return max((int(getattr(head, 'context', 0)) for head in heads.values()), default=0)

    @property
    def keypoint_names(self) -> list:
        return list(self.meta.names)

    @property
    def skeleton(self) -> list:
        return [tuple(int(v) for v in link) for link in self.meta.skeleton]

    def runnable(self, example_img: torch.Tensor) -> torch.nn.Module:
        """The model to run: on first use (the input batch's shape known) with BatchNorms
        folded when ``fold_bn`` (checked against the model)."""
        if self._prepared is None:
            self._prepared = self.model
            if self.fold_bn:
                from posecfg.engine.loops import prepare_for_inference
                shape = tuple(example_img.shape[1:])
                if self.context and len(shape) == 3:  # a run of frames: check on a window
                    shape = (2 * self.context + 1, *shape)
                with self.inference():
                    self._prepared = prepare_for_inference(
                        self.model, shape, fold_bn=True,
                        fp16=self.autocast is not None).eval()
        return self._prepared

    @contextlib.contextmanager
    def inference(self):
        """``inference_mode`` and, when chosen, bf16 autocast."""
        with torch.inference_mode(), torch.autocast('cpu', dtype=self.autocast or torch.bfloat16,
                                                    enabled=self.autocast is not None):
            yield

    def predict(self, batch: dict) -> list:
        """The estimator's ``'predict'`` outputs (one dict per sample) for a collated batch.
        A run of frames for a context model (``frame_context`` c in the batch) carries the
        img_metas of all its frames; the predictions are for the centre ones, c … len − c − 1."""
        data = self.model.data_preprocessor(batch, False)
        context = int(data.get('frame_context') or 0)
        if context:
            data['img_metas'] = data['img_metas'][context:len(data['img_metas']) - context]
        model = self.runnable(data['img'])
        with self.inference():
            return model(**data, mode='predict')


def load_video_model(config, checkpoint: Optional[str], device: str = 'cpu',
                     cfg_options: Sequence[str] = (), runtime: Optional[dict] = None
                     ) -> VideoModel:
    """Build ``config``'s model (a path or a :class:`Config`), load ``checkpoint`` (every tensor
    must fit: a mismatch is an error naming the tensors), apply the runtime switches.

    Args:
        runtime: overrides of the config's ``runtime`` section (e.g. ``dict(fold_bn=False)``).
    """
    from posecfg.apis.inference import init_model
    from posecfg.engine.checkpoint import load_checkpoint_file
    from posecfg.engine.runtime import resolve_runtime
    model = init_model(config, checkpoint, device=device, cfg_options=cfg_options)
    model_kind(model)
    cfg = model.cfg
    settings = dict(cfg.get('runtime') or {}, **(runtime or {}))
    resolved = resolve_runtime(settings, cuda=device.startswith('cuda'))
    torch.set_num_threads(resolved.threads)
    if resolved.channels_last:
        model = model.to(memory_format=torch.channels_last)
        model.data_preprocessor.channels_last = True
    meta = {}
    if checkpoint:
        saved = load_checkpoint_file(checkpoint)
        if isinstance(saved, dict):  # posecfg's 'meta', or a DeepLabCut snapshot's 'metadata'
            meta = dict(saved.get('meta') or saved.get('metadata') or {})
    return VideoModel(model=model.eval(), cfg=cfg, checkpoint=checkpoint,
                      autocast=resolved.autocast, channels_last=resolved.channels_last,
                      fold_bn=resolved.fold_bn, checkpoint_meta=meta)
