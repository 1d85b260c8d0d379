"""Per-clip text descriptions: one JSONL file keyed by clip id.

Each non-blank line is ``{"clip_id": "00001", "text": "..."}``, with the
provenance fields of :mod:`fineclip.datasets.description_provenance`
(``describer``, ``model``, ``prompt_sha256``, ``label_given``,
``refined``) where the writer recorded them; other keys are ignored. The
format ``tools/data/generate_descriptions.py``,
``tools/data/refine_descriptions.py`` and the synthetic generator write.
"""
import json
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from .description_provenance import (PROVENANCE_KEYS, provenance_of,
                                     warn_unknown_provenance)


@dataclass(frozen=True)
class DescriptionRecord:
    """One line of a descriptions file.

    Attributes:
        provenance: Its provenance fields (``label_given`` among them), or
            ``None`` when the line has none (unknown provenance).
    """

    clip_id: str
    text: str
    line_no: int
    provenance: Optional[dict] = None

    @property
    def label_given(self) -> Optional[bool]:
        """Whether the text was written knowing the clip's label
        (``None``: unknown)."""
        if self.provenance is None:
            return None
        return bool(self.provenance.get('label_given'))


def read_description_records(path: str) -> List[DescriptionRecord]:
    """Reads a JSONL descriptions file in file order.

    Each non-blank line is ``{"clip_id": "00001", "text": "..."}``, with
    provenance fields where the writer recorded them (read into
    :attr:`DescriptionRecord.provenance`); other keys are ignored.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: a line that is not UTF-8, not JSON, not an object,
            lacks ``clip_id`` or ``text``, holds a non-string one, or
            repeats a clip id; the message names the file and line.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f"Descriptions file '{path}' not found")
    records: List[DescriptionRecord] = []
    first_line: Dict[str, int] = {}
    with open(path, 'rb') as f:
        data = f.read()
    if data.startswith(b'\xef\xbb\xbf'):
        data = data[3:]
    # decoded line by line, so a bad byte is reported with its line
    for line_no, raw in enumerate(data.split(b'\n'), start=1):
        try:
            line = raw.decode('utf-8')
        except UnicodeDecodeError as err:
            raise ValueError(
                f'{path}:{line_no}: not UTF-8 (byte 0x{raw[err.start]:02x} '
                f'at column {err.start + 1}); write the file as UTF-8'
            ) from err
        if not line.strip():
            continue
        record = _parse_record(line, f'{path}:{line_no}')
        clip_id = record['clip_id']
        if clip_id in first_line:
            raise ValueError(
                f'{path}:{line_no}: duplicate clip_id {clip_id!r} '
                f'(first on line {first_line[clip_id]})')
        first_line[clip_id] = line_no
        records.append(DescriptionRecord(clip_id, record['text'], line_no,
                                         provenance_of(record)))
    return records


def _parse_record(line: str, where: str) -> dict:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise ValueError(f'{where}: not valid JSON ({err.msg} at column '
                         f'{err.colno})') from err
    if not isinstance(record, dict):
        raise ValueError(f'{where}: expected a JSON object, got '
                         f'{type(record).__name__}')
    for key in ('clip_id', 'text'):
        if key not in record:
            raise ValueError(f"{where}: missing '{key}'")
        if not isinstance(record[key], str):
            raise ValueError(f"{where}: '{key}' must be a string, got "
                             f'{type(record[key]).__name__}')
    return record


def description_line(clip_id: str, text: str,
                     provenance: Optional[dict] = None) -> str:
    """One JSONL line (with its newline): ``clip_id``, ``text``, then the
    provenance fields in :data:`PROVENANCE_KEYS` order."""
    record = {'clip_id': clip_id, 'text': text}
    for key in PROVENANCE_KEYS:
        if provenance and key in provenance:
            record[key] = provenance[key]
    return json.dumps(record, ensure_ascii=False) + '\n'


def write_descriptions(
        path: str,
        records: Iterable[Union[Tuple[str, str], Sequence]]) -> None:
    """Writes ``(clip_id, text)`` or ``(clip_id, text, provenance)`` items
    as JSONL, atomically (a partial file never replaces a good one)."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        for item in records:
            f.write(description_line(*item))
    os.replace(tmp, path)


def read_descriptions(path: str) -> Dict[str, str]:
    """Reads a descriptions file into ``{clip_id: text}`` (file order).

    Raises:
        FileNotFoundError: no file at ``path`` (says how to make one).
        ValueError: a bad line (see :func:`read_description_records`).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f"Descriptions file '{path}' not found: write it with "
            'tools/data/generate_descriptions.py (then '
            'tools/data/refine_descriptions.py) or set description_file.')
    return {r.clip_id: r.text for r in read_description_records(path)}


def _number_key(clip_id: str) -> str:
    """``'00001'`` and ``'1'`` alike: numbered ids match by value."""
    return str(int(clip_id)) if clip_id.isdigit() else clip_id


class DescriptionIndex:
    """A descriptions file as the datasets look clips up in it.

    Numbered ids match with or without zero padding (``"1"`` finds clip
    ``00001``), as describers and spreadsheets write them both ways; two
    ids of one number in the file are an error.

    Args:
        path: The JSONL file (see :func:`read_description_records`).

    Raises:
        FileNotFoundError: no file at ``path`` (says how to make one).
        ValueError: a bad line, or two lines for the same clip number.
    """

    def __init__(self, path: str):
        if not osp.isfile(path):
            read_descriptions(path)  # raises the how-to-make-it error
        self.path = path
        self.by_key: Dict[str, DescriptionRecord] = {}
        records = read_description_records(path)
        unknown = sum(r.provenance is None for r in records)
        if unknown:
            warn_unknown_provenance(path, unknown, len(records))
        for record in records:
            key = _number_key(record.clip_id)
            if key in self.by_key:
                raise ValueError(
                    f'{path}:{record.line_no}: clip_id '
                    f'{record.clip_id!r} is the same clip as '
                    f'{self.by_key[key].clip_id!r} on line '
                    f'{self.by_key[key].line_no}')
            self.by_key[key] = record

    def record_of(self, clip_id: str) -> Optional[DescriptionRecord]:
        """The line of ``clip_id`` (padding aside), or ``None``."""
        return self.by_key.get(_number_key(clip_id))

    def text_of(self, clip_id: str, where: str) -> str:
        """The description of ``clip_id``.

        Raises:
            ValueError: none, or an empty one (the message names
                ``where``, the descriptions file and its line).
        """
        record = self.by_key.get(_number_key(clip_id))
        if record is None:
            raise ValueError(f"{where}: clip {clip_id} has no description "
                             f"in '{self.path}'")
        if not record.text.strip():
            raise ValueError(f'{where}: clip {clip_id} has an empty '
                             f'description ({self.path}:{record.line_no})')
        return record.text
