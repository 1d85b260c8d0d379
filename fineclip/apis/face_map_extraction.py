"""Offline face-map extraction: every frame of every clip through a face
analyser, one file per clip (format: :mod:`fineclip.datasets.face_maps`).

Used by ``tools/data/extract_face_maps.py``. Clips come from a config's
datasets (all splits, so every clip of the dataset) or from a folder of clip
folders / videos. Extraction is resumable: a clip whose file exists is
skipped, and files are written atomically. Under torchrun or srun each rank
extracts its share of the clips (see :func:`extract_face_maps`).
"""
import json
import os
import os.path as osp
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, List, Optional, Tuple

import cv2
import numpy as np
from mmengine.config import Config
from torch.utils.data import DataLoader, Dataset

from fineclip.apis.sharding import RankContext, shard
from fineclip.datasets.bare import bare_datasets
from fineclip.datasets.base import IMAGE_EXTENSIONS, list_frames
from fineclip.datasets.face_maps import (FaceMaps, fill_missing,
                                         load_face_maps, save_face_maps,
                                         upgrade_face_map_file)
from fineclip.datasets.transforms.loading import read_frame_files
from fineclip.datasets.video import (VIDEO_EXTENSIONS, read_video_frames,
                                     video_length)
from fineclip.utils.progress import progress_bar

SUMMARY_FILE = 'extraction_summary.json'


@dataclass
class ClipSource:
    """Where one clip's frames are: a frame folder or a video file."""

    clip_id: str
    frame_dir: Optional[str] = None
    frame_names: List[str] = field(default_factory=list)
    video_path: Optional[str] = None

    def read_frames(self) -> np.ndarray:
        """All frames, ``(T, H, W, 3)`` RGB uint8."""
        if self.video_path:
            inds = range(video_length(self.video_path))
            return np.stack(read_video_frames(self.video_path, inds))
        return np.stack(read_frame_files(
            self.frame_dir, self.frame_names, range(len(self.frame_names)),
            self.clip_id))


def config_clip_infos(cfg: Config) -> Iterator[Tuple[dict, str, dict]]:
    """Every clip of the dataset a config points at (train and test).

    The datasets are read from their split files only
    (:func:`fineclip.datasets.bare.bare_datasets`): no pipeline, and
    neither face maps nor descriptions are required, since the data tools
    that call this may be what creates them.

    Yields:
        ``(info, class name, dataset config)`` once per clip id.
    """
    seen = set()
    for _, dataset, ds_cfg in bare_datasets(cfg):
        for info in dataset.load_data_list():
            if info['clip_id'] not in seen:
                seen.add(info['clip_id'])
                yield info, dataset.classes[info['label']], ds_cfg


def clips_from_config(cfg: Config) -> List[ClipSource]:
    """Every clip of the dataset a config points at (train and test)."""
    return [
        ClipSource(info['clip_id'], info.get('frame_dir'),
                   info.get('frame_names', []), info.get('video_path'))
        for info, _, _ in config_clip_infos(cfg)
    ]


def clips_from_folder(root: str) -> List[ClipSource]:
    """Clips under ``root``: each folder holding images, and each video.

    A clip's id is its path relative to ``root`` (without a video's
    extension), so ``root/00001/`` becomes ``00001`` and the file
    ``{out_dir}/00001.npz``.
    """
    if not osp.isdir(root):
        raise FileNotFoundError(f"Clip folder '{root}' does not exist.")
    clips = []
    for folder, _, files in sorted(os.walk(root)):
        rel = osp.relpath(folder, root)
        if any(osp.splitext(f)[1].lower() in IMAGE_EXTENSIONS
               for f in files):
            if rel == '.':
                raise ValueError(f"'{root}' holds frames itself; pass the "
                                 'folder that holds the clip folders.')
            clips.append(ClipSource(rel, folder, list_frames(folder)))
        for name in sorted(files):
            stem, ext = osp.splitext(name)
            if ext.lower() in VIDEO_EXTENSIONS:
                clip_id = stem if rel == '.' else osp.join(rel, stem)
                clips.append(ClipSource(clip_id,
                                        video_path=osp.join(folder, name)))
    if not clips:
        raise ValueError(f"No frame folders or videos under '{root}'.")
    return clips


