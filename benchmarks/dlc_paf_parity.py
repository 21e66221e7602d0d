"""Parity of posecfg's DLCRNetHead with DeepLabCut 3.0.2's own (models/heads/dlcrnet.py and
simple_head.py, loaded from an unpacked wheel's ``src`` folder as in paf_predictor.py): each
loads the other's state dict strictly (DeepLabCut's key names and shapes), the outputs are
equal, the head strides agree; for DeepLabCut's stride-16 (one deconvolution) and stride-32
(two) configurations.

    python benchmarks/dlc_paf_parity.py --dlc-source DIR

Prints one JSON line per configuration.
"""
import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import posecfg.engine.registration  # noqa: E402,F401
from paf_predictor import _Registry, dlc_module  # noqa: E402
from posecfg.registry import MODELS  # noqa: E402

K, GRAPH, C = 4, [[i, j] for i in range(4) for j in range(i + 1, 4)], 96


def load_dlc_head(src: Path):
    class Base:
        pass
    heads = 'deeplabcut/pose_estimation_pytorch/models/heads'
    pkg = 'deeplabcut.pose_estimation_pytorch'
    dlc_module(src, f'{pkg}.models.criterions', BaseCriterion=Base, BaseLossAggregator=Base)
    dlc_module(src, f'{pkg}.models.predictors', BasePredictor=Base)
    dlc_module(src, f'{pkg}.models.target_generators', BaseGenerator=Base)
    dlc_module(src, f'{pkg}.models.weight_init', BaseWeightInitializer=Base,
               WEIGHT_INIT=_Registry())
    dlc_module(src, f'{pkg}.registry', Registry=lambda *a, **k: _Registry(),
               build_from_cfg=None)
    for name in ('base', 'simple_head', 'dlcrnet'):
        module = dlc_module(src, f'{pkg}.models.heads.{name}', Path(heads) / f'{name}.py')
    return module.DLCRNetHead, Base


def deconv(channels):
    return dict(channels=list(channels), kernel_size=[3] * (len(channels) - 1),
                strides=[2] * (len(channels) - 1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--dlc-source', type=Path, required=True)
    args = parser.parse_args()
    theirs_cls, base = load_dlc_head(args.dlc_source)
    torch.manual_seed(0)
    for mid in ((), (64,)):
        configs = dict(heatmap_config=deconv([C, *mid, K]),
                       locref_config=deconv([C, *mid, 2 * K]),
                       paf_config=deconv([C, *mid, 2 * len(GRAPH)]))
        ours = MODELS.build(dict(
            type='DLCRNetHead', num_stages=5, **configs,
            predictor=dict(num_animals=3, num_multibodyparts=K, graph=GRAPH),
            target_generator=dict(type='SequentialGenerator', generators=[
                dict(type='HeatmapPlateauGenerator', num_heatmaps=K, pos_dist_thresh=17),
                dict(type='PartAffinityFieldGenerator', graph=GRAPH, width=20)]),
            criterion=dict(heatmap=dict(type='WeightedBCECriterion', weight=1.0),
                           locref=dict(type='WeightedHuberCriterion', weight=0.05),
                           paf=dict(type='WeightedHuberCriterion', weight=0.1))))

        def theirs():  # DeepLabCut edits the configs in place: fresh copies
            return theirs_cls(predictor=None, target_generator=None, criterion={},
                              aggregator=base(), num_stages=5,
                              **{k: deconv(v['channels']) for k, v in configs.items()})

        x = torch.randn(2, C, 5, 7)
        row = dict(deconvolutions=len(mid) + 1)
        for direction in ('posecfg_to_dlc', 'dlc_to_posecfg'):
            dlc = theirs()
            if direction == 'posecfg_to_dlc':
                dlc.load_state_dict(ours.state_dict(), strict=True)
            else:
                ours.load_state_dict(dlc.state_dict(), strict=True)
            with torch.no_grad():
                a, b = ours(x), dlc(x)
            row[direction] = max(float((a[k] - b[k]).abs().max()) for k in a)
        row.update(stride_dlc=dlc.stride, stride_posecfg=ours.head_stride,
                   shapes={k: list(v.shape) for k, v in a.items()})
        print(json.dumps(row))


if __name__ == '__main__':
    main()
