"""Writes the synthetic cartoon-face dataset in the FERV39k and MAFW layouts.

The clips are rendered exactly as for the DFEW layout (``writer.py``); only
the class set, the split files and the folder names differ. See
``docs/synthetic_data.md`` for the on-disk formats.
"""
from __future__ import annotations

import os
import os.path as osp
import time

import cv2
import numpy as np

from ..descriptions import description_line
from ..splits import stratified_holdout
from .writer import (FACE_MAP_DIR, SYNTHETIC_PROVENANCE, _assign,
                     _base_meta, _render_clips, _validate, _write_face_map,
                     _write_frames, _write_meta, generate_synthetic_dfew)

#: FERV39k's classes, in its label order (the same seven as DFEW's).
FERV39K_SYNTHETIC_CLASSES = ('Happy', 'Sad', 'Neutral', 'Angry', 'Surprise',
                             'Disgust', 'Fear')
#: MAFW's single-label classes, in its label order.
MAFW_SYNTHETIC_CLASSES = ('anger', 'disgust', 'fear', 'happiness', 'neutral',
                          'sadness', 'surprise', 'contempt', 'anxiety',
                          'helplessness', 'disappointment')
#: Made-up scene names (FERV39k groups clips by scene); no spaces.
FERV39K_SCENES = ('Classroom', 'Street', 'Interview', 'Party', 'Office',
                  'Hospital', 'Kitchen', 'Stage')

FERV39K_FORMAT_NAME = 'fineclip-synthetic-ferv39k'
MAFW_FORMAT_NAME = 'fineclip-synthetic-mafw'
FERV39K_FRAME_DIR = '2_ClipsforFaceCrop'
FERV39K_SPLIT_DIR = osp.join('4_setups', 'All_scenes')
MAFW_FRAME_DIR = osp.join('data', 'faces')
MAFW_VIDEO_DIR = osp.join('data', 'clips')
MAFW_SPLIT_DIR = osp.join('Train & Test Set', 'single')
MAFW_NUM_FOLDS = 5
MAFW_FPS = 25.0
# Per-clip random streams: np.random.default_rng([seed, i + 1, key]), so a
# layout never repeats the DFEW layout's clips (whose stream is [seed, i+1]).
_FERV39K_STREAM = (39,)
_MAFW_STREAM = (11,)


def _write_descriptions(path: str, clip_ids, texts) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        f.write(''.join(description_line(c, t, SYNTHETIC_PROVENANCE)
                        for c, t in zip(clip_ids, texts)))


def _ferv39k_split(rng: np.random.Generator, labels: np.ndarray,
                   num_classes: int, test_fraction: float) -> np.ndarray:
    """Stratified test mask: per class ``round(fraction * n)`` clips, at
    least one and never all."""
    return stratified_holdout(labels, test_fraction, rng,
                              classes=range(num_classes),
                              keep_both_sides=True)


