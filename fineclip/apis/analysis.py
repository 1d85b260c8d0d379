"""What the plot tools in ``tools/analysis/`` share: reading a ``--dump``
file and a work dir's logged scalars, loading a trained model with its test
dataloader, PN similarities per clip, and the last image block's attention.

The drawing itself lives in :mod:`fineclip.visualization`; the tools stay
thin wrappers around these helpers.
"""
import contextlib
import fnmatch
import glob
import json
import os.path as osp
from collections import OrderedDict
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

# --- predictions dumped by ``tools/test.py --dump`` -------------------------

DUMP_KEYS = ('pred_score', 'pred_label', 'gt_label')
# Keys under which a dump may carry the class names (ours does not write
# them; a user's own DumpResults subclass or script may).
CLASS_NAME_KEYS = ('classes', 'class_names')


def _first_int(value, what: str, path: str, index: int) -> int:
    """The single integer held by a label (tensor, array, list or int)."""
    flat = np.asarray(
        value.detach().cpu() if torch.is_tensor(value) else value).reshape(-1)
    if flat.size != 1:
        raise ValueError(f"'{path}': sample {index} has a {what} with "
                         f'{flat.size} values, expected one.')
    return int(flat[0])


def load_dump(path: str) -> dict:
    """Reads a ``tools/test.py --dump`` file and checks its shape.

    Args:
        path: The ``.pkl`` file MMEngine's ``DumpResults`` wrote: a list of
            dicts, one per clip, with ``pred_score`` (``(C,)``
            probabilities), ``pred_label`` and ``gt_label``.

    Returns:
        dict: ``labels`` and ``preds`` (``(N,)`` int arrays), ``scores``
        (``(N, C)``), ``clip_ids`` (``None`` where absent) and ``classes``
        (the class names if the dump holds them, else ``None``).

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it is not a non-empty list of dicts with the keys
            above and scores of one length.
    """
    import mmengine
    if not osp.isfile(path):
        raise FileNotFoundError(f"Dump file '{path}' does not exist.")
    samples = mmengine.load(path, file_format='pkl')
    if not isinstance(samples, (list, tuple)) or not samples:
        raise ValueError(
            f"'{path}' holds a {type(samples).__name__}, not a non-empty list "
            'of per-clip dicts: write it with tools/test.py CONFIG CKPT '
            '--dump FILE.pkl')
    labels, preds, scores, clip_ids = [], [], [], []
    classes = None
    for i, sample in enumerate(samples):
        if not isinstance(sample, dict):
            raise ValueError(f"'{path}': sample {i} is a "
                             f'{type(sample).__name__}, not a dict.')
        missing = [k for k in DUMP_KEYS if k not in sample]
        if missing:
            raise ValueError(
                f"'{path}': sample {i} lacks {missing} (it has "
                f'{sorted(sample)}); a tools/test.py --dump file has '
                f'{list(DUMP_KEYS)}.')
        labels.append(_first_int(sample['gt_label'], 'gt_label', path, i))
        preds.append(_first_int(sample['pred_label'], 'pred_label', path, i))
        score = sample['pred_score']
        score = score.detach().cpu() if torch.is_tensor(score) else score
        scores.append(np.asarray(score, dtype=np.float64).reshape(-1))
        clip_ids.append(sample.get('clip_id'))
        for key in CLASS_NAME_KEYS:
            if classes is None and sample.get(key) is not None:
                classes = [str(c) for c in sample[key]]
    lengths = {len(s) for s in scores}
    if len(lengths) != 1:
        raise ValueError(f"'{path}': pred_score lengths differ between "
                         f'samples: {sorted(lengths)}.')
    return dict(labels=np.array(labels, dtype=np.int64),
                preds=np.array(preds, dtype=np.int64),
                scores=np.stack(scores),
                clip_ids=clip_ids if any(c is not None
                                         for c in clip_ids) else None,
                classes=classes)


