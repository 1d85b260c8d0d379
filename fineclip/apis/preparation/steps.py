"""``tools/data/prepare.py --run``: the missing offline steps, in order.

1. check: the dataset is scanned (``check_dataset``); anything wrong other
   than what the next steps make (face maps, descriptions) stops the run.
2. face maps: ``tools/data/extract_face_maps.py``.
3. descriptions: ``tools/data/generate_descriptions.py``.
4. refinement: ``tools/data/refine_descriptions.py``.

A step runs only when its output is missing or incomplete, and the tools
themselves skip the clips already done, so an interrupted run continues
where it stopped. A step whose weights are missing is refused before it
starts. Steps run as the tools' ``main`` in this process, or, for the
multi-process tools under ``--launcher pytorch|slurm``, as a
``torchrun``/``srun`` job.
"""
import importlib.util
import os
import os.path as osp
import subprocess
import sys
from typing import Callable, List, Optional

from fineclip.utils.config import import_custom_modules, load_config

from .checklist import build_checklist
from .commands import (MULTI_PROCESS, TOOLS, PrepareOptions, check_argv,
                       command_line, descriptions_argv, face_maps_argv,
                       refine_argv, tool_argv)
from .data_items import description_paths, unique_sources
from .dataset_check import MADE_BY_STEPS, check_dataset
from .items import Checklist, format_checklist

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
STEPS = ('check', 'face_maps', 'descriptions', 'refine')
_WEIGHTS_OF = dict(face_maps='FaceXFormer', descriptions='Video-LLaVA')


def load_prepared_config(opts: PrepareOptions, create: bool):
    """The config as the data tools load it; ``create`` also makes the
    embedded default's synthetic set and tiny CLIP if it names them."""
    from fineclip.apis.embedded_default import prepare_embedded_default
    cfg = load_config(opts.config, opts.cfg_options)
    import_custom_modules(cfg)
    if create:
        prepare_embedded_default(cfg)
    return cfg


def tool_path(step: str) -> str:
    path = osp.join(REPO_ROOT, TOOLS[step])
    if not osp.isfile(path):
        raise FileNotFoundError(
            f"{TOOLS[step]} not found under {REPO_ROOT}: prepare.py --run "
            'needs a source checkout of FineCLIP (pip install -e .)')
    return path


def run_tool(step: str, argv: List[str], opts: PrepareOptions,
             echo: Callable[[str], None] = print) -> int:
    """Runs one tool: its ``main(argv)`` here, or a torchrun/srun job for
    a multi-process step. Returns its exit status."""
    echo(f'$ {command_line(step, argv, opts)}')
    path = tool_path(step)
    if step in MULTI_PROCESS and opts.launcher != 'none':
        if opts.launcher == 'pytorch':
            start = [sys.executable, '-m', 'torch.distributed.run',
                     f'--nproc_per_node={opts.nproc}']
        else:
            start = ['srun', f'--ntasks={opts.nproc}', sys.executable]
        return subprocess.run(start + [path] + tool_argv(step, argv, opts),
                              env=dict(os.environ)).returncode
    spec = importlib.util.spec_from_file_location(
        f'_fineclip_prepare_{step}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        value = module.main(argv)
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            return stop.code or 0
        echo(str(stop.code))
        return 1
    return value if isinstance(value, int) else 0


def _configured_folds(cfg) -> Optional[List[int]]:
    from .scan import leaf_cfgs
    folds = sorted({int(leaf['fold']) for leaf in leaf_cfgs(cfg)
                    if leaf.get('fold') is not None})
    return folds or None


def _missing_weights(checklist: Checklist, step: str):
    name = _WEIGHTS_OF.get(step)
    return [i for i in checklist.items if i.section == 'weights'
            and name and i.name.startswith(name) and not i.ready]


def _step_argv(step: str, cfg, opts: PrepareOptions, item) -> List[str]:
    if step == 'face_maps':
        return face_maps_argv(opts)
    if step == 'descriptions':
        return descriptions_argv(opts)
    raw, _ = description_paths(cfg, _sources(cfg))
    labels = importlib.util.find_spec('sklearn') is not None
    return refine_argv(opts, raw, item.path, labels)


def _sources(cfg) -> dict:
    return dict(unique_sources(cfg))


def run_preparation(opts: PrepareOptions,
                    echo: Callable[[str], None] = print) -> Checklist:
    """Runs the missing steps of :data:`STEPS` (see the module docstring).

    Args:
        opts: Config, overrides, analyser, describer and launcher.
        echo: Where the progress and reports go.

    Returns:
        Checklist: the checklist after the last step run; ``ready`` tells
        whether training can start. A stopped run returns the checklist of
        that moment.
    """
    cfg = load_prepared_config(opts, create=True)
    checklist = build_checklist(cfg, opts)
    roots = [i for i in checklist.items
             if i.name == 'data root' and not i.ready]
    if roots:
        echo('The data comes first:\n' + format_checklist(checklist))
        return checklist
    folds = _configured_folds(cfg)
    check = command_line('check', check_argv(opts, folds), opts)
    echo(f'[1/{len(STEPS)}] check: {check}')
    found = check_dataset(cfg, opts, folds, echo=echo)
    blocking = [p for problems in found.values() for p in problems
                if p.kind not in MADE_BY_STEPS]
    if blocking:
        echo(f'Stopped: {len(blocking)} problem(s) above that no step '
             'makes good; fix them and run prepare.py --run again.')
        return checklist
    echo('(the next steps make the missing face maps and descriptions)')
    for number, step in enumerate(STEPS[1:], start=2):
        todo = [i for i in checklist.items if i.step == step
                and not i.ready]
        head = f'[{number}/{len(STEPS)}] {step.replace("_", " ")}'
        if not todo:
            echo(f'{head}: nothing to do')
            continue
        missing = _missing_weights(checklist, step)
        if missing:
            echo(f'{head}: stopped, its weights are missing:\n' +
                 '\n'.join(f'  {i.name}: {i.detail}\n    -> {i.fix}'
                           for i in missing))
            return checklist
        echo(f'{head}: {todo[0].detail}')
        for item in todo:
            code = run_tool(step, _step_argv(step, cfg, opts, item), opts,
                            echo)
            if code:
                echo(f'{head}: failed (exit status {code}); rerun '
                     'prepare.py --run to continue where it stopped')
                return build_checklist(cfg, opts)
            if step != 'refine':
                break  # one run of the tool does every folder
        checklist = build_checklist(cfg, opts)
    echo(format_checklist(checklist))
    return checklist
