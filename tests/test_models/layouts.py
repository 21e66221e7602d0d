"""Foreign state-dict layouts written out from the original architectures' module structure,
as independent oracles for the backbones' key names and conversions (never from posecfg).

Each ``*_shapes`` function returns ``{key: shape}`` in the original module order. Sources:
timm 1.0 (``timm/models/resnet.py``, ``hrnet.py``), DeepLabCut 3 (``deeplabcut/
pose_estimation_pytorch/models/backbones/cspnext.py``, ``models/modules/csp.py``), torchvision
(``torchvision/models/efficientnet.py``), Hugging Face transformers (``models/{vit,dinov2,
dinov3_vit,sam}/modeling_*.py``; 4.x names as on the hub).
"""
import logging
import math

import pytest
import torch


# ------------------------------------------------------------------ helpers
@pytest.fixture
def log(caplog):
    """A logger whose INFO records the test sees (import this fixture into a test module)."""
    caplog.set_level(logging.INFO, logger='posecfg_tests')
    return logging.getLogger('posecfg_tests')


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def meta_build(cfg):
    """A registered module built on the meta device: shapes and counts without memory."""
    from posecfg.registry import MODELS
    with torch.device('meta'):
        return MODELS.build(cfg)


def numbered(shapes):
    """name → tensor of ``shape`` filled with the name's index (ints for num_batches_tracked)."""
    out = {}
    for i, (name, shape) in enumerate(shapes.items()):
        dtype = torch.int64 if name.endswith('num_batches_tracked') else torch.float32
        out[name] = torch.full(shape, float(i + 1), dtype=dtype)
    return out


def bn(shapes, prefix, c, tracked=True):
    for leaf in ('weight', 'bias', 'running_mean', 'running_var'):
        shapes[f'{prefix}.{leaf}'] = (c,)
    if tracked:
        shapes[f'{prefix}.num_batches_tracked'] = ()


def affine(shapes, prefix, c):
    """GroupNorm / LayerNorm: weight and bias only."""
    shapes[f'{prefix}.weight'] = (c,)
    shapes[f'{prefix}.bias'] = (c,)


def linear(shapes, prefix, cout, cin, bias=True):
    shapes[f'{prefix}.weight'] = (cout, cin)
    if bias:
        shapes[f'{prefix}.bias'] = (cout,)


def assert_bijective_load(model, report, ignored):
    """Every model tensor was loaded, from a distinct checkpoint tensor, and only ``ignored``
    checkpoint keys were left over. Returns {checkpoint index: our name}."""
    assert report.missing == [] and report.mismatched == []
    assert sorted(report.unexpected) == sorted(ignored)
    values = {k: v.flatten()[0].item() for k, v in model.state_dict().items() if v.numel()}
    assert len(set(values.values())) == len(values)  # no checkpoint tensor used twice
    return {round(v): k for k, v in values.items()}


def index_of(shapes, name):
    return list(shapes).index(name) + 1


# ------------------------------------------------------------------ timm ResNet
RESNET_BLOCKS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3),
                 152: (3, 8, 36, 3)}


def timm_resnet_shapes(depth, norm='bn', fc=False):
    """timm ``ResNet`` (= torchvision's names): conv1, bn1, layer{1-4}.{j}.conv{1,2[,3]} /
    bn{..} / downsample.{0,1}; ``norm='gn'`` (resnet50_gn): norms without running stats.
    DeepLabCut replaces ``fc`` by an Identity, so ``fc=False`` is its backbone."""
    shapes = {'conv1.weight': (64, 3, 7, 7)}
    norm_fn = bn if norm == 'bn' else affine
    norm_fn(shapes, 'bn1', 64)
    bottleneck, in_ch = depth >= 50, 64
    for stage, n in enumerate(RESNET_BLOCKS[depth]):
        width = 64 * 2 ** stage
        out_ch = width * (4 if bottleneck else 1)
        for j in range(n):
            p = f'layer{stage + 1}.{j}'
            convs = ([(width, in_ch, 1, 1), (width, width, 3, 3), (out_ch, width, 1, 1)]
                     if bottleneck else [(width, in_ch, 3, 3), (width, width, 3, 3)])
            for k, shape in enumerate(convs, start=1):
                shapes[f'{p}.conv{k}.weight'] = shape
                norm_fn(shapes, f'{p}.bn{k}', shape[0])
            if j == 0 and (in_ch != out_ch or stage > 0):
                shapes[f'{p}.downsample.0.weight'] = (out_ch, in_ch, 1, 1)
                norm_fn(shapes, f'{p}.downsample.1', out_ch)
            in_ch = out_ch
    if fc:
        linear(shapes, 'fc', 1000, in_ch)
    return shapes


