"""Pretraining of the tiny CLIP used by the embedded default.

A randomly initialised CLIP that stays frozen gives adapters nothing to
adapt (REFERENCE.md measured it: chance level). So the embedded default
follows the real recipe at toy scale: a tiny CLIP is first pretrained, then
frozen and adapted by FineCLIPER. How it is pretrained is in
:func:`pretrain_tiny_clip`.

Pretraining sees synthetic face frames with what the renderer knows of
them: action-unit intensities, parsing maps and captions of the visible
movements ("the brows rise and the mouth drops open"), never a class or an
emotion word. The frames come from their own random stream (a seed distinct
from the dataset's), are rendered in memory and never overlap the clips
that FineCLIPER trains or is tested on.
"""
import json
import os
import os.path as osp
import time
from typing import Optional

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from open_clip.tokenizer import SimpleTokenizer

from fineclip.datasets.synthetic import (PARSING_CLASSES, SYNTHETIC_CLASSES,
                                         describe_frame, synthesize_clip)
from fineclip.models.clip import build_clip
from fineclip.models.data_preprocessors.dfer_data_preprocessor import (
    CLIP_MEAN, CLIP_STD)
from fineclip.utils.progress import progress_bar


#: Steps timed before a stage says how long it will take.
ETA_AFTER_STEPS = 10


def _timed_steps(steps: int, stage: str, progress: bool):
    """``range(steps)`` behind a progress bar; once the first
    :data:`ETA_AFTER_STEPS` steps are timed, says above the bar how long
    the stage will take at that speed (a busy machine is slower than any
    figure a docstring could give)."""
    bar = progress_bar(range(steps), desc=stage, disable=not progress)
    start = time.perf_counter()
    for step in bar:
        if progress and step == ETA_AFTER_STEPS:
            per_step = (time.perf_counter() - start) / ETA_AFTER_STEPS
            left = per_step * (steps - ETA_AFTER_STEPS)
            bar.write(f'{stage}: {per_step:.2f} s a step, about '
                      f'{left / 60:.1f} min for the other '
                      f'{steps - ETA_AFTER_STEPS} steps')
        yield step


def render_pretraining_set(num_clips: int,
                           frames_per_clip: int,
                           size: int,
                           seed: int,
                           render_size: int = 112) -> dict:
    """Renders synthetic frames with what the renderer knows about them.

    Returns:
        dict: ``images`` ``(N, size, size, 3)`` uint8 RGB, ``parsing``
        ``(N, size, size)`` uint8 class maps, ``action_units`` ``(N, K)``
        and ``captions`` (N strings describing each frame's movements).
    """
    rng = np.random.default_rng(seed)
    out = dict(images=[], parsing=[], action_units=[], captions=[])
    for i in range(num_clips):
        clip = synthesize_clip(
            rng,
            i % len(SYNTHETIC_CLASSES),
            frames_per_clip,
            image_size=render_size,
            parsing_size=size)
        # Rendered at the dataset's size, then resized as the test pipeline
        # does, so the frozen tower sees the same kind of pixels later.
        out['images'].append(
            np.stack([
                cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA)
                for f in clip['frames']
            ]))
        out['parsing'].append(clip['parsing'])
        out['action_units'].append(clip['action_units'])
        out['captions'] += [
            describe_frame(row, rng) for row in clip['action_units']
        ]
    for key in ('images', 'parsing', 'action_units'):
        out[key] = np.concatenate(out[key])
    return out


def patch_class_mix(
    parsing: np.ndarray, patch: int,
    num_classes: int = len(PARSING_CLASSES)) -> np.ndarray:
    """Fraction of each parsing class inside every ViT patch.

    Args:
        parsing: ``(N, H, W)`` class maps, H and W multiples of ``patch``.

    Returns:
        np.ndarray: ``(N, (H/patch) * (W/patch), num_classes)`` float32,
        patches in the ViT's row-major token order.
    """
    n, h, w = parsing.shape
    onehot = np.eye(num_classes, dtype=np.float32)[parsing]
    onehot = onehot.reshape(n, h // patch, patch, w // patch, patch,
                            num_classes)
    return onehot.mean(axis=(2, 4)).reshape(n, -1, num_classes)


def _normalise(images: np.ndarray) -> torch.Tensor:
    """uint8 ``(N, H, W, 3)`` -> CLIP-normalised float ``(N, 3, H, W)``."""
    x = (images.astype(np.float32) -
         np.array(CLIP_MEAN, np.float32)) / np.array(CLIP_STD, np.float32)
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()


