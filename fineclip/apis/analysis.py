"""What the plot tools in ``tools/analysis/`` share: a trained model with
its test dataloader, PN similarities per clip, and the last image block's
attention.

Reading a ``--dump`` file and a work dir's logged scalars lives in
:mod:`fineclip.evaluation` (re-exported here, where the tools found them
first); the drawing in :mod:`fineclip.visualization`.
"""
import contextlib
import os.path as osp
from typing import Dict, Iterator, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from fineclip.evaluation.dumps import (  # noqa: F401  (re-exported)
    CLASS_NAME_KEYS, DUMP_KEYS, load_dump, resolve_class_names)
from fineclip.evaluation.scalars import (  # noqa: F401  (re-exported)
    find_scalar_files, group_curves, read_scalars)
from fineclip.utils.errors import UnknownNameError

# --- a trained model and its test data --------------------------------------


def default_device() -> str:
    """``'cuda'`` when a GPU is visible, else ``'cpu'``."""
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def load_model_and_loader(config: str, checkpoint: str,
                          cfg_options: Optional[dict] = None,
                          device: Optional[str] = None,
                          loader_key: str = 'test_dataloader'):
    """Builds a config's model from a checkpoint, and its test dataloader.

    Unlike ``Runner.from_cfg`` this writes no work dir or log folder, so an
    analysis never adds a run to the work dir it reads. The model gets the
    dataset's class names (what ``ClassNamesHook`` does in a Runner) and is
    put in eval mode.

    Args:
        config: Config file path.
        checkpoint: Checkpoint file path.
        cfg_options: ``--cfg-options`` overrides.
        device: ``'cpu'``, ``'cuda'``...; a GPU if there is one by default.
        loader_key: Which dataloader of the config to build.

    Returns:
        tuple: ``(model, dataloader, cfg)``.
    """
    from mmengine.runner import Runner

    from fineclip.datasets.loader_options import fit_loader_options
    from fineclip.engine.checkpoint_io import (CheckpointError,
                                               UnreadableCheckpointError,
                                               resolve_checkpoint)
    from fineclip.utils.paths import MissingFileError
    from .cli import load_data_tool_config
    from .model_builder import build_model

    checkpoint = resolve_checkpoint(checkpoint)  # a work dir: its newest
    if not osp.isfile(checkpoint):
        raise MissingFileError(f"Checkpoint '{checkpoint}' does not exist; "
                               'give a checkpoint file or a work dir.')
    cfg = load_data_tool_config(config, cfg_options)
    fit_loader_options(cfg)  # pin_memory/persistent_workers
    loader = Runner.build_dataloader(cfg.get(loader_key))
    try:
        # the loader's classes, as ClassNamesHook gives them in a Runner
        model = build_model(cfg, checkpoint,
                            device=device or default_device(),
                            class_names=loader.dataset.metainfo['classes'])
    except UnreadableCheckpointError:
        raise  # about the file, not the config: its message says all
    except CheckpointError as err:
        raise RuntimeError(
            f"'{checkpoint}' does not fit the model of '{config}': was it "
            f'trained with this config (and these --cfg-options)?\n{err}'
        ) from err
    return model, loader, cfg


def denormalize_frames(frames: torch.Tensor,
                       preprocessor: torch.nn.Module) -> np.ndarray:
    """Undoes the data preprocessor's normalisation of one clip.

    Args:
        frames: ``(T, 3, H, W)`` frames as the model saw them.
        preprocessor: The model's ``DFERDataPreprocessor``.

    Returns:
        np.ndarray: ``(T, H, W, 3)`` uint8 RGB frames.
    """
    frames = frames.detach().float().cpu()
    if getattr(preprocessor, 'normalize', False):
        mean = preprocessor.mean.detach().cpu().view(1, 3, 1, 1)
        std = preprocessor.std.detach().cpu().view(1, 3, 1, 1)
        frames = frames * std + mean
    frames = frames.clamp(0, 255).round().to(torch.uint8)
    return frames.permute(0, 2, 3, 1).numpy()


# --- PN similarity per class (paper Fig 5) ----------------------------------


def representation(model, inputs: Dict[str, torch.Tensor],
                   branch: Optional[str] = None
                   ) -> Tuple[str, torch.Tensor]:
    """The ``(B, D)`` representation the model classifies, and its name.

    Args:
        model: A ``FineCLIPER``.
        inputs: Preprocessed model inputs.
        branch: A representation name from ``model.extract_feat`` (e.g.
            ``video``); by default the fused one (Eq 10) when there are
            several, else the only one.
    """
    features = model.extract_feat(inputs)
    if branch is not None:
        if branch not in features:
            raise UnknownNameError(f"No representation '{branch}': the "
                                   f'model gives {sorted(features)}.')
        return branch, features[branch]
    if len(features) == 1:
        return next(iter(features.items()))
    _, fused, _, _ = model._fuse(inputs, features)
    return 'fused', fused


