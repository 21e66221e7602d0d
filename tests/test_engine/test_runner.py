"""posecfg.engine.runner.PoseRunner: its departures from mmengine's Runner."""
import torch.nn as nn


def _bare_runner():
    """A PoseRunner with only what ``wrap_model`` reads (one process, NCHW)."""
    from mmengine.logging import MMLogger

    from posecfg.engine import PoseRunner
    runner = PoseRunner.__new__(PoseRunner)
    runner._channels_last = runner._weights_from_checkpoint = runner._distributed = False
    runner.logger = MMLogger.get_current_instance()
    return runner


def test_one_process_skips_reverting_sync_batchnorms_it_does_not_have(monkeypatch):
    """mmengine's revert_sync_batchnorm walks every module, looking for mmcv's compiled ops at
    each (~0.04 s for HRNet-W32); a model without SyncBatchNorm skips it, one with it is
    still reverted."""
    import mmengine.runner.runner as mmengine_runner
    walked = []
    revert = mmengine_runner.revert_sync_batchnorm
    monkeypatch.setattr(mmengine_runner, 'revert_sync_batchnorm',
                        lambda m: walked.append(m) or revert(m))
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    assert _bare_runner().wrap_model(None, model) is model and not walked
    synced = nn.Sequential(nn.Conv2d(3, 4, 3), nn.SyncBatchNorm(4))
    wrapped = _bare_runner().wrap_model(None, synced)
    assert walked and not any(isinstance(m, nn.SyncBatchNorm) for m in wrapped.modules())
