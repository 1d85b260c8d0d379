"""Offline description generation: one text per clip from a describer.

Used by ``tools/data/generate_descriptions.py``. Clips come from a config's
datasets (all splits, with their labels and, where the config names a
``face_map_dir``, their face maps) or from a folder of clip folders /
videos. The texts go to one JSONL file, a line ``{"clip_id": ..., "text":
..., "describer": ..., "model": ..., "prompt_sha256": ..., "label_given":
...}`` per clip (the format :func:`fineclip.datasets.descriptions.
read_descriptions` reads; the provenance fields are the describer's
:meth:`~fineclip.preprocessing.describers.base.BaseDescriber.provenance`).

No describer sees a clip's label unless the clip is in ``label_ids``
(empty by default): the labels a config gives its clips stay here, so a
label-free run cannot leak them whatever the describer's settings.

Generation is resumable: clips already in the file are skipped, new lines
are appended a batch at a time, and a last line cut short by an interrupted
run is dropped before appending (that clip is described again).

Under torchrun or srun each rank describes its share of the clips into its
own part file, ``{stem}.part-{rank}-of-{world}.jsonl``, resumable in the
same way, and rank 0 merges the parts into the one file at the end (see
:func:`generate_descriptions`).
"""
import os
import os.path as osp
import time
import warnings
from dataclasses import dataclass
from typing import Collection, Iterable, List, Optional, Sequence, Set

import numpy as np
from mmengine.config import Config

from fineclip.apis.face_map_extraction import (ClipSource, clips_from_folder,
                                               config_clip_infos)
from fineclip.apis.description_parts import (  # noqa: F401
    DescriptionMergeError, merge_description_parts, part_file, part_files,
    read_records)
from fineclip.apis.sharding import RankContext, shard
from fineclip.datasets.descriptions import description_line
from fineclip.datasets.face_maps import FaceMaps, load_face_maps
from fineclip.datasets.transforms.loading import read_frame_files
from fineclip.datasets.video import read_video_frames, video_length
from fineclip.preprocessing.describers.base import (BaseDescriber, ClipInput,
                                                    segment_middles)
from fineclip.utils.progress import progress_bar


@dataclass
class DescriptionClip(ClipSource):
    """A clip to describe: where its frames are, its label, its face maps.

    Attributes:
        label: Class name, or ``None`` (clips from a folder).
        face_map_path: Its face-map file, or ``None``.
    """

    label: Optional[str] = None
    face_map_path: Optional[str] = None

    def num_frames(self) -> int:
        """Frames in the clip (a video's length is read from the file)."""
        if self.video_path:
            return video_length(self.video_path)
        return len(self.frame_names)

    def read_frames_at(self, indices: Sequence[int]) -> np.ndarray:
        """``(len(indices), H, W, 3)`` RGB uint8 frames (repeats allowed);
        only those frames are decoded."""
        if self.video_path:
            return np.stack(read_video_frames(self.video_path, indices))
        return np.stack(read_frame_files(self.frame_dir, self.frame_names,
                                         indices, self.clip_id))

    def load_face_maps(self) -> Optional[FaceMaps]:
        """The clip's face maps (checked against its frame count), or
        ``None`` when it has no face-map file."""
        if self.face_map_path is None:
            return None
        return load_face_maps(self.face_map_path, self.num_frames())


def _face_map_path(folder: Optional[str], clip_id: str) -> Optional[str]:
    return None if folder is None else osp.join(folder, clip_id + '.npz')


def description_clips_from_config(
        cfg: Config,
        face_map_dir: Optional[str] = None) -> List[DescriptionClip]:
    """Every clip of the dataset a config points at (train and test).

    Args:
        cfg: A training config; its ``train/val/test_dataloader`` datasets
            are read (split files only: no pipeline, no descriptions).
        face_map_dir: Folder of the face-map files; default the dataset's
            ``{data_root}/{face_map_dir}`` where the config sets one.

    Returns:
        One :class:`DescriptionClip` per clip id, with its class name.
    """
    clips = []
    for info, label, ds_cfg in config_clip_infos(cfg):
        maps = face_map_dir
        if maps is None and ds_cfg.get('face_map_dir'):
            maps = osp.join(ds_cfg.data_root, ds_cfg.face_map_dir)
        clips.append(DescriptionClip(
            info['clip_id'], info.get('frame_dir'),
            info.get('frame_names', []), info.get('video_path'),
            label=label, face_map_path=_face_map_path(maps, info['clip_id'])))
    return clips


