"""Building adapters from ``ADAPTERS`` for the encoders that insert them.

Every encoder takes an ``adapter`` config (``dict(type='Adapter',
ratio=0.25)`` by default) and builds each of its adapters from it here, so
a plugin adapter replaces the default in every tower by one config line.

The contract of an adapter type: it is an ``nn.Module`` built as
``Type(width=W, skip=S, **config)`` that maps ``(..., W)`` tokens to
``(..., W)``. The encoder decides ``width`` (the tower's) and ``skip``
(whether the adapter's input is added to its output, Eq 5-7). A new
adapter should be the identity with ``skip`` and zero without, so that
inserting it leaves the frozen network's output unchanged.
"""
from typing import Optional

from torch import nn

from fineclip.registry import ADAPTERS

#: The adapter of AIM and FineCLIPER (Houlsby bottleneck, ratio 0.25).
DEFAULT_ADAPTER = dict(type='Adapter', ratio=0.25)


def adapter_config(adapter: Optional[dict] = None,
                   ratio: Optional[float] = None) -> dict:
    """Resolves an encoder's ``adapter`` and its ``adapter_ratio`` alias.

    Args:
        adapter (dict, optional): Adapter config (``ADAPTERS``); ``None``:
            :data:`DEFAULT_ADAPTER`.
        ratio (float, optional): The older ``adapter_ratio`` key. When
            given it sets the config's ``ratio``, so
            ``adapter_ratio=0.5`` keeps meaning
            ``adapter=dict(type='Adapter', ratio=0.5)``.

    Returns:
        dict: A copy of the config to build every adapter from.
    """
    cfg = dict(DEFAULT_ADAPTER if adapter is None else adapter)
    if ratio is not None:
        cfg['ratio'] = ratio
    return cfg


def build_adapter(cfg: dict, width: int, skip: bool) -> nn.Module:
    """Builds one adapter of ``cfg`` for tokens of ``width`` channels.

    Raises:
        ValueError: ``cfg`` sets ``width`` or ``skip``, which belong to the
            place the encoder inserts the adapter at.
    """
    fixed = sorted({'width', 'skip'} & set(cfg))
    if fixed:
        raise ValueError(
            f'The adapter config {dict(cfg)} sets {fixed}: the encoder '
            'decides those from where it inserts each adapter; remove them.')
    return ADAPTERS.build(cfg, default_args=dict(width=width, skip=skip))


def build_adapter_stack(cfg: dict, width: int, layers: int,
                        skip: bool = True) -> nn.ModuleList:
    """``layers`` adapters of ``cfg``, one after each layer of a tower."""
    return nn.ModuleList(
        build_adapter(cfg, width, skip) for _ in range(layers))
