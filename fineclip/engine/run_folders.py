"""One log folder per run, also for runs that start in the same second.

MMEngine names a run's log folder ``work_dir/<YYYYmmdd_HHMMSS>``: two
``tools/test.py`` runs into one work dir started within a second share the
folder, one log file and one ``vis_data``. :func:`apply_unique_run_folders`
makes the Runner claim its folder with ``os.mkdir`` (atomic: one process
wins) and take ``<timestamp>_2``, ``_3``, ... when the name is taken.
"""
import itertools
import os
import os.path as osp

_APPLIED = False


def claim_run_folder(work_dir: str, timestamp: str) -> str:
    """Creates ``work_dir/<timestamp>`` (or the first free
    ``<timestamp>_N``) and returns the name it took."""
    os.makedirs(work_dir, exist_ok=True)
    for n in itertools.count(1):
        name = timestamp if n == 1 else f'{timestamp}_{n}'
        try:
            os.mkdir(osp.join(work_dir, name))
        except FileExistsError:
            continue
        return name


def apply_unique_run_folders() -> None:
    """Patches ``Runner.setup_env`` (where MMEngine sets the timestamp) so
    each single-process run claims a folder of its own. Idempotent.

    In a distributed job rank 0 claims the folder and the others take
    its name: every rank logs into the same folder.
    """
    global _APPLIED
    if _APPLIED:
        return
    from mmengine.dist import (broadcast_object_list, get_rank,
                               get_world_size)
    from mmengine.runner import Runner
    original = Runner.setup_env

    def setup_env(self, env_cfg):
        original(self, env_cfg)  # starts the process group, if any
        if get_world_size() == 1:
            self._timestamp = claim_run_folder(self._work_dir,
                                               self._timestamp)
            return
        name = [claim_run_folder(self._work_dir, self._timestamp)
                if get_rank() == 0 else None]
        broadcast_object_list(name)
        self._timestamp = name[0]

    Runner.setup_env = setup_env
    _APPLIED = True
