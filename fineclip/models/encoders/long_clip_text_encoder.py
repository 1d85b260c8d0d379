"""Long-CLIP text tower for the fine-grained descriptions (high level).

Long-CLIP (Zhang et al. 2024, "Long-CLIP: Unlocking the Long-Text
Capability of CLIP") lets CLIP's text tower read 248 tokens instead of 77
by stretching the learned positional table ("knowledge-preserved
stretching"): the first 20 positions, which CLIP trained well, are kept;
the others are interpolated 4x between old neighbours, and the last four
are extrapolated from the last two old positions. The stretched table is
frozen for the kept rows; a trainable residual adjusts the others.

:class:`LongCLIPTextEncoder` builds this tower either from the model's
frozen CLIP (stretching its table; no weight is copied) or from a released
Long-CLIP checkpoint, and adds FineCLIPER's per-layer adapters and a
projector on top.
"""
import copy
import os.path as osp
import pickle
from typing import Dict, Optional, Sequence

import open_clip
import torch
import torch.nn.functional as F
from torch import nn

from fineclip.registry import ENCODERS
from ..adapters import adapter_config, build_adapter_stack
from ..memory import ActivationPass
from .text_tower import adapted_text_forward

#: Rows of CLIP's table that Long-CLIP keeps as they are.
KEEP = 20
#: Interpolation factor between the remaining old neighbours.
FACTOR = 4

#: Checkpoint entries that belong to the whole CLIP, not to its text tower.
_NON_TEXT_KEYS = frozenset(('logit_scale', 'logit_bias', 'input_resolution',
                            'context_length', 'vocab_size'))
_CHECKPOINT_CONFIG_KEY = 'model.branches.description.encoder.checkpoint'


def stretched_length(rows: int, keep: int = KEEP, factor: int = FACTOR) -> int:
    """Rows of a ``rows``-row table after :func:`stretch_positional_embedding`.

    ``keep`` rows stay; each of the other ``rows - keep`` rows becomes
    ``factor`` rows: ``factor * rows - (factor - 1) * keep`` (77 -> 248).
    """
    return factor * rows - (factor - 1) * keep


def stretch_positional_embedding(table: torch.Tensor,
                                 keep: int = KEEP,
                                 factor: int = FACTOR) -> torch.Tensor:
    """Stretches a positional table as Long-CLIP does (77 -> 248 rows).

    With ``L`` old rows, ``keep = 20`` and ``factor = 4``:

    * ``new[j] = old[j]`` for ``j < keep``;
    * ``new[keep + 4i + k] = ((4 - k) * old[keep + i]
      + k * old[keep + i + 1]) / 4`` for ``i < L - 1 - keep``, ``k < 4``;
    * ``new[4L - 3keep - 4 + k] = old[L - 1]
      + k * (old[L - 1] - old[L - 2]) / 4`` for ``k < 4`` (extrapolated:
      the last old row has no right neighbour).

    Args:
        table (Tensor): ``(L, width)`` positional embedding, ``L > keep``.
        keep (int): Leading rows copied unchanged.
        factor (int): New rows per remaining old row.

    Returns:
        Tensor: ``(factor * L - (factor - 1) * keep, width)`` table of the
        input's dtype, detached from any graph.

    Raises:
        ValueError: a table that is not 2-D, has no row beyond ``keep`` to
            stretch, or fewer than two rows to extrapolate from.
    """
    if table.dim() != 2:
        raise ValueError('stretch_positional_embedding takes a (rows, width) '
                         f'table, got shape {tuple(table.shape)}')
    rows = table.shape[0]
    if keep < 0 or factor < 1:
        raise ValueError(f'Need keep >= 0 and factor >= 1, got {keep}, '
                         f'{factor}')
    if rows <= keep or rows < 2:
        raise ValueError(
            f'Cannot stretch a {rows}-row positional table keeping {keep} '
            f'rows: it needs more than {keep} rows (and at least 2). A CLIP '
            'with a short text context (e.g. a tiny test CLIP) must be '
            'built with context_length 77 for Long-CLIP.')
    # Half precision would round the interpolation weights; work in fp32.
    old = table.detach()
    work = old.float() if old.dtype in (torch.float16, torch.bfloat16) else old
    k = torch.arange(
        factor, dtype=work.dtype, device=work.device).view(1, factor, 1)
    left, right = work[keep:rows - 1], work[keep + 1:rows]
    middle = ((factor - k) * left[:, None] + k * right[:, None]) / factor
    last, before = work[rows - 1], work[rows - 2]
    tail = last + k[0] * (last - before) / factor
    out = torch.cat([work[:keep], middle.reshape(-1, work.shape[1]), tail])
    return out.to(table.dtype)


