"""Hugging Face ``transformers`` key layouts of the ViT encoders → :class:`VisionTransformer`.

Each layout is a table of (regex on the checkpoint key, native key) with ``{i}`` the layer
index; ``q`` / ``k`` / ``v`` targets are fused into ``attn.qkv.weight`` (rows q, k, v) and
their biases kept as ``attn.{q,k,v}_bias``. Layouts (``transformers/models/*/modeling_*.py`` and
the renames in ``transformers/conversion_mapping.py``, transformers 5):

- ``hf-vit``: ``ViTModel`` as saved by transformers 4.x and on the hub (``facebook/dino-vit*``,
  and ``facebook/vit-mae-base``'s encoder under ``vit.``): ``embeddings.{cls_token,
  position_embeddings, patch_embeddings.projection}``, ``encoder.layer.{i}.{layernorm_before,
  attention.attention.{query,key,value}, attention.output.dense, layernorm_after,
  intermediate.dense, output.dense}``, ``layernorm``;
- ``hf-vit-v5``: the same model in transformers 5: ``layers.{i}.{layernorm_before,
  attention.{q,k,v,o}_proj, layernorm_after, mlp.fc1, mlp.fc2}``;
- ``hf-dinov2`` (4.x / hub) and ``hf-dinov2-v5``: ``encoder.layer.{i}.{norm1, attention.attention.
  {query,key,value} | attention.{q,k,v}_proj, attention.output.dense | attention.o_proj,
  layer_scale1.lambda1, norm2, mlp.fc1, mlp.fc2, layer_scale2.lambda1}``, ``layernorm``;
- ``hf-dinov3``: ``DINOv3ViTModel``: ``embeddings.{cls_token, register_tokens,
  patch_embeddings}``, ``[model.]layer.{i}.{norm1, attention.{q,k,v,o}_proj, layer_scale1.lambda1,
  norm2, mlp.up_proj, mlp.down_proj, layer_scale2.lambda1}``, ``norm`` (hub files lack the
  ``model.`` that transformers 5 adds);
- ``hf-sam``: ``SamVisionEncoder`` (``vision_encoder.`` inside ``SamModel``):
  ``patch_embed.projection``, ``pos_embed`` (1, G, G, D), ``layers.{i}.{layer_norm1, attn.qkv,
  attn.proj, layer_norm2, mlp.lin1, mlp.lin2}``.

Tensors the encoder does not use keep their names, so the load report lists them as ignored:
``embeddings.mask_token`` (masked-image pretraining), ``pooler.*``, MAE's ``decoder.*``, SAM's
``neck.*`` and ``layers.{i}.attn.rel_pos_{h,w}`` (Lightning Pose's ``VisionEncoderSam`` drops the
neck and sets ``use_rel_pos = False``) and SAM's prompt encoder and mask decoder.

Two resamplings follow Lightning Pose: patch kernels of another size (DINOv2's 14) are resized
bicubically with ``align_corners=True, antialias=True`` (``VisionEncoderDino.
_resize_patch_embedding_weights``); a position grid of another size is resized as
:func:`resize_pos_grid` does, with antialias for SAM (``VisionEncoderSam._resize_pos_embed``).
"""
from __future__ import annotations

import re
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F

from .vision_transformer import resize_pos_grid

_LAYER = r'(?P<i>\d+)'

_VIT_TOP = [(r'^embeddings\.cls_token$', 'cls_token'),
            (r'^embeddings\.position_embeddings$', 'pos_embed'),
            (r'^embeddings\.patch_embeddings\.projection\.(weight|bias)$', r'patch_embed.\1'),
            (r'^layernorm\.(weight|bias)$', r'norm.\1')]

