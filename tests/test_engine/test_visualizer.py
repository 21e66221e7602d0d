"""PoseVisualizer: mmengine's Visualizer whose matplotlib figure is made when first used."""
import os
import subprocess
import sys

import numpy as np
from mmengine.visualization import Visualizer

from posecfg.engine.visualizer import PoseVisualizer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_building_it_does_not_import_matplotlib(tmp_path):
    """Importing matplotlib and making a figure was ~0.5 s of every first runner in a process
    (a 25-image DeepLabCut evaluation takes ~4 s in all)."""
    code = (
        'import sys\n'
        'from posecfg.engine.visualizer import PoseVisualizer\n'
        f'v = PoseVisualizer(name="v", vis_backends=[dict(type="LocalVisBackend")], '
        f'save_dir={str(tmp_path)!r})\n'
        'v.add_config(__import__("mmengine").Config(dict(a=1)))\n'
        'assert "matplotlib" not in sys.modules, "matplotlib imported"\n'
        'v.dpi\n'
        'assert "matplotlib" in sys.modules\n')
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / 'vis_data' / 'config.py').is_file()  # the backends work as before


def _drawn(visualizer):
    image = np.full((40, 60, 3), 30, np.uint8)
    visualizer.set_image(image)
    visualizer.draw_points(np.array([[10.0, 12.0], [40.0, 30.0]]), colors='r',
                           sizes=np.array([30, 30]))
    visualizer.draw_texts('a', np.array([20, 20]), colors='g')
    return visualizer.get_image()


def test_draws_what_mmengines_visualizer_draws():
    ours, theirs = PoseVisualizer(name='ours'), Visualizer(name='theirs')
    assert ours.dpi == theirs.dpi
    drawn = _drawn(ours)
    assert drawn.shape == (40, 60, 3) and (drawn != 30).any()
    np.testing.assert_array_equal(drawn, _drawn(theirs))


def test_an_image_given_at_construction_is_set():
    image = np.full((20, 30, 3), 7, np.uint8)
    v = PoseVisualizer(name='with_image', image=image)
    np.testing.assert_array_equal(v.get_image(), image)


def test_a_config_can_name_it():
    from posecfg.config import Config
    from posecfg.engine.validate import validate_config
    seed = os.path.join(REPO, 'configs/body/2d_kpt_sview_rgb_img/topdown_heatmap/coco/'
                              'res50_coco_256x192.py')
    validate_config(Config.fromfile(seed, ['visualizer={type:PoseVisualizer,vis_backends:[]}']))
