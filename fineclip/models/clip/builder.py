"""Frozen CLIP models from open_clip: architecture by name or shapes, weights
by tag or path.

As in open_clip, the architecture and the weights are separate arguments:
``arch`` says what to build (``'ViT-B-16'`` or a dict of shapes, e.g. the tiny
CLIP of the synthetic configs), ``pretrained`` says what to load into it
(``None``, an open_clip tag such as ``'openai'``, or a local file).
"""
import copy
import os
import os.path as osp
import socket
from typing import Optional, Sequence, Union

import open_clip
import torch
from torch import nn

from fineclip.registry import ENCODERS
from fineclip.utils.errors import UserInputError

_HUB_HOST = ('huggingface.co', 443)
_HF_WEIGHT_FILES = ('open_clip_model.safetensors',
                    'open_clip_pytorch_model.bin')


class CLIPWeightsNotFoundError(UserInputError, FileNotFoundError):
    """Pretrained CLIP weights are neither on disk nor downloadable."""


def _hub_reachable(timeout: float = 3.0) -> bool:
    """Tells, within ``timeout`` seconds, whether the weights hub answers.

    open_clip's own download retries for minutes without a network; a quick
    probe lets an offline user see the real problem at once.
    """
    if os.environ.get('HF_HUB_OFFLINE', '0').lower() in ('1', 'true', 'yes'):
        return False
    try:
        socket.create_connection(_HUB_HOST, timeout=timeout).close()
        return True
    except OSError:
        return False


def _cached_tag_file(pretrained_cfg: dict) -> Optional[str]:
    """The local copy of a tag's weights, if an earlier run fetched it."""
    hub_id = pretrained_cfg.get('hf_hub', '').rstrip('/')
    if hub_id:
        from huggingface_hub import try_to_load_from_cache
        for filename in _HF_WEIGHT_FILES:
            path = try_to_load_from_cache(hub_id, filename)
            if isinstance(path, str) and osp.isfile(path):
                return path
    url = pretrained_cfg.get('url', '')
    if url:
        path = osp.expanduser(osp.join('~/.cache/clip', osp.basename(url)))
        if osp.isfile(path):
            return path
    return None


def _missing_weights_message(arch: str, tag: str, pretrained_cfg: dict) -> str:
    hub_id = pretrained_cfg.get('hf_hub', '').rstrip('/')
    sources = []
    if hub_id:
        sources.append(f"'{_HF_WEIGHT_FILES[1]}' from the Hugging Face "
                       f"repository '{hub_id}'")
    if pretrained_cfg.get('url'):
        sources.append(f"the original checkpoint {pretrained_cfg['url']}")
    return (
        f"CLIP weights '{tag}' for architecture '{arch}' are not on this "
        'machine and cannot be downloaded (no network, or HF_HUB_OFFLINE=1). '
        f"Download {' or '.join(sources)} on a machine with network, copy "
        'the file here and point the config at it: '
        "--cfg-options model.clip.pretrained=/path/to/file (for OpenAI "
        'weights keep model.clip.quick_gelu=True).')


def _resolve_tag(arch: str, tag: str) -> tuple:
    """Tag -> (local file or the tag itself, the tag's quick_gelu)."""
    pretrained_cfg = open_clip.get_pretrained_cfg(arch, tag)
    if not pretrained_cfg:
        known = open_clip.list_pretrained_tags_by_model(arch)
        raise ValueError(f"Unknown open_clip tag '{tag}' for '{arch}'. "
                         f'Known tags: {known}; or give a local file path.')
    quick_gelu = pretrained_cfg.get('quick_gelu', False)
    cached = _cached_tag_file(pretrained_cfg)
    if cached:
        return cached, quick_gelu
    if not _hub_reachable():
        raise CLIPWeightsNotFoundError(
            _missing_weights_message(arch, tag, pretrained_cfg))
    return tag, quick_gelu


def _build_from_shapes(shapes: dict, quick_gelu: bool) -> nn.Module:
    shapes = dict(shapes)
    missing = {'embed_dim', 'vision_cfg', 'text_cfg'} - set(shapes)
    if missing:
        raise ValueError(f'CLIP shapes dict lacks keys {sorted(missing)}')
    shapes.setdefault('quick_gelu', quick_gelu)
    return open_clip.model.CLIP(**shapes)