def resolve_class_names(num_classes: int,
                        from_dump: Optional[Sequence[str]] = None,
                        given: Optional[Sequence[str]] = None) -> List[str]:
    """Class names: the given ones (``--classes`` overrides), else the
    dump's, else ``class i``.

    Raises:
        ValueError: If the chosen names are not ``num_classes`` many.
    """
    for names, where in ((given, '--classes'), (from_dump, 'the dump')):
        if names:
            if len(names) != num_classes:
                raise ValueError(
                    f'{where} names {len(names)} classes but the scores '
                    f'have {num_classes}: {list(names)}')
            return [str(n) for n in names]
    return [f'class {i}' for i in range(num_classes)]


# --- scalars logged by MMEngine ---------------------------------------------


def find_scalar_files(work_dir: str, run: str = 'latest') -> List[str]:
    """The ``<timestamp>/vis_data/scalars.json`` files of a work dir.

    Args:
        work_dir: A training work dir (or one run's ``<timestamp>`` folder,
            or a ``scalars.json`` itself).
        run: ``'latest'`` (the newest run that logged scalars: a later
            ``tools/test.py`` run logs none), ``'all'`` (every run, oldest
            first, e.g. a training and its resumptions) or one timestamp.

    Raises:
        FileNotFoundError: If no ``scalars.json`` matches.
    """
    if osp.isfile(work_dir):
        return [work_dir]
    own = osp.join(work_dir, 'vis_data', 'scalars.json')
    if osp.isfile(own):
        return [own]
    # Timestamps (YYYYMMDD_HHMMSS) sort in time order as strings.
    found = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')))
    if not found:
        raise FileNotFoundError(
            f"No <timestamp>/vis_data/scalars.json under '{work_dir}': is it "
            'the work dir of a training run (tools/train.py --work-dir)?')
    if run == 'latest':
        return found[-1:]
    if run == 'all':
        return found
    chosen = [f for f in found
              if osp.basename(osp.dirname(osp.dirname(f))) == run]
    if not chosen:
        runs = [osp.basename(osp.dirname(osp.dirname(f))) for f in found]
        raise FileNotFoundError(
            f"No run '{run}' with scalars in '{work_dir}'; runs: {runs}")
    return chosen


def read_scalars(files: Sequence[str]) -> dict:
    """Reads logged scalars into curves.

    Training lines carry ``iter`` (and ``step``, the global iteration);
    validation lines do not, and their ``step`` is the epoch (or the
    iteration in iteration-based loops). Where runs overlap (a resumed run
    logs again from its checkpoint), the later file's value wins.

    Returns:
        dict: ``train`` and ``val``, each ``{key: (xs, ys)}`` sorted by x;
        ``by_epoch`` (whether validation steps are epochs).
    """
    curves = dict(train={}, val={})
    by_epoch = False
    for path in files:
        with open(path) as f:
            for line_no, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(
                        f"'{path}' line {line_no} is not JSON: {err}"
                    ) from err
                if 'step' not in record:
                    continue
                phase = 'train' if 'iter' in record else 'val'
                by_epoch = by_epoch or (phase == 'train'
                                        and 'epoch' in record)
                step = record['step']
                for key, value in record.items():
                    if key in ('step', 'iter', 'epoch') or not isinstance(
                            value, (int, float)) or isinstance(value, bool):
                        continue
                    curves[phase].setdefault(key, {})[step] = float(value)
    out = dict(by_epoch=by_epoch)
    for phase, keys in curves.items():
        out[phase] = {
            key: (np.array(sorted(points), dtype=float),
                  np.array([points[s] for s in sorted(points)], dtype=float))
            for key, points in keys.items()}
    return out


