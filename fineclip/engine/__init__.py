"""Engine parts plugged into MMEngine's Runner."""
from .hooks import *  # noqa: F401,F403
from .precision import (AutocastOptimWrapper, native_bf16,  # noqa: F401
                        precision_optim_wrapper, resolve_precision)
from .run_folders import apply_unique_run_folders

# every Runner a FineCLIP tool or API builds gets a log folder of its own
apply_unique_run_folders()
