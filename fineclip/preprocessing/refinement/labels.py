"""Clip labels from a file, for the leakage check of refinement.

Labels from a config's datasets need the dataset registry and a config
loader, a layer up: see :func:`fineclip.apis.description_refinement.
labels_from_config`.
"""
import csv
import json
import os.path as osp
from typing import Dict


def read_labels(path: str) -> Dict[str, str]:
    """Reads clip labels: JSONL ``{"clip_id": ..., "label": ...}`` (a
    ``.jsonl``/``.json`` file) or CSV rows ``clip_id,label`` (an optional
    header row whose second cell is ``label`` is skipped).

    Returns:
        dict: ``{clip_id: label name}`` (labels as strings).

    Raises:
        ValueError: a malformed line or a clip given two labels; the
            message names the file and line.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f"Labels file '{path}' not found")
    if path.endswith(('.jsonl', '.json')):
        rows = _label_rows_jsonl(path)
    else:
        rows = _label_rows_csv(path)
    labels: Dict[str, str] = {}
    for where, clip_id, label in rows:
        if labels.get(clip_id, label) != label:
            raise ValueError(f'{where}: clip {clip_id!r} labelled '
                             f'{label!r}, earlier {labels[clip_id]!r}')
        labels[clip_id] = label
    return labels


def _label_rows_jsonl(path: str):
    with open(path, encoding='utf-8') as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f'{path}:{line_no}'
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f'{where}: not valid JSON ({err.msg})'
                                 ) from err
            if (not isinstance(record, dict) or 'clip_id' not in record
                    or 'label' not in record):
                raise ValueError(f"{where}: expected an object with "
                                 "'clip_id' and 'label'")
            yield where, str(record['clip_id']), str(record['label'])


def _label_rows_csv(path: str):
    with open(path, encoding='utf-8-sig', newline='') as f:
        for line_no, row in enumerate(csv.reader(f), start=1):
            if not row or not ''.join(row).strip():
                continue
            where = f'{path}:{line_no}'
            if len(row) != 2:
                raise ValueError(f"{where}: expected 'clip_id,label', got "
                                 f'{",".join(row)!r}')
            if line_no == 1 and row[1].strip().lower() == 'label':
                continue
            yield where, row[0].strip(), row[1].strip()