def causal_attention_mask(length: int) -> torch.Tensor:
    """Additive causal mask ``(length, length)``: -inf above the diagonal.

    The frozen CLIP's own mask is sized for its 77 tokens, so the 248-token
    tower needs its own.
    """
    return torch.full((length, length), float('-inf')).triu_(1)


def _missing_checkpoint_message(path: str) -> str:
    return (
        f"Long-CLIP checkpoint '{path}' does not exist. Download "
        "'longclip-B.pt' (Long-CLIP, Zhang et al. 2024) from the Hugging "
        "Face repository 'BeichenZhang/LongCLIP-B' (the one trained from "
        'ViT-B/16; LongCLIP-L for ViT-L/14), copy it here and set '
        f'{_CHECKPOINT_CONFIG_KEY}=/path/to/longclip-B.pt, or set it to None '
        "to stretch the model's own CLIP instead.")


def load_long_clip_state_dict(path: str) -> Dict[str, torch.Tensor]:
    """Reads a released Long-CLIP checkpoint as a flat state dict.

    Only tensors and plain containers are unpickled
    (``weights_only=True``): a checkpoint file can otherwise run arbitrary
    code when loaded.

    Args:
        path (str): A ``longclip-*.pt`` file: a state dict, possibly under
            ``'state_dict'`` and with DDP's ``module.`` prefix.

    Returns:
        dict: ``{key: tensor}`` of the whole Long-CLIP model.

    Raises:
        FileNotFoundError: no such file; the message says what to download.
        ValueError: the file holds other objects than tensors, or no state
            dict.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(_missing_checkpoint_message(path))
    try:
        state = torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(
            f"Refused to load '{path}': it holds objects other than tensors "
            'and plain containers, and Long-CLIP checkpoints are loaded with '
            'weights_only=True so that a file cannot run code. Expected a '
            f'plain state dict such as longclip-B.pt. ({err})') from err
    if isinstance(state, dict) and isinstance(state.get('state_dict'), dict):
        state = state['state_dict']
    if not isinstance(state, dict) or not all(
            isinstance(key, str) for key in state):
        raise ValueError(f"'{path}' holds a {type(state).__name__}, not a "
                         'Long-CLIP state dict.')
    if state and all(key.startswith('module.') for key in state):
        state = {key[len('module.'):]: value for key, value in state.items()}
    return state


def _format_keys(keys: Sequence[str], limit: int = 10) -> str:
    keys = sorted(keys)
    shown = ', '.join(keys[:limit])
    return shown + (f' ... ({len(keys)} in all)' if len(keys) > limit else '')


class _TextTower(nn.Module):
    """The frozen parts of a CLIP text tower, named as in the checkpoints.

    Key names match OpenAI's and Long-CLIP's state dicts
    (``token_embedding.weight``, ``transformer.resblocks.*``,
    ``ln_final.*``, ``text_projection``), so a checkpoint's text entries
    load into it strictly.
    """

    def __init__(self, clip: nn.Module):
        super().__init__()
        self.token_embedding = copy.deepcopy(clip.token_embedding)
        self.transformer = copy.deepcopy(clip.transformer)
        self.ln_final = copy.deepcopy(clip.ln_final)
        self.text_projection = copy.deepcopy(clip.text_projection)
        self.requires_grad_(False)


def _check_clip(clip: nn.Module) -> None:
    needed = ('token_embedding', 'positional_embedding', 'transformer',
              'ln_final', 'text_projection')
    lacking = [name for name in needed if not hasattr(clip, name)]
    if lacking:
        raise TypeError('LongCLIPTextEncoder needs an open_clip CLIP with '
                        f'its text tower at the top level; lacking {lacking}')
    if not getattr(clip.transformer, 'batch_first', True):
        raise ValueError('LongCLIPTextEncoder needs an open_clip model with '
                         'batch-first transformer blocks.')


@ENCODERS.register_module()
class LongCLIPTextEncoder(nn.Module):
    """Long-CLIP text tower (248 tokens) with per-layer adapters.

    Two sources for the frozen tower:

    * ``checkpoint=None``: the model's frozen CLIP, referenced, not
      registered, so its weights exist once in memory and in
      ``state_dict`` (the recognizer registers it). Its 77-row positional
      table is stretched to 248 rows (:func:`stretch_positional_embedding`)
      into a frozen, non-persistent buffer, rebuilt from the CLIP on every
      construction.
    * ``checkpoint=path``: a released Long-CLIP file. Its text weights load
      strictly into a frozen copy of the CLIP's text tower (same
      architecture, activation included: give the CLIP the checkpoint was
      trained from, e.g. ViT-B-16 with ``quick_gelu=True`` for
      longclip-B). This copy is a registered child: it is not the CLIP's.
      Long-CLIP adds ``positional_embedding`` on rows ``< keep`` and its
      own ``positional_embedding_res`` on the others; the frozen buffer
      holds exactly that combined table.

    Either way a trainable residual ``positional_embedding_res`` (zero at
    first; unlike Long-CLIP's entry of that name it is added to the frozen
    table) adjusts rows ``keep`` and up; rows below ``keep`` stay the
    frozen table, as in Long-CLIP. After each frozen layer an adapter (with
    skip) is applied, as in :class:`AdaptedTextEncoder`; the EOT token after
    ``ln_final`` is projected by ``text_projection`` and by a trainable
    ``projector``.

    The adapters start as identities, the residual at zero and the projector
    at the identity matrix, so an untrained encoder outputs the frozen
    Long-CLIP embedding, which already lies in the CLIP joint space the
    class prompts use; training departs from there instead of from a random
    projection.

    Args:
        clip (nn.Module): The model's frozen open_clip ``CLIP`` (given by
            the recognizer or branch).
        checkpoint (str, optional): Path of a Long-CLIP checkpoint
            (``longclip-B.pt``). ``None``: stretch ``clip``'s table.
        adapter_ratio (float): Bottleneck ratio of the adapters.
        context_length (int): Tokens per text; must be what stretching the
            CLIP's table gives (248 from 77).
        keep (int): Leading positions kept from CLIP's table (20).
        grad_checkpointing (bool): In training, keep only each layer's input
            and recompute the layer in the backward pass (see
            :func:`~.frozen_attention.run_layers`).
    """

    def __init__(self,
                 clip: nn.Module,
                 checkpoint: Optional[str] = None,
                 adapter: Optional[dict] = None,
                 adapter_ratio: Optional[float] = None,
                 context_length: int = 248,
                 keep: int = KEEP,
                 grad_checkpointing: bool = False):
        super().__init__()
        _check_clip(clip)
        self.grad_checkpointing = grad_checkpointing
        if checkpoint is None:
            self.__dict__['clip'] = clip  # shared, see class docstring
            table = stretch_positional_embedding(clip.positional_embedding,
                                                 keep)
        else:
            self.text_tower = _TextTower(clip)
            table = self._load_checkpoint(checkpoint, context_length, keep)
        if table.shape[0] != context_length:
            raise ValueError(
                f'context_length={context_length} does not match the '
                f'{table.shape[0]}-row positional table (stretched with '
                f'keep={keep} or read from the checkpoint); set '
                f'context_length={table.shape[0]}.')
        self.context_length = context_length
        self.keep = keep
        tower = self._frozen_tower
        width = tower.transformer.width
        self.register_buffer(
            'positional_embedding', table.detach().clone(), persistent=False)
        self.positional_embedding_res = nn.Parameter(
            torch.zeros_like(table, dtype=torch.float32))
        # 0 on the kept rows: their residual never reaches the output, so it
        # gets a zero gradient and stays zero.
        trained_rows = torch.arange(context_length) >= keep
        self.register_buffer(
            'residual_mask', trained_rows.float()[:, None], persistent=False)
        self.register_buffer(
            'attn_mask',
            causal_attention_mask(context_length),
            persistent=False)
        self.adapters = build_adapter_stack(
            adapter_config(adapter, adapter_ratio), width,
            len(tower.transformer.resblocks), skip=True)
        projection = tower.text_projection
        embed_dim = (
            projection.out_features if isinstance(projection, nn.Linear) else
            projection.shape[1] if projection is not None else width)
        self.projector = nn.Linear(embed_dim, embed_dim)
        nn.init.eye_(self.projector.weight)
        nn.init.zeros_(self.projector.bias)
        self.tokenizer = open_clip.tokenizer.SimpleTokenizer(
            context_length=context_length)

    @property
    def _frozen_tower(self) -> nn.Module:
        """The module holding the frozen text layers (CLIP or own copy)."""
        return self.clip if 'clip' in self.__dict__ else self.text_tower

    def _load_checkpoint(self, path: str, context_length: int,
                         keep: int) -> torch.Tensor:
        """Loads a checkpoint's text weights; returns its positional table."""
        state = load_long_clip_state_dict(path)
        text = {
            key: value
            for key, value in state.items()
            if not key.startswith('visual.') and key not in _NON_TEXT_KEYS
        }
        table = text.pop('positional_embedding', None)
        residual = text.pop('positional_embedding_res', None)
        expected = set(self.text_tower.state_dict())
        missing = sorted(expected - set(text))
        if table is None:
            missing.append('positional_embedding')
        unexpected = sorted(set(text) - expected)
        if missing or unexpected:
            raise ValueError(
                f"'{path}' is not a Long-CLIP checkpoint of this CLIP's text "
                f'tower. Missing keys: [{_format_keys(missing)}]; unexpected '
                f'keys: [{_format_keys(unexpected)}].')
        try:
            self.text_tower.load_state_dict(text, strict=True)
        except RuntimeError as err:
            raise ValueError(
                f"The text weights in '{path}' do not fit the CLIP given "
                '(another architecture?): build the CLIP the checkpoint was '
                f'trained from (ViT-B-16 for longclip-B).\n{err}') from err
        dtype = self.text_tower.token_embedding.weight.dtype
        width = self.text_tower.transformer.width
        table = table.to(dtype)
        if residual is None:
            # A plain CLIP table: stretch it as Long-CLIP's training did.
            if table.shape[0] != context_length:
                table = stretch_positional_embedding(table, keep)
        else:
            if (residual.shape != table.shape
                    or table.shape[0] != context_length):
                raise ValueError(
                    f"'{path}': positional_embedding "
                    f'{tuple(table.shape)} and positional_embedding_res '
                    f'{tuple(residual.shape)} must both have '
                    f'{context_length} rows.')
            # Long-CLIP's encode_text: table on rows < keep, its residual
            # table on the others.
            kept = (torch.arange(table.shape[0]) < keep)[:, None]
            table = torch.where(kept, table, residual.to(dtype))
        if table.shape[1] != width:
            raise ValueError(f"'{path}': positional table width "
                             f'{table.shape[1]} != text width {width}')
        return table

    def memory_passes(self, texts_per_clip: int = 1) -> list:
        """One text of ``context_length`` tokens per clip
        (:mod:`fineclip.models.memory`)."""
        tower = self._frozen_tower
        return [ActivationPass('text', texts_per_clip, self.context_length,
                               tower.transformer.width,
                               len(tower.transformer.resblocks))]

    def tokenize(self, texts: Sequence[str]) -> torch.Tensor:
        """Tokenises texts to ``(N, context_length)`` token ids.

        Texts longer than the context are truncated (their last token
        becomes EOT), as open_clip's tokenizer does.
        """
        if isinstance(texts, str):
            texts = [texts]
        return self.tokenizer(list(texts))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Encodes token ids.

        Args:
            tokens (Tensor): ``(N, n)`` token ids, ``n <= context_length``
                (248 as :meth:`tokenize` gives), EOT the largest id.

        Returns:
            Tensor: ``(N, D)`` L2-normalised text features.
        """
        tower = self._frozen_tower
        length = tokens.shape[-1]
        if length > self.context_length:
            raise ValueError(f'{length} tokens exceed the context of '
                             f'{self.context_length}')
        tokens = tokens.to(self.positional_embedding.device)
        # Lookup and frozen table precede every trainable op: no autograd.
        with torch.no_grad():
            x = tower.token_embedding(tokens)
            x = x + self.positional_embedding[:length].to(x.dtype)
        residual = self.positional_embedding_res * self.residual_mask
        x = x + residual[:length].to(x.dtype)
        mask = self.attn_mask[:length, :length].to(x.dtype)
        pooled = adapted_text_forward(
            tower, x, tokens, self.adapters, mask,
            self.grad_checkpointing and self.training)
        pooled = self.projector(pooled.to(self.projector.weight.dtype))
        return F.normalize(pooled, dim=-1)

    def encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """Tokenises and encodes texts: ``(N, D)`` unit vectors."""
        return self(self.tokenize(texts))
