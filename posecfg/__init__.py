"""posecfg: 2D keypoint pose estimation for bodies and animals, one Python config per experiment.

Importing the package is cheap: it imports neither torch nor mmengine. Subpackages are imported
where they are used (``posecfg.config`` to read configs, ``posecfg.engine`` to train).
"""
from .version import __version__

__all__ = ['__version__']
