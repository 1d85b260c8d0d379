"""Writes a synthetic cartoon-face dataset in the official DFEW layout.

See ``docs/synthetic_data.md`` for the on-disk format.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import shutil
import time

import cv2
import numpy as np

from fineclip.utils.errors import ConfigError
from fineclip.utils.progress import progress_bar

from ..description_provenance import make_provenance
from ..descriptions import description_line
from ..face_maps import FaceMaps, save_face_maps
from ..splits import stratified_folds
from .dynamics import (SYNTHETIC_CLASSES, describe_action_units,
                       sample_action_units)
from .face_model import (ACTION_UNITS, HeadPose, build_face,
                         canonical_landmarks, sample_identity)
from .render import (PARSING_CLASSES, feature_polygons,
                     render_frame, render_parsing, sample_palette)

#: Provenance of the generator's descriptions. The text is worded from the
#: clip's own action-unit track (the movements its frames show), by
#: ``describe_action_units``, which is never handed the class; it holds no
#: emotion word. The track itself is drawn from the class's dynamics, as a
#: real face's movements follow its expression: that is signal, not a
#: label given to the describer.
SYNTHETIC_PROVENANCE = make_provenance('synthetic.describe_action_units',
                                       label_given=False)

FORMAT_NAME = 'fineclip-synthetic-dfew'
FORMAT_VERSION = 1
CLIP_DIR = osp.join('Clip', 'clip_224x224')  # DFEW's folder name, kept as is
SPLIT_DIR = 'EmoLabel_DataSplit'
FACE_MAP_DIR = 'face_maps'


def _render_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth gradient between two random colours (RGB uint8)."""
    colours = rng.uniform(0, 255, (2, 3))
    angle = rng.uniform(0, 2 * np.pi)
    grid = (np.arange(size) + 0.5) / size - 0.5
    proj = np.cos(angle) * grid[None, :] + np.sin(angle) * grid[:, None]
    t = np.clip(proj / 1.42 + 0.5, 0, 1)[..., None]
    return ((1 - t) * colours[0] + t * colours[1]).astype(np.uint8)


def _apply_camera(img: np.ndarray, noise: np.ndarray,
                  gain: float) -> np.ndarray:
    """Exposure flicker (gain) plus additive float32 noise on a uint8 frame."""
    # saturate_cast rounds to nearest and clips to [0, 255]
    return cv2.addWeighted(img.astype(np.float32), float(gain), noise, 1.0,
                           0.0, dtype=cv2.CV_8U)


def _pose_track(rng: np.random.Generator, num_frames: int,
                size: int) -> list[HeadPose]:
    """A slowly drifting head: start/end poses blended smoothly plus wobble."""
    scale = rng.uniform(0.5, 0.8) * size
    start = np.array([size / 2 + rng.uniform(-0.12, 0.12) * size,
                      size / 2 - 0.08 * scale + rng.uniform(-0.1, 0.1) * size,
                      scale, rng.uniform(-0.12, 0.12)])
    end = start + np.array([
        rng.normal(0, 0.03 * size), rng.normal(0, 0.03 * size),
        scale * rng.uniform(-0.07, 0.07), rng.uniform(-0.06, 0.06)])
    s = np.linspace(0.0, 1.0, num_frames)[:, None]
    blend = s * s * (3 - 2 * s)
    wobble = 0.008 * size * np.sin(2 * np.pi * (s * rng.uniform(0.5, 1.5)
                                                 + rng.random()))
    track = (1 - blend) * start + blend * end
    track[:, :2] += wobble
    return [HeadPose(*map(float, row)) for row in track]


def _fit_in_frame(canonical: list[np.ndarray], poses: list[HeadPose],
                  size: int, fill: float) -> list[HeadPose]:
    """Scales and shifts a pose track like a face-cropped video.

    DFEW's frames are face crops: over the whole clip, the landmarks' box
    spans ``fill`` of the frame side and stays inside it. (A tiny ViT learns
    facial movements from such crops within minutes, and from faces at
    half the frame size it did not learn at all.)
    """
    pts = np.concatenate([p.apply(c) for p, c in zip(poses, canonical)])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    margin = 0.5 * (1 - fill) * size
    k = fill * size / float(np.max(hi - lo))
    centre = (lo + hi) / 2
    half = k * (hi - lo) / 2
    target = np.clip(centre, margin + half, size - margin - half)
    return [HeadPose(target[0] + k * (p.cx - centre[0]),
                     target[1] + k * (p.cy - centre[1]), p.scale * k, p.roll)
            for p in poses]