# ------------------------------------------------------------------ timm HRNet
def _timm_block(shapes, p, cin, planes, bottleneck):
    """timm BasicBlock / Bottleneck(inplanes=cin, planes) with a projection when needed."""
    cout = planes * (4 if bottleneck else 1)
    convs = ([(planes, cin, 1, 1), (planes, planes, 3, 3), (cout, planes, 1, 1)] if bottleneck
             else [(planes, cin, 3, 3), (planes, planes, 3, 3)])
    for k, shape in enumerate(convs, start=1):
        shapes[f'{p}.conv{k}.weight'] = shape
        bn(shapes, f'{p}.bn{k}', shape[0])
    if cin != cout:
        shapes[f'{p}.downsample.0.weight'] = (cout, cin, 1, 1)
        bn(shapes, f'{p}.downsample.1', cout)
    return cout


def timm_hrnet_features_shapes(width, incre=False):
    """timm ``hrnet_w{width}`` built ``features_only=True`` with ``feature_location=''``
    (or ``'incre'``), as DeepLabCut's HRNet: stem, layer1 (4 Bottlenecks 64 → 256),
    transition{1,2,3} (3x3 conv + BN + ReLU, ``Sequential`` of one per new branch), stage2..4
    of (1, 4, 3) modules of 4 BasicBlocks per branch, fuse layers of every output branch
    (``multi_scale_output=True`` throughout stage 4), [incre_modules]."""
    s = {'conv1.weight': (64, 3, 3, 3)}
    bn(s, 'bn1', 64)
    s['conv2.weight'] = (64, 64, 3, 3)
    bn(s, 'bn2', 64)
    cin = 64
    for j in range(4):
        cin = _timm_block(s, f'layer1.{j}', cin, 64, True)
    pre = [256]
    for k, modules in zip((2, 3, 4), (1, 4, 3)):
        cur = [width * 2 ** b for b in range(k)]
        for i, c in enumerate(cur):  # transition{k-1}
            if i < len(pre):
                if pre[i] != c:
                    s[f'transition{k - 1}.{i}.0.weight'] = (c, pre[i], 3, 3)
                    bn(s, f'transition{k - 1}.{i}.1', c)
            else:
                for j in range(i + 1 - len(pre)):
                    out = c if j == i - len(pre) else pre[-1]
                    s[f'transition{k - 1}.{i}.{j}.0.weight'] = (out, pre[-1], 3, 3)
                    bn(s, f'transition{k - 1}.{i}.{j}.1', out)
        for m in range(modules):
            p = f'stage{k}.{m}'
            for b, c in enumerate(cur):
                for j in range(4):
                    _timm_block(s, f'{p}.branches.{b}.{j}', c, c, False)
            for i, ci in enumerate(cur):
                for j, cj in enumerate(cur):
                    if j > i:
                        s[f'{p}.fuse_layers.{i}.{j}.0.weight'] = (ci, cj, 1, 1)
                        bn(s, f'{p}.fuse_layers.{i}.{j}.1', ci)
                    elif j < i:
                        for t in range(i - j):
                            out = ci if t == i - j - 1 else cj
                            s[f'{p}.fuse_layers.{i}.{j}.{t}.0.weight'] = (out, cj, 3, 3)
                            bn(s, f'{p}.fuse_layers.{i}.{j}.{t}.1', out)
        pre = cur
    if incre:
        for b, (c, planes) in enumerate(zip(pre, (32, 64, 128, 256))):
            _timm_block(s, f'incre_modules.{b}.0', c, planes, True)
    return s


