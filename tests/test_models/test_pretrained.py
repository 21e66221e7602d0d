"""load_pretrained: file formats, wrappers and prefixes, foreign layouts, safety, model-zoo URLs.

Foreign-layout state dicts are written out from the architectures' published structure (the
``*_layout`` functions below), not from posecfg's modules, and every tensor holds its own index
so that a test can tell which checkpoint tensor ended up in which parameter.
"""
import json
import logging
import os
import struct
import urllib.error

import pytest
import torch

from posecfg.models.backbones import HRNet, MobileNetV2, ResNet, ResNetV1d, ShuffleNetV2
from posecfg.models.utils import (PretrainedLoadError, PretrainedNotFoundError,
                                  UnsafeCheckpointError, load_pretrained, model_zoo)
from posecfg.models.utils.checkpoint_io import CheckpointReadError, read_checkpoint
from tests.test_models.layouts import assert_bijective_load, bn, index_of, numbered

REAL_DOWNLOAD = model_zoo.download  # taken before the fixture below replaces it


pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


@pytest.fixture(autouse=True)
def isolated_hub(tmp_path, monkeypatch):
    """Every test gets its own torch hub cache, and no test ever reaches the network."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))

    def no_network(url, dst, timeout=None, **kwargs):
        raise urllib.error.URLError('no network in tests')
    monkeypatch.setattr(model_zoo, 'download', no_network)


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.INFO, logger='test_pretrained')
    return logging.getLogger('test_pretrained')


def tiny_resnet():
    return ResNet(18, stem_channels=8, base_channels=8)


def save(path, obj):
    torch.save(obj, path)
    return str(path)


# ------------------------------------------------------------------ foreign layouts (facts)
MBV2_SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                 (6, 160, 3, 2), (6, 320, 1, 1)]  # t, c, n, s (MobileNetV2 paper, table 2)


def mbv2_blocks():
    """(in, out, expand) per inverted-residual block, in order."""
    blocks, cin = [], 32
    for t, c, n, _ in MBV2_SETTINGS:
        for _ in range(n):
            blocks.append((cin, c, t))
            cin = c
    return blocks


def torchvision_mobilenet_v2_layout():
    """torchvision.models.mobilenet_v2: features.0 = ConvBNReLU6(3, 32), features.1..17 =
    InvertedResidual (conv.0 = [expand ConvBNReLU6], then dw ConvBNReLU6, 1x1 conv, BN),
    features.18 = ConvBNReLU6(320, 1280), classifier = (Dropout, Linear)."""
    s = {'features.0.0.weight': (32, 3, 3, 3)}
    bn(s, 'features.0.1', 32)
    for n, (cin, cout, t) in enumerate(mbv2_blocks(), start=1):
        p, hidden = f'features.{n}.conv', cin * t
        if t == 1:
            s[f'{p}.0.0.weight'] = (hidden, 1, 3, 3)
            bn(s, f'{p}.0.1', hidden)
            s[f'{p}.1.weight'] = (cout, hidden, 1, 1)
            bn(s, f'{p}.2', cout)
        else:
            s[f'{p}.0.0.weight'] = (hidden, cin, 1, 1)
            bn(s, f'{p}.0.1', hidden)
            s[f'{p}.1.0.weight'] = (hidden, 1, 3, 3)
            bn(s, f'{p}.1.1', hidden)
            s[f'{p}.2.weight'] = (cout, hidden, 1, 1)
            bn(s, f'{p}.3', cout)
    s['features.18.0.weight'] = (1280, 320, 1, 1)
    bn(s, 'features.18.1', 1280)
    s['classifier.1.weight'], s['classifier.1.bias'] = (1000, 1280), (1000,)
    return s


def timm_mobilenetv2_100_layout():
    """timm mobilenetv2_100 (EfficientNet builder): conv_stem, bn1, blocks.i.j (stage 0 a
    DepthwiseSeparableConv: conv_dw, bn1, conv_pw, bn2; then InvertedResidual: conv_pw, bn1,
    conv_dw, bn2, conv_pwl, bn3), conv_head, bn2, classifier."""
    s = {'conv_stem.weight': (32, 3, 3, 3)}
    bn(s, 'bn1', 32)
    blocks = iter(mbv2_blocks())
    for i, (t, _, n, _) in enumerate(MBV2_SETTINGS):
        for j in range(n):
            cin, cout, _ = next(blocks)
            p, hidden = f'blocks.{i}.{j}', cin * t
            if t == 1:
                s[f'{p}.conv_dw.weight'] = (cin, 1, 3, 3)
                bn(s, f'{p}.bn1', cin)
                s[f'{p}.conv_pw.weight'] = (cout, cin, 1, 1)
                bn(s, f'{p}.bn2', cout)
            else:
                s[f'{p}.conv_pw.weight'] = (hidden, cin, 1, 1)
                bn(s, f'{p}.bn1', hidden)
                s[f'{p}.conv_dw.weight'] = (hidden, 1, 3, 3)
                bn(s, f'{p}.bn2', hidden)
                s[f'{p}.conv_pwl.weight'] = (cout, hidden, 1, 1)
                bn(s, f'{p}.bn3', cout)
    s['conv_head.weight'] = (1280, 320, 1, 1)
    bn(s, 'bn2', 1280)
    s['classifier.weight'], s['classifier.bias'] = (1000, 1280), (1000,)
    return s


def torchvision_shufflenet_v2_x1_0_layout():
    """torchvision shufflenet_v2_x1_0: conv1 = (conv, BN, ReLU), stage2..4 with (4, 8, 4) units
    of (branch1 = dw conv, BN, conv, BN, ReLU for stride 2; branch2 = conv, BN, ReLU, dw conv,
    BN, conv, BN, ReLU), conv5 = (conv, BN, ReLU), fc; channels 24, 116, 232, 464, 1024."""
    s = {'conv1.0.weight': (24, 3, 3, 3)}
    bn(s, 'conv1.1', 24)
    cin = 24
    for stage, (repeats, cout) in enumerate(zip((4, 8, 4), (116, 232, 464)), start=2):
        half = cout // 2
        for j in range(repeats):
            p = f'stage{stage}.{j}'
            if j == 0:
                s[f'{p}.branch1.0.weight'] = (cin, 1, 3, 3)
                bn(s, f'{p}.branch1.1', cin)
                s[f'{p}.branch1.2.weight'] = (half, cin, 1, 1)
                bn(s, f'{p}.branch1.3', half)
            s[f'{p}.branch2.0.weight'] = (half, cin if j == 0 else half, 1, 1)
            bn(s, f'{p}.branch2.1', half)
            s[f'{p}.branch2.3.weight'] = (half, 1, 3, 3)
            bn(s, f'{p}.branch2.4', half)
            s[f'{p}.branch2.5.weight'] = (half, half, 1, 1)
            bn(s, f'{p}.branch2.6', half)
            cin = cout
    s['conv5.0.weight'] = (1024, 464, 1, 1)
    bn(s, 'conv5.1', 1024)
    s['fc.weight'], s['fc.bias'] = (1000, 1024), (1000,)
    return s


def timm_resnet18d_stem_layout():
    """timm resnet18d's stem: conv1 = (conv 3→32, BN, ReLU, conv 32→32, BN, ReLU, conv 32→64),
    bn1 = BN(64)."""
    s = {'conv1.0.weight': (32, 3, 3, 3)}
    bn(s, 'conv1.1', 32)
    s['conv1.3.weight'] = (32, 32, 3, 3)
    bn(s, 'conv1.4', 32)
    s['conv1.6.weight'] = (64, 32, 3, 3)
    bn(s, 'bn1', 64)
    return s


def test_torchvision_mobilenet_v2_converts(tmp_path, log):
    shapes = torchvision_mobilenet_v2_layout()
    path = save(tmp_path / 'mobilenet_v2-b0353104.pth', numbered(shapes))
    model = MobileNetV2()
    report = load_pretrained(model, path, logger=log)
    assert report.layout == 'torchvision'
    ours = assert_bijective_load(model, report, ['classifier.1.weight',
                                                         'classifier.1.bias'])
    for theirs, mine in [('features.0.0.weight', 'conv1.conv.weight'),
                         ('features.1.conv.0.0.weight', 'layer1.0.conv.0.conv.weight'),
                         ('features.1.conv.2.running_var', 'layer1.0.conv.1.bn.running_var'),
                         ('features.2.conv.0.1.running_mean', 'layer2.0.conv.0.bn.running_mean'),
                         ('features.2.conv.1.0.weight', 'layer2.0.conv.1.conv.weight'),
                         ('features.2.conv.1.1.weight', 'layer2.0.conv.1.bn.weight'),
                         ('features.17.conv.3.bias', 'layer7.0.conv.2.bn.bias'),
                         ('features.18.1.weight', 'conv2.bn.weight')]:
        assert ours[index_of(shapes, theirs)] == mine


def test_timm_mobilenet_v2_converts(tmp_path, log):
    shapes = timm_mobilenetv2_100_layout()
    path = save(tmp_path / 'timm.pth', numbered(shapes))
    model = MobileNetV2()
    report = load_pretrained(model, path, logger=log)
    assert report.layout == 'timm'
    ours = assert_bijective_load(model, report, ['classifier.weight', 'classifier.bias'])
    for theirs, mine in [('bn1.weight', 'conv1.bn.weight'),
                         ('blocks.0.0.conv_pw.weight', 'layer1.0.conv.1.conv.weight'),
                         ('blocks.3.2.conv_dw.weight', 'layer4.2.conv.1.conv.weight'),
                         ('blocks.3.2.bn1.bias', 'layer4.2.conv.0.bn.bias'),
                         ('blocks.3.2.bn2.bias', 'layer4.2.conv.1.bn.bias'),
                         ('blocks.6.0.bn3.running_mean', 'layer7.0.conv.2.bn.running_mean'),
                         ('bn2.bias', 'conv2.bn.bias')]:
        assert ours[index_of(shapes, theirs)] == mine


def test_torchvision_shufflenet_v2_converts(tmp_path, log):
    shapes = torchvision_shufflenet_v2_x1_0_layout()
    path = save(tmp_path / 'shufflenetv2_x1-5666bf0f80.pth', numbered(shapes))
    model = ShuffleNetV2()
    report = load_pretrained(model, path, logger=log)
    assert report.layout == 'torchvision'
    ours = assert_bijective_load(model, report, ['fc.weight', 'fc.bias'])
    for theirs, mine in [('stage2.0.branch1.2.weight', 'layers.0.0.branch1.1.conv.weight'),
                         ('stage3.5.branch2.4.running_var', 'layers.1.5.branch2.1.bn.running_var'),
                         ('stage3.5.branch2.1.running_var', 'layers.1.5.branch2.0.bn.running_var'),
                         ('stage4.0.branch1.1.weight', 'layers.2.0.branch1.0.bn.weight'),
                         ('conv5.0.weight', 'layers.3.conv.weight')]:
        assert ours[index_of(shapes, theirs)] == mine


def test_timm_resnet_d_stem_converts(tmp_path, log):
    model = ResNetV1d(18)
    shapes = timm_resnet18d_stem_layout()
    shapes.update({k: tuple(v.shape) for k, v in model.state_dict().items()
                   if k.startswith('layer')})  # stages: same names in timm and mmcls
    path = save(tmp_path / 'resnet18d.pth', numbered(shapes))
    report = load_pretrained(model, path, logger=log)
    assert report.layout == 'timm'
    ours = assert_bijective_load(model, report, [])
    assert ours[index_of(shapes, 'conv1.4.weight')] == 'stem.1.bn.weight'
    assert ours[index_of(shapes, 'bn1.running_var')] == 'stem.2.bn.running_var'


def test_hrnet_classification_checkpoint_loads_and_reports_head(tmp_path, log, caplog):
    model = HRNet('w18')
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    sd['incre_modules.0.0.conv1.weight'] = torch.zeros(32, 18, 1, 1)
    sd['classifier.weight'] = torch.zeros(1000, 2048)
    report = load_pretrained(HRNet('w18'), save(tmp_path / 'hrnet_w18.pth', sd), logger=log)
    assert report.unexpected == ['incre_modules.0.0.conv1.weight', 'classifier.weight']
    assert 'incre_modules.0.0.conv1.{weight}, classifier.{weight}' in caplog.text


# ------------------------------------------------------------------ wrappers and prefixes
@pytest.mark.parametrize('wrap', [
    lambda sd: sd,
    lambda sd: {'state_dict': sd, 'meta': {'epoch': 3}},
    lambda sd: {'model': sd, 'optimizer': {}},
    lambda sd: {'state_dict': {f'module.{k}': v for k, v in sd.items()}},
    lambda sd: {'state_dict': {**{f'backbone.{k}': v for k, v in sd.items()},
                               'keypoint_head.final_layer.weight': torch.zeros(17, 64, 1, 1)}},
    lambda sd: {'model': {**{f'backbone.model.{k}': v for k, v in sd.items()},
                          'heads.bodypart.heatmap_head.deconv_layers.0.weight': torch.zeros(1)},
                'metadata': {'epoch': 5}},
], ids=['plain', 'state_dict', 'model', 'module.', 'whole-model', 'deeplabcut-3-snapshot'])
def test_checkpoint_wrappers(tmp_path, log, wrap):
    torch.manual_seed(0)
    source = tiny_resnet()
    path = save(tmp_path / 'ckpt.pth', wrap(source.state_dict()))
    target = tiny_resnet()
    report = load_pretrained(target, path, strict=True, logger=log)
    assert report.loaded == list(source.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(source.state_dict().values(),
                                                 target.state_dict().values()))


def test_explicit_prefix_and_a_prefix_that_matches_nothing(tmp_path, log):
    source = tiny_resnet()
    path = save(tmp_path / 'ckpt.pth', {f'teacher.{k}': v for k, v in
                                        source.state_dict().items()})
    report = load_pretrained(tiny_resnet(), path, prefix='teacher', logger=log)
    assert report.prefix == 'teacher.' and not report.missing
    with pytest.raises(PretrainedLoadError, match=r"no key starts with prefix 'student\.'; its "
                                                  r"keys start with teacher\. \(\d+ keys\)"):
        load_pretrained(tiny_resnet(), path, prefix='student.', logger=log)


def test_mismatch_missing_and_unexpected_are_reported(tmp_path, log, caplog):
    sd = tiny_resnet().state_dict()
    sd['fc.weight'] = torch.zeros(10, 64)
    del sd['layer4.1.conv2.weight']
    path = save(tmp_path / 'ckpt.pth', sd)
    model = ResNet(18, in_channels=1, stem_channels=8, base_channels=8)
    report = load_pretrained(model, path, logger=log)
    assert report.mismatched == [('conv1.weight', (8, 3, 7, 7), (8, 1, 7, 7))]
    assert report.missing == ['layer4.1.conv2.weight'] and report.unexpected == ['fc.weight']
    assert f'skipped tensors whose shape differs (in {path} vs in the model): conv1.weight ' \
           f'[8, 3, 7, 7] vs [8, 1, 7, 7]' in caplog.text
    assert 'not in' in caplog.text and 'layer4.1.conv2.{weight}' in caplog.text
    assert 'ignored keys' in caplog.text and 'fc.{weight}' in caplog.text
    with pytest.raises(PretrainedLoadError, match=r'does not fit ResNet exactly \(strict=True\): '
                                                  r'missing layer4\.1\.conv2\.\{weight\}'):
        load_pretrained(model, path, strict=True, logger=log)


def test_nothing_matching_is_an_error(tmp_path, log):
    path = save(tmp_path / 'ckpt.pth', tiny_resnet().state_dict())
    with pytest.raises(PretrainedLoadError, match=r"nothing in .*ckpt.pth fits MobileNetV2 "
                                                  r"\(layout seen: native\)\. Checkpoint keys "
                                                  r"look like \['conv1.weight'"):
        load_pretrained(MobileNetV2(widen_factor=0.5), path, logger=log)
    with pytest.raises(PretrainedLoadError, match=r'names match but no shape does .*another '
                                                  r'variant'):
        load_pretrained(ResNet(18, stem_channels=16, base_channels=16), path, logger=log)


def test_checkpoint_without_tensors(tmp_path, log):
    path = save(tmp_path / 'meta.pth', {'meta': {'epoch': 1}})
    with pytest.raises(PretrainedLoadError, match=r"holds no tensors, neither at the top level "
                                                  r"nor under state_dict / model.*\['meta'\]"):
        load_pretrained(tiny_resnet(), path, logger=log)


# ------------------------------------------------------------------ reading files safely
class Evil:
    """Unpickling this calls ``open(marker, 'w')``: a stand-in for arbitrary code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, 'w')


