"""What a result was made under: a fingerprint of the resolved config and
the run's options, and the rules for reusing, resuming and averaging.

A number is only worth its protocol. Every result file records
``fingerprint = dict(hash=..., resolved={key: value})``: ``resolved`` is the
config as resolved after ``--cfg-options`` (flattened to dotted keys) plus
the run's own options under ``run.*`` (fold, seed, selection rule,
precision, world size, extra protocol flags); ``hash`` is a stable digest of
it. Keys that cannot change the number (work dir, names, resume, logging
and checkpoint intervals, loader workers...) are left out, so they may
differ between a run and its reuse.

A finished result is reused, and an interrupted run resumed, only under the
same hash; otherwise :func:`check_run_dir` refuses and names the keys that
differ (``key: old -> new``), or with ``force`` moves the old run aside
(never deleting it) so a fresh one starts.
"""
import hashlib
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

from fineclip.utils.errors import UserInputError

#: Written into a run's folder before it trains.
PROTOCOL_FILE = 'protocol.json'

#: Selection rules: which epoch's weights a result was tested with.
SELECTION_RULES = {
    'last_epoch': 'last epoch; no checkpoint selection',
    'best_on_val_holdout': 'epoch with the best UAR on a held-out part of '
    'the training split',
    'best_on_test': 'epoch with the best TEST UAR (selected on the test '
    "split, as DFER-CLIP's paper reports; not a held-out number)",
}

# Keys (dotted, or a last component) that cannot change a run's numbers.
_IGNORED = ('work_dir', 'experiment_name', 'resume', 'load_from',
            'filename', 'log_level', 'log_processor', 'visualizer',
            'default_hooks.logger', 'default_hooks.timer',
            'default_hooks.checkpoint.interval',
            'default_hooks.checkpoint.max_keep_ckpts',
            'default_hooks.checkpoint.backend_args', 'env_cfg.mp_cfg',
            'env_cfg.dist_cfg', 'launcher', 'verbose', 'zero_shot_row')
_IGNORED_LEAVES = ('num_workers', 'persistent_workers', 'pin_memory',
                   'prefetch_factor')

#: Config keys recorded as extra protocol fields, under their own name.
EXTRA_PROTOCOL_KEYS = {'allow_label_conditioned_eval':
                       'label_conditioned_eval'}


class ProtocolMismatchError(UserInputError):
    """A result or a run folder was made under another protocol."""


def _ignored(key: str) -> bool:
    if key.rsplit('.', 1)[-1] in _IGNORED_LEAVES:
        return True
    return any(key == k or key.startswith(k + '.') for k in _IGNORED)


def _flatten(value, prefix: str, out: Dict[str, object]) -> None:
    if isinstance(value, dict):
        if not value and prefix:
            out[prefix] = {}
        for k in sorted(value, key=str):
            _flatten(value[k], f'{prefix}.{k}' if prefix else str(k), out)
    elif isinstance(value, (list, tuple)):
        if not value:
            out[prefix] = []
        for i, item in enumerate(value):
            _flatten(item, f'{prefix}.{i}', out)
    elif value is None or isinstance(value, (bool, int, float, str)):
        out[prefix] = value
    else:  # a class or function given as a type: its name is what counts
        out[prefix] = getattr(value, '__qualname__', repr(value))


def resolved_config(cfg: Config) -> Dict[str, object]:
    """The config's keys that can change a number, flattened to
    ``{dotted key: value}`` (lists indexed: ``pipeline.0.type``)."""
    flat: Dict[str, object] = {}
    _flatten(cfg.to_dict() if isinstance(cfg, Config) else dict(cfg), '',
             flat)
    return {k: v for k, v in flat.items() if not _ignored(k)}


def extra_protocol_fields(cfg: Config) -> Dict[str, object]:
    """Protocol flags a config sets (e.g. ``allow_label_conditioned_eval``
    is recorded as ``label_conditioned_eval``); unset ones are left out."""
    return {name: cfg.get(key) for key, name in EXTRA_PROTOCOL_KEYS.items()
            if cfg.get(key) is not None}


def make_fingerprint(cfg: Config, **run: object) -> dict:
    """The fingerprint of ``cfg`` run with the options ``run``.

    Args:
        cfg: The run's config, resolved (overrides merged, fold set).
        **run: The run's own options (``fold``, ``seed``, ``selection``,
            ``precision``, ``world_size``...), recorded as ``run.<name>``.

    Returns:
        dict: ``hash`` (16 hex digits) and ``resolved`` (the hashed keys).
    """
    resolved = resolved_config(cfg)
    resolved.update({f'run.{k}': v for k, v in run.items()})
    resolved.update({f'run.{k}': v
                     for k, v in extra_protocol_fields(cfg).items()})
    resolved = json.loads(json.dumps(resolved, sort_keys=True, default=str))
    return dict(hash=fingerprint_hash(resolved), resolved=resolved)


def fingerprint_hash(resolved: Dict[str, object]) -> str:
    """A stable digest of resolved keys (order and process independent)."""
    text = json.dumps(resolved, sort_keys=True, separators=(',', ':'))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def differences(old: Dict[str, object], new: Dict[str, object],
                skip: Sequence[str] = ()) -> List[str]:
    """``key: old -> new`` for every key whose value differs (a key only on
    one side shows ``(unset)`` on the other), sorted; ``skip`` keys (and
    keys under them) are not compared."""
    missing = '(unset)'
    lines = []
    for key in sorted(set(old) | set(new)):
        if any(key == s or key.startswith(s + '.') for s in skip):
            continue
        a, b = old.get(key, missing), new.get(key, missing)
        if a != b:
            lines.append(f'{key}: {json.dumps(a)} -> {json.dumps(b)}'
                         .replace('"(unset)"', missing))
    return lines


