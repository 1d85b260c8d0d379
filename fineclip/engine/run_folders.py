"""One log folder per run, also for runs that start in the same second.

MMEngine names a run's log folder ``work_dir/<YYYYmmdd_HHMMSS>``: two
``tools/test.py`` runs into one work dir started within a second share the
folder, one log file and one ``vis_data``. FineCLIP's Runner
(:class:`fineclip.engine.runner.FineCLIPRunner`) claims its folder with
``os.mkdir`` (atomic: one process wins) and takes ``<timestamp>_2``,
``_3``, ... when the name is taken.
"""
import itertools
import os
import os.path as osp



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


def claim_run_folder_on_all_ranks(work_dir: str, timestamp: str) -> str:
    """:func:`claim_run_folder` for a job of any size: rank 0 claims the
    folder and the other ranks take its name, so every rank logs into the
    same folder."""
    from mmengine.dist import (broadcast_object_list, get_rank,
                               get_world_size)
    if get_world_size() == 1:
        return claim_run_folder(work_dir, timestamp)
    name = [claim_run_folder(work_dir, timestamp)
            if get_rank() == 0 else None]
    broadcast_object_list(name)
    return name[0]
