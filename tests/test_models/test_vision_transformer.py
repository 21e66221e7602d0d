"""VisionTransformer: sizes of the Lightning Pose ViTs, Hugging Face layouts, positions, windows."""
import re

import pytest
import torch
import torch.nn.functional as F

from posecfg.models.backbones import VisionTransformer
from posecfg.models.backbones.named import lp_backbone_cfg
from posecfg.models.backbones.vision_transformer import Rope2d
from posecfg.models.utils import load_pretrained
from tests.test_models.layouts import log  # noqa: F401  (fixture)
from tests.test_models.layouts import (assert_bijective_load, hf_dinov2_shapes,
                                       hf_dinov3_shapes, hf_sam_vision_shapes, hf_vit_shapes,
                                       index_of, meta_build, n_params, numbered)

TINY = dict(embed_dims=32, num_layers=2, num_heads=2, mlp_dims=64)


# ------------------------------------------------------------------ sizes
@pytest.mark.parametrize('name, published, head', [('vits_dino', 22_050_664, 384),
                                                   ('vitb_dino', 86_567_656, 768),
                                                   ('vitb_imagenet', 86_567_656, 768)])
def test_dino_and_mae_are_vit_s16_and_b16(name, published, head):
    """timm vit_small/base_patch16_224: 22,050,664 / 86,567,656 parameters with the
    ``D x 1000`` classifier (timm's model cards: 22.1 M, 86.6 M); same encoder as the Hugging
    Face ViTModel without pooler."""
    model = meta_build(lp_backbone_cfg(name))
    assert model.out_channels == (head,) and model.out_strides == (16,)
    assert n_params(model) == published - (head * 1000 + 1000)

pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


def encoder_params(dims, mlp, layers, biases=3, layer_scale=False):
    """Per layer: two LayerNorms, q/k/v/out projections (``biases`` of q, k, v), the MLP and
    optional LayerScales."""
    per_layer = 4 * dims + 4 * dims * dims + biases * dims + dims + 2 * dims * mlp + mlp + dims
    return layers * (per_layer + (2 * dims if layer_scale else 0))


@pytest.mark.parametrize('name, dims, mlp', [('vits_dinov2', 384, 1536),
                                             ('vitb_dinov2', 768, 3072)])
def test_dinov2_size(name, dims, mlp):
    """DINOv2: 16x16 patch conv (resampled from 14), class token, 1 + 37² positions (518 / 14),
    12 layers with LayerScale, final LayerNorm (the mask token is not used)."""
    patch = dims * 3 * 16 * 16 + dims
    expected = patch + dims + (1 + 37 * 37) * dims + encoder_params(dims, mlp, 12,
                                                                    layer_scale=True) + 2 * dims
    assert n_params(meta_build(lp_backbone_cfg(name))) == expected


@pytest.mark.parametrize('name, dims, mlp', [('vits_dinov3', 384, 1536),
                                             ('vitb_dinov3', 768, 3072)])
def test_dinov3_size(name, dims, mlp):
    """DINOv3: class token + 4 registers, rotary positions (no parameters), no key bias."""
    model = meta_build(lp_backbone_cfg(name))
    expected = (dims * 3 * 256 + dims + 5 * dims
                + encoder_params(dims, mlp, 12, biases=2, layer_scale=True) + 2 * dims)
    assert n_params(model) == expected
    assert model.layers[0].attn.k_bias is None and model.num_prefix_tokens == 5


@pytest.mark.parametrize('image_size', [128, 256])
def test_sam_size_and_grid(image_size):
    """SAM ViT-B as Lightning Pose uses it: no class token, a (size / 16)² position grid, no
    final norm, no neck, no relative positions."""
    model = meta_build(lp_backbone_cfg('vitb_sam', image_size=image_size))
    grid = image_size // 16
    assert model.pos_embed.shape == (1, grid * grid, 768)
    expected = 768 * 3 * 256 + 768 + grid * grid * 768 + encoder_params(768, 3072, 12)
    assert n_params(model) == expected
    assert [layer.window_size for layer in model.layers] == [14, 14, 0] * 4


# ------------------------------------------------------------------ Hugging Face layouts
def assert_fused(model, shapes, layer, names):
    """qkv rows are the checkpoint's q, k, v tensors in that order."""
    qkv = model.layers[layer].attn.qkv.weight
    d = qkv.shape[1]
    for block, name in enumerate(names):
        assert torch.all(qkv[block * d:(block + 1) * d] == index_of(shapes, name))