def _moved_aside(path: str) -> str:
    n = 1
    while osp.exists(f'{path}.superseded-{n}'):
        n += 1
    target = f'{path}.superseded-{n}'
    os.rename(path, target)
    return target


def _recorded(work_dir: str, result_file: str) -> Tuple[str, Optional[dict]]:
    """What the folder holds: ``('finished', fingerprint)``,
    ``('started', fingerprint)``, ``('unknown', None)`` (checkpoints but
    no record) or ``('empty', None)``."""
    for state, name in (('finished', result_file),
                        ('started', PROTOCOL_FILE)):
        path = osp.join(work_dir, name)
        if osp.isfile(path):
            with open(path) as f:
                return state, json.load(f).get('fingerprint')
    if osp.isdir(work_dir) and any(
            n.endswith('.pth') or n == 'last_checkpoint'
            for n in os.listdir(work_dir)):
        return 'unknown', None
    return 'empty', None


def check_run_dir(work_dir: str, fingerprint: dict, result_file: str,
                  force: bool = False) -> Tuple[str, Optional[str]]:
    """Whether a run under ``fingerprint`` may use ``work_dir``.

    Args:
        work_dir: The run's folder.
        fingerprint: The new run's :func:`make_fingerprint`.
        result_file: The name of the finished run's result file.
        force: Move a folder made under another protocol aside
            (``<work_dir>.superseded-N``) instead of refusing.

    Returns:
        tuple: ``(state, moved_to)``: ``state`` is ``'reuse'`` (a finished
        result under the same fingerprint), ``'resume'`` (a started run
        under it) or ``'fresh'``; ``moved_to`` is where an old run went.

    Raises:
        ProtocolMismatchError: the folder holds a run under another (or an
            unrecorded) protocol and ``force`` is not set.
    """
    state, old = _recorded(work_dir, result_file)
    if state == 'empty':
        return 'fresh', None
    if old is not None and old.get('hash') == fingerprint['hash']:
        return ('reuse' if state == 'finished' else 'resume'), None
    if force:
        return 'fresh', _moved_aside(work_dir)
    what = {'finished': f'a finished result ({result_file})',
            'started': f'an interrupted run ({PROTOCOL_FILE})',
            'unknown': 'checkpoints of a run'}[state]
    if old is None:
        why = ('it records no protocol fingerprint (made before results '
               'recorded one), so it cannot be matched')
    else:
        diff = differences(old.get('resolved', {}), fingerprint['resolved'])
        why = 'it was made under another protocol:\n  ' + '\n  '.join(
            diff or ['(the recorded hash differs, the keys do not: an '
                     'edited file?)'])
    raise ProtocolMismatchError(
        f"{work_dir} holds {what} that this command will not "
        f"{'reuse' if state == 'finished' else 'resume'}: {why}\n"
        'Fix: run with the options it was made with, give another '
        '--work-dir, or pass --force to start afresh (the old folder is '
        'moved aside to <folder>.superseded-N, not deleted).')


def write_protocol_file(work_dir: str, fingerprint: dict,
                        **fields: object) -> None:
    """Records a starting run's fingerprint in its folder, before it
    trains, so that an interrupted run resumes only under it."""
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, PROTOCOL_FILE), 'w') as f:
        json.dump(dict(fields, fingerprint=fingerprint), f, indent=2)


def check_same_protocol(results: Sequence[dict], key: str,
                        varying: Sequence[str] = ()) -> dict:
    """Refuses to average results made under different protocols.

    Args:
        results: Result records, each with a ``fingerprint``.
        key: The field that names a run (``fold``, ``seed``).
        varying: Resolved keys allowed to differ between rows (the fold's
            dataset keys, the seed); ``run.<key>`` always may.

    Returns:
        dict: the shared protocol: ``hash`` over the keys that must agree
        and ``resolved`` (the first row's, without the varying keys).

    Raises:
        ProtocolMismatchError: a row has no fingerprint, or two rows differ
            in a key outside ``varying``.
    """
    skip = [f'run.{key}', *varying]
    for r in results:
        if not r.get('fingerprint'):
            raise ProtocolMismatchError(
                f"{key} {r.get(key)}: its result records no protocol "
                'fingerprint, so it cannot be averaged with the others; '
                'rerun it (--force moves the old folder aside).')
    first = results[0]
    base = first['fingerprint']['resolved']
    for r in results[1:]:
        diff = differences(base, r['fingerprint']['resolved'], skip)
        if diff:
            raise ProtocolMismatchError(
                f'Refusing to average {key} {first.get(key)} with {key} '
                f'{r.get(key)}: they were made under different protocols:'
                '\n  ' + '\n  '.join(diff) + '\nFix: rerun the odd one '
                'with the same options (--force starts it afresh).')
    shared = {k: v for k, v in base.items()
              if not any(k == s or k.startswith(s + '.') for s in skip)}
    return dict(hash=fingerprint_hash(shared), resolved=shared)


def describe(fingerprint: dict) -> str:
    """One line: the selection rule, precision, world size, extra flags
    and the hash of a fingerprint."""
    resolved = fingerprint.get('resolved', {})
    parts = [SELECTION_RULES.get(resolved.get('run.selection'), '?'),
             f"precision {resolved.get('run.precision', '?')}, "
             f"{resolved.get('run.world_size', '?')} process(es)"]
    for name in EXTRA_PROTOCOL_KEYS.values():
        if f'run.{name}' in resolved:
            parts.append(f"{name}={resolved[f'run.{name}']}")
    parts.append(f"fingerprint {fingerprint.get('hash')}")
    return '; '.join(parts)
