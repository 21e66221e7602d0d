"""``CheckpointHook``: mmengine's, with checkpoint keeping that cannot lose progress.

mmengine 0.10's hook deletes the oldest kept checkpoint (and the previous best one) *before*
writing the new one, and writes ``last_checkpoint`` in place: a ``kill -9`` or a full disk during
the write left ``max_keep_ckpts=1`` runs with no checkpoint and a pointer to a deleted file.
Registered under the same name in posecfg's scope, this hook keeps mmengine's arguments and file
names but orders every step through :class:`posecfg.files.KeptFiles`:

1. the new checkpoint is written completely (temporary name, fsync, rename);
2. ``last_checkpoint`` is rewritten atomically to name it;
3. only then are checkpoints beyond ``max_keep_ckpts`` (or the previous best) deleted.

When training starts, temporaries left by a killed run in the checkpoint folder are deleted and
counted in the log.
"""
from __future__ import annotations

import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook as MMEngineCheckpointHook

from posecfg.registry import HOOKS

from posecfg.files import KeptFiles, remove_stale_temporaries


@HOOKS.register_module()
class CheckpointHook(MMEngineCheckpointHook):
    """mmengine's ``CheckpointHook`` (same arguments), writing before it deletes."""

    example_args = dict(interval=1, max_keep_ckpts=1)

    def before_train(self, runner) -> None:
        super().before_train(runner)  # may delete checkpoints beyond a lowered max_keep_ckpts
        if not is_main_process():
            return
        removed = remove_stale_temporaries(self.out_dir)
        if osp.abspath(runner.work_dir) != osp.abspath(self.out_dir):
            removed += remove_stale_temporaries(runner.work_dir)
        if removed:
            runner.logger.info(f'removed {len(removed)} temporary file(s) left by an interrupted '
                               f'run: {", ".join(osp.basename(p) for p in removed[:5])}'
                               f'{" …" if len(removed) > 5 else ""}')

    def _save_checkpoint_with_step(self, runner, step, meta):
        filename = self.filename_tmpl.format(step)
        old_ids = list(getattr(self, 'keep_ckpt_ids', ()))
        kept = KeptFiles(self.out_dir, self.max_keep_ckpts,
                         pointer=osp.join(runner.work_dir, 'last_checkpoint'),
                         names=[self.filename_tmpl.format(i) for i in old_ids])
        if self.max_keep_ckpts > 0:
            # the checkpoint records what is kept once it is written (as mmengine's does)
            step_of = {self.filename_tmpl.format(i): i for i in old_ids + [step]}
            self.keep_ckpt_ids.clear()
            self.keep_ckpt_ids.extend(step_of[n] for n in kept.planned(filename))
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(  # complete and renamed into place (the atomic backend)
            self.out_dir, filename, self.file_client_args, save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler, meta=meta, by_epoch=self.by_epoch,
            backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        # then last_checkpoint names it, then what it replaces is deleted
        for path in kept.add(filename, pointer_text=self.last_ckpt):
            runner.logger.info(f'removed {path} (max_keep_ckpts={self.max_keep_ckpts})')

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """mmengine's logic (one or several ``save_best`` keys), with the previous best deleted
        only after the new best is in place."""
        if not self.save_best:
            return
        if 'auto' in self.key_indicators:
            self._init_rule(self.rules, [list(metrics.keys())[0]])
        cur_time = runner.epoch if self.by_epoch else runner.iter
        unit = 'epoch' if self.by_epoch else 'iter'
        filename = self.filename_tmpl.format(cur_time)
        meta = dict(epoch=runner.epoch, iter=runner.iter)
        updated = False
        single = len(self.key_indicators) == 1
        for key, rule in zip(self.key_indicators, self.rules):
            score = metrics[key]
            score_key = 'best_score' if single else f'best_score_{key}'
            path_key = 'best_ckpt' if single else f'best_ckpt_{key}'
            best = runner.message_hub.get_info(score_key, self.init_value_map[rule])
            if score is None or not self.is_better_than[key](score, best):
                continue
            updated = True
            runner.message_hub.update_info(score_key, score)
            previous = self.best_ckpt_path if single else self.best_ckpt_path_dict[key]
            name = f'best_{key}_{filename}'.replace('/', '_')
            path = self.file_backend.join_path(self.out_dir, name)
            if single:
                self.best_ckpt_path = path
            else:
                self.best_ckpt_path_dict[key] = path
            runner.message_hub.update_info(path_key, path)
            runner.save_checkpoint(self.out_dir, filename=name,
                                   file_client_args=self.file_client_args,
                                   save_optimizer=False, save_param_scheduler=False, meta=meta,
                                   by_epoch=False, backend_args=self.backend_args)
            if previous and previous != path and is_main_process() and osp.isfile(previous):
                KeptFiles(self.out_dir).retire(osp.basename(previous))
                runner.logger.info(f'The previous best checkpoint {previous} is removed')
            runner.logger.info(f'The best checkpoint with {score:0.4f} {key} at {cur_time} '
                               f'{unit} is saved to {name}.')
        if updated and self.last_ckpt is not None:
            # re-save the regular checkpoint so that it records the new best (as mmengine does)
            self._save_checkpoint_with_step(runner, cur_time, meta)
