"""``hf://`` and ``timm://`` weight specs: the Hugging Face cache, posecfg's own download folder,
timm's legacy files, and the error that says what to download where."""
import os
import urllib.error

import pytest
import torch

from posecfg.models.backbones import ResNet
from posecfg.models.utils import PretrainedNotFoundError, load_pretrained, model_zoo
from posecfg.models.utils.hf_hub import hf_cache_dir, resolve_hf, resolve_timm
from tests.test_models.layouts import log  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Own caches per test, and no network: every download fails like an offline machine."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('HF_HUB_CACHE', str(tmp_path / 'hf'))
    calls = []

    def no_network(url, dst, timeout=None, **kwargs):
        calls.append((url, dst))
        raise urllib.error.URLError('no network in tests')
    monkeypatch.setattr(model_zoo, 'download', no_network)
    return calls


def put(path, data=b'x'):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)
    return str(path)


def test_cache_folder_follows_huggingface_hub_variables(monkeypatch, tmp_path):
    assert hf_cache_dir() == str(tmp_path / 'hf')
    monkeypatch.delenv('HF_HUB_CACHE')
    monkeypatch.setenv('HF_HOME', str(tmp_path / 'home'))
    assert hf_cache_dir() == str(tmp_path / 'home' / 'hub')
    monkeypatch.delenv('HF_HOME')
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    assert hf_cache_dir() == str(tmp_path / 'xdg' / 'huggingface' / 'hub')


def test_hf_file_found_in_the_snapshot_refs_main_names(tmp_path):
    repo = tmp_path / 'hf' / 'models--facebook--dino-vits16'
    put(repo / 'snapshots' / 'old' / 'pytorch_model.bin')
    wanted = put(repo / 'snapshots' / 'c0ffee' / 'pytorch_model.bin')
    put(repo / 'refs' / 'main', b'c0ffee')
    # no file named: model.safetensors (absent) then pytorch_model.bin, transformers' order
    assert resolve_hf('hf://facebook/dino-vits16', 'k', 1.0) == wanted
    assert resolve_hf('hf://facebook/dino-vits16@old/pytorch_model.bin', 'k', 1.0) == \
        str(repo / 'snapshots' / 'old' / 'pytorch_model.bin')
    safetensors = put(repo / 'snapshots' / 'c0ffee' / 'model.safetensors')
    assert resolve_hf('hf://facebook/dino-vits16', 'k', 1.0) == safetensors


def test_hf_file_in_posecfgs_download_folder(tmp_path):
    own = put(tmp_path / 'torch_home' / 'hub' / 'checkpoints' / 'huggingface' / 'DeepLabCut' /
              'DeepLabCut-Backbones' / 'cspnext_m.pt')
    assert resolve_hf('hf://DeepLabCut/DeepLabCut-Backbones/cspnext_m.pt', 'k', 1.0) == own


def test_missing_hf_file_says_what_to_download_and_where(tmp_path, isolated):
    with pytest.raises(PretrainedNotFoundError) as err:
        resolve_hf('hf://DeepLabCut/DeepLabCut-Backbones/cspnext_s.pt',
                   'model.backbone.init_cfg.checkpoint', 1.0)
    own = (tmp_path / 'torch_home' / 'hub' / 'checkpoints' / 'huggingface' / 'DeepLabCut' /
           'DeepLabCut-Backbones' / 'cspnext_s.pt')
    message = str(err.value)
    assert ("model.backbone.init_cfg.checkpoint='hf://DeepLabCut/DeepLabCut-Backbones/"
            "cspnext_s.pt' (no network in tests)") in message
    assert (f'Download https://huggingface.co/DeepLabCut/DeepLabCut-Backbones/resolve/main/'
            f'cspnext_s.pt and save it as {own}') in message
    assert str(tmp_path / 'hf' / 'models--DeepLabCut--DeepLabCut-Backbones' / 'snapshots' / '*'
               / 'cspnext_s.pt') in message
    assert 'model.backbone.init_cfg.checkpoint=None trains from scratch' in message
    assert isolated == [('https://huggingface.co/DeepLabCut/DeepLabCut-Backbones/resolve/main/'
                         'cspnext_s.pt', str(own))]


def test_a_successful_download_lands_in_the_own_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(model_zoo, 'download', lambda url, dst, timeout=None: put(dst))
    path = resolve_hf('hf://facebook/vit-mae-base', 'k', 1.0)
    assert path == str(tmp_path / 'torch_home' / 'hub' / 'checkpoints' / 'huggingface' /
                       'facebook' / 'vit-mae-base' / 'model.safetensors')


def test_timm_names_resolve_to_their_default_tag(tmp_path):
    cached = put(tmp_path / 'hf' / 'models--timm--resnet50_gn.a1h_in1k' / 'snapshots' / 'a1' /
                 'model.safetensors')
    assert resolve_timm('timm://resnet50_gn', 'k', 1.0) == cached
    assert resolve_timm('timm://resnet50_gn.a1h_in1k', 'k', 1.0) == cached


def test_timm_legacy_release_file_in_the_torch_hub_cache(tmp_path):
    legacy = put(tmp_path / 'torch_home' / 'hub' / 'checkpoints' /
                 'resnet50_gn_a1h2-8fe6c4d0.pth')
    assert resolve_timm('timm://resnet50_gn', 'k', 1.0) == legacy


def test_missing_timm_weights_name_both_sources(tmp_path):
    with pytest.raises(PretrainedNotFoundError) as err:
        load_pretrained(ResNet(50, num_stages=1, strides=(1,), dilations=(1,), out_indices=(0,)),
                        'timm://resnet50_gn')
    message = str(err.value)
    checkpoints = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    assert ('Download https://huggingface.co/timm/resnet50_gn.a1h_in1k/resolve/main/'
            f'model.safetensors and save it as {checkpoints}/huggingface/timm/'
            'resnet50_gn.a1h_in1k/model.safetensors') in message
    assert ('https://github.com/rwightman/pytorch-image-models/releases/download/'
            f'v0.1-rsb-weights/resnet50_gn_a1h2-8fe6c4d0.pth as {checkpoints}/'
            'resnet50_gn_a1h2-8fe6c4d0.pth') in message
    assert 'model.pretrained=/path/to/model.safetensors' in message


@pytest.mark.parametrize('spec, message', [
    ('timm://resnet26', r"model.pretrained='timm://resnet26': posecfg knows timm weights for "
                        r"hrnet_w18, .* for others give hf://timm/MODEL.TAG"),
    ('hf://facebook', r"a Hugging Face spec is hf://ORG/NAME\[@REVISION\]\[/FILE\]"),
])
def test_bad_specs(spec, message):
    with pytest.raises(PretrainedNotFoundError, match=message):
        load_pretrained(ResNet(18), spec)


def test_end_to_end_from_the_huggingface_cache(tmp_path, log):
    source = ResNet(18, stem_channels=8, base_channels=8)
    path = tmp_path / 'hf' / 'models--timm--resnet18.a1_in1k' / 'snapshots' / 'r' / \
        'pytorch_model.bin'
    os.makedirs(path.parent)
    torch.save({**source.state_dict(), 'fc.weight': torch.zeros(1000, 64)}, path)
    target = ResNet(18, stem_channels=8, base_channels=8)
    report = load_pretrained(target, 'timm://resnet18', logger=log)
    assert report.path == str(path) and report.unexpected == ['fc.weight']
    assert torch.equal(target.layer2[0].conv1.weight, source.layer2[0].conv1.weight)
