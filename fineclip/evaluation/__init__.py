"""Evaluation: UAR/WAR metric and friends."""
from .metrics import *  # noqa: F401,F403