def test_dino_hub_file_with_pooler(tmp_path, log):
    shapes = hf_vit_shapes(32, 2, 64, grid=4)
    shapes['pooler.dense.weight'], shapes['pooler.dense.bias'] = (32, 32), (32,)
    torch.save(numbered(shapes), tmp_path / 'pytorch_model.bin')
    model = VisionTransformer(TINY, pos_embed_grid=4, norm_eps=1e-12)
    report = load_pretrained(model, str(tmp_path / 'pytorch_model.bin'), logger=log)
    assert report.layout == 'hf-vit'
    ours = assert_bijective_load(model, report, ['pooler.dense.weight', 'pooler.dense.bias'])
    p = 'encoder.layer.1.'
    for theirs, mine in [('embeddings.position_embeddings', 'pos_embed'),
                         ('embeddings.patch_embeddings.projection.weight', 'patch_embed.weight'),
                         (p + 'attention.attention.key.bias', 'layers.1.attn.k_bias'),
                         (p + 'attention.output.dense.weight', 'layers.1.attn.proj.weight'),
                         (p + 'intermediate.dense.bias', 'layers.1.mlp.fc1.bias'),
                         (p + 'output.dense.weight', 'layers.1.mlp.fc2.weight'),
                         (p + 'layernorm_after.weight', 'layers.1.norm2.weight'),
                         ('layernorm.bias', 'norm.bias')]:
        assert ours[index_of(shapes, theirs)] == mine
    assert_fused(model, shapes, 1, [p + f'attention.attention.{n}.weight'
                                    for n in ('query', 'key', 'value')])


# transformers 5 renames of ViTModel (transformers/conversion_mapping.py, "ViTModel")
VIT_V5 = [(r'encoder\.layer\.', 'layers.'), (r'attention\.attention\.query', 'attention.q_proj'),
          (r'attention\.attention\.key', 'attention.k_proj'),
          (r'attention\.attention\.value', 'attention.v_proj'),
          (r'attention\.output\.dense', 'attention.o_proj'),
          (r'intermediate\.dense', 'mlp.fc1'), (r'\.output\.dense', '.mlp.fc2')]


def renamed(shapes, rules):
    out = {}
    for key, shape in shapes.items():
        for pattern, repl in rules:
            key = re.sub(pattern, repl, key)
        out[key] = shape
    return out


def test_lightning_pose_checkpoints_in_transformers_5_names(tmp_path, log):
    """A Lightning Pose .ckpt: ``state_dict`` → ``backbone.vision_encoder.<ViTModel keys>``,
    here as transformers 5 names them, next to the head's tensors."""
    shapes = renamed(hf_vit_shapes(32, 2, 64, grid=4), VIT_V5)
    ckpt = {'state_dict': {**{f'backbone.vision_encoder.{k}': v
                              for k, v in numbered(shapes).items()},
                           'head.upsampling_layers.1.weight': torch.zeros(1)},
            'hyper_parameters': {}}
    torch.save(ckpt, tmp_path / 'epoch=9-step=90-best.ckpt')
    model = VisionTransformer(TINY, pos_embed_grid=4)
    report = load_pretrained(model, str(tmp_path / 'epoch=9-step=90-best.ckpt'), strict=True,
                             logger=log)
    assert report.layout == 'hf-vit-v5' and report.prefix == 'backbone.vision_encoder.'
    ours = assert_bijective_load(model, report, [])
    assert ours[index_of(shapes, 'layers.0.mlp.fc2.bias')] == 'layers.0.mlp.fc2.bias'
    assert_fused(model, shapes, 0, [f'layers.0.attention.{n}_proj.weight' for n in 'qkv'])


def test_mae_encoder_inside_the_pretraining_model(tmp_path, log):
    """facebook/vit-mae-base is a ViTMAEForPreTraining: encoder under ``vit.``, a decoder."""
    shapes = hf_vit_shapes(32, 2, 64, grid=4, prefix='vit.')
    shapes['decoder.decoder_embed.weight'] = (16, 32)
    torch.save(numbered(shapes), tmp_path / 'mae.bin')
    model = VisionTransformer(TINY, pos_embed_grid=4)
    report = load_pretrained(model, str(tmp_path / 'mae.bin'), logger=log)
    assert_bijective_load(model, report, ['decoder.decoder_embed.weight'])


