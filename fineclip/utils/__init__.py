"""Small helpers every layer may use (config loading)."""
from .config import (enable_local_imports, import_custom_modules,
                     load_config)

__all__ = ['enable_local_imports', 'import_custom_modules', 'load_config']