def generate_synthetic_ferv39k(out_dir: str, num_clips: int = 140,
                               seed: int = 0, image_size: int = 112,
                               min_frames: int = 10, max_frames: int = 48,
                               test_fraction: float = 0.2,
                               parsing_size: int | None = None,
                               progress: bool = True) -> dict:
    """Generates the synthetic dataset in the official FERV39k layout.

    Writes ``2_ClipsforFaceCrop/{Scene}/{Emotion}/{NNNN}/{t:05d}.jpg``,
    ``4_setups/All_scenes/{train,test}_All.csv`` (lines
    ``Scene/Emotion/NNNN Emotion``),
    ``face_maps/{Scene}/{Emotion}/{NNNN}.npz``, ``descriptions.jsonl``
    (``clip_id`` = ``Scene/Emotion/NNNN``) and, last, ``meta.json``.
    Reproducible for a given argument set.

    Args:
        out_dir: Root folder; created if missing.
        num_clips: Number of clips; at least 14 (two per class).
        seed: Master random seed.
        image_size: Side of the square frames in pixels.
        min_frames: Shortest clip length (>= 1).
        max_frames: Longest clip length (>= min_frames).
        test_fraction: Share of each class in the test split, in (0, 1).
        parsing_size: Side of the parsing maps (default: image_size).
        progress: Whether to show a tqdm progress bar.

    Returns:
        Summary dict: output paths, ``num_clips``, ``num_frames``,
        ``class_counts``, ``split_counts`` (split -> clips) and ``seconds``.

    Raises:
        ValueError: If an argument is out of range.
    """
    classes = FERV39K_SYNTHETIC_CLASSES
    if not 0 < test_fraction < 1:
        raise ValueError(f'test_fraction must be in (0, 1), got '
                         f'{test_fraction}')
    _validate(num_clips, image_size, min_frames, max_frames, 2, parsing_size,
              num_classes=len(classes))
    start = time.perf_counter()
    master = np.random.default_rng([seed, *_FERV39K_STREAM])
    labels = master.permutation(np.arange(num_clips) % len(classes))
    test = _ferv39k_split(master, labels, len(classes), test_fraction)
    lengths = master.integers(min_frames, max_frames + 1, num_clips)
    scenes = master.integers(0, len(FERV39K_SCENES), num_clips)
    clip_ids, counters = [], {}
    for i in range(num_clips):
        key = (FERV39K_SCENES[scenes[i]], classes[labels[i]])
        counters[key] = counters.get(key, 0) + 1
        clip_ids.append(f'{key[0]}/{key[1]}/{counters[key]:04d}')
    texts = []
    for i, clip, text in _render_clips(
            seed, [classes[c] for c in labels], lengths, image_size,
            parsing_size, progress, 'synthetic FERV39k', _FERV39K_STREAM):
        parts = clip_ids[i].split('/')
        _write_frames(osp.join(out_dir, FERV39K_FRAME_DIR, *parts),
                      clip['frames'])
        _write_face_map(osp.join(out_dir, FACE_MAP_DIR, *parts[:-1],
                                 parts[-1] + '.npz'), clip)
        texts.append(text)
    split_dir = osp.join(out_dir, FERV39K_SPLIT_DIR)
    os.makedirs(split_dir, exist_ok=True)
    for name, keep in (('train', ~test), ('test', test)):
        rows = [f'{clip_ids[i]} {classes[labels[i]]}\n'
                for i in np.flatnonzero(keep)]
        with open(osp.join(split_dir, f'{name}_All.csv'), 'w',
                  newline='') as f:
            f.write(''.join(rows))
    paths = {name: osp.join(out_dir, rel) for name, rel in (
        ('clip_dir', FERV39K_FRAME_DIR), ('split_dir', FERV39K_SPLIT_DIR),
        ('face_map_dir', FACE_MAP_DIR), ('descriptions', 'descriptions.jsonl'),
        ('meta', 'meta.json'))}
    _write_descriptions(paths['descriptions'], clip_ids, texts)
    meta = _base_meta(FERV39K_FORMAT_NAME, classes, image_size, parsing_size,
                      num_clips, seed)
    meta.update(layout='ferv39k', test_fraction=test_fraction,
                scenes=list(FERV39K_SCENES), min_frames=min_frames,
                max_frames=max_frames)
    _write_meta(paths['meta'], meta)
    counts = np.bincount(labels, minlength=len(classes))
    return dict(out_dir=out_dir, **paths, num_clips=num_clips,
                num_frames=int(lengths.sum()),
                class_counts=dict(zip(classes, map(int, counts))),
                split_counts=dict(train=int((~test).sum()),
                                  test=int(test.sum())),
                seconds=round(time.perf_counter() - start, 2))


def _write_video(path: str, frames: np.ndarray, fps: float) -> None:
    """Writes RGB frames as an MPEG-4 part 2 (``mp4v``) ``.mp4`` file."""
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (width, height))
    if not writer.isOpened():
        raise OSError(f"OpenCV cannot write the mp4v video '{path}'")
    try:
        for frame in frames:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()


def chinese_caption(clip_id: str) -> str:
    """The (GBK-encodable) Chinese caption of a synthetic MAFW clip."""
    return f'合成片段{clip_id}'


def _write_mafw_splits(out_dir: str, clip_ids, names, folds, texts) -> None:
    for k in range(MAFW_NUM_FOLDS):
        for split, keep in (('train', folds != k), ('test', folds == k)):
            index = np.flatnonzero(keep)
            plain = ''.join(f'{clip_ids[i]}.mp4 {names[i]}\r\n'
                            for i in index)
            captioned = ''.join(
                f'{clip_ids[i]}.mp4\t{names[i]}\t'
                f'{chinese_caption(clip_ids[i])}\t{texts[i]}\r\n'
                for i in index)
            for variant, text, encoding in (
                    ('no_caption', plain, 'utf-8'),
                    ('with_caption', captioned, 'gbk')):
                folder = osp.join(out_dir, MAFW_SPLIT_DIR, variant,
                                  f'set_{k + 1}')
                os.makedirs(folder, exist_ok=True)
                with open(osp.join(folder, f'{split}.txt'), 'wb') as f:
                    f.write(text.encode(encoding))


