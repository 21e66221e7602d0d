"""``PoseVisualizer``: mmengine's Visualizer, its matplotlib figure made on first use.

mmengine's ``Visualizer.__init__`` imports matplotlib and builds a figure (``_initialize_fig``)
whether or not anything is ever drawn. posecfg's runs only log through the visualizer's
backends (scalars, the config); drawing is for hooks that ask for it (``set_image``,
``draw_*``). Importing matplotlib and making that figure was ~0.5 s of every first runner in a
process (a DeepLabCut ``evaluate_network`` of 25 images took ~4 s in all). Here the figure, its
axes, canvas and ``dpi`` are built the first time one of them is read, from the same
``fig_save_cfg``: what is drawn and logged is unchanged.
"""
from __future__ import annotations

from mmengine.visualization import Visualizer

from posecfg.registry import VISUALIZERS


class _NotYet:
    """A figure attribute not built yet; ``get_dpi`` answers for the figure during
    ``Visualizer.__init__`` (``self.dpi = self.fig_save.get_dpi()``)."""

    def get_dpi(self):
        return self


_NOT_YET = _NotYet()


def _figure_attribute(name: str) -> property:
    """An attribute mmengine's ``__init__`` fills from ``_initialize_fig``: reading it after
    ``__init__`` builds the figure if it is not built yet."""
    key = '_figure_' + name

    def get(self):
        value = self.__dict__.get(key)
        if isinstance(value, _NotYet) and not self.__dict__.get('_constructing'):
            self._build_figure()
            value = self.__dict__[key]
        return value

    def set(self, value):
        self.__dict__[key] = value

    return property(get, set, doc=f"mmengine's ``{name}``, built on first read")


@VISUALIZERS.register_module()
class PoseVisualizer(Visualizer):
    """mmengine's ``Visualizer`` (same arguments), building its matplotlib figure on first use
    (module docstring)."""

    #: a small instance for the registry tests (a visualizer is one per name)
    example_args = dict(name='registry_example')

    fig_save_canvas = _figure_attribute('fig_save_canvas')
    fig_save = _figure_attribute('fig_save')
    ax_save = _figure_attribute('ax_save')
    dpi = _figure_attribute('dpi')

    def __init__(self, name='visualizer', image=None, vis_backends=None, save_dir=None,
                 fig_save_cfg=None, fig_show_cfg=None):
        self.__dict__['_constructing'] = True
        try:  # mmengine's defaults for the figures
            super().__init__(name, None, vis_backends, save_dir,
                             dict(frameon=False) if fig_save_cfg is None else fig_save_cfg,
                             dict(frameon=False) if fig_show_cfg is None else fig_show_cfg)
        finally:
            self.__dict__['_constructing'] = False
        if image is not None:
            self.set_image(image)

    def _initialize_fig(self, fig_cfg) -> tuple:
        if self.__dict__.get('_constructing'):
            return _NOT_YET, _NOT_YET, _NOT_YET  # made when first read
        return super()._initialize_fig(fig_cfg)

    def _build_figure(self) -> None:
        canvas, fig, ax = super()._initialize_fig(self.fig_save_cfg)
        self.fig_save_canvas, self.fig_save, self.ax_save = canvas, fig, ax
        self.dpi = fig.get_dpi()