@torch.no_grad()
def collect_pn_similarities(model, loader, branch: Optional[str] = None,
                            progress: bool = True,
                            max_clips: Optional[int] = None) -> dict:
    """Cosine similarity of each clip with its class's P and N prompts.

    Args:
        model: A ``FineCLIPER`` in eval mode, with class names set.
        loader: Dataloader of labelled clips.
        branch: See :func:`representation`.
        progress: Show a tqdm bar.
        max_clips: Stop after this many clips (``None``: all).

    Returns:
        dict: ``representation`` (its name), ``labels`` (``(N,)``),
        ``positive`` and ``negative`` (``(N,)`` cosine of each clip with
        ``t_p[label]`` and ``t_n[label]``; ``negative`` is ``None`` without
        negative prompts) and ``clip_ids``.
    """
    from fineclip.utils.progress import progress_bar

    positive, negative = model.text_features()
    t_p = F.normalize(positive, dim=-1)
    t_n = F.normalize(negative, dim=-1) if negative is not None else None
    labels, pos, neg, clip_ids, name = [], [], [], [], None
    total = len(loader.dataset) if max_clips is None else min(
        max_clips, len(loader.dataset))
    with progress_bar(total=total, desc='PN similarity', unit='clip',
              disable=not progress) as bar:
        for batch in loader:
            data = model.data_preprocessor(batch, False)
            name, feats = representation(model, data['inputs'], branch)
            feats = F.normalize(feats, dim=-1)
            y = torch.cat([s.gt_label for s in data['data_samples']]).to(
                feats.device)
            pos.append((feats * t_p[y]).sum(-1).cpu())
            if t_n is not None:
                neg.append((feats * t_n[y]).sum(-1).cpu())
            labels.append(y.cpu())
            clip_ids += [s.metainfo.get('clip_id')
                         for s in data['data_samples']]
            bar.update(len(y))
            if len(clip_ids) >= total:
                break
    return dict(representation=name,
                labels=torch.cat(labels)[:total].numpy(),
                positive=torch.cat(pos)[:total].numpy(),
                negative=torch.cat(neg)[:total].numpy() if neg else None,
                clip_ids=clip_ids[:total])


def _stats(values: np.ndarray) -> dict:
    if not len(values):
        return dict(mean=None, std=None, median=None, q1=None, q3=None)
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return dict(mean=float(values.mean()), std=float(values.std()),
                median=float(median), q1=float(q1), q3=float(q3))


def summarize_pn_similarities(result: dict,
                              class_names: Sequence[str]) -> dict:
    """Per-class statistics of :func:`collect_pn_similarities`' output.

    Returns:
        dict: ``representation``, ``classes`` and ``per_class``: one entry
        per class with ``clips``, ``positive`` and ``negative`` statistics
        (mean, std, median, quartiles; ``None`` without clips or negative
        prompts) and the per-clip ``values`` and ``clip_ids``.
    """
    per_class = []
    for c, name in enumerate(class_names):
        mask = result['labels'] == c
        entry = dict(name=name, clips=int(mask.sum()),
                     clip_ids=[i for i, m in zip(result['clip_ids'], mask)
                               if m])
        for side in ('positive', 'negative'):
            values = result[side]
            if values is None:
                entry[side] = None
                continue
            entry[side] = dict(_stats(values[mask]),
                               values=[float(v) for v in values[mask]])
        per_class.append(entry)
    return dict(representation=result['representation'],
                classes=list(class_names), per_class=per_class)


# --- attention of the last image block (paper Fig 6) ------------------------


@contextlib.contextmanager
def capture_last_block_attention(encoder) -> Iterator[list]:
    """Records the spatial attention weights of an AIM encoder's last block.

    Inside the context, the last ``AIMBlock`` still computes its attention
    exactly as before (its output is untouched); each call is repeated
    once more asking the frozen attention for its weights, averaged over
    heads. ``AIMBlock`` calls its attention first over time (if it has a
    T-adapter) and then over space, so the last record of a forward is the
    spatial one.

    Args:
        encoder: An ``AIMVideoEncoder`` (anything with ``blocks`` whose last
            element has ``_attend`` and ``block.attn``).

    Yields:
        list: Filled with one ``(N, L, L)`` tensor per attention call of the
        last block, in call order.
    """
    blocks = getattr(encoder, 'blocks', None)
    if not blocks or not hasattr(blocks[-1], '_attend'):
        raise TypeError(f'{type(encoder).__name__} has no AIM blocks whose '
                        'attention could be recorded.')
    last = blocks[-1]
    original = last._attend
    records = []

    def attend(x):
        out = original(x)
        attn = last.block.attn
        tokens = x if attn.batch_first else x.transpose(0, 1)
        with torch.no_grad():
            weights = attn(tokens, tokens, tokens, need_weights=True,
                           average_attn_weights=True)[1]
        records.append(weights.detach())
        return out

    # An instance attribute shadows the method for this block only.
    last._attend = attend
    try:
        yield records
    finally:
        del last._attend


def class_token_attention(weights: torch.Tensor, num_frames: int,
                          grid: Tuple[int, int]) -> dict:
    """The class token's attention to the patches, per frame.

    Args:
        weights: ``(B*T, L, L)`` head-averaged spatial attention weights
            (token 0 is the class token, then the ``gh * gw`` patches).
        num_frames: T.
        grid: ``(gh, gw)`` patch grid.

    Returns:
        dict: ``maps`` (``(B, T, gh, gw)``: the class token's attention to
        each patch, renormalised over the patches so each map sums to 1),
        ``to_patches`` (``(B, T)``: the share of its attention that went to
        patches at all, before renormalising; the rest is on itself).
    """
    gh, gw = grid
    if weights.shape[-1] != 1 + gh * gw:
        raise ValueError(f'Attention over {weights.shape[-1]} tokens does '
                         f'not fit a class token and a {gh}x{gw} grid.')
    row = weights[:, 0].float()  # what the class token attends to
    to_patches = row[:, 1:].sum(-1)
    maps = row[:, 1:] / to_patches.clamp_min(1e-12)[:, None]
    return dict(maps=maps.reshape(-1, num_frames, gh, gw),
                to_patches=to_patches.reshape(-1, num_frames))


def patch_grid(visual, height: int, width: int) -> Tuple[int, int]:
    """The patch grid of an open_clip ViT for ``height x width`` input."""
    patch = visual.conv1.kernel_size
    return height // patch[0], width // patch[1]
