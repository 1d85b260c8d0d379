"""High-level helpers the command-line tools use: building a model,
loading configs, the embedded default, and the drivers of the data tools,
inference and protocols (in submodules, imported where used)."""
from .cli import (add_common_arguments, apply_common_options,
                  enable_local_imports, load_config, load_data_tool_config,
                  parse_with_common, setup_cpu_distributed,
                  setup_distributed, test_work_dir)
from .embedded_default import (ensure_synthetic_data, ensure_tiny_clip,
                               prepare_embedded_default)
from .model_builder import build_model

__all__ = [
    'add_common_arguments', 'apply_common_options', 'build_model',
    'enable_local_imports', 'ensure_synthetic_data', 'ensure_tiny_clip',
    'load_config', 'load_data_tool_config', 'parse_with_common',
    'prepare_embedded_default', 'setup_cpu_distributed',
    'setup_distributed', 'test_work_dir'
]