def _batches(frames: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(frames), size):
        yield frames[start:start + size]


def analyze_clip(analyzer, frames: np.ndarray) -> FaceMaps:
    """Runs ``analyzer`` over a clip in batches; frames without a face take
    the nearest frame's maps."""
    analyzer.reset()  # a new clip: no tracking across clips
    parts = [analyzer.analyze(batch)
             for batch in _batches(frames, analyzer.batch_size)]
    return _clip_maps(analyzer, parts, len(frames))


def analyze_prepared_clip(analyzer, batches: list,
                          num_frames: int) -> FaceMaps:
    """:func:`analyze_clip` on a clip's batches already made ready by the
    analyser's :meth:`~BaseFaceAnalyzer.batch_preparer` (or plain frame
    batches when it has none)."""
    analyzer.reset()
    parts = [analyzer.analyze_prepared(batch) for batch in batches]
    return _clip_maps(analyzer, parts, num_frames)


def _clip_maps(analyzer, parts: List[dict], num_frames: int) -> FaceMaps:
    maps = FaceMaps(
        np.concatenate([p['landmarks'] for p in parts]).astype(np.float32),
        np.concatenate([p['face_found'] for p in parts]).astype(bool),
        np.concatenate([p['parsing'] for p in parts]).astype(np.uint8))
    maps.validate(f'{type(analyzer).__name__} output')
    if maps.num_frames != num_frames:
        raise ValueError(f'{type(analyzer).__name__} returned '
                         f'{maps.num_frames} frames for {num_frames}')
    return fill_missing(maps)


class ClipBatches(Dataset):
    """The clips' frames, decoded and cut into the analyser's batches.

    Runs in the extraction's loader workers: each item is one clip's
    ``(index, frame count, batches)``, every batch of ``batch_size``
    frames passed through ``prepare`` (the analyser's
    :meth:`~BaseFaceAnalyzer.batch_preparer`) when there is one.
    """

    def __init__(self, clips: List[ClipSource], batch_size: int,
                 prepare: Optional[Callable[[np.ndarray], Any]] = None):
        self.clips, self.batch_size, self.prepare = clips, batch_size, prepare

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> Tuple[int, int, list]:
        frames = self.clips[index].read_frames()
        batches = list(_batches(frames, self.batch_size))
        if self.prepare is not None:
            batches = [self.prepare(batch) for batch in batches]
        return index, len(frames), batches


def _as_is(item):
    """The loader's collate function: items are whole clips already."""
    return item


def prepared_clips(analyzer, clips: List[ClipSource],
                   num_workers: int) -> Iterator[Tuple[int, int, list]]:
    """``(index, frame count, batches)`` of every clip, in order, decoded
    and prepared by ``num_workers`` loader processes (0: in this one)."""
    dataset = ClipBatches(clips, analyzer.batch_size,
                          analyzer.batch_preparer())
    if not num_workers:
        return (dataset[i] for i in range(len(dataset)))
    return iter(DataLoader(dataset, batch_size=None, shuffle=False,
                           num_workers=num_workers, collate_fn=_as_is,
                           prefetch_factor=2))


def _count(summary: dict, clip_id: str, found: np.ndarray) -> None:
    summary['frames'] += len(found)
    summary['frames_without_face'] += int((~found).sum())
    if not found.any():
        summary['clips_without_face'].append(clip_id)


