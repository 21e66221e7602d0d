"""Plain Vision Transformers (Dosovitskiy et al. 2021) as feature maps at stride ``patch_size``.

One module covers the encoders Lightning Pose uses (``lightning_pose/models/backbones/vit*.py``,
through Hugging Face ``transformers``): DINO and MAE ViTs (``ViTModel``: class token, learned
position embeddings interpolated bicubically to the input), DINOv2 (adds LayerScale; patch 14
weights resampled to 16), DINOv3 (register tokens, rotary position embeddings, no key bias) and
SAM's image encoder (no class token, windowed attention in all but a few global layers, the
position grid resampled once to the fine-tuning size). Which is which is a matter of
arguments; the named configurations are in :mod:`.named`.

Native keys: ``patch_embed.{weight,bias}`` (the patch conv), ``cls_token`` (1, 1, D),
``register_tokens`` (1, R, D), ``pos_embed`` (1, [1 +] G*G, D), ``layers.{i}.norm1``,
``.attn.qkv.weight`` (3D, D; rows q, k, v), ``.attn.{q,k,v}_bias``, ``.attn.proj``,
``.ls1.gamma``, ``.norm2``, ``.mlp.fc1``, ``.mlp.fc2``, ``.ls2.gamma``, ``norm``. The Hugging
Face layouts (``transformers`` 4.x, the hub files, and 5.x) convert through
:mod:`.vit_keys`.
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp

from ...registry import MODELS
from .base import BaseBackbone, check_frozen_stages, check_out_indices
from .drop import linear_drop_path_rates, make_drop_path


def resize_pos_grid(pos: torch.Tensor, size: Tuple[int, int], antialias: bool = False
                    ) -> torch.Tensor:
    """(1, G_h * G_w, D) patch position embeddings of a square G x G grid → (1, h * w, D),
    bicubic with ``align_corners=False``, computed in float32 (``transformers``' rule)."""
    grid = int(math.isqrt(pos.shape[1]))
    if (grid, grid) == tuple(size):
        return pos
    dtype = pos.dtype
    pos = pos.reshape(1, grid, grid, -1).permute(0, 3, 1, 2).float()
    pos = F.interpolate(pos, size=size, mode='bicubic', align_corners=False, antialias=antialias)
    return pos.permute(0, 2, 3, 1).reshape(1, size[0] * size[1], -1).to(dtype)


class Rope2d(nn.Module):
    """DINOv3's 2D rotary position embedding (``transformers`` ``DINOv3ViTRopePositionEmbedding``).

    Patch centres are normalised to [-1, 1] per axis; in training they are optionally shifted
    (uniform ±shift), jittered per axis (×exp(U(±log jitter))) and rescaled (×exp(U(±log
    rescale))). Frequencies ``theta ** -(4k / head_dim)`` for k < head_dim / 4; angles
    ``2π · coord · freq`` for y then x, tiled twice: cos and sin of shape (h * w, head_dim).
    """

    def __init__(self, head_dim: int, theta: float = 100.0, shift: Optional[float] = None,
                 jitter: Optional[float] = None, rescale: Optional[float] = None):
        super().__init__()
        if head_dim % 4:
            raise ValueError(f'Rope2d: head_dim={head_dim} must be divisible by 4')
        self.shift, self.jitter, self.rescale = shift, jitter, rescale
        inv_freq = 1.0 / theta ** torch.arange(0, 1, 4 / head_dim, dtype=torch.float32)
        self.register_buffer('inv_freq', inv_freq, persistent=False)

    def forward(self, h: int, w: int, device, dtype) -> Tuple[torch.Tensor, torch.Tensor]:
        ys = (torch.arange(0.5, h, device=device, dtype=torch.float32) / h) * 2 - 1
        xs = (torch.arange(0.5, w, device=device, dtype=torch.float32) / w) * 2 - 1
        coords = torch.stack(torch.meshgrid(ys, xs, indexing='ij'), dim=-1).flatten(0, 1)
        if self.training:
            coords = self._augment(coords)
        angles = 2 * math.pi * coords[:, :, None] * self.inv_freq.to(device)[None, None, :]
        angles = angles.flatten(1, 2).tile(2)
        return angles.cos().to(dtype), angles.sin().to(dtype)

    def _augment(self, coords: torch.Tensor) -> torch.Tensor:
        if self.shift is not None:
            coords = coords + torch.empty(1, 2, device=coords.device).uniform_(-self.shift,
                                                                                self.shift)
        if self.jitter is not None:
            r = math.log(self.jitter)
            coords = coords * torch.empty(1, 2, device=coords.device).uniform_(-r, r).exp()
        if self.rescale is not None:
            r = math.log(self.rescale)
            coords = coords * torch.empty(1, device=coords.device).uniform_(-r, r).exp()
        return coords


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Attention(nn.Module):
    """Multi-head self-attention on (B, N, D) tokens: one fused ``qkv`` projection (no bias
    parameter of its own) plus optional ``q_bias`` / ``k_bias`` / ``v_bias`` (DINOv3 has no key
    bias, which matters under rotary embeddings), then ``proj``. With ``rope = (cos, sin)``, the
    last ``len(cos)`` tokens' queries and keys are rotated (prefix tokens are not)."""

    def __init__(self, dims: int, num_heads: int, q_bias: bool = True, k_bias: bool = True,
                 v_bias: bool = True, proj_bias: bool = True):
        super().__init__()
        if dims % num_heads:
            raise ValueError(f'Attention: dims={dims} not divisible by num_heads={num_heads}')
        self.num_heads, self.head_dim = num_heads, dims // num_heads
        self.qkv = nn.Linear(dims, 3 * dims, bias=False)
        for name, present in (('q_bias', q_bias), ('k_bias', k_bias), ('v_bias', v_bias)):
            self.register_parameter(name, nn.Parameter(torch.zeros(dims)) if present else None)
        self.proj = nn.Linear(dims, dims, bias=proj_bias)

    def _bias(self) -> Optional[torch.Tensor]:
        biases = (self.q_bias, self.k_bias, self.v_bias)
        if all(b is None for b in biases):
            return None
        zero = next(b for b in biases if b is not None).new_zeros(self.qkv.in_features)
        return torch.cat([zero if b is None else b for b in biases])

    def forward(self, x: torch.Tensor, rope: Optional[Tuple[torch.Tensor, torch.Tensor]] = None
                ) -> torch.Tensor:
        b, n, d = x.shape
        qkv = F.linear(x, self.qkv.weight, self._bias())
        q, k, v = qkv.reshape(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        if rope is not None:
            cos, sin = rope
            p = n - cos.shape[0]  # prefix tokens (class, registers) are not rotated
            q = torch.cat((q[:, :, :p], q[:, :, p:] * cos + _rotate_half(q[:, :, p:]) * sin), 2)
            k = torch.cat((k[:, :, :p], k[:, :, p:] * cos + _rotate_half(k[:, :, p:]) * sin), 2)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class LayerScale(nn.Module):
    """Per-channel scale ``gamma`` (DINOv2/v3's ``layer_scale*.lambda1``)."""

    def __init__(self, dims: int, init_value: float):
        super().__init__()
        self.init_value = init_value
        self.gamma = nn.Parameter(torch.full((dims,), float(init_value)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class Mlp(nn.Module):
    """``fc2(gelu(fc1(x)))`` (exact GELU)."""

    def __init__(self, dims: int, hidden: int, bias: bool = True):
        super().__init__()
        self.fc1 = nn.Linear(dims, hidden, bias=bias)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dims, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class TransformerLayer(nn.Module):
    """Pre-norm block: ``x + ls1(attn(norm1(x)))``, then ``x + ls2(mlp(norm2(x)))``, each branch
    under drop path. With ``window_size`` > 0 (SAM) attention runs inside non-overlapping
    windows of the (h, w) token grid (zero-padded to a multiple of the window); such layers take
    no prefix tokens."""

    def __init__(self, dims: int, num_heads: int, mlp_dims: int, norm_eps: float,
                 layer_scale_init: Optional[float], drop_path_rate: float, window_size: int = 0,
                 **bias_kwargs):
        super().__init__()
        self.window_size = window_size
        self.norm1 = nn.LayerNorm(dims, eps=norm_eps)
        self.attn = Attention(dims, num_heads, **bias_kwargs)
        self.ls1 = LayerScale(dims, layer_scale_init) if layer_scale_init is not None \
            else nn.Identity()
        self.norm2 = nn.LayerNorm(dims, eps=norm_eps)
        self.mlp = Mlp(dims, mlp_dims)
        self.ls2 = LayerScale(dims, layer_scale_init) if layer_scale_init is not None \
            else nn.Identity()
        self.drop_path = make_drop_path(drop_path_rate)

    def _attend(self, x: torch.Tensor, grid: Tuple[int, int], rope) -> torch.Tensor:
        if not self.window_size:
            return self.attn(x, rope)
        b, _, d = x.shape
        (h, w), s = grid, self.window_size
        ph, pw = (s - h % s) % s, (s - w % s) % s
        x = F.pad(x.reshape(b, h, w, d), (0, 0, 0, pw, 0, ph))
        hp, wp = h + ph, w + pw
        windows = x.reshape(b, hp // s, s, wp // s, s, d).permute(0, 1, 3, 2, 4, 5)
        out = self.attn(windows.reshape(-1, s * s, d))
        out = out.reshape(b, hp // s, wp // s, s, s, d).permute(0, 1, 3, 2, 4, 5)
        return out.reshape(b, hp, wp, d)[:, :h, :w].reshape(b, h * w, d)

    def forward(self, x: torch.Tensor, grid: Tuple[int, int], rope=None) -> torch.Tensor:
        x = x + self.drop_path(self.ls1(self._attend(self.norm1(x), grid, rope)))
        return x + self.drop_path(self.ls2(self.mlp(self.norm2(x))))


@MODELS.register_module()
class VisionTransformer(BaseBackbone):
    """ViT encoder returning patch-token feature maps.

    Args:
        arch: ``'small'`` (384 dims, 12 layers, 6 heads, MLP 1536), ``'base'`` (768, 12, 12,
            3072) or a dict with ``embed_dims``, ``num_layers``, ``num_heads``, ``mlp_dims``.
        patch_size: patch (and output stride) in pixels.
        in_channels: image channels.
        pos_embed: ``'learned'`` (added to the tokens, interpolated to the input's grid) or
            ``'rope'`` (DINOv3's rotary embedding in every attention).
        pos_embed_grid: side G of the stored G x G learned position grid (the pretraining
            image size / its patch size: 14 for DINO and MAE at 224 / 16, 37 for DINOv2 at
            518 / 14; SAM: the fine-tuning size / 16).
        with_cls_token: prepend a class token (it also has a learned position when
            ``pos_embed='learned'``); num_register_tokens: DINOv3's extra tokens after it.
        q_bias, k_bias, v_bias: which attention projections have a bias.
        layer_scale_init: LayerScale initial value (DINOv2/v3) or None for none.
        norm_eps: LayerNorm epsilon; final_norm: a LayerNorm on the output tokens.
        window_size, global_attn_indexes: SAM's windowed attention (0 = global everywhere).
        pos_antialias: antialias when resampling the position grid (SAM's resize in Lightning
            Pose uses it; ``transformers``' runtime interpolation does not).
        rope_theta, rope_shift, rope_jitter, rope_rescale: :class:`Rope2d` settings
            (DINOv3: 100, None, None, 2.0; the augmentations act in training only).
        drop_path_rate: stochastic depth rising linearly to this over the layers.
        out_indices: layers whose outputs are returned (default the last), each through the
            final norm when there is one.
        frozen_stages: -1 nothing, 0 the patch embedding and tokens, k also layers 1..k.
        norm_eval, freeze_norm_weights: accepted for the common interface; a ViT has no
            BatchNorm (its LayerNorms are frozen by ``frozen_stages`` only).
        with_cp: gradient checkpointing per layer.
        init_cfg: mmengine init config.

    Shapes: (N, in_channels, H, W) → tuple of (N, D, H / p, W / p) per output; H and W must be
    multiples of ``patch_size``.
    """

    arch_zoo = {'small': dict(embed_dims=384, num_layers=12, num_heads=6, mlp_dims=1536),
                'base': dict(embed_dims=768, num_layers=12, num_heads=12, mlp_dims=3072)}
    example_args = dict(arch=dict(embed_dims=32, num_layers=2, num_heads=2, mlp_dims=64),
                        pos_embed_grid=4)

    def __init__(self, arch='small', patch_size: int = 16, in_channels: int = 3,
                 pos_embed: str = 'learned', pos_embed_grid: int = 14,
                 with_cls_token: bool = True, num_register_tokens: int = 0,
                 q_bias: bool = True, k_bias: bool = True, v_bias: bool = True,
                 layer_scale_init: Optional[float] = None, norm_eps: float = 1e-6,
                 final_norm: bool = True, window_size: int = 0,
                 global_attn_indexes: Sequence[int] = (), pos_antialias: bool = False,
                 rope_theta: float = 100.0, rope_shift: Optional[float] = None,
                 rope_jitter: Optional[float] = None, rope_rescale: Optional[float] = None,
                 drop_path_rate: float = 0.0, out_indices: Optional[Sequence[int]] = None,
                 frozen_stages: int = -1, norm_eval: bool = False, with_cp: bool = False,
                 freeze_norm_weights: bool = False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        cfg = self._arch(arch)
        dims, num_layers = cfg['embed_dims'], cfg['num_layers']
        if pos_embed not in ('learned', 'rope'):
            raise ValueError(f"VisionTransformer: pos_embed={pos_embed!r} must be 'learned' or "
                             f"'rope'")
        if window_size and (with_cls_token or num_register_tokens):
            raise ValueError('VisionTransformer: windowed attention (window_size > 0) works on '
                             'the token grid alone: set with_cls_token=False and no registers')
        self.embed_dims, self.num_layers, self.patch_size = dims, num_layers, patch_size
        self.pos_embed_type, self.pos_antialias = pos_embed, pos_antialias
        self.with_cls_token, self.num_register_tokens = with_cls_token, num_register_tokens
        self.num_prefix_tokens = int(with_cls_token) + num_register_tokens
        self.out_indices = check_out_indices('VisionTransformer', (num_layers - 1,)
                                             if out_indices is None else out_indices, num_layers)
        self.frozen_stages = check_frozen_stages('VisionTransformer', frozen_stages, num_layers)
        self.norm_eval, self.with_cp = norm_eval, with_cp
        self.freeze_norm_weights = freeze_norm_weights

        self.patch_embed = nn.Conv2d(in_channels, dims, patch_size, stride=patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dims)) if with_cls_token else None
        self.register_tokens = (nn.Parameter(torch.zeros(1, num_register_tokens, dims))
                                if num_register_tokens else None)
        if pos_embed == 'learned':
            self.pos_embed = nn.Parameter(torch.zeros(
                1, int(with_cls_token) + pos_embed_grid ** 2, dims))
            self.rope = None
        else:
            self.pos_embed = None
            self.rope = Rope2d(dims // cfg['num_heads'], rope_theta, rope_shift, rope_jitter,
                               rope_rescale)
        rates = linear_drop_path_rates(drop_path_rate, num_layers)
        self.layers = nn.ModuleList(
            TransformerLayer(dims, cfg['num_heads'], cfg['mlp_dims'], norm_eps, layer_scale_init,
                             rates[i],
                             window_size if i not in tuple(global_attn_indexes) else 0,
                             q_bias=q_bias, k_bias=k_bias, v_bias=v_bias)
            for i in range(num_layers))
        self.norm = nn.LayerNorm(dims, eps=norm_eps) if final_norm else None
        self.out_channels = tuple(dims for _ in self.out_indices)
        self.out_strides = tuple(patch_size for _ in self.out_indices)
        self._freeze_stages()

    @classmethod
    def _arch(cls, arch) -> dict:
        keys = ('embed_dims', 'num_layers', 'num_heads', 'mlp_dims')
        if isinstance(arch, str):
            if arch not in cls.arch_zoo:
                raise ValueError(f'VisionTransformer: arch={arch!r} is not one of '
                                 f'{", ".join(map(repr, cls.arch_zoo))} or a dict with '
                                 f'{", ".join(keys)}')
            return dict(cls.arch_zoo[arch])
        missing = [k for k in keys if k not in arch]
        unknown = [k for k in arch if k not in keys]
        if missing or unknown:
            raise ValueError(f'VisionTransformer: arch is missing {missing} / has unknown keys '
                             f'{unknown}; it takes {", ".join(keys)}')
        return dict(arch)

    @property
    def pos_embed_grid(self) -> int:
        """Side of the stored position grid (0 with rotary embeddings)."""
        if self.pos_embed is None:
            return 0
        return math.isqrt(self.pos_embed.shape[1] - int(self.with_cls_token))

    # ---------------------------------------------------------------- BaseBackbone hooks
    def _stage_modules(self, index: int) -> List[nn.Module]:
        return [self.patch_embed] if index == 0 else [self.layers[index - 1]]

    def _freeze_stages(self) -> None:
        super()._freeze_stages()
        if self.frozen_stages >= 0:
            for param in (self.cls_token, self.register_tokens, self.pos_embed):
                if param is not None:
                    param.requires_grad = False

    def _init_from_scratch(self) -> None:
        """``transformers``' ViT initialisation: truncated normal (std 0.02) for linear and conv
        weights, the class / register tokens and position embeddings; biases 0; LayerNorm 1 / 0;
        LayerScale its initial value."""
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, LayerScale):
                nn.init.constant_(m.gamma, m.init_value)
            elif isinstance(m, Attention):
                for b in (m.q_bias, m.k_bias, m.v_bias):
                    if b is not None:
                        nn.init.zeros_(b)
        for param in (self.cls_token, self.register_tokens, self.pos_embed):
            if param is not None:
                nn.init.trunc_normal_(param, std=0.02)

    def convert_pretrained(self, state_dict: dict) -> Tuple[dict, str]:
        """Hugging Face ViT / DINOv2 / DINOv3 / SAM layouts → native (:mod:`.vit_keys`)."""
        from .vit_keys import convert_vit_state_dict
        return convert_vit_state_dict(self, state_dict)

    # ---------------------------------------------------------------- forward
    def _tokens(self, x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """Patch embedding, prefix tokens and learned positions: (B, P + h * w, D)."""
        x = self.patch_embed(x)
        grid = (x.shape[2], x.shape[3])
        x = x.flatten(2).transpose(1, 2)
        b = x.shape[0]
        if self.pos_embed is not None:
            start = int(self.with_cls_token)
            patches = resize_pos_grid(self.pos_embed[:, start:], grid, self.pos_antialias)
            x = x + patches
        prefix = []
        if self.cls_token is not None:
            cls = self.cls_token.expand(b, -1, -1)
            if self.pos_embed is not None:
                cls = cls + self.pos_embed[:, :1]
            prefix.append(cls)
        if self.register_tokens is not None:
            prefix.append(self.register_tokens.expand(b, -1, -1))
        return (torch.cat(prefix + [x], dim=1) if prefix else x), grid

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """(N, C, H, W) → tuple of (N, D, H / p, W / p) maps (see the class docstring)."""
        n, _, height, width = x.shape
        if height % self.patch_size or width % self.patch_size:
            raise ValueError(f'VisionTransformer: input {height}x{width} is not a multiple of '
                             f'patch_size={self.patch_size}')
        x, grid = self._tokens(x)
        rope = self.rope(*grid, x.device, x.dtype) if self.rope is not None else None
        outs = []
        for i, layer in enumerate(self.layers):
            if self.with_cp and x.requires_grad:
                x = cp.checkpoint(layer, x, grid, rope, use_reentrant=False)
            else:
                x = layer(x, grid, rope)
            if i in self.out_indices:
                y = self.norm(x) if self.norm is not None else x
                y = y[:, self.num_prefix_tokens:]
                outs.append(y.transpose(1, 2).reshape(n, self.embed_dims, *grid))
        return tuple(outs)
