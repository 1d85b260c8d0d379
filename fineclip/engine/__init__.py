"""Engine parts plugged into MMEngine's Runner."""
from .hooks import *  # noqa: F401,F403