LAYOUTS: Dict[str, List[Tuple[str, str]]] = {
    'hf-vit': _VIT_TOP + [
        (rf'^encoder\.layer\.{_LAYER}\.layernorm_before\.(weight|bias)$', 'norm1'),
        (rf'^encoder\.layer\.{_LAYER}\.attention\.attention\.query\.(weight|bias)$', 'q'),
        (rf'^encoder\.layer\.{_LAYER}\.attention\.attention\.key\.(weight|bias)$', 'k'),
        (rf'^encoder\.layer\.{_LAYER}\.attention\.attention\.value\.(weight|bias)$', 'v'),
        (rf'^encoder\.layer\.{_LAYER}\.attention\.output\.dense\.(weight|bias)$', 'attn.proj'),
        (rf'^encoder\.layer\.{_LAYER}\.layernorm_after\.(weight|bias)$', 'norm2'),
        (rf'^encoder\.layer\.{_LAYER}\.intermediate\.dense\.(weight|bias)$', 'mlp.fc1'),
        (rf'^encoder\.layer\.{_LAYER}\.output\.dense\.(weight|bias)$', 'mlp.fc2')],
    'hf-vit-v5': _VIT_TOP + [
        (rf'^layers\.{_LAYER}\.layernorm_before\.(weight|bias)$', 'norm1'),
        (rf'^layers\.{_LAYER}\.attention\.q_proj\.(weight|bias)$', 'q'),
        (rf'^layers\.{_LAYER}\.attention\.k_proj\.(weight|bias)$', 'k'),
        (rf'^layers\.{_LAYER}\.attention\.v_proj\.(weight|bias)$', 'v'),
        (rf'^layers\.{_LAYER}\.attention\.o_proj\.(weight|bias)$', 'attn.proj'),
        (rf'^layers\.{_LAYER}\.layernorm_after\.(weight|bias)$', 'norm2'),
        (rf'^layers\.{_LAYER}\.mlp\.fc1\.(weight|bias)$', 'mlp.fc1'),
        (rf'^layers\.{_LAYER}\.mlp\.fc2\.(weight|bias)$', 'mlp.fc2')],
}
_DINOV2_COMMON = [
    (rf'^encoder\.layer\.{_LAYER}\.norm1\.(weight|bias)$', 'norm1'),
    (rf'^encoder\.layer\.{_LAYER}\.layer_scale1\.lambda1$', 'ls1.gamma'),
    (rf'^encoder\.layer\.{_LAYER}\.norm2\.(weight|bias)$', 'norm2'),
    (rf'^encoder\.layer\.{_LAYER}\.mlp\.fc1\.(weight|bias)$', 'mlp.fc1'),
    (rf'^encoder\.layer\.{_LAYER}\.mlp\.fc2\.(weight|bias)$', 'mlp.fc2'),
    (rf'^encoder\.layer\.{_LAYER}\.layer_scale2\.lambda1$', 'ls2.gamma')]
LAYOUTS['hf-dinov2'] = _VIT_TOP + _DINOV2_COMMON + [
    (rf'^encoder\.layer\.{_LAYER}\.attention\.attention\.query\.(weight|bias)$', 'q'),
    (rf'^encoder\.layer\.{_LAYER}\.attention\.attention\.key\.(weight|bias)$', 'k'),
    (rf'^encoder\.layer\.{_LAYER}\.attention\.attention\.value\.(weight|bias)$', 'v'),
    (rf'^encoder\.layer\.{_LAYER}\.attention\.output\.dense\.(weight|bias)$', 'attn.proj')]
LAYOUTS['hf-dinov2-v5'] = _VIT_TOP + _DINOV2_COMMON + [
    (rf'^encoder\.layer\.{_LAYER}\.attention\.q_proj\.(weight|bias)$', 'q'),
    (rf'^encoder\.layer\.{_LAYER}\.attention\.k_proj\.(weight|bias)$', 'k'),
    (rf'^encoder\.layer\.{_LAYER}\.attention\.v_proj\.(weight|bias)$', 'v'),
    (rf'^encoder\.layer\.{_LAYER}\.attention\.o_proj\.(weight|bias)$', 'attn.proj')]
_D3 = rf'^(?:model\.)?layer\.{_LAYER}'
LAYOUTS['hf-dinov3'] = [
    (r'^embeddings\.cls_token$', 'cls_token'),
    (r'^embeddings\.register_tokens$', 'register_tokens'),
    (r'^embeddings\.patch_embeddings\.(weight|bias)$', r'patch_embed.\1'),
    (r'^norm\.(weight|bias)$', r'norm.\1'),
    (rf'{_D3}\.norm1\.(weight|bias)$', 'norm1'),
    (rf'{_D3}\.attention\.q_proj\.(weight|bias)$', 'q'),
    (rf'{_D3}\.attention\.k_proj\.(weight|bias)$', 'k'),
    (rf'{_D3}\.attention\.v_proj\.(weight|bias)$', 'v'),
    (rf'{_D3}\.attention\.o_proj\.(weight|bias)$', 'attn.proj'),
    (rf'{_D3}\.layer_scale1\.lambda1$', 'ls1.gamma'),
    (rf'{_D3}\.norm2\.(weight|bias)$', 'norm2'),
    (rf'{_D3}\.mlp\.up_proj\.(weight|bias)$', 'mlp.fc1'),
    (rf'{_D3}\.mlp\.down_proj\.(weight|bias)$', 'mlp.fc2'),
    (rf'{_D3}\.layer_scale2\.lambda1$', 'ls2.gamma')]
LAYOUTS['hf-sam'] = [
    (r'^patch_embed\.projection\.(weight|bias)$', r'patch_embed.\1'),
    (r'^pos_embed$', 'pos_embed'),
    (rf'^layers\.{_LAYER}\.layer_norm1\.(weight|bias)$', 'norm1'),
    (rf'^layers\.{_LAYER}\.attn\.qkv\.(weight|bias)$', 'qkv'),
    (rf'^layers\.{_LAYER}\.attn\.proj\.(weight|bias)$', 'attn.proj'),
    (rf'^layers\.{_LAYER}\.layer_norm2\.(weight|bias)$', 'norm2'),
    (rf'^layers\.{_LAYER}\.mlp\.lin1\.(weight|bias)$', 'mlp.fc1'),
    (rf'^layers\.{_LAYER}\.mlp\.lin2\.(weight|bias)$', 'mlp.fc2')]