def _multi_positive_loss(logits: torch.Tensor,
                         same_caption: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE where every identical caption counts as a match.

    Still faces share one caption; treating them as negatives of each other
    would push identical texts apart.
    """
    targets = same_caption / same_caption.sum(dim=1, keepdim=True)
    image_loss = -(targets * logits.log_softmax(dim=1)).sum(dim=1).mean()
    text_loss = -(targets * logits.t().log_softmax(dim=1)).sum(dim=1).mean()
    return (image_loss + text_loss) / 2


def _train_image_tower(model, data: dict, patch: int, steps: int,
                       batch_size: int, lr: float, rng,
                       progress: bool) -> float:
    """Stage 1: the image tower learns to see facial parts and movements.

    Two heads, both on what the renderer knows and neither on a class:
    the class-token embedding regresses the frame's action-unit
    intensities, and every patch token predicts the mix of parsing classes
    in its patch. The dense target gives each image dozens of supervised
    tokens; with the action units alone a 4-layer ViT barely learned in
    this budget (held-out R^2 0.2 after 500 steps, 0.7 with both).
    """
    visual = model.visual
    au_head = torch.nn.Linear(visual.output_dim, data['action_units'].shape[1])
    part_head = torch.nn.Linear(visual.conv1.out_channels,
                                len(PARSING_CLASSES))
    params = (
        list(visual.parameters()) + list(au_head.parameters()) +
        list(part_head.parameters()))
    # foreach: the same arithmetic in fewer kernel launches (bitwise the
    # same weights, about a tenth faster on 2 CPU cores)
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.05,
                                  foreach=True)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=steps, pct_start=0.1)
    targets = torch.from_numpy(data['action_units'])
    part_mix = torch.from_numpy(patch_class_mix(data['parsing'], patch))
    visual.output_tokens = True
    loss = torch.zeros(())
    for _ in _timed_steps(steps, 'tiny CLIP, image tower', progress):
        idx = rng.randint(0, len(targets), batch_size)
        pooled, tokens = visual(_normalise(data['images'][idx]))
        au_loss = F.mse_loss(au_head(pooled), targets[idx])
        part_loss = -(part_mix[idx] *
                      part_head(tokens).log_softmax(-1)).sum(-1).mean()
        loss = au_loss + 0.1 * part_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
    visual.output_tokens = False
    return loss.item()


class _UsedRowsEmbedding(torch.nn.Module):
    """A token table that holds, as its parameter, only the rows in use.

    Takes and embeds the original token ids (the model's pooling still
    reads them), through a lookup from id to row.

    Args:
        table: The full ``(vocab, width)`` token table.
        used: The token ids in use, sorted.
    """

    def __init__(self, table: torch.Tensor, used: torch.Tensor):
        super().__init__()
        self.weight = torch.nn.Parameter(table[used].clone())
        lookup = torch.full((len(table), ), -1, dtype=torch.long)
        lookup[used] = torch.arange(len(used))
        self.register_buffer('lookup', lookup, persistent=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return F.embedding(self.lookup[tokens], self.weight)


def _tune_text_tower(model, image_feats, tokens, caption_ids, steps,
                     batch_size, lr, rng, progress: bool) -> float:
    """Stage 2: locked-image text tuning (LiT, Zhai et al. 2022).

    The image tower is frozen; the text tower and the temperature learn to
    match each caption to the embeddings of its frames.

    The captions use 76 of the 49,408 token rows. AdamW leaves a row
    that never had a gradient at zero moments, so its whole update is the
    decoupled weight decay; the optimiser therefore holds only the rows in
    use, and the rest of the table is decayed by the same factor each step.
    The weights are bitwise those of AdamW on the whole table
    (tests/test_pretraining.py), and a step takes 0.12 s instead of 0.19 s
    (one thread, AVX-512 CPU): the Adam arithmetic on 6.3M moments, nearly
    all zero, was most of the difference (torch's CPU square root took
    0.07 s a step on them: it is slow on zeros there).
    """
    table = model.token_embedding
    model.token_embedding = _UsedRowsEmbedding(table.weight.detach(),
                                               tokens.unique())
    params = [
        p for n, p in model.named_parameters() if not n.startswith('visual.')
    ]
    weight_decay = 0.05
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay,
                                  foreach=True)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=steps, pct_start=0.1)
    loss = torch.zeros(())
    for _ in _timed_steps(steps, 'tiny CLIP, text tower', progress):
        idx = torch.as_tensor(rng.randint(0, len(tokens), batch_size))
        text_feats = model.encode_text(tokens[idx], normalize=True)
        logits = model.logit_scale.exp() * image_feats[idx] @ text_feats.t()
        ids = caption_ids[idx]
        loss = _multi_positive_loss(logits, (ids[:,
                                                 None] == ids[None]).float())
        optimizer.zero_grad()
        loss.backward()
        with torch.no_grad():  # AdamW's step for the rows it does not hold
            table.weight.mul_(1 - optimizer.param_groups[0]['lr'] *
                              weight_decay)
        optimizer.step()
        scheduler.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, 4.6052)  # scale <= 100, as CLIP
    compact = model.token_embedding
    with torch.no_grad():
        table.weight[compact.lookup >= 0] = compact.weight
    model.token_embedding = table
    return loss.item()


@torch.no_grad()
def _embed_images(model, images, batch_size=256) -> torch.Tensor:
    """Normalised image embeddings, computed once for the text stage."""
    return torch.cat([
        model.encode_image(
            _normalise(images[i:i + batch_size]), normalize=True)
        for i in range(0, len(images), batch_size)
    ])


def pretrain_tiny_clip(out_file: str,
                       arch: dict,
                       num_clips: int = 420,
                       frames_per_clip: int = 12,
                       image_steps: int = 500,
                       text_steps: int = 300,
                       batch_size: int = 32,
                       lr: float = 3e-3,
                       seed: int = 1000,
                       progress: bool = True) -> dict:
    """Pretrains a tiny CLIP in two stages and saves its state dict.

    Contrastive training of both towers from scratch stays near chance for
    thousands of steps at this size (measured: 235 steps of batch 64 moved
    the loss from 4.17 to 4.03). Two short stages learn in about a minute
    on 2 CPU cores instead (72 s on a 2-core AVX-512 machine): the image
    tower learns the renderer's physical annotations (see
    ``_train_image_tower``), then the text tower is tuned contrastively
    against the locked image tower (LiT).

    Args:
        out_file: Where to write the weights (a plain state dict that
            ``build_clip(arch, pretrained=out_file)`` loads).
        arch: The CLIP shapes (``embed_dim``, ``vision_cfg``, ``text_cfg``).
        num_clips: Synthetic clips to render for pretraining.
        frames_per_clip: Frames per clip; each frame is one sample.
        image_steps: Steps of stage 1 (image tower).
        text_steps: Steps of stage 2 (text tower, LiT).
        batch_size: Samples per step.
        lr: AdamW peak learning rate of both stages (one-cycle schedule).
        seed: Seed of the renderer and of the initialisation.
        progress: Show progress bars.

    Returns:
        dict: Provenance written next to the weights as ``<out_file>.json``.
    """
    start = time.time()
    torch.manual_seed(seed)
    rng = np.random.RandomState(seed)
    vision = arch['vision_cfg']
    data = render_pretraining_set(num_clips, frames_per_clip,
                                  vision['image_size'], seed)
    model = build_clip(arch, pretrained=None, freeze=False).train()
    image_loss = _train_image_tower(model, data, vision['patch_size'],
                                    image_steps, batch_size, lr, rng, progress)
    model.visual.requires_grad_(False)
    image_feats = _embed_images(model.eval(), data['images'])
    tokens = SimpleTokenizer(context_length=model.context_length)(
        data['captions'])
    caption_ids = torch.as_tensor(
        np.unique(np.array(data['captions']), return_inverse=True)[1])
    text_loss = _tune_text_tower(model.train(), image_feats, tokens,
                                 caption_ids, text_steps, 2 * batch_size, lr,
                                 rng, progress)
    info = dict(
        arch=arch,
        seed=seed,
        samples=len(tokens),
        image_steps=image_steps,
        text_steps=text_steps,
        final_image_loss=image_loss,
        final_text_loss=text_loss,
        seconds=round(time.time() - start, 1))
    _save(model.state_dict(), info, out_file)
    return info


def _save(state_dict: dict, info: dict, out_file: str) -> None:
    """Writes weights and provenance atomically (a crash leaves no stub)."""
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    tmp = f'{out_file}.tmp{os.getpid()}'
    torch.save(state_dict, tmp)
    os.replace(tmp, out_file)
    with open(f'{out_file}.json', 'w') as f:
        json.dump(info, f, indent=2)


def tiny_clip_ready(out_file: str, arch: Optional[dict] = None) -> bool:
    """Whether weights pretrained for ``arch`` exist at ``out_file``."""
    if not osp.isfile(out_file) or not osp.isfile(f'{out_file}.json'):
        return False
    if arch is None:
        return True
    with open(f'{out_file}.json') as f:
        return json.load(f).get('arch') == json.loads(json.dumps(arch))
