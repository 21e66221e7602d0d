"""posecfg's backbones against the libraries DeepLabCut 3 and Lightning Pose build theirs with:
the same random weights (norm statistics and affines randomised too) in both, eval mode, the
largest absolute output difference. Not a pass/fail test: a record for the lead.

Needs timm, torchvision and transformers importable next to posecfg's torch (CPU 2.13), e.g.::

    pip download --no-deps -d W timm 'torchvision<0.29' transformers
    pip install --no-deps --target T W/*.whl huggingface_hub safetensors tokenizers regex tqdm \\
        typing_extensions
    pip install --target T2 httpx2 click fsspec typer
    # torchvision 0.28 from the registry is a CUDA build: in T/torchvision/__init__.py import
    # _autograd_registrations and _meta_registrations only `if extension._has_ops():`
    PYTHONPATH=T:T2:. .venv/bin/python benchmarks/reference/backbone_parity.py [--dlc-src DIR]

``--dlc-src DIR``: a folder holding DeepLabCut's ``models/modules/csp.py`` as ``dlc_csp.py`` and
``models/backbones/cspnext.py`` as ``dlc_cspnext.py`` (its base-class import pointed at a stub),
to compare CSPNeXt; without it CSPNeXt is skipped. Measured 2026-11-30 (timm 1.0.31, torchvision
0.28.0, transformers 5.24.0, DeepLabCut main): every difference 0.0.
"""
import argparse
import sys

import torch
import torch.nn.functional as F

from posecfg.models.backbones.named import DLC_NET_TYPES, lp_backbone_cfg
from posecfg.registry import MODELS


def randomise(module):
    """Weights ~ N(0, 0.02), 1-d tensors (norms, biases, scales) around 1 or 0, variances > 0."""
    torch.manual_seed(0)
    with torch.no_grad():
        for name, p in module.named_parameters():
            one = p.ndim == 1 and name.endswith(('weight', 'lambda1'))
            p.copy_(torch.randn_like(p) * (0.1 if p.ndim == 1 else 0.02) + float(one))
        for name, b in module.named_buffers():
            if name.endswith('running_var'):
                b.copy_(torch.rand_like(b) + 0.5)
            elif name.endswith('running_mean'):
                b.copy_(torch.randn_like(b) * 0.1)
    return module.eval()


def ours(cfg, state_dict):
    model = MODELS.build(cfg).eval()
    converted, _ = model.convert_pretrained(dict(state_dict))
    own = model.state_dict()
    model.load_state_dict({k: v for k, v in converted.items() if k in own}, strict=True)
    return model


def report(name, theirs, mine):
    diff = (theirs - mine).abs().max().item()
    print(f'{name:42s} {tuple(theirs.shape)!s:20s} max |diff| {diff:.3g} '
          f'(max |output| {theirs.abs().max().item():.3g})')


@torch.no_grad()
def timm_models():
    import timm
    x = torch.randn(1, 3, 96, 128)
    for net, name in (('resnet_50', 'resnet50_gn'), ('resnet_101', 'resnet101')):
        ref = timm.create_model(name, output_stride=16)
        ref.fc = torch.nn.Identity()
        randomise(ref)
        report(f'DLC {net} vs timm {name}', ref.forward_features(x),
               ours(DLC_NET_TYPES[net].build_cfg(), ref.state_dict())(x)[0])
    for loc in ('', 'incre'):
        ref = randomise(timm.create_model('hrnet_w32', features_only=True, feature_location=loc,
                                          out_indices=(1, 2, 3, 4)))
        cfg = dict(DLC_NET_TYPES['hrnet_w32'].build_cfg(), increased_channel_count=bool(loc))
        cfg.pop('out_indices')
        mine = ours(cfg, ref.state_dict())(x)
        for b, (a, m) in enumerate(zip(ref(x), mine)):
            report(f'DLC hrnet_w32 {loc or "plain"} branch {b}', a, m)


@torch.no_grad()
def torchvision_models():
    import torchvision
    x = torch.randn(1, 3, 96, 128)
    for name in ('resnet18', 'resnet50', 'efficientnet_b0', 'efficientnet_b1', 'efficientnet_b2'):
        ref = randomise(getattr(torchvision.models, name)())
        trunk = torch.nn.Sequential(*list(ref.children())[:-2])  # Lightning Pose's heatmap trunk
        state = {k: v for k, v in ref.state_dict().items() if not k.startswith(('fc.', 'class'))}
        report(f'LP {name} vs torchvision', trunk(x),
               ours(lp_backbone_cfg(name, pretrained=False), state)(x)[0])


