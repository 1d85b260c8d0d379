"""The command lines of the offline data steps, as the checklist prints them
and ``tools/data/prepare.py --run`` runs them.

One :class:`PrepareOptions` says which config, overrides, face analyser,
describer and launcher the steps use; each ``*_argv`` function turns it
into the arguments of one data tool, and :func:`command_line` into the
shell line a user can copy (with ``torchrun``/``srun`` in front for a
multi-GPU step).
"""
import argparse
import shlex
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from mmengine.config import DictAction

#: Where the README puts the FaceXFormer weights (Hugging Face repository
#: ``kartiknarayan/facexformer``, file ``ckpts/model.pt``).
FACEXFORMER_CHECKPOINT = 'checkpoints/facexformer/ckpts/model.pt'
#: The raw descriptions' file name, as generate_descriptions.py writes it.
RAW_DESCRIPTIONS = 'descriptions.jsonl'
TOOLS = dict(check='tools/data/check_dataset.py',
             face_maps='tools/data/extract_face_maps.py',
             descriptions='tools/data/generate_descriptions.py',
             refine='tools/data/refine_descriptions.py',
             train='tools/train.py')
# The tools that run as a torchrun/srun job under --launcher (the data
# tools split their clips over the ranks).
MULTI_PROCESS = ('face_maps', 'descriptions', 'train')


def _default_analyzer_cfg() -> dict:
    import torch
    # the paper's analyser; on a GPU machine it should run there
    return dict(checkpoint=FACEXFORMER_CHECKPOINT,
                device='cuda' if torch.cuda.is_available() else 'cpu')


@dataclass
class PrepareOptions:
    """What the preparation steps run with.

    Attributes:
        config: The config file.
        cfg_options: ``--cfg-options`` as MMEngine's ``DictAction`` parses
            them (passed on to every step).
        analyzer: Face analyser of the face-map step (``FACE_ANALYZERS``).
        analyzer_cfg: Its arguments; for FaceXFormer the ``checkpoint``.
        describer: Describer of the description step (``DESCRIBERS``).
        describer_cfg: Its arguments (none by default: the paper's prompt,
            which holds no label; ``tools/data/prepare.py`` refuses
            ``with_label=True``, see docs/evaluation_protocol.md).
        launcher: ``'none'``, ``'pytorch'`` (torchrun) or ``'slurm'``
            (srun) for the steps that split clips over ranks.
        nproc: Processes of such a step (GPUs, or srun tasks).
        workers: Loader processes of the face-map step (None: the tool's
            default).
    """

    config: str
    cfg_options: Optional[dict] = None
    analyzer: str = 'FaceXFormerAnalyzer'
    analyzer_cfg: Dict[str, object] = field(
        default_factory=_default_analyzer_cfg)
    describer: str = 'VideoLlavaDescriber'
    describer_cfg: Dict[str, object] = field(default_factory=dict)
    launcher: str = 'none'
    nproc: int = 1
    workers: Optional[int] = None


def parse_cfg_options(tokens: Optional[List[str]]) -> Optional[dict]:
    """``KEY=VALUE`` strings -> the dict ``--cfg-options`` gives."""
    if not tokens:
        return None
    namespace = argparse.Namespace()
    DictAction(option_strings=[], dest='options')(None, namespace, tokens)
    return namespace.options


def _token_value(value) -> str:
    if isinstance(value, (list, tuple)):
        inner = ','.join(_token_value(v) for v in value)
        return f'[{inner}]' if isinstance(value, list) else f'({inner})'
    return str(value)


def option_tokens(options: Optional[dict]) -> List[str]:
    """The inverse of :func:`parse_cfg_options`: ``['key=value', ...]``."""
    return [f'{k}={_token_value(v)}' for k, v in (options or {}).items()]


def _with_cfg_options(argv: List[str], opts: PrepareOptions) -> List[str]:
    tokens = option_tokens(opts.cfg_options)
    return argv + (['--cfg-options'] + tokens if tokens else [])


def check_argv(opts: PrepareOptions,
               folds: Optional[List[int]] = None) -> List[str]:
    """Arguments of ``tools/data/check_dataset.py``."""
    argv = [opts.config]
    if folds:
        argv += ['--folds'] + [str(f) for f in folds]
    return _with_cfg_options(argv, opts)


def face_maps_argv(opts: PrepareOptions) -> List[str]:
    """Arguments of ``tools/data/extract_face_maps.py``."""
    argv = [opts.config, '--analyzer', opts.analyzer]
    if opts.analyzer_cfg:
        argv += ['--analyzer-cfg'] + option_tokens(opts.analyzer_cfg)
    if opts.workers is not None:
        argv += ['--workers', str(opts.workers)]
    return _with_cfg_options(argv, opts)


def descriptions_argv(opts: PrepareOptions) -> List[str]:
    """Arguments of ``tools/data/generate_descriptions.py``."""
    argv = [opts.config, '--describer', opts.describer]
    if opts.describer_cfg:
        argv += ['--describer-cfg'] + option_tokens(opts.describer_cfg)
    return _with_cfg_options(argv, opts)


def refine_argv(opts: PrepareOptions, raw: str, refined: str,
                with_labels: bool = True) -> List[str]:
    """Arguments of ``tools/data/refine_descriptions.py`` (labels from the
    config for the leakage classifier when ``with_labels``)."""
    argv = [raw, '--out', refined]
    if with_labels:
        argv = _with_cfg_options(argv + ['--config', opts.config], opts)
    return argv


def launcher_prefix(step: str, opts: PrepareOptions) -> List[str]:
    """What goes before ``tools/...`` for ``step``: ``python``, or the
    torchrun/srun start of a multi-process step."""
    if step in MULTI_PROCESS and opts.launcher == 'pytorch':
        return ['torchrun', f'--nproc_per_node={opts.nproc}']
    if step in MULTI_PROCESS and opts.launcher == 'slurm':
        return ['srun', f'--ntasks={opts.nproc}', 'python']
    return ['python']


def tool_argv(step: str, argv: List[str], opts: PrepareOptions
              ) -> List[str]:
    """The tool's arguments with ``--launcher`` added where it runs as a
    multi-process job."""
    if step in MULTI_PROCESS and opts.launcher != 'none':
        return argv + ['--launcher', opts.launcher]
    return argv


def command_line(step: str, argv: List[str], opts: PrepareOptions) -> str:
    """The shell command of one step, ready to copy."""
    return shlex.join(launcher_prefix(step, opts) + [TOOLS[step]] +
                      tool_argv(step, argv, opts))


def train_argv(opts: PrepareOptions,
               work_dir: Optional[str] = None) -> List[str]:
    """Arguments of ``tools/train.py`` with the same overrides."""
    argv = [opts.config] + (['--work-dir', work_dir] if work_dir else [])
    return _with_cfg_options(argv, opts)