def description_clips_from_folder(
        root: str,
        face_map_dir: Optional[str] = None) -> List[DescriptionClip]:
    """Clips under ``root`` (as for face-map extraction), without labels.

    Args:
        root: Folder of clip folders and/or videos; a clip's id is its path
            relative to ``root``.
        face_map_dir: Folder holding ``{clip_id}.npz`` face-map files.
    """
    return [DescriptionClip(c.clip_id, c.frame_dir, c.frame_names,
                            c.video_path,
                            face_map_path=_face_map_path(face_map_dir,
                                                         c.clip_id))
            for c in clips_from_folder(root)]


def read_finished(path: str) -> Set[str]:
    """Clip ids already in a descriptions file; repairs an interrupted one.

    Whatever follows the last newline is a line whose writing was cut
    short: it is cut off the file, so appending starts on a fresh line
    and that clip is described again.

    Returns:
        The clip ids of the complete lines (empty if there is no file).

    Raises:
        ValueError: A complete line that is not ``{"clip_id": str, "text":
            str}`` (not an interruption: the file is left alone).
    """
    return {clip_id for clip_id, _ in read_records(path)}


def clip_input(describer: BaseDescriber, clip: DescriptionClip,
               give_label: bool = False) -> ClipInput:
    """Loads what ``describer`` looks at for one clip.

    Frames are read only for a describer that needs them, and then only
    the ``describer.num_frames`` segment middles; face maps are read only
    for a describer that needs them. The clip's label is handed over only
    with ``give_label``.
    """
    frames = maps = None
    if describer.needs_frames:
        indices = segment_middles(clip.num_frames(), describer.num_frames)
        frames = clip.read_frames_at(indices)
    if describer.needs_face_maps:
        maps = clip.load_face_maps()
    return ClipInput(clip.clip_id, frames, maps,
                     clip.label if give_label else None)