def synthesize_clip(rng: np.random.Generator, label: int | str,
                    num_frames: int,
                    image_size: int = 112,
                    parsing_size: int | None = None) -> dict:
    """Generates one clip in memory.

    Args:
        rng: Source of randomness; the clip is a pure function of its state.
        label: 0-based index into :data:`SYNTHETIC_CLASSES`, or a class
            name (case-insensitive, e.g. MAFW's ``'contempt'``; see
            :func:`~.dynamics.apex_profile`).
        num_frames: Number of frames ``T``.
        image_size: Side ``H = W`` of the frames.
        parsing_size: Side ``S`` of the parsing maps (default: image_size).

    Returns:
        Dict with ``frames`` (T, H, W, 3) RGB uint8, ``landmarks`` (T, 68, 2)
        float32 in [0, 1] (``lm * size - 0.5`` is the pixel-index position at
        any resolution ``size``), ``face_found`` (T,) bool, ``parsing``
        (T, S, S) uint8 and ``action_units`` (T, K) float32.
    """
    parsing_size = parsing_size or image_size
    identity, palette = sample_identity(rng), sample_palette(rng)
    au = sample_action_units(label, num_frames, rng)
    canonical = [canonical_landmarks(identity, row)
                 for row in au.astype(np.float64)]
    poses = _fit_in_frame(canonical, _pose_track(rng, num_frames, image_size),
                          image_size, fill=rng.uniform(0.8, 0.92))
    background = _render_background(rng, image_size)
    # Drawing fresh Gaussian noise per frame dominates the run time, so each
    # frame takes a random window of one larger per-clip noise field instead.
    noise = rng.standard_normal((2 * image_size, 2 * image_size, 3),
                                dtype=np.float32)
    noise *= np.float32(rng.uniform(1.5, 5.0))  # sigma in grey levels
    windows = rng.integers(0, image_size + 1, (num_frames, 2))
    gains = 1.0 + rng.normal(0.0, 0.025, num_frames)
    frames = np.empty((num_frames, image_size, image_size, 3), np.uint8)
    parsing = np.empty((num_frames, parsing_size, parsing_size), np.uint8)
    landmarks = np.empty((num_frames, 68, 2), np.float32)
    for t in range(num_frames):
        face = build_face(identity, au[t], poses[t], canonical[t])
        polys = feature_polygons(face)
        y, x = windows[t]
        frames[t] = _apply_camera(
            render_frame(face, au[t], palette, background, polys),
            noise[y:y + image_size, x:x + image_size], gains[t])
        parsing[t] = render_parsing(face, parsing_size, image_size, polys)
        # continuous coordinates: 0 and 1 are the image borders
        landmarks[t] = (face.landmarks + 0.5) / image_size
    return dict(frames=frames, landmarks=landmarks,
                face_found=np.ones(num_frames, bool), parsing=parsing,
                action_units=au)


def _validate(num_clips, image_size, min_frames, max_frames, num_folds,
              parsing_size, num_classes=len(SYNTHETIC_CLASSES)):
    # ConfigError (a ValueError): the tools report it as the user's option
    if num_folds < 2:
        raise ConfigError(f'num_folds must be >= 2, got {num_folds}')
    need = num_folds * num_classes
    if num_clips < need:
        raise ConfigError(
            f'num_clips must be >= num_folds * num_classes = {need} so every '
            f'fold sees every class, got {num_clips}')
    if min_frames < 1 or min_frames > max_frames:
        raise ConfigError('need 1 <= min_frames <= max_frames, got '
                         f'min_frames={min_frames}, max_frames={max_frames}')
    for name, value in (('image_size', image_size),
                        ('parsing_size', parsing_size or image_size)):
        if value < 16:
            raise ConfigError(f'{name} must be >= 16 pixels, got {value}')


def _assign(rng: np.random.Generator, num_clips: int, num_folds: int,
            num_classes: int = len(SYNTHETIC_CLASSES)):
    """Balanced labels and a stratified fold per clip (0-based arrays)."""
    labels = rng.permutation(np.arange(num_clips) % num_classes)
    # classes dealt in label order, as the published synthetic sets were
    folds = stratified_folds(labels, num_folds, rng,
                             classes=range(num_classes))
    return labels, folds


def _write_splits(out_dir: str, labels: np.ndarray, folds: np.ndarray,
                  num_folds: int) -> None:
    for kind in ('train', 'test'):
        os.makedirs(osp.join(out_dir, SPLIT_DIR, f'{kind}(single-labeled)'),
                    exist_ok=True)
    for k in range(num_folds):
        for kind, keep in (('train', folds != k), ('test', folds == k)):
            rows = [f'{i + 1:05d},{labels[i] + 1}\n'
                    for i in np.flatnonzero(keep)]
            path = osp.join(out_dir, SPLIT_DIR, f'{kind}(single-labeled)',
                            f'set_{k + 1}.csv')
            with open(path, 'w', newline='') as f:
                f.write('video_name,label\n' + ''.join(rows))


def _write_frames(frame_dir: str, frames: np.ndarray) -> None:
    """Writes RGB frames as ``00001.jpg, ...`` (JPEG q95) into a fresh
    ``frame_dir`` (emptied first so no stale frames of a longer clip stay)."""
    shutil.rmtree(frame_dir, ignore_errors=True)  # drop stale longer clips
    os.makedirs(frame_dir)
    for t, frame in enumerate(frames, start=1):
        cv2.imwrite(osp.join(frame_dir, f'{t:05d}.jpg'),
                    cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, 95])