def generate_synthetic_mafw(out_dir: str, num_clips: int = 220,
                            seed: int = 0, image_size: int = 112,
                            min_frames: int = 10, max_frames: int = 48,
                            video: bool = False,
                            parsing_size: int | None = None,
                            progress: bool = True) -> dict:
    """Generates the synthetic dataset in the official MAFW (single) layout.

    Writes ``data/faces/{id:05d}/{t:05d}.jpg`` (always),
    ``data/clips/{id:05d}.mp4`` (``video=True``; mp4v at 25 fps, the same
    frames), the split files ``Train & Test Set/single/{no_caption,
    with_caption}/set_{k}/{train,test}.txt`` (k = 1..5, stratified 5-fold
    CV, CRLF; the with-caption files are TAB-separated GBK with a Chinese
    and an English caption, the latter the clip's description),
    ``face_maps/{id:05d}.npz``, ``descriptions.jsonl`` and, last,
    ``meta.json``. Byte-for-byte reproducible for a given argument set
    (the videos for a given OpenCV build).

    Args:
        out_dir: Root folder; created if missing.
        num_clips: Number of clips; at least 55 (5 folds x 11 classes).
        seed: Master random seed.
        image_size: Side of the square frames in pixels (even, for video).
        min_frames: Shortest clip length (>= 1).
        max_frames: Longest clip length (>= min_frames).
        video: Also write the ``.mp4`` clips.
        parsing_size: Side of the parsing maps (default: image_size).
        progress: Whether to show a tqdm progress bar.

    Returns:
        Summary dict: output paths, ``num_clips``, ``num_frames``,
        ``class_counts`` and ``seconds`` taken.

    Raises:
        ValueError: If an argument is out of range.
    """
    classes = MAFW_SYNTHETIC_CLASSES
    _validate(num_clips, image_size, min_frames, max_frames, MAFW_NUM_FOLDS,
              parsing_size, num_classes=len(classes))
    if video and image_size % 2:
        raise ValueError(f'image_size must be even to write videos, got '
                         f'{image_size}')
    start = time.perf_counter()
    master = np.random.default_rng([seed, *_MAFW_STREAM])
    labels, folds = _assign(master, num_clips, MAFW_NUM_FOLDS, len(classes))
    lengths = master.integers(min_frames, max_frames + 1, num_clips)
    names = [classes[c] for c in labels]
    clip_ids = [f'{i + 1:05d}' for i in range(num_clips)]
    if video:
        os.makedirs(osp.join(out_dir, MAFW_VIDEO_DIR), exist_ok=True)
    texts = []
    for i, clip, text in _render_clips(seed, names, lengths, image_size,
                                       parsing_size, progress,
                                       'synthetic MAFW', _MAFW_STREAM):
        _write_frames(osp.join(out_dir, MAFW_FRAME_DIR, clip_ids[i]),
                      clip['frames'])
        if video:
            _write_video(osp.join(out_dir, MAFW_VIDEO_DIR,
                                  f'{clip_ids[i]}.mp4'), clip['frames'],
                         MAFW_FPS)
        _write_face_map(osp.join(out_dir, FACE_MAP_DIR,
                                 f'{clip_ids[i]}.npz'), clip)
        texts.append(text)
    _write_mafw_splits(out_dir, clip_ids, names, folds, texts)
    paths = {name: osp.join(out_dir, rel) for name, rel in (
        ('clip_dir', MAFW_FRAME_DIR), ('split_dir', MAFW_SPLIT_DIR),
        ('face_map_dir', FACE_MAP_DIR), ('descriptions', 'descriptions.jsonl'),
        ('meta', 'meta.json'))}
    if video:
        paths['video_dir'] = osp.join(out_dir, MAFW_VIDEO_DIR)
    _write_descriptions(paths['descriptions'], clip_ids, texts)
    meta = _base_meta(MAFW_FORMAT_NAME, classes, image_size, parsing_size,
                      num_clips, seed)
    meta.update(layout='mafw', num_folds=MAFW_NUM_FOLDS, min_frames=min_frames,
                max_frames=max_frames, video=bool(video),
                fps=MAFW_FPS if video else None)
    _write_meta(paths['meta'], meta)
    counts = np.bincount(labels, minlength=len(classes))
    return dict(out_dir=out_dir, **paths, num_clips=num_clips,
                num_frames=int(lengths.sum()),
                class_counts=dict(zip(classes, map(int, counts))),
                seconds=round(time.perf_counter() - start, 2))


SYNTHETIC_LAYOUTS = {'dfew': generate_synthetic_dfew,
                     'ferv39k': generate_synthetic_ferv39k,
                     'mafw': generate_synthetic_mafw}


def generate_synthetic(layout: str, out_dir: str, **kwargs) -> dict:
    """Generates the synthetic dataset in a named layout.

    Args:
        layout: ``'dfew'``, ``'ferv39k'`` or ``'mafw'`` (case-insensitive).
        out_dir: Root folder.
        **kwargs: Passed to ``generate_synthetic_{layout}``.

    Returns:
        That generator's summary dict.

    Raises:
        ValueError: For an unknown layout.
    """
    key = str(layout).strip().lower()
    if key not in SYNTHETIC_LAYOUTS:
        raise ValueError(f'unknown synthetic layout {layout!r}; choose one '
                         f'of {sorted(SYNTHETIC_LAYOUTS)}')
    return SYNTHETIC_LAYOUTS[key](out_dir, **kwargs)