def _unfreeze(model: nn.Module, name: str) -> None:
    """Turns gradients back on for the submodule or parameter ``name``."""
    for getter in (model.get_submodule, model.get_parameter):
        try:
            getter(name).requires_grad_(True)
            return
        except AttributeError:
            continue
    top = sorted(n for n, _ in model.named_children())
    raise ValueError(
        f"model.clip.trainable names '{name}', which this CLIP does not "
        f'have; its submodules are {top}.')


# Small architectures by name, so tests and quick checks can swap one in with
# --cfg-options model.clip.arch=fineclip-tiny (a shapes dict cannot be given
# on the command line). Random weights unless ``pretrained`` names a file.
NAMED_ARCHS = {
    # ViT-B/16's structure at toy size: 32 px input, patch 8, 2 layers.
    'fineclip-tiny': dict(
        embed_dim=32,
        vision_cfg=dict(image_size=32, layers=2, width=64, patch_size=8,
                        head_width=32),
        text_cfg=dict(context_length=24, vocab_size=49408, width=64,
                      heads=2, layers=2)),
}


@ENCODERS.register_module(name='OpenCLIP')
def build_clip(arch: Union[str, dict] = 'ViT-B-16',
               pretrained: Optional[str] = None,
               quick_gelu: Optional[bool] = None,
               freeze: bool = True,
               trainable: Sequence[str] = ()) -> nn.Module:
    """Builds an open_clip CLIP model and freezes it.

    Args:
        arch: An open_clip model name (``'ViT-B-16'``, ``'ViT-B-32'``,
            ``'ViT-L-14'``...), a name in :data:`NAMED_ARCHS`
            (``'fineclip-tiny'``) or a dict of shapes with ``embed_dim``,
            ``vision_cfg`` and ``text_cfg`` as in open_clip's model configs.
        pretrained: ``None`` for random weights, an open_clip tag
            (``'openai'``) or the path of a local checkpoint (a state dict,
            ``.safetensors`` or the OpenAI TorchScript archive).
        quick_gelu: Use QuickGELU, as OpenAI's weights need. ``None`` takes
            the tag's setting, else False.
        freeze: Turn off gradients of every pretrained weight.
        trainable: Names of the CLIP's submodules that stay trainable
            when ``freeze`` is on, e.g. ``('visual',)`` for baselines that
            fine-tune the image tower (DFER-CLIP) beside a frozen text
            tower. Submodule or parameter names; dotted names reach
            deeper (``'visual.transformer.resblocks.11'``).

    Returns:
        nn.Module: the open_clip ``CLIP`` model. It also carries
        ``fineclip_source = dict(arch=..., pretrained=...)``, the identity of
        its weights.

    Raises:
        CLIPWeightsNotFoundError: a tag that is not cached while offline, or
            a path that does not exist; the message says what to download.
    """
    is_path = pretrained is not None and (osp.sep in pretrained
                                          or osp.splitext(pretrained)[1] != '')
    if is_path and not osp.isfile(pretrained):
        raise CLIPWeightsNotFoundError(
            f"CLIP weights file '{pretrained}' does not exist. Download the "
            'checkpoint and set model.clip.pretrained to its path.')
    requested = arch
    if isinstance(arch, str) and arch in NAMED_ARCHS:
        arch = copy.deepcopy(NAMED_ARCHS[arch])
    if isinstance(arch, dict):
        if pretrained is not None and not is_path:
            raise ValueError('A CLIP built from a shapes dict takes a local '
                             f"weights file, not the tag '{pretrained}'.")
        model = _build_from_shapes(arch, bool(quick_gelu))
        if pretrained is not None:
            open_clip.load_checkpoint(model, pretrained, weights_only=True)
    else:
        source, tag_quick_gelu = pretrained, None
        if pretrained is not None and not is_path:
            source, tag_quick_gelu = _resolve_tag(arch, pretrained)
        use_quick_gelu = quick_gelu if quick_gelu is not None else bool(
            tag_quick_gelu)
        # on the default device, as the shapes-dict path builds: a caller's
        # `with torch.device('meta')` then builds shapes without storage
        model = open_clip.create_model(
            arch, pretrained=source, force_quick_gelu=use_quick_gelu,
            device=torch.get_default_device())
    if freeze:
        model.requires_grad_(False)
        for name in trainable:
            _unfreeze(model, name)
    model.fineclip_source = dict(arch=requested, pretrained=pretrained)
    return model
