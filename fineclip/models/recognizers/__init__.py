"""Recognizers: whole models with MMEngine's loss/predict/tensor modes."""
from .fineclip import FineCLIPER

__all__ = ['FineCLIPER']
