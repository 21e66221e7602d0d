"""posecfg's hooks (registered in ``posecfg.registry.HOOKS``)."""
from .checkpoint import CheckpointHook
from .compile_model import CompileModelHook, compile_networks

__all__ = ['CheckpointHook', 'CompileModelHook', 'compile_networks']
