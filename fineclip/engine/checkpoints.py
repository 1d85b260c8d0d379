"""Adapter-only checkpoints: tunable weights plus the frozen ones' identity.

FineCLIPER tunes under a tenth of its weights; the frozen CLIP (and a
Long-CLIP text tower, if any) is rebuilt from its source every time a model
is built. A checkpoint therefore need not repeat it: it keeps what training
changed (the tunable parameters and every buffer) and, under
``frozen_weights``, a fingerprint of the frozen ones (SHA-256 of their
names, shapes, dtypes and bytes) and the config entries they came from.
Loading checks that the model just built has the same frozen weights and
fills them in, so the loaded model equals the saved one exactly; a model
built from other weights is refused with a message naming both sources.
"""
import contextlib
import hashlib
import json
import os
import os.path as osp
from typing import Dict, Iterable, Optional

import torch
from torch import nn

from .checkpoint_io import CheckpointError, read_checkpoint

FROZEN_KEY = 'frozen_weights'


def frozen_parameter_names(model: nn.Module) -> list:
    """``state_dict`` names of the parameters that do not train, sorted."""
    return sorted(name for name, param in model.named_parameters()
                  if not param.requires_grad)


def fingerprint(tensors: Dict[str, torch.Tensor],
                names: Optional[Iterable[str]] = None) -> str:
    """SHA-256 over the named tensors (names, shapes, dtypes and bytes)."""
    digest = hashlib.sha256()
    for name in sorted(names if names is not None else tensors):
        tensor = tensors[name].detach().to('cpu').contiguous()
        digest.update(f'{name}|{tuple(tensor.shape)}|{tensor.dtype}|'
                      .encode())
        # bytes through a uint8 view: works for every dtype, bf16 included
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy()
                      .tobytes())
    return digest.hexdigest()


def frozen_identity(model: nn.Module, source: Optional[dict] = None) -> dict:
    """What ``frozen_weights`` stores: count, fingerprint and source."""
    names = frozen_parameter_names(model)
    params = dict(model.named_parameters())
    return dict(num_tensors=len(names),
                num_params=sum(params[n].numel() for n in names),
                sha256=fingerprint(params, names), source=source or {})


def strip_frozen(checkpoint: dict, model: nn.Module,
                 source: Optional[dict] = None) -> dict:
    """Drops the frozen parameters from ``checkpoint['state_dict']`` and
    records their identity under ``checkpoint['frozen_weights']``."""
    names = set(frozen_parameter_names(model))
    state = checkpoint['state_dict']
    checkpoint['state_dict'] = type(state)(
        (k, v) for k, v in state.items() if _plain(k) not in names)
    checkpoint[FROZEN_KEY] = frozen_identity(model, source)
    return checkpoint


def complete_state_dict(checkpoint: dict, model: nn.Module,
                        where: str = 'checkpoint') -> dict:
    """Puts the model's own frozen weights back into an adapter-only
    checkpoint after checking they are the ones it was trained on.

    A full checkpoint (no ``frozen_weights``) is returned unchanged.

    Raises:
        RuntimeError: if the model's frozen weights differ from the
            checkpoint's (another CLIP, other pretrained weights).
    """
    identity = checkpoint.get(FROZEN_KEY)
    if not identity:
        return checkpoint
    ours = frozen_identity(model)
    if ours['sha256'] != identity.get('sha256'):
        raise RuntimeError(
            f'{where} holds adapters trained on other frozen weights than '
            'the model built from this config: checkpoint '
            f"{identity.get('num_params')} frozen parameters from "
            f"{identity.get('source') or 'an unrecorded source'}, model "
            f"{ours['num_params']}. Build the model from the same CLIP "
            '(model.clip.arch, model.clip.pretrained) and description '
            'encoder checkpoint as in training.')
    state = checkpoint['state_dict']
    prefix = 'module.' if any(k.startswith('module.') for k in state) else ''
    params = dict(model.named_parameters())
    for name in frozen_parameter_names(model):
        state.setdefault(prefix + name, params[name].detach().clone())
    return checkpoint


def branch_names(state: dict) -> list:
    """The FineCLIPER branches a ``state_dict`` holds weights of, sorted
    (``branches.<name>.`` keys; empty for other models)."""
    return sorted({_plain(k).split('.')[1] for k in state
                   if _plain(k).startswith('branches.')})


def check_variant(checkpoint: dict, model: nn.Module,
                  where: str = 'The checkpoint') -> None:
    """Refuses a checkpoint of another FineCLIPER variant (FineCLIPER,
    FineCLIPER*, FineCLIPER-dagger...) before its weights meet the model.

    MMEngine loads ``load_from`` with ``strict=False``, so without this a
    FineCLIPER checkpoint would load into a FineCLIPER* model with the
    face branch left at its initial weights, and only warnings.

    Raises:
        CheckpointError: the branches differ; the message names both
            sets and the run the checkpoint came from.
    """
    model = getattr(model, 'module', model)  # DDP wrapper
    ours = sorted(getattr(model, 'branches', None) or {})
    theirs = branch_names(checkpoint.get('state_dict') or {})
    if not ours or not theirs or ours == theirs:
        return
    meta = checkpoint.get('meta') if isinstance(
        checkpoint.get('meta'), dict) else {}
    run = meta.get('experiment_name')
    raise CheckpointError(
        f"{where} is a checkpoint of another variant: it holds the "
        f"branches {theirs}{f' (run {run})' if run else ''}, the model "
        f"built from this config has {ours}. Use it with the config it "
        'was trained with.')


