"""Recognizers: whole models with MMEngine's loss/predict/tensor modes."""
from .fineclip import FineCLIPER
from .zero_shot import ZeroShotFineCLIPER

__all__ = ['FineCLIPER', 'ZeroShotFineCLIPER']