@torch.no_grad()
def transformers_models():
    from transformers import (DINOv3ViTConfig, DINOv3ViTModel, Dinov2Config, Dinov2Model,
                              SamVisionConfig, ViTConfig, ViTModel)
    from transformers.models.sam.modeling_sam import SamVisionEncoder
    x = torch.randn(2, 3, 64, 96)

    def grid(tokens, x, prefix):
        return tokens[:, prefix:].reshape(x.shape[0], x.shape[2] // 16, x.shape[3] // 16,
                                          -1).permute(0, 3, 1, 2)
    ref = randomise(ViTModel(ViTConfig(hidden_size=384, num_hidden_layers=12,
                                       num_attention_heads=6, intermediate_size=1536,
                                       layer_norm_eps=1e-12), add_pooling_layer=False))
    report('LP vits_dino vs ViTModel', grid(ref(x, interpolate_pos_encoding=True)
                                            .last_hidden_state, x, 1),
           ours(lp_backbone_cfg('vits_dino'), ref.state_dict())(x)[0])

    ref = randomise(Dinov2Model(Dinov2Config(hidden_size=384, num_hidden_layers=12,
                                             num_attention_heads=6, image_size=518,
                                             patch_size=14)))
    mine = ours(lp_backbone_cfg('vits_dinov2'), ref.state_dict())
    proj = ref.embeddings.patch_embeddings.projection  # Lightning Pose's 14 → 16 resampling
    o, c = proj.weight.shape[:2]
    new = torch.nn.Conv2d(c, o, 16, 16)
    new.weight.copy_(F.interpolate(proj.weight.reshape(o * c, 1, 14, 14), size=(16, 16),
                                   mode='bicubic', align_corners=True, antialias=True)
                     .reshape(o, c, 16, 16))
    new.bias.copy_(proj.bias)
    ref.embeddings.patch_embeddings.projection = new
    ref.config.patch_size = ref.embeddings.patch_size = 16
    ref.embeddings.patch_embeddings.patch_size = (16, 16)
    report('LP vits_dinov2 vs Dinov2Model', grid(ref(x).last_hidden_state, x, 1), mine(x)[0])

    ref = randomise(DINOv3ViTModel(DINOv3ViTConfig(num_register_tokens=4)))
    report('LP vits_dinov3 vs DINOv3ViTModel', grid(ref(x).last_hidden_state, x, 5),
           ours(lp_backbone_cfg('vits_dinov3'), ref.state_dict())(x)[0])

    ref = randomise(SamVisionEncoder(SamVisionConfig()))
    mine = ours(lp_backbone_cfg('vitb_sam', image_size=128), ref.state_dict())
    for layer in ref.layers:  # Lightning Pose: no relative positions, positions resized
        layer.attn.use_rel_pos = False
    pos = F.interpolate(ref.pos_embed.permute(0, 3, 1, 2), size=(8, 8), mode='bicubic',
                        antialias=True).permute(0, 2, 3, 1)
    x = torch.randn(1, 3, 128, 128)
    h = ref.patch_embed.projection(x).permute(0, 2, 3, 1) + pos
    for layer in ref.layers:
        h = layer(h)
    report('LP vitb_sam vs SamVisionEncoder', h.permute(0, 3, 1, 2), mine(x)[0])


@torch.no_grad()
def deeplabcut_cspnext(src):
    sys.path.insert(0, src)
    from dlc_cspnext import CSPNeXt as Reference
    x = torch.randn(1, 3, 96, 128)
    for net in ('cspnext_s', 'cspnext_m', 'cspnext_x'):
        cfg = DLC_NET_TYPES[net].build_cfg()
        ref = randomise(Reference(model_name=net, deepen_factor=cfg['deepen_factor'],
                                  widen_factor=cfg['widen_factor'], norm_layer='BN'))
        report(f'DLC {net} vs DeepLabCut CSPNeXt', ref(x), ours(cfg, ref.state_dict())(x)[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--dlc-src', help='folder with dlc_csp.py and dlc_cspnext.py')
    args = parser.parse_args()
    torch.set_num_threads(2)
    import posecfg.models.backbones  # noqa: F401  (registration)
    timm_models()
    torchvision_models()
    transformers_models()
    if args.dlc_src:
        deeplabcut_cspnext(args.dlc_src)
    else:
        print('CSPNeXt: skipped (no --dlc-src)')


if __name__ == '__main__':
    main()
