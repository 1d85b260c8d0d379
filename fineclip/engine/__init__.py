"""Engine parts plugged into MMEngine's Runner."""
from .hooks import *  # noqa: F401,F403
from .precision import (AutocastOptimWrapper, native_bf16,  # noqa: F401
                        precision_optim_wrapper, resolve_precision)
from .runner import FineCLIPRunner, training_summary  # noqa: F401
