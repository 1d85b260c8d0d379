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
from dataclasses import dataclass, field
from typing import Iterable, Iterator, List, Optional, Tuple

import cv2
import numpy as np
from mmengine.config import Config
from tqdm import tqdm

from fineclip.apis.sharding import RankContext, shard
from fineclip.datasets.bare import bare_datasets
from fineclip.datasets.base import IMAGE_EXTENSIONS, list_frames
from fineclip.datasets.face_maps import (FaceMaps, fill_missing,
                                         load_face_maps, save_face_maps)
from fineclip.datasets.transforms.loading import read_frame_files
from fineclip.datasets.video import (VIDEO_EXTENSIONS, read_video_frames,
                                     video_length)

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
    maps = FaceMaps(
        np.concatenate([p['landmarks'] for p in parts]).astype(np.float32),
        np.concatenate([p['face_found'] for p in parts]).astype(bool),
        np.concatenate([p['parsing'] for p in parts]).astype(np.uint8))
    maps.validate(f'{type(analyzer).__name__} output')
    if maps.num_frames != len(frames):
        raise ValueError(f'{type(analyzer).__name__} returned '
                         f'{maps.num_frames} frames for {len(frames)}')
    return fill_missing(maps)


def _extract(analyzer, clips: List[ClipSource], out_dir: str,
             progress: bool, ctx: RankContext) -> dict:
    """The extraction loop over ``clips``; returns their summary (not
    written)."""
    summary = dict(clips=len(clips), extracted=0, skipped=0, frames=0,
                   frames_without_face=0, clips_without_face=[])
    desc = f'face maps [{ctx.tag}]' if ctx.distributed else 'face maps'
    bar = tqdm(clips, desc=desc, unit='clip', disable=not progress,
               position=ctx.local_rank if ctx.distributed else None)
    batch = f'{analyzer.batch_size} frames'
    bar.set_postfix(batch=batch, no_face=0)
    for clip in bar:
        path = osp.join(out_dir, clip.clip_id + '.npz')
        if osp.isfile(path):
            summary['skipped'] += 1
            with np.load(path) as done:  # reads only this array
                found = done['face_found']
        else:
            maps = analyze_clip(analyzer, clip.read_frames())
            save_face_maps(path, maps)
            summary['extracted'] += 1
            found = maps.face_found
        summary['frames'] += len(found)
        summary['frames_without_face'] += int((~found).sum())
        if not found.any():
            summary['clips_without_face'].append(clip.clip_id)
        bar.set_postfix(batch=batch, no_face=summary['frames_without_face'])
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
                      ctx: Optional[RankContext] = None) -> dict:
    """Writes ``{out_dir}/{clip_id}.npz`` for every clip not done yet.

    Analysers see one clip's frames ``analyzer.batch_size`` at a time; the
    progress bar counts clips and shows that batch size.

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
        summary = _extract(analyzer, clips, out_dir, progress, ctx)
        _write_summary(out_dir, summary)
        return summary
    ids = [c.clip_id for c in clips]
    ctx.check_same_items(ids)
    mine = shard(clips, ctx.rank, ctx.world_size)
    parts = ctx.run_everywhere(
        lambda: _extract(analyzer, mine, out_dir, progress, ctx))
    summary = combine_summaries(parts, ids)
    ctx.run_on_main(lambda: _write_summary(out_dir, summary))
    return summary


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
