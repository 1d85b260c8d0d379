"""FineCLIP's registries.

Every registry is a child of MMEngine's root registry of the same kind, so
MMEngine's Runner finds FineCLIP's parts under ``default_scope='fineclip'``.
``locations`` lists the modules that hold the registered classes; MMEngine
imports them lazily the first time a name is looked up, so a config can name a
part without anyone importing it first.

Domain registries (``ENCODERS``, ``ADAPTERS``, ``LABEL_AUGMENTERS``,
``BRANCHES``, ``FUSIONS``) are children of ``MODELS``: each resolves a name in
itself first, then in ``MODELS``, so a config composes a variant purely by
naming types. MMEngine keys a registry's children by scope, so each domain
registry has its own scope (``fineclip-encoder``...).
"""
import glob
import os.path as osp
import re

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import Registry

SCOPE = 'fineclip'

# --- children of MMEngine's root registries --------------------------------
MODELS = Registry(
    'model', parent=MMENGINE_MODELS, scope=SCOPE,
    locations=['fineclip.models'])
MODEL_WRAPPERS = Registry(
    'model_wrapper', parent=MMENGINE_MODEL_WRAPPERS, scope=SCOPE,
    locations=['fineclip.models'])
DATASETS = Registry(
    'dataset', parent=MMENGINE_DATASETS, scope=SCOPE,
    locations=['fineclip.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMENGINE_DATA_SAMPLERS, scope=SCOPE,
    locations=['fineclip.datasets'])
TRANSFORMS = Registry(
    'transform', parent=MMENGINE_TRANSFORMS, scope=SCOPE,
    locations=['fineclip.datasets.transforms'])
FUNCTIONS = Registry(
    'function', parent=MMENGINE_FUNCTIONS, scope=SCOPE,
    locations=['fineclip.datasets'])
METRICS = Registry(
    'metric', parent=MMENGINE_METRICS, scope=SCOPE,
    locations=['fineclip.evaluation'])
EVALUATOR = Registry(
    'evaluator', parent=MMENGINE_EVALUATOR, scope=SCOPE,
    locations=['fineclip.evaluation'])
HOOKS = Registry(
    'hook', parent=MMENGINE_HOOKS, scope=SCOPE,
    locations=['fineclip.engine'])
LOOPS = Registry(
    'loop', parent=MMENGINE_LOOPS, scope=SCOPE,
    locations=['fineclip.engine'])
OPTIMIZERS = Registry(
    'optimizer', parent=MMENGINE_OPTIMIZERS, scope=SCOPE,
    locations=['fineclip.engine'])
OPTIM_WRAPPERS = Registry(
    'optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope=SCOPE,
    locations=['fineclip.engine'])
# MMEngine's Runner builds these under the default scope too; without a
# 'fineclip' child it warns at every run that the scope was not found.
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, scope=SCOPE,
    locations=['fineclip.engine'])
LOG_PROCESSORS = Registry(
    'log_processor', parent=MMENGINE_LOG_PROCESSORS, scope=SCOPE,
    locations=['fineclip.engine'])
RUNNERS = Registry(
    'runner', parent=MMENGINE_RUNNERS, scope=SCOPE,
    locations=['fineclip.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS, scope=SCOPE,
    locations=['fineclip.engine'])
VISUALIZERS = Registry(
    'visualizer', parent=MMENGINE_VISUALIZERS, scope=SCOPE,
    locations=['fineclip.engine'])
VISBACKENDS = Registry(
    'vis_backend', parent=MMENGINE_VISBACKENDS, scope=SCOPE,
    locations=['fineclip.engine'])

# --- domain registries: children of MODELS ---------------------------------
def plugin_defining(name: str, root: str = 'plugins') -> tuple:
    """Finds the plugin under ``root`` that defines ``name``.

    Returns:
        tuple: ``(file, module to import)``, or ``None``. A file inside a
        plugin package names the package (its ``__init__`` registers the
        parts), a lone file names itself.
    """
    definition = re.compile(rf'^\s*(class|def)\s+{re.escape(name)}\b',
                            re.MULTILINE)
    for path in sorted(glob.glob(osp.join(root, '**', '*.py'),
                                 recursive=True)):
        with open(path, encoding='utf-8', errors='replace') as f:
            if not definition.search(f.read()):
                continue
        parts = osp.normpath(path)[:-len('.py')].split(osp.sep)
        if len(parts) > 2 and osp.isfile(
                osp.join(parts[0], parts[1], '__init__.py')):
            parts = parts[:2]
        return path, '.'.join(p for p in parts if p != '__init__')
    return None


def _not_registered_message(obj_type: str, registry: Registry) -> str:
    message = (f"'{obj_type}' is not registered in FineCLIP's "
               f'{registry.name} registry (known: '
               f'{sorted(registry.module_dict)}).')
    found = plugin_defining(obj_type)
    if found:
        path, module = found
        return (f"{message} It is defined in the plugin '{module}' "
                f"({path}): add '{module}' to the config's "
                f"custom_imports = dict(imports=['{module}']).")
    return (f"{message} If it comes from a plugin, list the plugin's module "
            "in the config's `custom_imports`.")


def build_in_registry(cfg, registry: Registry, default_args=None):
    """Builds ``cfg`` from ``registry`` itself, then its ancestors.

    MMEngine's default build switches to the registry of the default scope
    (``fineclip`` -> ``MODELS``), which would never look into a child such as
    ``ENCODERS``. Resolving in the registry that was asked keeps the domain
    registries separate while they still see everything in ``MODELS``.
    """
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f'A {registry.name} config must be a dict with a '
                        f'"type" key, got {cfg!r}')
    args = dict(cfg)
    for key, value in (default_args or {}).items():
        args.setdefault(key, value)
    obj_type = args.pop('type')
    if not isinstance(obj_type, str):
        return obj_type(**args)
    obj_cls = registry.get(obj_type)
    if obj_cls is None:
        raise KeyError(_not_registered_message(obj_type, registry))
    return obj_cls(**args)


def _domain_registry(name: str, location: str) -> Registry:
    return Registry(name, parent=MODELS, scope=f'{SCOPE}-{name}',
                    build_func=build_in_registry, locations=[location])


ENCODERS = _domain_registry('encoder', 'fineclip.models')
ADAPTERS = _domain_registry('adapter', 'fineclip.models')
LABEL_AUGMENTERS = _domain_registry('label augmenter', 'fineclip.models')
BRANCHES = _domain_registry('branch', 'fineclip.models')
FUSIONS = _domain_registry('fusion', 'fineclip.models')

# --- offline preprocessing (no Runner involved) ----------------------------
FACE_ANALYZERS = Registry(
    'face analyzer', scope=SCOPE, locations=['fineclip.preprocessing'])
DESCRIBERS = Registry(
    'describer', scope=SCOPE, locations=['fineclip.preprocessing'])
# Face detectors for tools/infer.py (fineclip.preprocessing's __init__ does
# not import them, hence their own location).
FACE_DETECTORS = Registry(
    'face detector', scope=SCOPE,
    locations=['fineclip.preprocessing.face_detectors'])
