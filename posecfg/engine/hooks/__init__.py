"""posecfg's hooks (registered in ``posecfg.registry.HOOKS``)."""
from .backbone_unfreeze import UnfreezeBackboneHook
from .checkpoint import CheckpointHook
from .compile_model import CompileModelHook, compile_networks
from .monitored import EarlyStoppingHook, ModelCheckpointHook

__all__ = ['CheckpointHook', 'CompileModelHook', 'compile_networks', 'EarlyStoppingHook',
           'ModelCheckpointHook', 'UnfreezeBackboneHook']
