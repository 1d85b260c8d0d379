"""Evaluation: UAR/WAR metric and friends, and reading saved results
(``--dump`` files, logged scalars)."""
from .dumps import load_dump, resolve_class_names  # noqa: F401
from .metrics import *  # noqa: F401,F403
from .scalars import find_scalar_files, group_curves, read_scalars  # noqa: F401,E501
