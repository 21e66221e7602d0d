"""Using trained models: ``init_model`` + ``inference_topdown``, and drawing poses."""
from .inference import inference_topdown, init_model
from .visualize import draw_pose, tile

__all__ = ['init_model', 'inference_topdown', 'draw_pose', 'tile']
