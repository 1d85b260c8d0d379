"""Bottleneck adapters (Houlsby et al. 2019, in the AIM layout)."""
from .adapter import Adapter

__all__ = ['Adapter']
