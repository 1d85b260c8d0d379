"""Low semantic level: the video frames themselves."""
from typing import Dict, Tuple

import torch
from torch import nn

from fineclip.registry import BRANCHES, ENCODERS
from .base import BaseBranch


@BRANCHES.register_module()
class FramesBranch(BaseBranch):
    """Encodes the clip's frames with an adapted CLIP image tower.

    Args:
        clip (nn.Module): The model's frozen CLIP (given by the recognizer).
        encoder (dict): Config of a video encoder in ``ENCODERS`` that takes
            the image tower as ``visual``.
        input_key (str): Which entry of the model inputs holds the frames.
    """

    def __init__(self, clip: nn.Module,
                 encoder: dict = dict(type='AIMVideoEncoder'),
                 input_key: str = 'frames'):
        super().__init__()
        self.input_key = input_key
        self.encoder = ENCODERS.build(
            encoder, default_args=dict(visual=clip.visual))

    @property
    def input_keys(self) -> Tuple[str, ...]:
        """``(input_key,)``: the frames."""
        return (self.input_key, )

    def memory_passes(self) -> list:
        """Activation passes per clip (:mod:`fineclip.models.memory`)."""
        return self.encoder.memory_passes()

    def forward(self, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Returns ``(B, D)`` L2-normalised video embeddings."""
        if self.input_key not in inputs:
            raise KeyError(f"FramesBranch reads inputs['{self.input_key}'] "
                           f'but the batch has {sorted(inputs)}.')
        return self.encoder(inputs[self.input_key])
