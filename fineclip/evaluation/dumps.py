"""Reading the predictions ``tools/test.py --dump`` writes."""
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
import torch

from fineclip.utils.errors import InputError


DUMP_KEYS = ('pred_score', 'pred_label', 'gt_label')
# Keys under which a dump may carry the class names (ours does not write
# them; a user's own DumpResults subclass or script may).
CLASS_NAME_KEYS = ('classes', 'class_names')


def _first_int(value, what: str, path: str, index: int) -> int:
    """The single integer held by a label (tensor, array, list or int)."""
    flat = np.asarray(
        value.detach().cpu() if torch.is_tensor(value) else value).reshape(-1)
    if flat.size != 1:
        raise InputError(f"'{path}': sample {index} has a {what} with "
                         f'{flat.size} values, expected one.')
    return int(flat[0])


def load_dump(path: str) -> dict:
    """Reads a ``tools/test.py --dump`` file and checks its shape.

    Args:
        path: The ``.pkl`` file MMEngine's ``DumpResults`` wrote: a list of
            dicts, one per clip, with ``pred_score`` (``(C,)``
            probabilities), ``pred_label`` and ``gt_label``.

    Returns:
        dict: ``labels`` and ``preds`` (``(N,)`` int arrays), ``scores``
        (``(N, C)``), ``clip_ids`` (``None`` where absent) and ``classes``
        (the class names if the dump holds them, else ``None``).

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it is not a non-empty list of dicts with the keys
            above and scores of one length.
    """
    import mmengine
    if not osp.isfile(path):
        raise FileNotFoundError(f"Dump file '{path}' does not exist.")
    samples = mmengine.load(path, file_format='pkl')
    if not isinstance(samples, (list, tuple)) or not samples:
        raise InputError(
            f"'{path}' holds a {type(samples).__name__}, not a non-empty list "
            'of per-clip dicts: write it with tools/test.py CONFIG CKPT '
            '--dump FILE.pkl')
    labels, preds, scores, clip_ids = [], [], [], []
    classes = None
    for i, sample in enumerate(samples):
        if not isinstance(sample, dict):
            raise InputError(f"'{path}': sample {i} is a "
                             f'{type(sample).__name__}, not a dict.')
        missing = [k for k in DUMP_KEYS if k not in sample]
        if missing:
            raise InputError(
                f"'{path}': sample {i} lacks {missing} (it has "
                f'{sorted(sample)}); a tools/test.py --dump file has '
                f'{list(DUMP_KEYS)}.')
        labels.append(_first_int(sample['gt_label'], 'gt_label', path, i))
        preds.append(_first_int(sample['pred_label'], 'pred_label', path, i))
        score = sample['pred_score']
        score = score.detach().cpu() if torch.is_tensor(score) else score
        scores.append(np.asarray(score, dtype=np.float64).reshape(-1))
        clip_ids.append(sample.get('clip_id'))
        for key in CLASS_NAME_KEYS:
            if classes is None and sample.get(key) is not None:
                classes = [str(c) for c in sample[key]]
    lengths = {len(s) for s in scores}
    if len(lengths) != 1:
        raise InputError(f"'{path}': pred_score lengths differ between "
                         f'samples: {sorted(lengths)}.')
    return dict(labels=np.array(labels, dtype=np.int64),
                preds=np.array(preds, dtype=np.int64),
                scores=np.stack(scores),
                clip_ids=clip_ids if any(c is not None
                                         for c in clip_ids) else None,
                classes=classes)


def resolve_class_names(num_classes: int,
                        from_dump: Optional[Sequence[str]] = None,
                        given: Optional[Sequence[str]] = None) -> List[str]:
    """Class names: the given ones (``--classes`` overrides), else the
    dump's, else ``class i``.

    Raises:
        ValueError: If the chosen names are not ``num_classes`` many.
    """
    for names, where in ((given, '--classes'), (from_dump, 'the dump')):
        if names:
            if len(names) != num_classes:
                raise InputError(
                    f'{where} names {len(names)} classes but the scores '
                    f'have {num_classes}: {list(names)}')
            return [str(n) for n in names]
    return [f'class {i}' for i in range(num_classes)]
