"""More than one data stream in a training step: ``CombinedLoader``.

A config may name a second, unlabeled dataset next to the labelled one::

    data = dict(
        train=dict(type=..., ...),                       # labelled: the pipeline makes targets
        unlabeled=dict(type=..., ...),                   # e.g. video frames (no keypoints)
        unlabeled_dataloader=dict(samples_per_gpu=16, workers_per_gpu=2, shuffle=True),
        ...)

``runner_config`` builds one dataloader per stream (``data.unlabeled_dataloader`` overrides the
``data``-level loader settings, as ``train_dataloader`` does); the train loop wraps them in a
:class:`CombinedLoader`, which yields the labelled batch with the unlabeled one under
``'unlabeled'``::

    {'img': (B, 3, h, w), 'target': ..., 'img_metas': [...], 'unlabeled': {'img': (U, 3, h, w), ...}}

so the data preprocessor prepares both and the model's loss receives both
(``BasePoseEstimator.loss`` → the heads' ``loss_unlabeled``). An epoch is as long as the longest
stream; a shorter one starts over when it runs out (Lightning's ``CombinedLoader`` in
``max_size_cycle`` mode, which Lightning Pose uses). Every stream's sampler gets the labelled
sampler's epoch, so shuffling follows (seed, epoch) and a resumed run repeats an uninterrupted
one.
"""
from __future__ import annotations

from typing import Dict, Iterator, Mapping

#: the batch key of the unlabeled stream
UNLABELED = 'unlabeled'


class CombinedLoader:
    """A labelled dataloader plus named extra dataloaders, iterated together.

    Args:
        main: the labelled dataloader (its ``dataset``, ``sampler``, ... are this object's).
        extras: name → dataloader; each batch of ``main`` gets one batch of each under its
            name.

    ``len`` is the longest stream's number of batches; shorter streams (the labelled one
    included) cycle.
    """

    def __init__(self, main, extras: Mapping[str, object]):
        if not extras:
            raise ValueError('CombinedLoader needs at least one extra stream')
        for name, loader in extras.items():
            if len(loader) == 0:
                raise ValueError(f'the {name} stream has no batches (an empty dataset, or fewer '
                                 f'samples than one batch with drop_last)')
        if len(main) == 0:
            raise ValueError('the labelled stream has no batches')
        self.main = main
        self.extras: Dict[str, object] = dict(extras)

    def __len__(self) -> int:
        return max(len(self.main), *(len(loader) for loader in self.extras.values()))

    def __getattr__(self, name):
        # dataset, sampler, batch_size, ...: the labelled stream's (mmengine's hooks and
        # runner read them from the train dataloader)
        if name in ('main', 'extras'):
            raise AttributeError(name)
        return getattr(self.main, name)

    def _sync_epochs(self) -> None:
        epoch = getattr(getattr(self.main, 'sampler', None), 'epoch', None)
        if epoch is None:
            return
        for loader in self.extras.values():
            sampler = getattr(loader, 'sampler', None)
            if hasattr(sampler, 'set_epoch'):
                sampler.set_epoch(epoch)

    def __iter__(self) -> Iterator[dict]:
        self._sync_epochs()
        main = iter(self.main)
        iterators = {name: iter(loader) for name, loader in self.extras.items()}
        for _ in range(len(self)):
            batch, main = _next_cycling(self.main, main)
            batch = dict(batch)
            for name, loader in self.extras.items():
                if name in batch:
                    raise KeyError(f'the labelled batch already has a key {name!r}; the extra '
                                   f'stream cannot be added under it')
                batch[name], iterators[name] = _next_cycling(loader, iterators[name])
            yield batch


def _next_cycling(loader, iterator):
    """(next batch, iterator), starting ``loader`` over when ``iterator`` is exhausted (in the
    same epoch a sampler seeded by (seed, epoch) gives the same order again)."""
    try:
        return next(iterator), iterator
    except StopIteration:
        iterator = iter(loader)
        return next(iterator), iterator
