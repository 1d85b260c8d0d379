"""Splitting the data tools' clips over the ranks of a torchrun/srun job.

``tools/data/extract_face_maps.py`` and ``tools/data/generate_descriptions.py``
run with ``--launcher pytorch`` (torchrun) or ``--launcher slurm`` (srun) as
one gloo process group: every rank lists the same clips, takes its own
share (:func:`shard`), writes its own files, and the ranks meet once at the
end, where rank 0 writes what covers every clip (the face-map summary, the
merged descriptions file). Gloo serves for these few small messages (clip
lists' fingerprints, summaries) on GPU machines as well.
"""
import hashlib
import os
import traceback
from dataclasses import dataclass
from typing import Any, Callable, List, Sequence, TypeVar

T = TypeVar('T')


def shard(items: Sequence[T], rank: int, world_size: int) -> List[T]:
    """The items of one rank: item ``i`` goes to rank ``i % world_size``.

    The split is deterministic and disjoint, and together the shards hold
    every item once. It depends only on an item's position, so a list cut
    short (``--limit``) gives each rank a prefix of its shard of the whole
    list, and a resumed job finds its clips in the same rank's files as
    long as the rank count is the same. Round robin also spreads long and
    short clips evenly when the list is ordered by something related to
    length.

    Args:
        items: Everything to process, in the order of a 1-process run.
        rank: This process's rank, ``0 <= rank < world_size``.
        world_size: Number of processes.

    Returns:
        ``items[rank::world_size]`` as a list.
    """
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f'rank {rank} is outside a world of {world_size} '
                         'process(es)')
    return list(items[rank::world_size])


def owner_of(index: int, world_size: int) -> int:
    """The rank :func:`shard` gives the item at ``index``."""
    return index % world_size


class RankFailure(RuntimeError):
    """Another rank of the job raised; its error is in the message."""


@dataclass
class RankContext:
    """Where this process stands in the job.

    Attributes:
        rank: Global rank (0 in a 1-process run).
        world_size: Number of processes.
        local_rank: Rank on this machine (the GPU index to use).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        """More than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0, the one that writes the combined output."""
        return self.rank == 0

    @property
    def tag(self) -> str:
        """``'rank R/W'`` for messages and progress bars ('' alone)."""
        return f'rank {self.rank}/{self.world_size}' if self.distributed \
            else ''

    def all_gather(self, obj: Any) -> List[Any]:
        """Every rank's ``obj`` (picklable), in rank order."""
        if not self.distributed:
            return [obj]
        import torch.distributed as dist
        out = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def run_everywhere(self, fn: Callable[[], T]) -> List[T]:
        """Runs ``fn`` on every rank and gathers the results.

        A rank whose ``fn`` raises still takes part in the gather, so no
        rank waits for it forever: it re-raises its own error and every
        other rank raises :class:`RankFailure` quoting it.

        Returns:
            Every rank's result, in rank order.
        """
        result, error, failure = None, None, None
        try:
            result = fn()
        except (Exception, SystemExit) as err:  # re-raised below
            error = err
            failure = ''.join(traceback.format_exception_only(err)).strip()
        gathered = self.all_gather((result, failure))
        if error is not None:
            raise error
        failed = [(r, msg) for r, (_, msg) in enumerate(gathered) if msg]
        if failed:
            rank, msg = failed[0]
            raise RankFailure(f'rank {rank} of {self.world_size} failed, so '
                              f'this rank stops too:\n{msg}')
        return [res for res, _ in gathered]

    def run_on_main(self, fn: Callable[[], T]) -> T:
        """Runs ``fn`` on rank 0 only; the other ranks wait for it.

        Returns:
            Rank 0's ``fn()`` (picklable), on every rank. If it raises,
            rank 0 re-raises and the others raise :class:`RankFailure`.
        """
        return self.run_everywhere(
            lambda: fn() if self.is_main else None)[0]

    def main_first(self, fn: Callable[[], T]) -> T:
        """Runs ``fn`` on rank 0, then on the other ranks; returns each
        rank's own result.

        For set-up that writes files (the embedded default's synthetic data,
        which loading its config creates): rank 0 does it alone, the others
        find it done. Errors reach every rank as in :meth:`run_everywhere`.
        """
        if not self.distributed:
            return fn()
        box = []
        self.run_everywhere(
            lambda: box.append(fn()) if self.is_main else None)
        self.run_everywhere(
            lambda: None if self.is_main else box.append(fn()))
        return box[0]

    def check_same_items(self, ids: Sequence[str], what: str = 'clips'
                         ) -> None:
        """Raises if the ranks did not list the same ``ids`` in the same
        order (a folder that changed while the job started, a different
        ``--limit``...), since the shards would then overlap or miss
        clips."""
        digest = hashlib.sha1('\n'.join(ids).encode('utf-8')).hexdigest()
        seen = self.all_gather((len(ids), digest))
        if len(set(seen)) > 1:
            listed = ', '.join(f'rank {r}: {n}' for r, (n, _) in
                               enumerate(seen))
            raise RuntimeError(
                f'The ranks listed different {what} ({listed}, or the same '
                'count in another order); every rank must read the same '
                'config or folder with the same options.')