def check_shapes(checkpoint: dict, model: nn.Module,
                 where: str = 'The checkpoint') -> None:
    """Refuses a checkpoint whose tensors have other shapes than the
    model's (``--resume`` after ``num_frames`` or the input size changed),
    naming the tensors and both shapes, before PyTorch's size-mismatch
    error, which names no file.

    Raises:
        CheckpointError: some tensor shapes differ.
    """
    model = getattr(model, 'module', model)  # DDP wrapper
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    differ = []
    for key, value in (checkpoint.get('state_dict') or {}).items():
        shape = tuple(getattr(value, 'shape', ()))
        mine = ours.get(_plain(key))
        if mine is not None and torch.is_tensor(value) and shape != mine:
            differ.append(f'{_plain(key)}: checkpoint {shape}, model {mine}')
    if not differ:
        return
    more = f' and {len(differ) - 3} more' if len(differ) > 3 else ''
    raise CheckpointError(
        f"{where} does not fit the model built from this config: "
        f"{len(differ)} tensor(s) have other shapes ({'; '.join(differ[:3])}"
        f'{more}). It was trained with other settings (num_frames, input '
        'size, architecture?): use the config and --cfg-options it was '
        'trained with, or train into a new work dir.')


def _plain(key: str) -> str:
    """A state-dict key without the DDP wrapper's ``module.`` prefix."""
    return key[len('module.'):] if key.startswith('module.') else key


def load_weights(model: nn.Module, checkpoint: str) -> dict:
    """Loads a checkpoint's ``state_dict`` into ``model`` strictly, outside
    a Runner (inference, analysis tools).

    Read with ``torch.load(weights_only=True)``, as the project reads every
    weight file (:mod:`fineclip.compat` lets MMEngine's own checkpoints
    through): a checkpoint cannot run code. An adapter-only checkpoint gets
    the model's frozen weights after its fingerprint check. A
    ``.safetensors`` file from :func:`export_safetensors` loads the same
    way.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: unreadable, or not this model's.

    Returns:
        The checkpoint's ``meta`` (empty if none).
    """
    from mmengine.runner import load_state_dict
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f"No such checkpoint: '{checkpoint}'")
    if checkpoint.endswith('.safetensors'):
        try:
            ckpt = read_safetensors(checkpoint)
        except Exception as err:
            raise CheckpointError(f"Cannot read checkpoint '{checkpoint}': "
                                  f'{err}') from err
    else:
        ckpt = read_checkpoint(checkpoint)
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"'{checkpoint}' is not a checkpoint dict")
    if 'state_dict' not in ckpt:
        ckpt = dict(state_dict=ckpt)
    check_variant(ckpt, model, where=f"'{checkpoint}'")
    try:
        complete_state_dict(ckpt, model, where=f"'{checkpoint}'")
    except RuntimeError as err:
        raise CheckpointError(str(err)) from err
    state = ckpt['state_dict']
    # checkpoints saved from a DDP-wrapped model prefix every key
    state = {k[len('module.'):] if k.startswith('module.') else k: v
             for k, v in state.items()}
    try:
        load_state_dict(model, state, strict=True)
    except RuntimeError as err:
        lines = [line for line in str(err).splitlines() if line.strip()]
        more = f'\n  ... and {len(lines) - 6} more' if len(lines) > 6 \
            else ''
        raise CheckpointError(
            f"'{checkpoint}' does not fit the config's model (another "
            'config, or other --cfg-options?):\n  '
            + '\n  '.join(line[:300] for line in lines[1:6]) + more
        ) from err
    meta = ckpt.get('meta')
    return meta if isinstance(meta, dict) else {}


def export_safetensors(checkpoint: dict, out_file: str) -> dict:
    """Writes a checkpoint's weights to ``.safetensors`` for sharing.

    Safetensors holds tensors and string metadata only, so nothing in the
    file can run code when read. ``frozen_weights`` and ``meta`` go into the
    metadata as JSON; the optimiser state stays behind (it is for resuming,
    not sharing). The file is written beside ``out_file`` and renamed onto
    it, so an interrupted or failed write (a full disk) leaves whatever
    was there before.

    Returns:
        dict: ``tensors`` and ``bytes`` written.
    """
    from safetensors.torch import save_file
    state = {k: v.detach().to('cpu').contiguous()
             for k, v in checkpoint['state_dict'].items()}
    metadata = {FROZEN_KEY: json.dumps(checkpoint.get(FROZEN_KEY) or {}),
                'meta': json.dumps(checkpoint.get('meta') or {},
                                   default=str)}
    partial = f'{out_file}.partial-{os.getpid()}'
    try:
        save_file(state, partial, metadata=metadata)
        os.replace(partial, out_file)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.remove(partial)
        # the path the user gave, not the temporary one, with the cause
        raise type(err)(err.errno, f'cannot write {out_file}: '
                        f'{err.strerror or err}', out_file) from err
    return dict(tensors=len(state), bytes=osp.getsize(out_file))


def read_safetensors(path: str) -> dict:
    """A ``.safetensors`` file from :func:`export_safetensors` as a
    checkpoint dict (``state_dict``, ``frozen_weights``, ``meta``)."""
    from safetensors import safe_open
    from safetensors.torch import load_file
    with safe_open(path, framework='pt') as f:
        metadata = f.metadata() or {}
    ckpt = dict(state_dict=load_file(path, device='cpu'))
    for key in (FROZEN_KEY, 'meta'):
        if metadata.get(key):
            ckpt[key] = json.loads(metadata[key])
    return ckpt