# ------------------------------------------------------------------ DeepLabCut CSPNeXt
def _conv_module(s, p, cout, cin, k, groups=1):
    """DeepLabCut ``CSPConvModule`` with a norm: ``conv`` (no bias), ``norm`` (BN/SyncBN)."""
    s[f'{p}.conv.weight'] = (cout, cin // groups, k, k)
    bn(s, f'{p}.norm', cout)


def dlc_cspnext_shapes(deepen, widen, arch=((64, 128, 3, True, False), (128, 256, 6, True, False),
                                            (256, 512, 6, True, False),
                                            (512, 1024, 3, False, True))):
    """DeepLabCut's ``CSPNeXt`` (P5): stem of three conv modules, then per stage a stride-2
    conv module, [SPPBottleneck], CSPLayer (main_conv, short_conv, final_conv, blocks.j of
    CSPNeXtBlock (conv1, conv2 = depthwise_conv + pointwise_conv), attention.fc)."""
    s = {}
    half, stem = int(64 * widen // 2), int(64 * widen)
    _conv_module(s, 'stem.0', half, 3, 3)
    _conv_module(s, 'stem.1', half, half, 3)
    _conv_module(s, 'stem.2', stem, half, 3)
    for i, (cin, cout, n, _, spp) in enumerate(arch, start=1):
        cin, cout = int(cin * widen), int(cout * widen)
        _conv_module(s, f'stage{i}.0', cout, cin, 3)
        j = 1
        if spp:
            mid = cout // 2
            _conv_module(s, f'stage{i}.1.conv1', mid, cout, 1)
            _conv_module(s, f'stage{i}.1.conv2', cout, 4 * mid, 1)
            j = 2
        p, mid = f'stage{i}.{j}', int(cout * 0.5)
        _conv_module(s, f'{p}.main_conv', mid, cout, 1)
        _conv_module(s, f'{p}.short_conv', mid, cout, 1)
        _conv_module(s, f'{p}.final_conv', cout, 2 * mid, 1)
        for b in range(max(round(n * deepen), 1)):
            q = f'{p}.blocks.{b}'
            _conv_module(s, f'{q}.conv1', mid, mid, 3)
            _conv_module(s, f'{q}.conv2.depthwise_conv', mid, mid, 5, groups=mid)
            _conv_module(s, f'{q}.conv2.pointwise_conv', mid, mid, 1)
        s[f'{p}.attention.fc.weight'] = (2 * mid, 2 * mid, 1, 1)
        s[f'{p}.attention.fc.bias'] = (2 * mid,)
    return s


# ------------------------------------------------------------------ torchvision EfficientNet
def _divisible(v, d=8):
    new = max(d, int(v + d / 2) // d * d)
    return new + d if new < 0.9 * v else new


def torchvision_efficientnet_shapes(width, depth, classifier=True):
    """torchvision ``efficientnet_b*``: features.0 (conv, BN), features.1..7 stages of MBConv
    (block: [expand conv, BN], depthwise conv, BN, SE fc1/fc2 with bias, project conv, BN),
    features.8 (1x1 conv, BN), classifier.1 (Linear)."""
    stages = ((1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
              (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4),
              (6, 3, 1, 192, 320, 1))
    stem = _divisible(32 * width)
    s = {'features.0.0.weight': (stem, 3, 3, 3)}
    bn(s, 'features.0.1', stem)
    for si, (e, k, _, cin, cout, n) in enumerate(stages, start=1):
        cin, cout = _divisible(cin * width), _divisible(cout * width)
        for j in range(int(math.ceil(n * depth))):
            c = cin if j == 0 else cout
            hidden, p, idx = _divisible(c * e), f'features.{si}.{j}.block', 0
            if hidden != c:
                s[f'{p}.0.0.weight'] = (hidden, c, 1, 1)
                bn(s, f'{p}.0.1', hidden)
                idx = 1
            s[f'{p}.{idx}.0.weight'] = (hidden, 1, k, k)
            bn(s, f'{p}.{idx}.1', hidden)
            sq = max(1, c // 4)
            s[f'{p}.{idx + 1}.fc1.weight'], s[f'{p}.{idx + 1}.fc1.bias'] = (sq, hidden, 1, 1), (sq,)
            s[f'{p}.{idx + 1}.fc2.weight'], s[f'{p}.{idx + 1}.fc2.bias'] = (hidden, sq, 1, 1), \
                (hidden,)
            s[f'{p}.{idx + 2}.0.weight'] = (cout, hidden, 1, 1)
            bn(s, f'{p}.{idx + 2}.1', cout)
    last = _divisible(320 * width)
    s['features.8.0.weight'] = (4 * last, last, 1, 1)
    bn(s, 'features.8.1', 4 * last)
    if classifier:
        linear(s, 'classifier.1', 1000, 4 * last)
    return s


# ------------------------------------------------------------------ Hugging Face ViTs
def hf_vit_shapes(dims, layers, mlp, grid, prefix=''):
    """transformers 4.x ``ViTModel`` (hub ``facebook/dino-vit*``; MAE's encoder with
    ``prefix='vit.'``), with its pooler."""
    s = {f'{prefix}embeddings.cls_token': (1, 1, dims),
         f'{prefix}embeddings.position_embeddings': (1, 1 + grid * grid, dims),
         f'{prefix}embeddings.patch_embeddings.projection.weight': (dims, 3, 16, 16),
         f'{prefix}embeddings.patch_embeddings.projection.bias': (dims,)}
    for i in range(layers):
        p = f'{prefix}encoder.layer.{i}'
        for name in ('query', 'key', 'value'):
            linear(s, f'{p}.attention.attention.{name}', dims, dims)
        linear(s, f'{p}.attention.output.dense', dims, dims)
        linear(s, f'{p}.intermediate.dense', mlp, dims)
        linear(s, f'{p}.output.dense', dims, mlp)
        affine(s, f'{p}.layernorm_before', dims)
        affine(s, f'{p}.layernorm_after', dims)
    affine(s, f'{prefix}layernorm', dims)
    return s


def hf_dinov2_shapes(dims, layers, grid=37, patch=14):
    """transformers 4.x ``Dinov2Model`` (hub ``facebook/dinov2-*``), with its mask token."""
    s = {'embeddings.cls_token': (1, 1, dims), 'embeddings.mask_token': (1, dims),
         'embeddings.position_embeddings': (1, 1 + grid * grid, dims),
         'embeddings.patch_embeddings.projection.weight': (dims, 3, patch, patch),
         'embeddings.patch_embeddings.projection.bias': (dims,)}
    for i in range(layers):
        p = f'encoder.layer.{i}'
        affine(s, f'{p}.norm1', dims)
        for name in ('query', 'key', 'value'):
            linear(s, f'{p}.attention.attention.{name}', dims, dims)
        linear(s, f'{p}.attention.output.dense', dims, dims)
        s[f'{p}.layer_scale1.lambda1'] = (dims,)
        affine(s, f'{p}.norm2', dims)
        linear(s, f'{p}.mlp.fc1', 4 * dims, dims)
        linear(s, f'{p}.mlp.fc2', dims, 4 * dims)
        s[f'{p}.layer_scale2.lambda1'] = (dims,)
    affine(s, 'layernorm', dims)
    return s


def hf_dinov3_shapes(dims, layers, mlp, registers=4, model_prefix=''):
    """``DINOv3ViTModel`` as on the hub (``layer.{i}``; transformers 5 adds ``model.``): no key
    bias, LayerScale, registers, rotary embeddings (no stored positions)."""
    s = {'embeddings.cls_token': (1, 1, dims), 'embeddings.mask_token': (1, 1, dims),
         'embeddings.register_tokens': (1, registers, dims),
         'embeddings.patch_embeddings.weight': (dims, 3, 16, 16),
         'embeddings.patch_embeddings.bias': (dims,)}
    for i in range(layers):
        p = f'{model_prefix}layer.{i}'
        affine(s, f'{p}.norm1', dims)
        linear(s, f'{p}.attention.k_proj', dims, dims, bias=False)
        linear(s, f'{p}.attention.v_proj', dims, dims)
        linear(s, f'{p}.attention.q_proj', dims, dims)
        linear(s, f'{p}.attention.o_proj', dims, dims)
        s[f'{p}.layer_scale1.lambda1'] = (dims,)
        affine(s, f'{p}.norm2', dims)
        linear(s, f'{p}.mlp.up_proj', mlp, dims)
        linear(s, f'{p}.mlp.down_proj', dims, mlp)
        s[f'{p}.layer_scale2.lambda1'] = (dims,)
    affine(s, 'norm', dims)
    return s


def hf_sam_vision_shapes(dims=768, layers=12, grid=64, window=14, global_layers=(2, 5, 8, 11),
                         heads=12, prefix='vision_encoder.'):
    """``SamVisionEncoder`` (inside ``SamModel`` under ``vision_encoder.``): patch embedding,
    (1, G, G, D) positions, layers with fused qkv and relative-position tables (sized by the
    window, or the whole grid for global layers), the neck."""
    hd = dims // heads
    s = {f'{prefix}patch_embed.projection.weight': (dims, 3, 16, 16),
         f'{prefix}patch_embed.projection.bias': (dims,),
         f'{prefix}pos_embed': (1, grid, grid, dims)}
    for i in range(layers):
        p = f'{prefix}layers.{i}'
        size = grid if i in global_layers else window
        affine(s, f'{p}.layer_norm1', dims)
        linear(s, f'{p}.attn.qkv', 3 * dims, dims)
        linear(s, f'{p}.attn.proj', dims, dims)
        s[f'{p}.attn.rel_pos_h'] = (2 * size - 1, hd)
        s[f'{p}.attn.rel_pos_w'] = (2 * size - 1, hd)
        affine(s, f'{p}.layer_norm2', dims)
        linear(s, f'{p}.mlp.lin1', 4 * dims, dims)
        linear(s, f'{p}.mlp.lin2', dims, 4 * dims)
    s[f'{prefix}neck.conv1.weight'] = (256, dims, 1, 1)
    affine(s, f'{prefix}neck.layer_norm1', 256)
    s[f'{prefix}neck.conv2.weight'] = (256, 256, 3, 3)
    affine(s, f'{prefix}neck.layer_norm2', 256)
    return s
