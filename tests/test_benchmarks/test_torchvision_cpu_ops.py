"""The pure-torch ``torchvision::nms`` of DeepLabCut's reference env
(benchmarks/reference/torchvision_cpu_ops.py, written into the env by
benchmarks/setup_dlc_reference_env.sh)."""
import importlib.util
import os
import subprocess
import sys

import pytest
import torch

pytestmark = pytest.mark.usefixtures('one_thread')

PATH = os.path.join(os.path.dirname(__file__), '..', '..', 'benchmarks', 'reference',
                    'torchvision_cpu_ops.py')


def load():
    spec = importlib.util.spec_from_file_location('torchvision_cpu_ops', PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_nms_keeps_by_score_and_drops_iou_above_threshold():
    ops = load()
    boxes = torch.tensor([[0., 0, 10, 10],    # area 100
                          [1, 1, 11, 11],     # with box 0: inter 81, union 119, IoU 0.681
                          [20, 20, 30, 30],   # apart from all
                          [0, 0, 10, 5]])     # with box 0: inter 50, union 100, IoU 0.5
    scores = torch.tensor([0.8, 0.9, 0.7, 0.6])
    # box 1 first (highest score) suppresses box 0 (IoU 0.681); box 3 vs box 1: inter 9*4=36,
    # union 100+50-36=114, IoU 0.316: kept at 0.5
    assert ops.nms(boxes, scores, 0.5).tolist() == [1, 2, 3]
    # torchvision drops only IoU > threshold: box 3 vs box 0 at IoU exactly 0.5 stays
    assert ops.nms(boxes[[0, 3]], scores[[0, 3]], 0.5).tolist() == [0, 1]
    assert ops.nms(boxes[[0, 3]], scores[[0, 3]], 0.49).tolist() == [0]
    assert ops.nms(boxes[:0], scores[:0], 0.5).tolist() == []
    with pytest.raises(ValueError, match='boxes must be'):
        ops.nms(boxes[:, :3], scores, 0.5)


def test_import_hook_registers_the_operators_before_torchvision_is_looked_up():
    # in a fresh process: no torchvision is importable in posecfg's env, but the hook must have
    # defined the operators by the time the import is attempted
    code = f'''
import importlib.util, sys
spec = importlib.util.spec_from_file_location("ops", {PATH!r})
ops = importlib.util.module_from_spec(spec); spec.loader.exec_module(ops)
ops.install_import_hook()
try:
    import torchvision  # noqa: F401
except Exception:
    pass
import torch
print(torch.ops.torchvision.nms(torch.tensor([[0., 0, 2, 2], [0, 0, 2, 1.9]]),
                                torch.tensor([0.1, 0.2]), 0.5).tolist())
'''
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == '[1]'
