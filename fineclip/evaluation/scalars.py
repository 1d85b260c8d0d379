"""Reading the scalars MMEngine logs during training (loss, learning
rate, validation metrics) from a work dir."""
import fnmatch
import glob
import json
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from fineclip.utils.errors import InputError, UnknownNameError



def find_scalar_files(work_dir: str, run: str = 'latest') -> List[str]:
    """The ``<timestamp>/vis_data/scalars.json`` files of a work dir.

    Args:
        work_dir: A training work dir (or one run's ``<timestamp>`` folder,
            or a ``scalars.json`` itself).
        run: ``'latest'`` (the newest run that logged scalars: a later
            ``tools/test.py`` run logs none), ``'all'`` (every run, oldest
            first, e.g. a training and its resumptions) or one timestamp.

    Raises:
        FileNotFoundError: If no ``scalars.json`` matches.
    """
    if osp.isfile(work_dir):
        return [work_dir]
    own = osp.join(work_dir, 'vis_data', 'scalars.json')
    if osp.isfile(own):
        return [own]
    # Timestamps (YYYYMMDD_HHMMSS) sort in time order as strings.
    found = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')))
    if not found:
        raise FileNotFoundError(
            f"No <timestamp>/vis_data/scalars.json under '{work_dir}': is it "
            'the work dir of a training run (tools/train.py --work-dir)?')
    if run == 'latest':
        return found[-1:]
    if run == 'all':
        return found
    chosen = [f for f in found
              if osp.basename(osp.dirname(osp.dirname(f))) == run]
    if not chosen:
        runs = [osp.basename(osp.dirname(osp.dirname(f))) for f in found]
        raise FileNotFoundError(
            f"No run '{run}' with scalars in '{work_dir}'; runs: {runs}")
    return chosen


def read_scalars(files: Sequence[str]) -> dict:
    """Reads logged scalars into curves.

    Training lines carry ``iter`` (and ``step``, the global iteration);
    validation lines do not, and their ``step`` is the epoch (or the
    iteration in iteration-based loops). Where runs overlap (a resumed run
    logs again from its checkpoint), the later file's value wins.

    Returns:
        dict: ``train`` and ``val``, each ``{key: (xs, ys)}`` sorted by x;
        ``by_epoch`` (whether validation steps are epochs).
    """
    curves = dict(train={}, val={})
    by_epoch = False
    for path in files:
        with open(path) as f:
            for line_no, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    raise InputError(
                        f"'{path}' line {line_no} is not JSON: {err}"
                    ) from err
                if 'step' not in record:
                    continue
                phase = 'train' if 'iter' in record else 'val'
                by_epoch = by_epoch or (phase == 'train'
                                        and 'epoch' in record)
                step = record['step']
                for key, value in record.items():
                    if key in ('step', 'iter', 'epoch') or not isinstance(
                            value, (int, float)) or isinstance(value, bool):
                        continue
                    curves[phase].setdefault(key, {})[step] = float(value)
    out = dict(by_epoch=by_epoch)
    for phase, keys in curves.items():
        out[phase] = {
            key: (np.array(sorted(points), dtype=float),
                  np.array([points[s] for s in sorted(points)], dtype=float))
            for key, points in keys.items()}
    return out


# Default subplots: (title, phase, key patterns). Timings and grad_norm are
# left out unless asked for with ``keys``.
CURVE_GROUPS = (
    ('losses', 'train', ('loss', 'loss_*', '*_loss', 'ce_*')),
    ('learning rate', 'train', ('lr', 'base_lr')),
    ('branch weights (train)', 'train', ('w_*',)),
    ('validation', 'val', ('UAR', 'WAR', 'UAR/*')),
    ('fusion weights (val)', 'val', ('weight/*',)),
    ('per-class recall (val)', 'val', ('recall/*',)),
)


def group_curves(scalars: dict, keys: Optional[Sequence[str]] = None
                 ) -> List[Tuple[str, str, Dict[str, tuple]]]:
    """Sorts curves into subplots.

    Args:
        scalars: What :func:`read_scalars` returns.
        keys: Keys (or ``fnmatch`` patterns such as ``recall/*``) to plot;
            by default losses, lr, branch weights, UAR and WAR.

    Returns:
        list: ``(title, x label, {key: (xs, ys)})`` per non-empty subplot.

    Raises:
        KeyError: If a requested key matches nothing logged.
    """
    logged = {phase: scalars[phase] for phase in ('train', 'val')}
    if keys:
        for pattern in keys:
            if not any(fnmatch.filter(c, pattern) for c in logged.values()):
                raise UnknownNameError(
                    f"No logged scalar matches '{pattern}'; logged: train "
                    f"{sorted(logged['train'])}, val {sorted(logged['val'])}")
    x_label = dict(train='iteration',
                   val='epoch' if scalars['by_epoch'] else 'iteration')
    groups, placed = [], set()
    for title, phase, patterns in CURVE_GROUPS:
        names = [k for k in logged[phase]
                 if any(fnmatch.fnmatchcase(k, p) for p in patterns)]
        if keys:
            names = [k for k in names
                     if any(fnmatch.fnmatchcase(k, p) for p in keys)]
        elif title.startswith('per-class'):
            names = []  # seven more lines: only when asked for
        elif 'weights' in title and len(names) < 2:
            names = []  # one branch always weighs 1: nothing to see
        placed.update((phase, k) for k in names)
        if names:
            groups.append((title, x_label[phase],
                           OrderedDict((k, logged[phase][k])
                                       for k in names)))
    # Requested keys no default group covers (grad_norm, time...) get a
    # subplot of their own phase.
    for phase in ('train', 'val'):
        rest = [k for k in logged[phase] if (phase, k) not in placed
                and keys and any(fnmatch.fnmatchcase(k, p) for p in keys)]
        if rest:
            groups.append((f'other ({phase})', x_label[phase],
                           OrderedDict((k, logged[phase][k])
                                       for k in rest)))
    return groups