def test_pickle_that_would_run_code_is_refused(tmp_path, log):
    marker = tmp_path / 'code_ran'
    path = save(tmp_path / 'evil.pth', {'state_dict': tiny_resnet().state_dict(),
                                        'payload': Evil(str(marker))})
    with pytest.raises(UnsafeCheckpointError, match=r'refusing to load .*evil.pth: its pickle '
                                                    r'needs io\.open, which unpickling would '
                                                    r'import and call.*'
                                                    r'weights_only=False'):
        load_pretrained(tiny_resnet(), path, logger=log)
    assert not marker.exists()


def test_numpy_arrays_in_metadata_are_accepted(tmp_path):
    import numpy as np
    path = save(tmp_path / 'with_meta.pth',
                {'state_dict': {'w': torch.ones(2)},
                 'meta': {'dataset_meta': {'sigmas': np.ones(17, np.float32),
                                           'flip': np.array([1, 0]), 'n': np.int64(3),
                                           # no skeleton: an empty array pickles bytes()
                                           'links': np.zeros((0, 3), np.uint8)}}})
    ckpt = read_checkpoint(path)
    assert ckpt['meta']['dataset_meta']['sigmas'].shape == (17,)
    assert ckpt['meta']['dataset_meta']['links'].shape == (0, 3)


