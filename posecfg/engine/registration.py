"""Importing this module registers every posecfg class in its registry (models, datasets,
transforms, codecs, metrics, engine parts), as mmengine's Runner builds by name."""
from posecfg import codecs, datasets, evaluation, models, transforms  # noqa: F401
from posecfg.engine import (hooks, loops, optimizers, schedulers, torch_schedulers,  # noqa: F401
                            visualizer)
