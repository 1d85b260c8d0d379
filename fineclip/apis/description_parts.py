"""Descriptions files and the part files of a multi-rank job.

A descriptions file is JSONL, one ``{"clip_id": ..., "text": ...}`` per
clip, with its provenance fields (``describer``, ``label_given``...), which
a merge copies unchanged. Under torchrun or srun each rank of
``tools/data/generate_descriptions.py`` appends to its own part file
(:func:`part_file`), and rank 0 merges the parts into the one file the
configs read (:func:`merge_description_parts`), refusing duplicates and
gaps.
"""
import glob
import json
import os
import os.path as osp
import shutil
from typing import Iterable, List, Sequence, Tuple

from fineclip.apis.sharding import owner_of


def read_records(path: str) -> List[Tuple[str, str]]:
    """``(clip_id, text)`` of a descriptions file's complete lines, in file
    order (duplicates kept); repairs an interrupted file as
    :func:`fineclip.apis.description_generation.read_finished`
    says."""
    return [(r['clip_id'], r['text']) for r in read_record_dicts(path)]


def read_record_dicts(path: str) -> List[dict]:
    """The complete lines of a descriptions file as parsed, every key kept
    (provenance too), in file order; repairs an interrupted file as
    :func:`read_records` does."""
    if not osp.isfile(path):
        return []
    with open(path, 'rb+') as f:
        data = f.read()
        complete = data.rfind(b'\n') + 1
        if complete < len(data):
            f.truncate(complete)
    records = []
    lines = data[:complete].decode('utf-8').splitlines()
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if (not isinstance(record, dict)
                or not isinstance(record.get('clip_id'), str)
                or not isinstance(record.get('text'), str)):
            raise ValueError(
                f'{path}:{line_no}: expected {{"clip_id": str, "text": str}}'
                f', got {line.strip()[:80]!r}; fix or remove the line.')
        records.append(record)
    return records


class DescriptionMergeError(ValueError):
    """The part files of a job do not hold every clip exactly once."""


def part_file(out_file: str, rank: int, world_size: int) -> str:
    """The file rank ``rank`` of ``world_size`` writes its texts to:
    ``{stem}.part-{rank}-of-{world_size}.jsonl`` next to ``out_file``
    (``data/DFEW/descriptions.jsonl`` -> ``data/DFEW/descriptions.part-0-
    of-2.jsonl``)."""
    stem = out_file[:-len('.jsonl')] if out_file.endswith('.jsonl') \
        else out_file
    return f'{stem}.part-{rank}-of-{world_size}.jsonl'


def part_files(out_file: str) -> List[str]:
    """Every part file of ``out_file`` on disk, whatever the job's size."""
    stem = part_file(out_file, 0, 1)[:-len('0-of-1.jsonl')]
    return sorted(glob.glob(glob.escape(stem) + '*-of-*.jsonl'))


def _listed(ids: Iterable[str], limit: int = 10) -> str:
    ids = list(ids)
    more = f' and {len(ids) - limit} more' if len(ids) > limit else ''
    return ', '.join(ids[:limit]) + more