def _extract(analyzer, clips: List[ClipSource], out_dir: str,
             progress: bool, ctx: RankContext, num_workers: int = 0) -> dict:
    """The extraction loop over ``clips``; returns their summary (not
    written).

    Clips whose file exists are counted from it. The others are decoded
    and prepared by ``num_workers`` loader processes while this one runs
    the analyser, and their files are written by a background thread
    (compression releases the GIL) while the next clip is analysed.
    """
    summary = dict(clips=len(clips), extracted=0, skipped=0, frames=0,
                   frames_without_face=0, clips_without_face=[])
    paths = [osp.join(out_dir, c.clip_id + '.npz') for c in clips]
    done = [osp.isfile(p) for p in paths]
    todo = [c for c, d in zip(clips, done) if not d]
    desc = f'face maps [{ctx.tag}]' if ctx.distributed else 'face maps'
    bar = progress_bar(total=len(clips), desc=desc, unit='clip',
               disable=not progress,
               position=ctx.local_rank if ctx.distributed else None)
    batch = f'{analyzer.batch_size} frames'
    bar.set_postfix(batch=batch, no_face=0)
    prepared = prepared_clips(analyzer, todo, num_workers)
    with ThreadPoolExecutor(max_workers=1) as writer:
        pending: deque = deque()
        for clip, path, is_done in zip(clips, paths, done):
            if is_done:
                summary['skipped'] += 1
                with np.load(path, allow_pickle=False) as data:
                    found = data['face_found']  # reads only this array
            else:
                _, num_frames, batches = next(prepared)
                maps = analyze_prepared_clip(analyzer, batches, num_frames)
                while len(pending) >= 2:  # bounded: at most 2 clips queued
                    pending.popleft().result()
                pending.append(writer.submit(save_face_maps, path, maps))
                summary['extracted'] += 1
                found = maps.face_found
            _count(summary, clip.clip_id, found)
            bar.update()
            bar.set_postfix(batch=batch,
                            no_face=summary['frames_without_face'])
        for future in pending:  # a failed write raises here
            future.result()
    bar.close()
    return summary


def combine_summaries(parts: List[dict], clip_ids: List[str]) -> dict:
    """One summary over every rank's: counts added up, and the clips
    without a face listed in ``clip_ids``'s order (a 1-process run's)."""
    faceless = {c for p in parts for c in p['clips_without_face']}
    summary = {key: sum(p[key] for p in parts)
               for key in ('clips', 'extracted', 'skipped', 'frames',
                           'frames_without_face')}
    summary['clips_without_face'] = [c for c in clip_ids if c in faceless]
    return summary


def _write_summary(out_dir: str, summary: dict) -> None:
    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(out_dir, SUMMARY_FILE), 'w') as f:
        json.dump(summary, f, indent=2)


def extract_face_maps(analyzer, clips: Iterable[ClipSource], out_dir: str,
                      progress: bool = True,
                      ctx: Optional[RankContext] = None,
                      num_workers: int = 0) -> dict:
    """Writes ``{out_dir}/{clip_id}.npz`` for every clip not done yet.

    Analysers see one clip's frames ``analyzer.batch_size`` at a time; the
    progress bar counts clips and shows that batch size. With
    ``num_workers`` > 0, that many loader processes decode the clips (and
    run the analyser's :meth:`~BaseFaceAnalyzer.batch_preparer`, e.g.
    FaceXFormer's crops) ahead of the analysis; the files are the same as
    with 0, where this process does everything.

    In a job of several ranks (``ctx``, from
    :func:`fineclip.apis.sharding.init_data_tool_ranks`) every rank must
    pass the same clips; each analyses its share
    (:func:`fineclip.apis.sharding.shard`: clip ``i`` goes to rank ``i %
    world_size``) into the same folder, skipping its files that exist, and
    rank 0 writes the summary over all clips once every rank is done. The
    files and the summary are those of a 1-process run.

    Args:
        analyzer: A face analyser (``FACE_ANALYZERS``).
        clips: The clips, in the order of a 1-process run.
        out_dir: Folder of the ``.npz`` files.
        progress: Show a progress bar (one per rank, on line
            ``LOCAL_RANK``).
        ctx: This process's place in the job; default a 1-process run.
        num_workers: Loader processes per rank decoding and preparing
            frames (0: none).

    Returns:
        dict: ``clips``, ``extracted`` (this run), ``skipped`` (done
        before), and over all the clips' files: ``frames``,
        ``frames_without_face`` and ``clips_without_face`` (ids of clips
        where no frame had one). Also written to
        ``{out_dir}/extraction_summary.json``. In a job, the summary over
        every rank, on every rank.

    Raises:
        RankFailure: another rank failed (its error is quoted).
    """
    clips = list(clips)
    ctx = ctx or RankContext()
    if not ctx.distributed:
        summary = _extract(analyzer, clips, out_dir, progress, ctx,
                           num_workers)
        _write_summary(out_dir, summary)
        return summary
    ids = [c.clip_id for c in clips]
    ctx.check_same_items(ids)
    mine = shard(clips, ctx.rank, ctx.world_size)
    parts = ctx.run_everywhere(
        lambda: _extract(analyzer, mine, out_dir, progress, ctx,
                         num_workers))
    summary = combine_summaries(parts, ids)
    ctx.run_on_main(lambda: _write_summary(out_dir, summary))
    return summary


