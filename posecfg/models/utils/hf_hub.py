"""Weights published on the Hugging Face hub: ``hf://ORG/NAME[@REVISION][/FILE]`` and
``timm://MODEL[.TAG]``, found in the local caches or downloaded, never through
``huggingface_hub`` (not a dependency).

Where a file is looked for, in order:

1. the Hugging Face cache, where ``transformers``, ``timm`` and DeepLabCut put what they download:
   ``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else ``$XDG_CACHE_HOME/huggingface/hub`` (default
   ``~/.cache/huggingface/hub``), as ``models--ORG--NAME/snapshots/<commit>/FILE`` (the commit
   ``refs/REVISION`` names, else the newest snapshot holding the file);
2. posecfg's own download folder ``$TORCH_HOME/hub/checkpoints/huggingface/ORG/NAME/FILE``;
3. for ``timm://``, the torch hub cache file of the model's older GitHub-release URL, where
   timm < 0.9 saved it;

then a download into (2) is tried; if that fails, :class:`PretrainedNotFoundError` names the URL
to fetch and the path to save it as. Without a FILE, ``model.safetensors`` then
``pytorch_model.bin`` are tried (``transformers``' and timm's order).
"""
from __future__ import annotations

import glob
import os
import urllib.parse
from typing import List, Optional, Tuple

from mmengine.logging import print_log

from . import model_zoo  # download is looked up at call time (tests replace it)
from .model_zoo import PretrainedNotFoundError, hub_checkpoint_dir

HF_ENDPOINT = 'https://huggingface.co'
#: what ``from_pretrained`` and timm load from a model repository, in their order
HF_WEIGHT_FILES = ('model.safetensors', 'pytorch_model.bin')

#: timm model name → (default pretrained tag, legacy GitHub-release URL or None), read from
#: timm 1.0's ``default_cfgs`` (the first tag listed for a name is its default). Only the
#: architectures posecfg builds from timm's layout are listed.
TIMM_WEIGHTS = {
    'resnet18': ('a1_in1k', 'https://github.com/huggingface/pytorch-image-models/releases/'
                            'download/v0.1-rsb-weights/resnet18_a1_0-d63eafa0.pth'),
    'resnet34': ('a1_in1k', 'https://github.com/huggingface/pytorch-image-models/releases/'
                            'download/v0.1-rsb-weights/resnet34_a1_0-46f8f793.pth'),
    'resnet50': ('a1_in1k', 'https://github.com/rwightman/pytorch-image-models/releases/'
                            'download/v0.1-rsb-weights/resnet50_a1_0-14fe96d1.pth'),
    'resnet101': ('a1h_in1k', 'https://github.com/rwightman/pytorch-image-models/releases/'
                              'download/v0.1-rsb-weights/resnet101_a1h-36d3f2aa.pth'),
    'resnet152': ('a1h_in1k', 'https://github.com/rwightman/pytorch-image-models/releases/'
                              'download/v0.1-rsb-weights/resnet152_a1h-dc400468.pth'),
    'resnet50_gn': ('a1h_in1k', 'https://github.com/rwightman/pytorch-image-models/releases/'
                                'download/v0.1-rsb-weights/resnet50_gn_a1h2-8fe6c4d0.pth'),
    'hrnet_w18': ('ms_aug_in1k', None),
    'hrnet_w32': ('ms_in1k', None),
    'hrnet_w48': ('ms_in1k', None),
}


def hf_cache_dir() -> str:
    """The Hugging Face hub cache folder, by huggingface_hub's environment rules."""
    if os.environ.get('HF_HUB_CACHE'):
        return os.path.expanduser(os.environ['HF_HUB_CACHE'])
    if os.environ.get('HF_HOME'):
        return os.path.join(os.path.expanduser(os.environ['HF_HOME']), 'hub')
    xdg = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(xdg, 'huggingface', 'hub')


def parse_hf_spec(spec: str, config_key: str) -> Tuple[str, Optional[str], Tuple[str, ...]]:
    """``hf://ORG/NAME[@REVISION][/FILE]`` → (``ORG/NAME``, revision or None, files to try)."""
    parts = spec[len('hf://'):].split('/')
    if len(parts) < 2 or not all(parts[:2]):
        raise PretrainedNotFoundError(
            f'{config_key}={spec!r}: a Hugging Face spec is hf://ORG/NAME[@REVISION][/FILE], '
            f'e.g. hf://facebook/dino-vits16/model.safetensors')
    name, _, revision = parts[1].partition('@')
    files = ('/'.join(parts[2:]),) if len(parts) > 2 else HF_WEIGHT_FILES
    return f'{parts[0]}/{name}', revision or None, files


