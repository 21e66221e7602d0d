"""posecfg's hooks (registered in ``posecfg.registry.HOOKS``)."""
from .checkpoint import CheckpointHook
from .compile_model import CompileModelHook, compile_networks
from .dlc_snapshots import DLCSnapshotHook
from .learning_stats import DLCLearningStatsHook

__all__ = ['CheckpointHook', 'CompileModelHook', 'compile_networks', 'DLCSnapshotHook',
           'DLCLearningStatsHook']
