"""posecfg's hooks (registered in ``posecfg.registry.HOOKS``)."""
from .anneal_weight import AnnealWeightHook
from .backbone_unfreeze import UnfreezeBackboneHook
from .checkpoint import CheckpointHook
from .compile_model import CompileModelHook, compile_networks
from .dlc_evaluation import DLCEvaluationHook
from .dlc_snapshots import DLCSnapshotHook
from .learning_stats import DLCLearningStatsHook
from .lp_checkpoint import LPCheckpointHook
from .lp_multiview_predictions import LPMultiviewPredictionsHook
from .lp_predictions import LPPredictionsHook
from .lp_run_folder import LPRunFolderHook
from .monitored import EarlyStoppingHook, ModelCheckpointHook

__all__ = ['AnnealWeightHook', 'CheckpointHook', 'CompileModelHook', 'DLCEvaluationHook',
           'DLCLearningStatsHook', 'DLCSnapshotHook', 'EarlyStoppingHook', 'LPCheckpointHook',
           'LPMultiviewPredictionsHook', 'LPPredictionsHook',
           'LPRunFolderHook', 'ModelCheckpointHook', 'UnfreezeBackboneHook', 'compile_networks']
