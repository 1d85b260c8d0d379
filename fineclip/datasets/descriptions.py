"""Per-clip text descriptions: one JSONL file keyed by clip id.

Each line is ``{"clip_id": "00001", "text": "..."}`` (the format
``tools/data/generate_descriptions.py`` and the synthetic generator write).
"""
import json
import os.path as osp
from typing import Dict


def read_descriptions(path: str) -> Dict[str, str]:
    """Reads a descriptions file into ``{clip_id: text}``.

    Raises:
        FileNotFoundError: no file at ``path`` (says how to make one).
        ValueError: a line that is not a JSON object with string
            ``clip_id`` and ``text``, or a clip id given twice; the message
            names the file and line.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f"Descriptions file '{path}' not found: write it with "
            'tools/data/generate_descriptions.py (then '
            'tools/data/refine_descriptions.py) or set description_file.')
    texts: Dict[str, str] = {}
    with open(path, encoding='utf-8') as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f'{path}:{line_no}'
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f'{where}: not JSON ({err.msg})') from err
            if (not isinstance(record, dict)
                    or not isinstance(record.get('clip_id'), str)
                    or not isinstance(record.get('text'), str)):
                raise ValueError(f'{where}: expected {{"clip_id": str, '
                                 f'"text": str}}, got {line.strip()[:80]}')
            if record['clip_id'] in texts:
                raise ValueError(f"{where}: clip {record['clip_id']} is "
                                 'described twice')
            texts[record['clip_id']] = record['text']
    return texts
