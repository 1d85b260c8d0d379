"""What ``tools/train.py`` checks before it builds the Runner.

A quick look (no clip is listed): every data root, split file, face-map
folder, descriptions file and weight file the config names exists. If one
does not, the whole checklist is printed (see
:func:`~fineclip.apis.preparation.checklist.build_checklist`) and the run
stops, instead of failing on the first missing input minutes later. Inputs
that exist but are incomplete (some clips' files missing) are named by the
datasets themselves, with the file and line, when they load.
"""
import os
import os.path as osp
from typing import List, Optional

from mmengine.config import Config

from .checklist import build_checklist
from .commands import PrepareOptions
from .items import format_checklist
from .scan import leaf_cfgs, split_file_of
from .weights import model_weight_items


def _has_npz(folder: str) -> bool:
    """Whether any face-map file is under ``folder`` (FERV39k's clip ids
    are paths, so its files are in sub-folders); stops at the first."""
    for _, _, files in os.walk(folder):
        if any(name.endswith('.npz') for name in files):
            return True
    return False


def _dataset_gaps(ds_cfg: dict) -> List[str]:
    root = ds_cfg.get('data_root')
    if not root:
        return []
    if not osp.isdir(root):
        return [f"data root '{root}' does not exist"]
    gaps = []
    split_file = split_file_of(ds_cfg)
    if split_file and not osp.isfile(split_file):
        gaps.append(f"split file '{split_file}' is missing")
    if ds_cfg.get('face_map_dir'):
        folder = osp.join(root, ds_cfg['face_map_dir'])
        if not osp.isdir(folder) or not _has_npz(folder):
            gaps.append(f"no face-map files in '{folder}'")
    if ds_cfg.get('description_file'):
        path = osp.join(root, ds_cfg['description_file'])
        if not osp.isfile(path):
            gaps.append(f"descriptions file '{path}' is missing")
    return gaps


def missing_inputs(cfg: Config) -> List[str]:
    """The inputs of ``cfg`` that do not exist at all, one line each.

    A check that cannot run on this config (a dataset type it does not
    know) is left to the Runner, which reports its own error.
    """
    gaps = []
    for leaf in leaf_cfgs(cfg):
        try:
            found = _dataset_gaps(leaf)
        except Exception:  # e.g. a plugin dataset: the Runner will tell
            found = []
        gaps += [g for g in found if g not in gaps]
    try:
        weights = model_weight_items(cfg)
    except Exception:  # an unusual model config: the build will tell
        weights = []
    gaps += [f'{i.name}: {i.detail}' for i in weights if not i.ready]
    return gaps


def ensure_inputs_ready(cfg: Config, config: Optional[str] = None,
                        cfg_options: Optional[dict] = None) -> None:
    """Stops with the checklist when an input of ``cfg`` is missing.

    Call it after the embedded default is prepared (its data and tiny
    CLIP then exist) and before building the Runner.

    Args:
        cfg: The merged training config.
        config: The config file as given (for the printed commands).
        cfg_options: The ``--cfg-options`` given (for the same).

    Raises:
        SystemExit: something is missing; the checklist went to stdout
            (on rank 0 only, under a launcher).
    """
    gaps = missing_inputs(cfg)
    if not gaps:
        return
    config = config or cfg.filename
    if int(os.environ.get('RANK', os.environ.get('LOCAL_RANK', 0))) == 0:
        opts = PrepareOptions(config, cfg_options)
        print(format_checklist(build_checklist(cfg, opts)), flush=True)
    more = f' (and {len(gaps) - 1} more)' if len(gaps) > 1 else ''
    raise SystemExit(
        f'Not ready to train {config}: {gaps[0]}{more}; the checklist above '
        f'lists everything. python tools/data/prepare.py {config} --run '
        'makes the face maps and descriptions.')