# Default subplots: (title, phase, key patterns). Timings and grad_norm are
# left out unless asked for with ``keys``.
CURVE_GROUPS = (
    ('losses', 'train', ('loss', 'loss_*', '*_loss', 'ce_*')),
    ('learning rate', 'train', ('lr', 'base_lr')),
    ('branch weights (train)', 'train', ('w_*',)),
    ('validation', 'val', ('UAR', 'WAR', 'UAR/*')),
    ('fusion weights (val)', 'val', ('weight/*',)),
    ('per-class recall (val)', 'val', ('recall/*',)),
)


def group_curves(scalars: dict, keys: Optional[Sequence[str]] = None
                 ) -> List[Tuple[str, str, Dict[str, tuple]]]:
    """Sorts curves into subplots.

    Args:
        scalars: What :func:`read_scalars` returns.
        keys: Keys (or ``fnmatch`` patterns such as ``recall/*``) to plot;
            by default losses, lr, branch weights, UAR and WAR.

    Returns:
        list: ``(title, x label, {key: (xs, ys)})`` per non-empty subplot.

    Raises:
        KeyError: If a requested key matches nothing logged.
    """
    logged = {phase: scalars[phase] for phase in ('train', 'val')}
    if keys:
        for pattern in keys:
            if not any(fnmatch.filter(c, pattern) for c in logged.values()):
                raise KeyError(
                    f"No logged scalar matches '{pattern}'; logged: train "
                    f"{sorted(logged['train'])}, val {sorted(logged['val'])}")
    x_label = dict(train='iteration',
                   val='epoch' if scalars['by_epoch'] else 'iteration')
    groups, placed = [], set()
    for title, phase, patterns in CURVE_GROUPS:
        names = [k for k in logged[phase]
                 if any(fnmatch.fnmatchcase(k, p) for p in patterns)]
        if keys:
            names = [k for k in names
                     if any(fnmatch.fnmatchcase(k, p) for p in keys)]
        elif title.startswith('per-class'):
            names = []  # seven more lines: only when asked for
        elif 'weights' in title and len(names) < 2:
            names = []  # one branch always weighs 1: nothing to see
        placed.update((phase, k) for k in names)
        if names:
            groups.append((title, x_label[phase],
                           OrderedDict((k, logged[phase][k])
                                       for k in names)))
    # Requested keys no default group covers (grad_norm, time...) get a
    # subplot of their own phase.
    for phase in ('train', 'val'):
        rest = [k for k in logged[phase] if (phase, k) not in placed
                and keys and any(fnmatch.fnmatchcase(k, p) for p in keys)]
        if rest:
            groups.append((f'other ({phase})', x_label[phase],
                           OrderedDict((k, logged[phase][k])
                                       for k in rest)))
    return groups


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

    from fineclip.engine.checkpoints import CheckpointError, load_weights
    from fineclip.registry import MODELS
    from .cli import load_data_tool_config

    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f"Checkpoint '{checkpoint}' does not exist.")
    cfg = load_data_tool_config(config, cfg_options)
    model_cfg = cfg.model.copy()
    # A top-level data_preprocessor is merged into the model, as Runner does.
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    try:
        load_weights(model, checkpoint)
    except CheckpointError as err:
        raise RuntimeError(
            f"'{checkpoint}' does not fit the model of '{config}': was it "
            f'trained with this config (and these --cfg-options)?\n{err}'
        ) from err
    loader = Runner.build_dataloader(cfg.get(loader_key))
    model.set_class_names(loader.dataset.metainfo['classes'])
    model.to(device or default_device()).eval()
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
            raise KeyError(f"No representation '{branch}': the model gives "
                           f'{sorted(features)}.')
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
    from tqdm import tqdm

    positive, negative = model.text_features()
    t_p = F.normalize(positive, dim=-1)
    t_n = F.normalize(negative, dim=-1) if negative is not None else None
    labels, pos, neg, clip_ids, name = [], [], [], [], None
    total = len(loader.dataset) if max_clips is None else min(
        max_clips, len(loader.dataset))
    with tqdm(total=total, desc='PN similarity', unit='clip',
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
