"""posecfg's hooks (registered in ``posecfg.registry.HOOKS``)."""
from .compile_model import CompileModelHook, compile_networks

__all__ = ['CompileModelHook', 'compile_networks']