def _write_face_map(path: str, clip: dict) -> None:
    """Saves a clip's landmarks, parsing maps and action units (npz)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    # The extraction tools' own layout (one parsing member per frame), so a
    # sample decompresses only the frames it uses.
    save_face_maps(path, FaceMaps(landmarks=clip['landmarks'],
                                  face_found=clip['face_found'],
                                  parsing=clip['parsing']),
                   action_units=clip['action_units'])


def _write_clip(out_dir: str, clip_id: str, clip: dict) -> None:
    _write_frames(osp.join(out_dir, CLIP_DIR, clip_id), clip['frames'])
    _write_face_map(osp.join(out_dir, FACE_MAP_DIR, f'{clip_id}.npz'), clip)


def _render_clips(seed: int, labels, lengths, image_size: int,
                  parsing_size: int | None, progress: bool, desc: str,
                  stream: tuple = ()):
    """Yields ``(i, clip, description)`` for clip ``i = 0, 1, ...``.

    Clip ``i`` comes from its own ``np.random.default_rng([seed, i + 1,
    *stream])`` (``stream`` keeps layouts apart), so any clip can be
    regenerated alone. ``labels`` holds class indices or names.
    """
    for i in progress_bar(range(len(labels)), desc=desc,
                          disable=not progress):
        rng = np.random.default_rng([seed, i + 1, *stream])
        label = labels[i]
        label = label if isinstance(label, str) else int(label)
        clip = synthesize_clip(rng, label, int(lengths[i]), image_size,
                               parsing_size)
        yield i, clip, describe_action_units(clip['action_units'], rng)


def _base_meta(format_name: str, classes, image_size: int,
               parsing_size: int | None, num_clips: int, seed: int) -> dict:
    """The ``meta.json`` fields every layout shares, in the DFEW order."""
    return dict(format=format_name, version=FORMAT_VERSION,
                classes=list(classes), action_units=list(ACTION_UNITS),
                parsing_classes=list(PARSING_CLASSES), image_size=image_size,
                parsing_size=parsing_size or image_size, num_clips=num_clips,
                seed=seed)


def _write_meta(path: str, meta: dict) -> None:
    """Writes ``meta.json``; do it last, its presence marks completion."""
    with open(path, 'w') as f:
        json.dump(meta, f, indent=2)


def generate_synthetic_dfew(out_dir: str, num_clips: int = 350, seed: int = 0,
                            image_size: int = 112, min_frames: int = 10,
                            max_frames: int = 48, num_folds: int = 5,
                            parsing_size: int | None = None,
                            progress: bool = True) -> dict:
    """Generates the synthetic cartoon-face DFER dataset on disk.

    The output is byte-for-byte reproducible for a given argument set.

    Args:
        out_dir: Root folder; created if missing. Existing files of the same
            names are overwritten.
        num_clips: Number of clips; at least ``num_folds * 7``.
        seed: Master random seed.
        image_size: Side of the square frames in pixels.
        min_frames: Shortest clip length (>= 1).
        max_frames: Longest clip length (>= min_frames).
        num_folds: Number of cross-validation folds (>= 2).
        parsing_size: Side of the parsing maps (default: image_size).
        progress: Whether to show a tqdm progress bar.

    Returns:
        Summary dict: output paths, ``num_clips``, ``num_frames``,
        ``class_counts`` (class name -> clips) and ``seconds`` taken.

    Raises:
        ValueError: If an argument is out of range.
    """
    _validate(num_clips, image_size, min_frames, max_frames, num_folds,
              parsing_size)
    start = time.perf_counter()
    master = np.random.default_rng(seed)
    labels, folds = _assign(master, num_clips, num_folds)
    lengths = master.integers(min_frames, max_frames + 1, num_clips)
    os.makedirs(osp.join(out_dir, FACE_MAP_DIR), exist_ok=True)
    lines = []
    for i, clip, text in _render_clips(seed, labels, lengths, image_size,
                                       parsing_size, progress,
                                       'synthetic DFEW'):
        clip_id = f'{i + 1:05d}'
        _write_clip(out_dir, clip_id, clip)
        lines.append(description_line(clip_id, text, SYNTHETIC_PROVENANCE))
    _write_splits(out_dir, labels, folds, num_folds)
    paths = {name: osp.join(out_dir, rel) for name, rel in (
        ('clip_dir', CLIP_DIR), ('split_dir', SPLIT_DIR),
        ('face_map_dir', FACE_MAP_DIR), ('descriptions', 'descriptions.jsonl'),
        ('meta', 'meta.json'))}
    with open(paths['descriptions'], 'w') as f:
        f.write(''.join(lines))
    meta = _base_meta(FORMAT_NAME, SYNTHETIC_CLASSES, image_size,
                      parsing_size, num_clips, seed)
    meta.update(num_folds=num_folds, min_frames=min_frames,
                max_frames=max_frames)
    _write_meta(paths['meta'], meta)
    counts = np.bincount(labels, minlength=len(SYNTHETIC_CLASSES))
    return dict(out_dir=out_dir, **paths, num_clips=num_clips,
                num_frames=int(lengths.sum()),
                class_counts=dict(zip(SYNTHETIC_CLASSES, map(int, counts))),
                seconds=round(time.perf_counter() - start, 2))