def test_dinov2_hub_file_patch_14_resampled_to_16(tmp_path, log):
    shapes = hf_dinov2_shapes(32, 2, grid=5)
    ckpt = numbered(shapes)
    kernel = torch.randn(32, 3, 14, 14)
    ckpt['embeddings.patch_embeddings.projection.weight'] = kernel
    torch.save(ckpt, tmp_path / 'model.bin')
    model = VisionTransformer(TINY, pos_embed_grid=5, layer_scale_init=1.0)
    report = load_pretrained(model, str(tmp_path / 'model.bin'), logger=log)
    assert report.layout == 'hf-dinov2'
    assert report.unexpected == ['embeddings.mask_token'] and not report.missing
    # Lightning Pose's rule (VisionEncoderDino._resize_patch_embedding_weights): each 14x14
    # kernel resized bicubically to 16x16 with align_corners=True, antialias=True
    expected = F.interpolate(kernel.reshape(96, 1, 14, 14), size=(16, 16), mode='bicubic',
                             align_corners=True, antialias=True).reshape(32, 3, 16, 16)
    assert torch.allclose(model.patch_embed.weight, expected)
    ours = {round(v.flatten()[0].item()): k for k, v in model.state_dict().items()
            if v.numel() and k != 'patch_embed.weight'}
    assert ours[index_of(shapes, 'encoder.layer.1.layer_scale2.lambda1')] == 'layers.1.ls2.gamma'
    assert_fused(model, shapes, 1, [f'encoder.layer.1.attention.attention.{n}.weight'
                                    for n in ('query', 'key', 'value')])


@pytest.mark.parametrize('model_prefix', ['', 'model.'])
def test_dinov3_hub_and_transformers_5_names(tmp_path, log, model_prefix):
    shapes = hf_dinov3_shapes(32, 2, 64, registers=4, model_prefix=model_prefix)
    torch.save(numbered(shapes), tmp_path / 'model.bin')
    model = VisionTransformer(TINY, pos_embed='rope', num_register_tokens=4, k_bias=False,
                              layer_scale_init=1.0, norm_eps=1e-5)
    report = load_pretrained(model, str(tmp_path / 'model.bin'), logger=log)
    assert report.layout == 'hf-dinov3'
    ours = assert_bijective_load(model, report, ['embeddings.mask_token'])
    assert ours[index_of(shapes, 'embeddings.register_tokens')] == 'register_tokens'
    assert ours[index_of(shapes, f'{model_prefix}layer.1.mlp.up_proj.bias')] == \
        'layers.1.mlp.fc1.bias'
    assert_fused(model, shapes, 1, [f'{model_prefix}layer.1.attention.{n}_proj.weight'
                                    for n in 'qkv'])


def test_sam_model_file_positions_resampled_and_unused_parts_reported(tmp_path, log):
    shapes = hf_sam_vision_shapes(dims=32, layers=2, grid=8, window=2, global_layers=(1,),
                                  heads=2)
    shapes['prompt_encoder.point_embed.0.weight'] = (1, 256)
    ckpt = numbered(shapes)
    ckpt['vision_encoder.pos_embed'] = torch.ones(1, 8, 8, 32) * 3.5  # constant stays constant
    torch.save(ckpt, tmp_path / 'sam.bin')
    model = VisionTransformer(TINY, with_cls_token=False, pos_embed_grid=4, window_size=2,
                              global_attn_indexes=(1,), final_norm=False, pos_antialias=True)
    report = load_pretrained(model, str(tmp_path / 'sam.bin'), logger=log)
    assert report.layout == 'hf-sam'
    unused = [k for k in shapes if '.neck.' in k or 'rel_pos' in k or 'prompt' in k]
    assert sorted(report.unexpected) == sorted(unused) and not report.missing
    assert torch.allclose(model.pos_embed, torch.full((1, 16, 32), 3.5))
    qkv = model.layers[0].attn
    base = index_of(shapes, 'vision_encoder.layers.0.attn.qkv.bias')
    assert torch.all(qkv.q_bias == base) and torch.all(qkv.v_bias == base)  # split of one tensor


def test_sam_grid_resampling_keeps_a_linear_ramp_inside():
    """64 → 8 positions (Lightning Pose: bicubic, antialias): output cell i samples input
    coordinate (i + 0.5) * 8 - 0.5; a symmetric kernel keeps a ramp there, away from borders."""
    from posecfg.models.backbones.vision_transformer import resize_pos_grid
    ramp = torch.arange(64.).expand(64, 64)  # value = x
    pos = ramp.reshape(1, 64 * 64, 1).expand(1, 64 * 64, 2)
    out = resize_pos_grid(pos, (8, 8), antialias=True).reshape(8, 8, 2)[..., 0]
    inner = torch.tensor([(i + 0.5) * 8 - 0.5 for i in range(2, 6)])
    assert torch.allclose(out[3, 2:6], inner, atol=1e-3)


