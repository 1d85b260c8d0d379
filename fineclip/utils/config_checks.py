"""Checks of a config a user changed: ``--cfg-options`` keys and type names.

MMEngine merges any ``--cfg-options`` key, spelled right or not: a
misspelled one either surfaces much later as a ``TypeError`` deep in a build
or, in a section nobody reads, is silently ignored. These checks run when
the options are merged and name the key, the part that would read it and
the closest right spelling; an override that puts text where the config
holds a number or a flag is refused with the key named.

* A key already in the config is fine.
* A new key in a dict with a ``type`` is checked against that part's
  constructor (its ``__init__`` and the ones it forwards ``**kwargs`` to);
  in ``*_dataloader`` against ``torch.utils.data.DataLoader``, in
  ``train_cfg``/``val_cfg``/``test_cfg`` against the loop MMEngine builds.
  Not accepted: ``ConfigError``, a ``ValueError`` (a warning instead when
  some constructor in the chain takes ``**kwargs`` it might read).
* Any other new key gets a warning naming it (with close matches): nothing
  declares what such a dict accepts.

Every ``type`` name of the merged config must be registered (after the
config's ``custom_imports`` are imported); an unknown one raises an
``UnknownTypeError`` (a ``KeyError``) naming it, where it is, the registry
it belongs to and the closest registered names.
"""
import difflib
import inspect
import warnings
from typing import Iterator, Optional, Set, Tuple

from .config_datasets import LOADER_KEYS
from .errors import ConfigError, UnknownTypeError

_LOOPS = {'val_cfg': 'ValLoop', 'test_cfg': 'TestLoop'}
# Section of a typed dict -> the registry that builds it (for messages).
_SECTIONS = (('pipeline', 'transform'), ('dataset', 'dataset'),
             ('sampler', 'data sampler'), ('collate_fn', 'function'),
             ('optimizer', 'optimizer'), ('optim_wrapper', 'optim_wrapper'),
             ('param_scheduler', 'parameter scheduler'),
             ('evaluator', 'metric'), ('hooks', 'hook'),
             ('vis_backends', 'vis_backend'), ('visualizer', 'visualizer'),
             ('_cfg', 'loop'), ('log_processor', 'log_processor'),
             ('encoder', 'encoder'), ('adapter', 'adapter'),
             ('fusion', 'fusion'), ('label_augmenter', 'label augmenter'),
             ('branches', 'branch'), ('model', 'model'))


def _registries() -> list:
    """FineCLIP's registries and MMEngine's root ones (whose parts are
    imported here, as the Runner imports them)."""
    import mmengine.dataset  # noqa: F401  (register MMEngine's parts)
    import mmengine.evaluator  # noqa: F401
    import mmengine.hooks  # noqa: F401
    import mmengine.optim  # noqa: F401
    import mmengine.runner  # noqa: F401
    import mmengine.visualization  # noqa: F401
    import mmengine.registry as mm_registry
    from mmengine.registry import Registry

    import fineclip.registry as fc_registry
    found = []
    for module in (fc_registry, mm_registry):
        found += [v for v in vars(module).values()
                  if isinstance(v, Registry) and v not in found]
    return found


def _resolve(type_name: str, registries: list):
    for registry in registries:
        try:
            obj = registry.get(type_name)
        except Exception:  # a scope prefix the registry cannot import
            obj = None
        if obj is not None:
            return obj
    return None


