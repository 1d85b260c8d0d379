"""Adapters (Houlsby et al. 2019, in the AIM layout) and how encoders build
them from ``ADAPTERS``."""
from .adapter import Adapter
from .builder import (DEFAULT_ADAPTER, adapter_config, build_adapter,
                      build_adapter_stack)

__all__ = [
    'Adapter', 'DEFAULT_ADAPTER', 'adapter_config', 'build_adapter',
    'build_adapter_stack'
]