def context_from_env() -> RankContext:
    """The current process group's ranks, or a 1-process context when no
    group was started."""
    import torch.distributed as dist
    if not (dist.is_available() and dist.is_initialized()):
        return RankContext()
    return RankContext(dist.get_rank(), dist.get_world_size(),
                       int(os.environ.get('LOCAL_RANK', '0')))


def init_data_tool_ranks(launcher: str) -> RankContext:
    """Starts the data tools' gloo group for ``--launcher`` and says where
    this process stands.

    With ``'none'`` nothing starts and the context is a 1-process one
    (refused when ``WORLD_SIZE`` says torchrun started several). With
    CUDA present, each rank's current GPU becomes ``cuda:{LOCAL_RANK}``, so
    a model put on ``'cuda'`` lands on the rank's own GPU (see also
    :func:`rank_device`).
    """
    from .cli import init_gloo_from_launcher
    world = os.environ.get('WORLD_SIZE', '1')
    if launcher == 'none' and world.isdigit() and int(world) > 1:
        raise SystemExit(
            f'WORLD_SIZE is {world} (torchrun?) but --launcher is none: '
            'every process would do every clip into the same files; add '
            '--launcher pytorch.')
    init_gloo_from_launcher(launcher)
    ctx = context_from_env()
    if ctx.distributed:
        import torch
        if torch.cuda.is_available() and \
                ctx.local_rank < torch.cuda.device_count():
            torch.cuda.set_device(ctx.local_rank)
    return ctx


def rank_device(device: Any, ctx: RankContext) -> Any:
    """``'cuda'`` becomes ``'cuda:{LOCAL_RANK}'`` in a multi-process job.

    A device with an index (``'cuda:1'``), ``'cpu'``, ``None`` and
    non-strings are returned as they are.
    """
    if ctx.distributed and device == 'cuda':
        return f'cuda:{ctx.local_rank}'
    return device


def build_on_rank(registry, type_name: str, cfg: dict,
                  ctx: RankContext) -> Any:
    """Builds a data tool's part (a face analyser, a describer) for this
    rank: a ``device='cuda'`` argument becomes the rank's own GPU
    (:func:`rank_device`).

    Args:
        registry: ``FACE_ANALYZERS`` or ``DESCRIBERS``.
        type_name: The registered name.
        cfg: Its arguments (``--analyzer-cfg`` / ``--describer-cfg``).
        ctx: This process's place in the job.
    """
    if type_name not in registry:
        import fineclip.preprocessing  # noqa: F401 (registers the parts)
    cfg = dict(cfg)
    if 'device' in cfg:
        cfg['device'] = rank_device(cfg['device'], ctx)
    return registry.build(dict(type=type_name, **cfg))