class _Upgrade(Dataset):
    """Rewrites face-map file ``i`` in the per-frame layout (in a loader
    worker); the item says whether it needed it."""

    def __init__(self, paths: List[str]):
        self.paths = paths

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> bool:
        return upgrade_face_map_file(self.paths[index])


def upgrade_face_maps(folder: str, num_workers: int = 0,
                      progress: bool = True) -> dict:
    """Rewrites every face-map file under ``folder`` of the earlier layout
    (one ``(T, S, S)`` parsing array) in the per-frame one, in place.

    Each file is replaced atomically and arrays are kept bit for bit
    (:func:`fineclip.datasets.face_maps.upgrade_face_map_file`), so the
    command can be stopped and run again; current files are left alone.

    Args:
        folder: Searched recursively for ``*.npz`` (temporary
            ``*.part.npz`` files of a running writer are skipped).
        num_workers: Processes rewriting files (0: this one).
        progress: Show a progress bar.

    Returns:
        dict: ``files``, ``upgraded`` and ``current`` counts.

    Raises:
        FaceMapError: a file that cannot be read (named).
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(f"Face-map folder '{folder}' does not exist.")
    paths = sorted(
        osp.join(root, name) for root, _, files in os.walk(folder)
        for name in files
        if name.endswith('.npz') and not name.endswith('.part.npz'))
    loader = DataLoader(_Upgrade(paths), batch_size=None,
                        num_workers=num_workers, collate_fn=_as_is)
    upgraded = sum(progress_bar(loader, total=len(paths), desc='upgrade face maps',
                        unit='file', disable=not progress))
    return dict(files=len(paths), upgraded=int(upgraded),
                current=len(paths) - int(upgraded))


def compare_with_ground_truth(pred_dir: str, truth_dir: str,
                              clip_ids: Iterable[str]) -> dict:
    """Face-found share and landmark error of extracted maps.

    The error of a frame is the mean point-to-point distance over the 68
    landmarks divided by the distance between the outer eye corners (36 and
    45) of the ground truth (NME, inter-ocular), in frame-normalised
    coordinates; only frames where the analyser found a face count. Parsing
    agreement is the share of pixels whose label matches (maps resampled to
    the ground truth's size).

    Returns:
        dict: ``frames``, ``face_found_share``, ``nme_mean``,
        ``nme_median`` and ``parsing_pixel_accuracy`` (``None`` when no
        face was found anywhere).
    """
    errors, found_total, frames, agree, pixels = [], 0, 0, 0, 0
    for clip_id in clip_ids:
        pred = load_face_maps(osp.join(pred_dir, clip_id + '.npz'))
        truth = load_face_maps(osp.join(truth_dir, clip_id + '.npz'),
                               pred.num_frames)
        found = pred.face_found
        frames += pred.num_frames
        found_total += int(found.sum())
        if not found.any():
            continue
        gt = truth.landmarks[found]
        dist = np.linalg.norm(pred.landmarks[found] - gt, axis=-1).mean(-1)
        ocular = np.linalg.norm(gt[:, 36] - gt[:, 45], axis=-1)
        errors.append(dist / np.maximum(ocular, 1e-6))
        size = truth.parsing.shape[-1]
        resized = np.stack([
            cv2.resize(p, (size, size), interpolation=cv2.INTER_NEAREST)
            for p in pred.parsing[found]
        ])
        agree += int((resized == truth.parsing[found]).sum())
        pixels += resized.size
    errors = np.concatenate(errors) if errors else np.array([])
    return dict(
        frames=frames,
        face_found_share=found_total / frames if frames else 0.0,
        nme_mean=float(errors.mean()) if errors.size else None,
        nme_median=float(np.median(errors)) if errors.size else None,
        parsing_pixel_accuracy=agree / pixels if pixels else None)
