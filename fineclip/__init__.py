"""FineCLIP: dynamic facial expression recognition with adapted CLIP models."""
from .compat import apply_mmengine_compat
from .version import __version__

apply_mmengine_compat()

__all__ = ['__version__']
