"""Per-frame CLIP image features, then a temporal model: the visual side of
the CLIP-based DFER baselines (DFER-CLIP, EmoCLIP), which encode each frame
with the image tower as it is and model time on the pooled features."""
from contextlib import nullcontext
from typing import Dict, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from fineclip.registry import ENCODERS
from .base import BaseBranch


class FrameFeaturesBranch(BaseBranch):
    """Each frame through the recognizer's CLIP image tower, the ``(B, T,
    D)`` features through a temporal model (``ENCODERS``) that returns one
    ``(B, D)`` feature per clip, L2-normalised.

    Whether the tower trains is the CLIP's setting
    (``model.clip.trainable``); a frozen tower runs without autograd.
    Subclasses give the temporal model's default and their memory model.

    Args:
        clip (nn.Module): The model's CLIP (given by the recognizer).
        temporal (dict): Config of the temporal model; its ``width``
            defaults to the CLIP embedding width.
        input_key (str): Which entry of the model inputs holds the frames.
    """

    def __init__(self, clip: nn.Module, temporal: dict,
                 input_key: str = 'frames'):
        super().__init__()
        # Referenced, not registered: the recognizer owns the CLIP.
        self.__dict__['visual'] = clip.visual
        self.input_key = input_key
        self.temporal = ENCODERS.build(
            temporal, default_args=dict(width=clip.visual.output_dim))

    @property
    def input_keys(self) -> Tuple[str, ...]:
        """``(input_key,)``: the frames."""
        return (self.input_key, )

    def forward(self, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Returns ``(B, D)`` L2-normalised clip features."""
        if self.input_key not in inputs:
            raise KeyError(
                f"{type(self).__name__} reads inputs['{self.input_key}'] "
                f'but the batch has {sorted(inputs)}.')
        frames = inputs[self.input_key]
        b, t = frames.shape[:2]
        trainable = any(p.requires_grad for p in self.visual.parameters())
        with nullcontext() if trainable else torch.no_grad():
            per_frame = self.visual(frames.flatten(0, 1))
        video = self.temporal(per_frame.view(b, t, -1))
        return F.normalize(video, dim=-1)