def cached_hf_file(repo_id: str, filename: str, revision: Optional[str] = None
                   ) -> Optional[str]:
    """``filename`` of ``repo_id`` in the Hugging Face cache, or None."""
    folder = os.path.join(hf_cache_dir(), 'models--' + repo_id.replace('/', '--'))
    ref = os.path.join(folder, 'refs', revision or 'main')
    commits = []
    if os.path.isfile(ref):
        with open(ref) as f:
            commits.append(f.read().strip())
    if revision:
        commits.append(revision)  # a commit hash names its snapshot directly
    for commit in commits:
        path = os.path.join(folder, 'snapshots', commit, filename)
        if os.path.isfile(path):
            return path
    if revision:
        return None
    found = [p for p in glob.glob(os.path.join(folder, 'snapshots', '*', filename))
             if os.path.isfile(p)]
    return max(found, key=os.path.getmtime) if found else None


def own_hf_path(repo_id: str, filename: str) -> str:
    """Where posecfg downloads (and looks for) a Hugging Face file."""
    return os.path.join(hub_checkpoint_dir(), 'huggingface', *repo_id.split('/'), filename)


def hf_url(repo_id: str, filename: str, revision: Optional[str] = None) -> str:
    return f'{HF_ENDPOINT}/{repo_id}/resolve/{revision or "main"}/{filename}'


def resolve_hf(spec: str, config_key: str, timeout: float, logger=None,
               legacy_url: Optional[str] = None) -> str:
    """A local file holding the weights of an ``hf://`` spec (see the module docstring)."""
    repo_id, revision, files = parse_hf_spec(spec, config_key)
    for filename in files:
        for path in (cached_hf_file(repo_id, filename, revision), own_hf_path(repo_id, filename)):
            if path and os.path.isfile(path):
                return path
    legacy = None
    if legacy_url:
        legacy = os.path.join(hub_checkpoint_dir(),
                              os.path.basename(urllib.parse.urlparse(legacy_url).path))
        if os.path.isfile(legacy):
            return legacy
    attempts: List[Tuple[str, str]] = [(hf_url(repo_id, f, revision), own_hf_path(repo_id, f))
                                       for f in files]
    if legacy_url:
        attempts.append((legacy_url, legacy))
    return _download_first(spec, attempts, config_key, timeout, logger, repo_id, files)


def _download_first(spec: str, attempts: List[Tuple[str, str]], config_key: str,
                    timeout: float, logger, repo_id: str, files: Tuple[str, ...]) -> str:
    reasons = []
    for url, dst in attempts:
        try:
            print_log(f'downloading {url} to {dst}', logger=logger or 'current')
            model_zoo.download(url, dst, timeout=timeout)
            return dst
        except (OSError, ValueError) as err:
            reasons.append(str(getattr(err, 'reason', None) or err))
    url, dst = attempts[0]
    cache = os.path.join(hf_cache_dir(), 'models--' + repo_id.replace('/', '--'), 'snapshots',
                         '*', files[0])
    others = ''.join(f'; or {u} as {d}' for u, d in attempts[1:])
    raise PretrainedNotFoundError(
        f'cannot fetch the pretrained weights {config_key}={spec!r} ({reasons[0]}). Download '
        f'{url} and save it as {dst}{others} (files already in the Hugging Face cache, '
        f'{cache}, are found too), or pass the file directly with '
        f'{config_key}=/path/to/{os.path.basename(dst)}; {config_key}=None trains from scratch')


def resolve_timm(spec: str, config_key: str, timeout: float, logger=None) -> str:
    """``timm://MODEL[.TAG]`` → the file of ``hf://timm/MODEL.TAG`` (default tag from
    :data:`TIMM_WEIGHTS`), or of its legacy release URL."""
    name = spec[len('timm://'):]
    arch, _, tag = name.partition('.')
    if arch not in TIMM_WEIGHTS:
        raise PretrainedNotFoundError(
            f'{config_key}={spec!r}: posecfg knows timm weights for '
            f'{", ".join(sorted(TIMM_WEIGHTS))} (as MODEL or MODEL.TAG); for others give '
            f'hf://timm/MODEL.TAG or a local file')
    default_tag, legacy_url = TIMM_WEIGHTS[arch]
    legacy = legacy_url if (tag or default_tag) == default_tag else None
    return resolve_hf(f'hf://timm/{arch}.{tag or default_tag}', config_key, timeout, logger,
                      legacy_url=legacy)