# a key that only its layout has, to recognise it (checked in this order)
_SIGNATURES = [('hf-sam', r'^layers\.0\.layer_norm1\.weight$'),
               ('hf-dinov3', r'^(model\.)?layer\.0\.norm1\.weight$'),
               ('hf-dinov2', r'^encoder\.layer\.0\.norm1\.weight$'),
               ('hf-vit', r'^encoder\.layer\.0\.layernorm_before\.weight$'),
               ('hf-vit-v5', r'^layers\.0\.layernorm_before\.weight$')]
# outer names the encoders sit under in whole-model checkpoints
_WRAPPERS = ('vision_encoder.', 'vit.', 'dinov2.', 'model.vision_encoder.')


def detect_layout(state_dict: dict) -> Optional[Tuple[str, str]]:
    """(layout, outer prefix) of a Hugging Face encoder state dict, or None."""
    for prefix in ('',) + _WRAPPERS:
        keys = [k[len(prefix):] for k in state_dict if k.startswith(prefix)]
        for layout, signature in _SIGNATURES:
            pattern = re.compile(signature)
            if any(pattern.search(k) for k in keys):
                if layout == 'hf-dinov2' and any(k.startswith('encoder.layer.0.attention.q_proj')
                                                 for k in keys):
                    layout = 'hf-dinov2-v5'
                return layout, prefix
    return None


def convert_vit_state_dict(module, state_dict: dict) -> Tuple[dict, str]:
    """``state_dict`` in a Hugging Face layout → ``module``'s keys (module docstring)."""
    found = detect_layout(state_dict)
    if found is None:
        return state_dict, 'native'
    layout, prefix = found
    rules = [(re.compile(p), target) for p, target in LAYOUTS[layout]]
    out: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    fused: Dict[Tuple[int, str], Dict[str, torch.Tensor]] = {}
    for key, value in state_dict.items():
        inner = key[len(prefix):] if key.startswith(prefix) else None
        match = target = None
        for pattern, target in rules:
            match = pattern.search(inner) if inner is not None else None
            if match:
                break
        if not match:
            out[key] = value  # unused by the encoder: reported as ignored
            continue
        if 'i' not in match.groupdict():
            out[match.expand(target) if '\\' in target else target] = value
            continue
        i, leaf = int(match.group('i')), match.groups()[-1] if match.lastindex > 1 else None
        if target in ('q', 'k', 'v', 'qkv'):
            fused.setdefault((i, leaf), {})[target] = value
        else:
            out[f'layers.{i}.{target}' + (f'.{leaf}' if leaf else '')] = value
    for (i, leaf), parts in fused.items():
        _fuse(out, i, leaf, parts, module.embed_dims)
    _resample(module, out)
    return out, layout


def _fuse(out: dict, i: int, leaf: str, parts: Dict[str, torch.Tensor], dims: int) -> None:
    """q, k, v (or a fused qkv) → ``attn.qkv.weight`` and ``attn.{q,k,v}_bias``."""
    if 'qkv' in parts:
        parts = dict(zip('qkv', parts['qkv'].split(dims, dim=0)))
    if leaf == 'weight':
        if set(parts) != set('qkv'):
            missing = sorted(set('qkv') - set(parts))
            raise KeyError(f'layer {i}: the checkpoint has no {missing} projection weights')
        out[f'layers.{i}.attn.qkv.weight'] = torch.cat([parts[n] for n in 'qkv'], dim=0)
    else:
        for name, value in parts.items():
            out[f'layers.{i}.attn.{name}_bias'] = value


def _resample(module, out: dict) -> None:
    """Patch kernels and position grids of other sizes → the module's (Lightning Pose's rules)."""
    weight = out.get('patch_embed.weight')
    p = module.patch_size
    if weight is not None and tuple(weight.shape[-2:]) != (p, p):
        o, c, h, w = weight.shape
        resized = F.interpolate(weight.float().reshape(o * c, 1, h, w), size=(p, p),
                                mode='bicubic', align_corners=True, antialias=True)
        out['patch_embed.weight'] = resized.reshape(o, c, p, p).to(weight.dtype)
    pos = out.get('pos_embed')
    if pos is None or module.pos_embed is None:
        return
    if pos.dim() == 4:  # SAM's (1, G, G, D) grid
        pos = pos.reshape(1, -1, pos.shape[-1])
    start = int(module.with_cls_token)
    grid = module.pos_embed_grid
    if pos.shape[1] - start != grid * grid:
        patches = resize_pos_grid(pos[:, start:], (grid, grid), antialias=module.pos_antialias)
        pos = torch.cat([pos[:, :start], patches], dim=1)
    out['pos_embed'] = pos
