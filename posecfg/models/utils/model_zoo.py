"""Where pretrained weights come from: local files, ``torchvision://``, ``mmcls://``,
``open-mmlab://`` names, ``http(s)://`` URLs, and Hugging Face's ``hf://ORG/NAME[/FILE]`` and
``timm://MODEL`` (:mod:`.hf_hub`).

A URL's file is looked up in the torch hub cache (``$TORCH_HOME/hub/checkpoints``, by default
``~/.cache/torch/hub/checkpoints``, the place torchvision and mmengine use), downloaded there if
possible (short timeout, written to a temporary name and renamed, checked against the SHA-256
prefix in its name), and otherwise :class:`PretrainedNotFoundError` says which file to download
from where, where to put it, and how to pass a local file instead.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Dict, Optional

import torch
from mmengine.logging import print_log

#: Seconds to wait for the server to answer (and between received chunks): without network
#: this fails in milliseconds (DNS) or after this long (firewalled), never hangs.
DOWNLOAD_TIMEOUT = 10.0

#: torchvision's ImageNet weights (``IMAGENET1K_V1``, the ones ``torchvision://`` meant in
#: MMPose 0.x) for the architectures posecfg has, with torchvision's own file names.
TORCHVISION_URLS: Dict[str, str] = {
    'resnet18': 'https://download.pytorch.org/models/resnet18-f37072fd.pth',
    'resnet34': 'https://download.pytorch.org/models/resnet34-b627a593.pth',
    'resnet50': 'https://download.pytorch.org/models/resnet50-0676ba61.pth',
    'resnet101': 'https://download.pytorch.org/models/resnet101-63fe2227.pth',
    'resnet152': 'https://download.pytorch.org/models/resnet152-394f9c45.pth',
    'mobilenet_v2': 'https://download.pytorch.org/models/mobilenet_v2-b0353104.pth',
    'shufflenetv2_x0.5': 'https://download.pytorch.org/models/shufflenetv2_x0.5-f707e7126e.pth',
    'shufflenetv2_x1.0': 'https://download.pytorch.org/models/shufflenetv2_x1-5666bf0f80.pth',
    'shufflenetv2_x1.5': 'https://download.pytorch.org/models/shufflenetv2_x1_5-3c479a10.pth',
    'shufflenetv2_x2.0': 'https://download.pytorch.org/models/shufflenetv2_x2_0-8be3c8ee.pth',
}

SCHEMES = ('torchvision://', 'mmcls://', 'open-mmlab://', 'http://', 'https://', 'hf://',
           'timm://')

# the SHA-256 prefix in published file names: name-0676ba61.pth, name-c78dce93_20200708.pth
_HASH_IN_NAME = re.compile(r'-([a-f0-9]{8,})(?:_\d{8})?\.[a-z]+$')


class PretrainedNotFoundError(FileNotFoundError):
    """Pretrained weights are neither a local file, nor cached, nor downloadable."""

    def __str__(self):
        return self.args[0] if self.args else ''


def hub_checkpoint_dir() -> str:
    """``$TORCH_HOME/hub/checkpoints`` (torch's rules: TORCH_HOME, else XDG_CACHE_HOME/torch)."""
    return os.path.join(torch.hub.get_dir(), 'checkpoints')


def _mmengine_table(name: str) -> Dict[str, str]:
    """mmengine's published name → URL tables (``mmengine/hub/*.json``), as MMPose used them."""
    import mmengine
    path = os.path.join(os.path.dirname(mmengine.__file__), 'hub', f'{name}.json')
    with open(path) as f:
        return json.load(f)


def scheme_table(scheme: str) -> Dict[str, str]:
    """name → URL for ``torchvision``, ``mmcls`` or ``open-mmlab``."""
    if scheme == 'torchvision':
        return {**_mmengine_table('torchvision_0.12'), **TORCHVISION_URLS}
    if scheme == 'mmcls':
        return _mmengine_table('mmcls')
    table = _mmengine_table('openmmlab')
    # renamed entries (e.g. resnet50_caffe → detectron/resnet50_caffe) still resolve
    for old, new in _mmengine_table('deprecated').items():
        if new in table:
            table.setdefault(old, table[new])
    return table


def url_for(spec: str, config_key: str = 'model.pretrained') -> str:
    """The download URL for a ``scheme://name`` spec (URLs are returned as they are)."""
    if spec.startswith(('http://', 'https://')):
        return spec
    scheme, _, name = spec.partition('://')
    table = scheme_table(scheme)
    url = table.get(name)
    if not url:
        close = difflib.get_close_matches(name, list(table), n=5, cutoff=0.5)
        hint = f'; closest names: {", ".join(close)}' if close else ''
        raise PretrainedNotFoundError(
            f'{config_key}={spec!r}: {scheme}:// has no weights named {name!r}{hint}')
    return url


def resolve_pretrained(spec: str, config_key: str = 'model.pretrained',
                       timeout: float = DOWNLOAD_TIMEOUT, logger=None) -> str:
    """A local path holding the weights ``spec`` names (downloading into the cache if needed)."""
    spec = os.fspath(spec)
    if '://' not in spec:
        path = os.path.expanduser(spec)
        if not os.path.isfile(path):
            raise PretrainedNotFoundError(
                f'{config_key}={spec!r}: no such file (looked at {os.path.abspath(path)}). Give '
                f'a checkpoint file, a URL or one of {", ".join(SCHEMES[:3])}NAME, or set '
                f'{config_key}=None to train from scratch')
        return path
    if not spec.startswith(SCHEMES):
        raise PretrainedNotFoundError(
            f'{config_key}={spec!r}: unknown scheme {spec.partition("://")[0]!r}; use a local '
            f'path or one of {", ".join(SCHEMES)}')
    if spec.startswith(('hf://', 'timm://')):
        from .hf_hub import resolve_hf, resolve_timm
        resolve = resolve_hf if spec.startswith('hf://') else resolve_timm
        return resolve(spec, config_key, timeout, logger)
    url = url_for(spec, config_key)
    filename = os.path.basename(urllib.parse.urlparse(url).path)
    cached = os.path.join(hub_checkpoint_dir(), filename)
    if os.path.isfile(cached):
        return cached
    try:
        print_log(f'downloading {url} to {cached}', logger=logger or 'current')
        download(url, cached, timeout=timeout)
    except (OSError, ValueError) as err:  # URLError, timeouts and HTTP errors are OSErrors
        raise PretrainedNotFoundError(_unavailable_message(spec, url, cached, err,
                                                           config_key)) from None
    return cached


def _unavailable_message(spec: str, url: str, cached: str, err: Exception,
                         config_key: str) -> str:
    reason = getattr(err, 'reason', None) or err
    filename = os.path.basename(cached)
    return (f'cannot fetch the pretrained weights {config_key}={spec!r} ({reason}). '
            f'Download {url} and save it as {cached} (the torch hub cache; set TORCH_HOME to '
            f'move it), or pass the file directly with {config_key}=/path/to/{filename}; '
            f'{config_key}=None trains from scratch')


def download(url: str, dst: str, timeout: float = DOWNLOAD_TIMEOUT,
             expected_sha256_prefix: Optional[str] = None) -> None:
    """Fetch ``url`` into ``dst`` atomically, checking the SHA-256 prefix in its file name."""
    if expected_sha256_prefix is None:
        match = _HASH_IN_NAME.search(os.path.basename(dst))
        expected_sha256_prefix = match.group(1) if match else None
    tmp = f'{dst}.part-{os.getpid()}'
    sha = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            # the cache folder is created only once the server answers
            os.makedirs(os.path.dirname(dst) or '.', exist_ok=True)
            with open(tmp, 'wb') as out:
                for chunk in iter(lambda: response.read(1 << 20), b''):
                    sha.update(chunk)
                    out.write(chunk)
        digest = sha.hexdigest()
        if expected_sha256_prefix and not digest.startswith(expected_sha256_prefix):
            raise ValueError(f'downloaded file has SHA-256 {digest[:12]}…, but its name says '
                             f'{expected_sha256_prefix}: incomplete or altered download')
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