def _accepted_args(obj) -> Tuple[Set[str], bool]:
    """``(argument names, whether some **kwargs may read others)`` of a
    class (its ``__init__`` and the ones ``**kwargs`` is forwarded to) or a
    function."""
    import torch.nn as nn
    if not inspect.isclass(obj):
        params = inspect.signature(obj).parameters.values()
        return ({p.name for p in params if p.kind not in
                 (p.VAR_POSITIONAL, p.VAR_KEYWORD)},
                any(p.kind == p.VAR_KEYWORD for p in params))
    names, open_kwargs = set(), False
    for klass in obj.__mro__:
        if klass in (object, nn.Module):
            # forwarding extra keywords there fails: nothing more accepted
            return names, False
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        params = list(inspect.signature(init).parameters.values())[1:]
        names |= {p.name for p in params
                  if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            return names, open_kwargs
        open_kwargs = False  # assume **kwargs goes on to the parent
    return names, True


def _reader(path: str, node: dict, registries: list):
    """``(what reads node, its argument names, **kwargs open)`` or None."""
    import torch.utils.data
    type_name = node.get('type')
    if path in LOADER_KEYS:
        names, _ = _accepted_args(torch.utils.data.DataLoader)
        return 'torch.utils.data.DataLoader', names, False
    if path == 'train_cfg' and type_name is None:
        type_name = ('EpochBasedTrainLoop' if node.get('by_epoch', True)
                     else 'IterBasedTrainLoop')
    elif path in _LOOPS and type_name is None:
        type_name = _LOOPS[path]
    if type_name is None:
        return None
    obj = (_resolve(type_name, registries) if isinstance(type_name, str)
           else type_name)
    if obj is None:
        return None  # reported by the type check
    names, open_kwargs = _accepted_args(obj)
    if path == 'train_cfg':
        names.add('by_epoch')
    return getattr(obj, '__name__', str(obj)), names | {'type'}, open_kwargs


def _hint(name: str, candidates, n: int = 3) -> str:
    close = difflib.get_close_matches(name, sorted(candidates), n=n,
                                      cutoff=0.6)
    return f"; did you mean {' or '.join(map(repr, close))}?" if close else ''


def check_cfg_options(cfg, cfg_options: Optional[dict]) -> None:
    """Checks ``--cfg-options`` keys against ``cfg`` before they are merged.

    Args:
        cfg: The loaded config (``mmengine.Config``), options not merged.
        cfg_options: ``{dotted key: value}`` as ``--cfg-options`` gives.

    Raises:
        ConfigError: a new key that the part reading it does not accept
            (the message names the key, the part and close spellings), or
            text given for a key the config holds a number or flag in.
    """
    if not cfg_options:
        return
    registries = None
    root = cfg._cfg_dict.to_dict() if hasattr(cfg, '_cfg_dict') else cfg
    for key in cfg_options:
        tokens = key.split('.')
        node, path = root, ''
        for depth, token in enumerate(tokens):
            last = depth == len(tokens) - 1
            if isinstance(node, (list, tuple)) and token.isdigit():
                if int(token) >= len(node):
                    raise ConfigError(
                        f"--cfg-options key '{key}': '{path}' has "
                        f'{len(node)} entries, no index {token}')
                node, path = node[int(token)], f'{path}.{token}'
                continue
            if not isinstance(node, dict):
                break  # setting into a scalar: MMEngine reports it
            if token in node:
                if last:
                    _check_value_type(key, node[token], cfg_options[key])
                node, path = node[token], f'{path}.{token}'.lstrip('.')
                continue
            if last:
                registries = registries or _registries()
                _check_new_key(key, token, path, node, registries)
            else:
                warnings.warn(
                    f"--cfg-options key '{key}': the config has no "
                    f"'{token}'{' under ' + repr(path) if path else ''}; "
                    f'a new section is made{_hint(token, node)}',
                    UserWarning, stacklevel=3)
            break


def _check_value_type(key: str, old, new) -> None:
    """Text where the config holds a number or a flag is a typo
    (``batch_size=abc``): ``DictAction`` keeps what it cannot parse as a
    string, which would fail deep in a build or, worse, be used."""
    if not isinstance(new, str) or old is None or isinstance(old, str):
        return
    if isinstance(old, bool):
        wanted = 'True or False'
    elif isinstance(old, (int, float)):
        wanted = 'a number'
    else:
        return
    raise ConfigError(
        f"--cfg-options {key}={new}: the config holds {old!r} there and "
        f"expects {wanted}, not the text {new!r}.")


def _check_new_key(key: str, leaf: str, path: str, node: dict,
                   registries: list) -> None:
    reader = _reader(path, node, registries) if path else None
    if reader is not None:
        part, names, open_kwargs = reader
        if leaf in names:
            return
        message = (f"--cfg-options key '{key}': '{leaf}' is not an "
                   f"argument of {part} (built from '{path}')"
                   f'{_hint(leaf, names)}')
        if not open_kwargs:
            raise ConfigError(message)
        warnings.warn(message + f' ({part} takes **kwargs, so it may be '
                      'read)', UserWarning, stacklevel=4)
        return
    where = f"under '{path}'" if path else 'at the top level'
    warnings.warn(f"--cfg-options key '{key}' is new: no key '{leaf}' "
                  f'{where} in the config and nothing declares what it '
                  f'accepts{_hint(leaf, node)}', UserWarning, stacklevel=4)


def _typed_nodes(node, path: str = '') -> Iterator[Tuple[str, str]]:
    if isinstance(node, dict):
        if isinstance(node.get('type'), str):
            yield path or '<root>', node['type']
        for k, v in node.items():
            yield from _typed_nodes(v, f'{path}.{k}' if path else str(k))
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from _typed_nodes(v, f'{path}.{i}')


def _registry_of(path: str) -> str:
    for fragment, name in _SECTIONS:
        if fragment in path:
            return name
    return 'any'


def check_type_names(cfg) -> None:
    """Every ``type`` string of ``cfg`` names a registered part.

    The config's ``custom_imports`` are imported first (a plugin's parts
    register on import).

    Raises:
        KeyError: an unknown type (names it, where it is, the registry
            and the closest registered names).
    """
    from .config import import_custom_modules
    import_custom_modules(cfg)
    registries = None
    for path, type_name in _typed_nodes(cfg._cfg_dict.to_dict()):
        registries = registries or _registries()
        if _resolve(type_name, registries) is not None:
            continue
        registry = _registry_of(path)
        # close names from that registry (and its parents) first
        known = set()
        for candidate in registries:
            if registry in ('any', candidate.name):
                while candidate is not None:
                    known |= set(candidate.module_dict)
                    candidate = candidate.parent
        if not difflib.get_close_matches(type_name, known, cutoff=0.6):
            for candidate in registries:
                known |= set(candidate.module_dict)
        raise UnknownTypeError(
            f"Unknown type '{type_name}' at '{path}': not in the fineclip "
            f'{registry} registry (nor any other)'
            f"{_hint(type_name, known, n=5) or '.'}"
            ' If it comes from a plugin, list its module in the config\'s '
            'custom_imports.')