def merge_description_parts(out_file: str, clip_ids: Sequence[str],
                            world_size: int,
                            remove_parts: bool = True) -> dict:
    """Merges a job's part files into ``out_file`` (rank 0 does this).

    The lines already in ``out_file`` (an earlier run's) stay first, as
    they are; then comes one line per clip of ``clip_ids`` that is not
    among them, in ``clip_ids``'s order, taken from the parts
    ``part_file(out_file, r, world_size)``. For a new file that is the
    file a 1-process run writes, and for an existing one the file a
    resumed 1-process run leaves. The merged file is written under a
    temporary name, read back and checked, then renamed over ``out_file``;
    only then are the parts removed (``remove_parts``), since the merged
    file holds all they held.

    Args:
        out_file: The descriptions file.
        clip_ids: Every clip of the job, in the order of a 1-process run.
        world_size: The job's number of ranks.
        remove_parts: Delete the part files after a checked merge.

    Returns:
        dict: ``merged`` (lines added from the parts), ``kept`` (lines
        that were in ``out_file``) and ``parts`` (the part files read).

    Raises:
        DescriptionMergeError: a part holds a clip not in ``clip_ids``;
            a clip is in two parts, twice in one, or
            in a part and in ``out_file`` with another text (duplicate;
            the same text there is what a merge cut short before removing
            the parts leaves, and is taken as done); or a clip of
            ``clip_ids`` is in neither (gap). The message names the clips
            and the files; nothing is written or removed.
    """
    parts = [part_file(out_file, r, world_size) for r in range(world_size)]
    before = read_records(out_file)
    kept = dict(before)
    texts, where, duplicates, lines = {}, {}, {}, {}
    for path in parts:
        for line in read_record_dicts(path):
            clip_id, text = line['clip_id'], line['text']
            if clip_id in where:
                duplicates.setdefault(clip_id, [where[clip_id]]).append(path)
            elif clip_id in kept:
                # the same line: left by a merge cut short before the parts
                # were removed; another text is a conflict
                if kept[clip_id] != text:
                    duplicates.setdefault(clip_id, [out_file]).append(path)
            else:
                texts[clip_id], where[clip_id] = text, path
                lines[clip_id] = line
    if duplicates:
        shown = '; '.join(f'{c} in {" and ".join(sorted(set(f)))}'
                          if len(set(f)) > 1 else f'{c} twice in {f[0]}'
                          for c, f in list(duplicates.items())[:10])
        raise DescriptionMergeError(
            f'Not merging into {out_file}: {len(duplicates)} clip(s) have '
            f'more than one description ({shown}). Each clip belongs to one '
            'rank; were the parts written by different jobs? Remove the '
            'lines (or parts) you do not want and rerun.')
    listed = set(clip_ids)
    foreign = [c for c in texts if c not in listed]
    if foreign:
        files = sorted({where[c] for c in foreign})
        raise DescriptionMergeError(
            f'Not merging into {out_file}: {len(foreign)} clip(s) in '
            f'{", ".join(files)} are not among the {len(clip_ids)} clips of '
            f'this run ({_listed(foreign)}); were the parts written with '
            'other clips or another --limit? Rerun with those, or remove '
            'the lines.')
    todo = [c for c in clip_ids if c not in kept]
    missing = [c for c in todo if c not in texts]
    if missing:
        index = {c: i for i, c in enumerate(clip_ids)}
        by_part = {}
        for c in missing:
            by_part.setdefault(parts[owner_of(index[c], world_size)],
                               []).append(c)
        shown = '; '.join(
            f'{_listed(c)} (expected in {p}'
            f'{"" if osp.isfile(p) else ", which does not exist"})'
            for p, c in by_part.items())
        raise DescriptionMergeError(
            f'Not merging into {out_file}: {len(missing)} clip(s) have no '
            f'description: {shown}. Rerun the job with {world_size} ranks '
            'to describe them.')
    # each line as its rank wrote it: the provenance fields go along
    new = ''.join(json.dumps(lines[c]) + '\n' for c in todo)
    tmp = f'{out_file}.merge-{os.getpid()}.tmp'
    try:
        with open(tmp, 'wb') as f:
            if osp.isfile(out_file):
                with open(out_file, 'rb') as old:
                    shutil.copyfileobj(old, f)
            f.write(new.encode('utf-8'))
            f.flush()
            os.fsync(f.fileno())
        check = [c for c, _ in read_records(tmp)]
        expected = [c for c, _ in before] + todo
        if check != expected:
            raise DescriptionMergeError(
                f'{tmp}: the merged file read back differs from what was '
                f'written ({len(check)} lines for {len(expected)}); '
                f'{out_file} and the parts are unchanged.')
        os.replace(tmp, out_file)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    if remove_parts:
        for path in parts:
            if osp.isfile(path):
                os.remove(path)
    return dict(merged=len(todo), kept=len(before), parts=parts)
