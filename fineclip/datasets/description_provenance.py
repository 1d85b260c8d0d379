"""How a clip's description was made: the provenance fields of its line.

A descriptions line may carry, beside ``clip_id`` and ``text``:

* ``describer``: the class (or function) that wrote the text;
* ``model``: the MLLM's hub id or folder, ``None`` where there is none;
* ``prompt_sha256``: the first 16 hex digits of the SHA-256 of the
  instruction the describer was given (its template: a label hint is
  hashed as ``{label}``, never with the clip's class, or the hash itself
  would tell the label), ``None`` for a describer without a prompt;
* ``label_given``: whether the clip's ground-truth class was in what the
  describer saw (``true`` / ``false``);
* ``refined``: ``true`` once ``tools/data/refine_descriptions.py`` has
  rewritten the text (the other fields are the raw text's).

``label_given`` is what the evaluation protocol checks: a text written
knowing the answer carries it even after its emotion words are removed,
so such a text must never reach a clip that is evaluated (see
docs/evaluation_protocol.md). A line without these fields has unknown
provenance.
"""
import hashlib
import os
import os.path as osp
import warnings
from typing import Dict, Optional, Set, Tuple

#: The provenance fields a descriptions line may carry, in writing order.
PROVENANCE_KEYS = ('describer', 'model', 'prompt_sha256', 'label_given',
                   'refined')

# files already warned about in this process, with their size and mtime:
# a rewritten file is a new file
_WARNED: Set[Tuple[str, int, int]] = set()


def prompt_hash(prompt: str) -> str:
    """The ``prompt_sha256`` field of a prompt (16 hex digits)."""
    return hashlib.sha256(prompt.encode('utf-8')).hexdigest()[:16]


def make_provenance(describer: str, model: Optional[str] = None,
                    prompt: Optional[str] = None,
                    label_given: bool = False) -> Dict[str, object]:
    """The provenance fields of one description.

    Args:
        describer: Name of what wrote the text (a class name).
        model: The MLLM's id or folder, if any.
        prompt: The instruction template (hashed), if any. Pass the
            template, not a prompt holding the clip's label.
        label_given: The clip's class was in what the describer saw.
    """
    return dict(describer=describer, model=model,
                prompt_sha256=None if prompt is None else prompt_hash(prompt),
                label_given=bool(label_given))


def provenance_of(record: dict) -> Optional[Dict[str, object]]:
    """The provenance fields of a parsed line, or ``None`` when it has no
    ``label_given`` (unknown provenance: files written before these
    fields existed, or by hand)."""
    if 'label_given' not in record:
        return None
    return {k: record[k] for k in PROVENANCE_KEYS if k in record}


def warn_unknown_provenance(path: str, num_unknown: int,
                            num_records: int) -> None:
    """Warns once per file (per process) that some of its lines say
    nothing of how they were made."""
    try:
        stat = os.stat(path)
        key = (osp.abspath(path), stat.st_size, stat.st_mtime_ns)
    except OSError:
        key = (osp.abspath(path), 0, 0)
    if key in _WARNED:
        return
    _WARNED.add(key)
    warnings.warn(
        f"{path}: provenance unknown for {num_unknown} of {num_records} "
        'descriptions (no label_given field): whether their texts were '
        "written knowing the clips' labels cannot be checked. Regenerate "
        'the file with tools/data/generate_descriptions.py (label-free by '
        'default) to record it; see docs/evaluation_protocol.md.',
        UserWarning, stacklevel=3)