def _batches(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _append(path: str, clip_ids: List[str], texts: List[str],
            provenance: List[dict]) -> None:
    lines = ''.join(description_line(c, t, p)
                    for c, t, p in zip(clip_ids, texts, provenance))
    with open(path, 'a', encoding='utf-8') as f:
        f.write(lines)
        f.flush()
        # a batch can take minutes on an MLLM: make it survive a crash
        os.fsync(f.fileno())


def _generate(describer: BaseDescriber, clips: List[DescriptionClip],
              out_file: str, progress: bool, ctx: RankContext,
              done: Optional[Set[str]] = None,
              label_ids: Collection[str] = ()) -> dict:
    """Describes the clips of ``clips`` in neither ``done`` nor
    ``out_file``, appending to ``out_file``; returns the summary."""
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    done = read_finished(out_file) | (done or set())
    todo = [c for c in clips if c.clip_id not in done]
    summary = dict(clips=len(clips), described=0,
                   skipped=len(clips) - len(todo), out_file=out_file,
                   seconds=0.0, mean_words=None, example=None)
    words, start = 0, time.perf_counter()
    desc = f'descriptions [{ctx.tag}]' if ctx.distributed else \
        'descriptions'
    bar = progress_bar(total=len(todo), desc=desc, unit='clip',
               disable=not progress,
               position=ctx.local_rank if ctx.distributed else None)
    bar.set_postfix(batch=describer.batch_size)
    for batch in _batches(todo, describer.batch_size):
        ids = [c.clip_id for c in batch]
        try:
            inputs = [clip_input(describer, c, c.clip_id in label_ids)
                      for c in batch]
            texts = describer.describe(inputs)
        except Exception as err:
            err.add_note(f'while describing clip(s) {", ".join(ids)}; '
                         f'the {summary["described"]} described before are '
                         f'saved in {out_file}')
            raise
        _append(out_file, ids, texts,
                [describer.provenance(c) for c in inputs])
        summary['described'] += len(texts)
        summary['example'] = summary['example'] or texts[0]
        words += sum(len(t.split()) for t in texts)
        bar.update(len(texts))
    bar.close()
    summary['seconds'] = round(time.perf_counter() - start, 2)
    summary['words'] = words
    if summary['described']:
        summary['mean_words'] = round(words / summary['described'], 1)
    return summary


def generate_descriptions(describer: BaseDescriber,
                          clips: Iterable[DescriptionClip], out_file: str,
                          progress: bool = True,
                          ctx: Optional[RankContext] = None,
                          label_ids: Collection[str] = ()) -> dict:
    """Appends a description of every clip not in ``out_file`` yet.

    Clips go to ``describer.describe`` ``describer.batch_size`` at a time;
    each batch is written as soon as it is done. The progress bar counts
    clips and shows the batch size.

    In a job of several ranks (``ctx``, from
    :func:`fineclip.apis.sharding.init_data_tool_ranks`) every rank must
    pass the same clips. Rank 0 repairs ``out_file`` if a run was cut short
    and tells every rank which clips it holds; each rank describes the
    others of its share (:func:`fineclip.apis.sharding.shard`: clip ``i``
    goes to rank ``i % world_size``) into its own part file
    (:func:`part_file`), resuming from it; once all are done, rank 0 merges
    the parts into ``out_file`` (:func:`merge_description_parts`) and
    removes them. The result is the file a 1-process run writes.

    Args:
        describer: A describer (``DESCRIBERS``).
        clips: The clips, in the order of a 1-process run.
        out_file: The JSONL file.
        progress: Show a progress bar (one per rank, on line
            ``LOCAL_RANK``).
        ctx: This process's place in the job; default a 1-process run.
        label_ids: The clips whose label the describer may see (empty:
            none). Only the training clips of one fold belong here
            (:func:`fineclip.apis.description_protocol.label_hint_ids`).

    Returns:
        dict: ``clips``, ``described`` (this run), ``skipped`` (in the file
        before), ``out_file``, ``seconds`` (this run; in a job, the slowest
        rank's), ``mean_words`` (of this run's texts, ``None`` if none) and
        ``example`` (the first text written by this run, or ``None``). In a
        job, over every rank, on every rank, with ``ranks``: each rank's
        own summary (its ``out_file`` is its part file).

    Raises:
        DescriptionMergeError: the parts hold a clip twice, or miss one;
            ``out_file`` and the parts are left as they were.
        RankFailure: another rank failed (its error is quoted).
    """
    clips = list(clips)
    ctx = ctx or RankContext()
    if not ctx.distributed:
        summary = _generate(describer, clips, out_file, progress, ctx,
                            label_ids=frozenset(label_ids))
        del summary['words']
        return summary
    ids = [c.clip_id for c in clips]
    ctx.check_same_items(ids)

    def prepare():
        os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
        stale = [p for p in part_files(out_file)
                 if not p.endswith(f'-of-{ctx.world_size}.jsonl')]
        if stale:
            warnings.warn(
                f'Ignoring part files of a job with another number of ranks'
                f' (their clips are described again): {", ".join(stale)}; '
                'rerun with that many ranks to use them.', stacklevel=3)
        return read_finished(out_file)

    merged_before = ctx.run_on_main(prepare)
    mine = shard(clips, ctx.rank, ctx.world_size)
    part = part_file(out_file, ctx.rank, ctx.world_size)
    ranks = ctx.run_everywhere(lambda: _generate(
        describer, mine, part, progress, ctx, done=merged_before,
        label_ids=frozenset(label_ids)))
    ctx.run_on_main(lambda: merge_description_parts(
        out_file, ids, ctx.world_size, remove_parts=True))
    described = sum(r['described'] for r in ranks)
    words = sum(r.pop('words') for r in ranks)
    return dict(
        clips=len(clips), described=described,
        skipped=sum(r['skipped'] for r in ranks), out_file=out_file,
        seconds=max(r['seconds'] for r in ranks),
        mean_words=round(words / described, 1) if described else None,
        example=next((r['example'] for r in ranks if r['example']), None),
        ranks=ranks)