def test_corrupt_file_is_explained(tmp_path):
    path = tmp_path / 'broken.pth'
    path.write_bytes(b'not a checkpoint at all')
    with pytest.raises(CheckpointReadError, match=r'broken.pth: not a readable PyTorch '
                                                  r'checkpoint'):
        read_checkpoint(str(path))


def write_safetensors(path, tensors):
    """The safetensors format: u64 little-endian header size, JSON header, raw bytes."""
    names = {torch.float32: 'F32', torch.int64: 'I64'}
    header, blobs, offset = {'__metadata__': {'format': 'pt'}}, [], 0
    for name, t in tensors.items():
        blob = t.contiguous().numpy().tobytes()
        header[name] = {'dtype': names[t.dtype], 'shape': list(t.shape),
                        'data_offsets': [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack('<Q', len(raw)) + raw + b''.join(blobs))
    return str(path)


def test_safetensors_files_load(tmp_path, log):
    source = tiny_resnet()
    path = write_safetensors(tmp_path / 'model.safetensors', source.state_dict())
    target = tiny_resnet()
    load_pretrained(target, path, strict=True, logger=log)
    assert torch.equal(target.layer3[1].bn2.running_var, source.layer3[1].bn2.running_var)
    (tmp_path / 'bad.safetensors').write_bytes(struct.pack('<Q', 10 ** 9) + b'{}')
    with pytest.raises(CheckpointReadError, match=r'not a .safetensors file \(header size '
                                                  r'1000000000 does not fit'):
        read_checkpoint(str(tmp_path / 'bad.safetensors'))


# ------------------------------------------------------------------ init_weights routes
def test_init_cfg_pretrained_and_model_pretrained_go_through_load_pretrained(tmp_path):
    torch.manual_seed(0)
    source = tiny_resnet()
    path = save(tmp_path / 'ckpt.pth', {'state_dict': {f'backbone.{k}': v for k, v in
                                                       source.state_dict().items()}})
    via_init_cfg = ResNet(18, stem_channels=8, base_channels=8,
                          init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
    via_init_cfg.init_weights()
    via_argument = tiny_resnet()
    via_argument.init_weights(pretrained=path)
    for model in (via_init_cfg, via_argument):
        assert torch.equal(model.conv1.weight, source.conv1.weight)
    with pytest.raises(PretrainedNotFoundError,
                       match=r"model.backbone.init_cfg.checkpoint='/nonexistent.pth': no such "
                             r"file"):
        ResNet(18, init_cfg=dict(type='Pretrained', checkpoint='/nonexistent.pth')).init_weights()


# ------------------------------------------------------------------ model zoo
@pytest.mark.parametrize('name, filename', [
    ('resnet18', 'resnet18-f37072fd.pth'), ('resnet34', 'resnet34-b627a593.pth'),
    ('resnet50', 'resnet50-0676ba61.pth'), ('resnet101', 'resnet101-63fe2227.pth'),
    ('resnet152', 'resnet152-394f9c45.pth'), ('mobilenet_v2', 'mobilenet_v2-b0353104.pth')])
def test_torchvision_names_map_to_torchvision_files(name, filename):
    assert model_zoo.url_for(f'torchvision://{name}') == \
        f'https://download.pytorch.org/models/{filename}'


def test_openmmlab_and_mmcls_names():
    assert model_zoo.url_for('open-mmlab://msra/hrnetv2_w32').endswith('hrnetv2_w32-dc9eeb4f.pth')
    assert model_zoo.url_for('mmcls://mobilenet_v2').startswith(
        'https://download.openmmlab.com/mmclassification/')
    with pytest.raises(PretrainedNotFoundError, match=r"model.pretrained='torchvision://resnet5'"
                                                      r": torchvision:// has no weights named "
                                                      r"'resnet5'; closest names: resnet50"):
        model_zoo.url_for('torchvision://resnet5')


def test_cache_hit_needs_no_download(tmp_path, log, monkeypatch):
    cache = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    cache.mkdir(parents=True)
    source = ResNet(18)
    torch.save(source.state_dict(), cache / 'resnet18-f37072fd.pth')
    monkeypatch.setattr(model_zoo, 'download', lambda *a, **k: pytest.fail('downloaded'))
    target = ResNet(18)
    report = load_pretrained(target, 'torchvision://resnet18', logger=log)
    assert report.path == str(cache / 'resnet18-f37072fd.pth') and not report.missing
    assert torch.equal(target.layer2[0].downsample[0].weight, source.layer2[0].downsample[0].weight)


def test_unfetchable_weights_say_what_to_download_and_where(tmp_path, log):
    cache = tmp_path / 'torch_home' / 'hub' / 'checkpoints' / 'resnet50-0676ba61.pth'
    with pytest.raises(PretrainedNotFoundError) as err:
        load_pretrained(ResNet(50, num_stages=1, strides=(1,), dilations=(1,), out_indices=(0,)),
                        'torchvision://resnet50', logger=log)
    message = str(err.value)
    assert "model.pretrained='torchvision://resnet50' (no network in tests)" in message
    assert f'Download https://download.pytorch.org/models/resnet50-0676ba61.pth and save it as ' \
           f'{cache}' in message
    assert 'model.pretrained=/path/to/resnet50-0676ba61.pth' in message
    assert 'model.pretrained=None trains from scratch' in message


def test_local_path_and_scheme_errors(log):
    with pytest.raises(PretrainedNotFoundError, match=r"model.pretrained='missing.pth': no such "
                                                      r"file \(looked at .*missing.pth\).*"
                                                      r"model.pretrained=None"):
        load_pretrained(tiny_resnet(), 'missing.pth', logger=log)
    with pytest.raises(PretrainedNotFoundError, match=r"unknown scheme 's3'; use a local path "
                                                      r"or one of torchvision://"):
        load_pretrained(tiny_resnet(), 's3://bucket/w.pth', logger=log)


def test_download_writes_atomically_and_checks_the_hash(tmp_path):
    import hashlib
    payload = b'weights' * 100
    src = tmp_path / 'src.bin'
    src.write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()[:8]
    good = tmp_path / 'cache' / f'net-{digest}.pth'
    download = REAL_DOWNLOAD
    download(src.as_uri(), str(good))
    assert good.read_bytes() == payload
    bad = tmp_path / 'cache' / 'net-deadbeef.pth'
    with pytest.raises(ValueError, match=r'name says deadbeef: incomplete or altered download'):
        download(src.as_uri(), str(bad))
    assert sorted(os.listdir(tmp_path / 'cache')) == [good.name]

