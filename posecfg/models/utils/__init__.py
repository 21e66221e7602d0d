"""Model utilities: pretrained-weight loading (local files, model-zoo URLs, foreign layouts)."""
from .checkpoint_io import SAFE_GLOBALS, UnsafeCheckpointError, read_checkpoint
from .model_zoo import PretrainedNotFoundError, resolve_pretrained
from .pretrained import LoadReport, PretrainedLoadError, load_pretrained

__all__ = ['LoadReport', 'PretrainedLoadError', 'PretrainedNotFoundError', 'SAFE_GLOBALS',
           'UnsafeCheckpointError', 'load_pretrained', 'read_checkpoint', 'resolve_pretrained']