# ------------------------------------------------------------------ forward behaviour
def test_outputs_drop_prefix_tokens_and_follow_the_input_grid():
    torch.manual_seed(0)
    model = VisionTransformer(TINY, pos_embed_grid=4, out_indices=(0, 1)).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, 64, 96))
    assert [tuple(o.shape) for o in out] == [(2, 32, 4, 6), (2, 32, 4, 6)]
    with pytest.raises(ValueError, match=r'input 64x90 is not a multiple of patch_size=16'):
        model(torch.rand(1, 3, 64, 90))


def test_position_grid_is_used_as_is_at_its_own_size():
    model = VisionTransformer(TINY, pos_embed_grid=4).eval()
    with torch.no_grad():
        model.pos_embed.normal_()
        tokens, grid = model._tokens(torch.zeros(1, 3, 64, 64))
    assert grid == (4, 4)
    bias = model.patch_embed.bias
    assert torch.allclose(tokens[0, 1:], model.pos_embed[0, 1:] + bias)
    assert torch.allclose(tokens[0, 0], model.cls_token[0, 0] + model.pos_embed[0, 0])


def test_rope_scores_depend_on_relative_position_only():
    rope = Rope2d(head_dim=8).eval()
    cos, sin = rope(4, 4, 'cpu', torch.float32)
    assert cos.shape == (16, 8)
    q = torch.randn(8).expand(16, 8)
    x1, x2 = q.chunk(2, dim=-1)
    rotated = q * cos + torch.cat((-x2, x1), dim=-1) * sin
    scores = (rotated @ rotated.T).reshape(4, 4, 4, 4)  # [y, x, y', x']
    assert torch.allclose(scores[0, 0, 1, 2], scores[2, 1, 3, 3], atol=1e-5)
    assert torch.allclose(scores[1, 3, 0, 1], scores[3, 2, 2, 0], atol=1e-5)
    train = Rope2d(head_dim=8, rescale=2.0).train()
    torch.manual_seed(0)
    a, b = train(4, 4, 'cpu', torch.float32)[0], train(4, 4, 'cpu', torch.float32)[0]
    assert not torch.equal(a, b)
    train.eval()
    assert torch.equal(train(4, 4, 'cpu', torch.float32)[0], cos)


def test_windowed_attention_is_local_and_global_when_the_window_covers_the_grid():
    torch.manual_seed(0)
    kw = dict(with_cls_token=False, pos_embed_grid=4, final_norm=False)
    arch = dict(TINY, num_layers=1)
    windowed = VisionTransformer(arch, window_size=2, **kw).eval()
    x = torch.rand(1, 3, 64, 64)
    y = x.clone()
    y[..., :16, :16] += 1.0  # changes patch (0, 0) only: window (0, 0)
    with torch.no_grad():
        a, b = windowed(x)[0], windowed(y)[0]
        changed = (a - b).abs().sum(dim=1)[0] > 1e-6
        assert changed[:2, :2].all() and not changed[2:].any() and not changed[:, 2:].any()
        whole = VisionTransformer(arch, window_size=4, **kw).eval()
        plain = VisionTransformer(arch, **kw).eval()
        plain.load_state_dict(whole.state_dict())
        assert torch.allclose(whole(x)[0], plain(x)[0], atol=1e-5)
        padded = VisionTransformer(arch, window_size=3, **kw).eval()  # 4 = 3 + 1: zero padding
        assert padded(x)[0].shape == (1, 32, 4, 4)


def test_frozen_stages_include_tokens_and_positions():
    model = VisionTransformer(TINY, pos_embed_grid=4, frozen_stages=1).train()
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert {'cls_token', 'pos_embed', 'patch_embed.weight'} <= frozen
    assert all(n.startswith(('cls_token', 'pos_embed', 'patch_embed', 'layers.0.'))
               for n in frozen) and any(n.startswith('layers.0.') for n in frozen)


@pytest.mark.parametrize('kwargs, message', [
    (dict(arch='huge'), r"arch='huge' is not one of 'small', 'base'"),
    (dict(arch=dict(embed_dims=8)), r"arch is missing \['num_layers', 'num_heads', 'mlp_dims'\]"),
    (dict(arch=TINY, pos_embed='sincos'), r"pos_embed='sincos' must be 'learned' or 'rope'"),
    (dict(arch=TINY, window_size=2), r'windowed attention .* set with_cls_token=False'),
])
def test_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        VisionTransformer(**kwargs)


def test_rope_pos_embed_has_no_stored_positions():
    model = VisionTransformer(TINY, pos_embed='rope', num_register_tokens=2)
    assert model.pos_embed is None and model.pos_embed_grid == 0
    with torch.no_grad():
        assert model.eval()(torch.rand(1, 3, 32, 48))[0].shape == (1, 32, 2, 3)
    assert F.gelu  # exact GELU is nn.GELU's default
