"""posecfg's hooks (registered in ``posecfg.registry.HOOKS``)."""
from .backbone_unfreeze import UnfreezeBackboneHook
from .checkpoint import CheckpointHook
from .compile_model import CompileModelHook, compile_networks
from .dlc_evaluation import DLCEvaluationHook
from .dlc_snapshots import DLCSnapshotHook
from .learning_stats import DLCLearningStatsHook
from .monitored import EarlyStoppingHook, ModelCheckpointHook

__all__ = ['CheckpointHook', 'CompileModelHook', 'DLCEvaluationHook', 'DLCLearningStatsHook',
           'DLCSnapshotHook',
           'EarlyStoppingHook', 'ModelCheckpointHook', 'UnfreezeBackboneHook', 'compile_networks']
