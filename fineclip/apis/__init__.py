"""High-level helpers the command-line tools use."""
from .cli import apply_common_options, enable_local_imports
from .embedded_default import (ensure_synthetic_dfew, ensure_tiny_clip,
                               prepare_embedded_default)

__all__ = [
    'apply_common_options', 'enable_local_imports', 'ensure_synthetic_dfew',
    'ensure_tiny_clip', 'prepare_embedded_default'
]
