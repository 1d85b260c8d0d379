"""High semantic level: a fine-grained description of each clip (Sec 3.3)."""
from typing import Dict, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from fineclip.registry import BRANCHES, ENCODERS
from .base import BaseBranch


@BRANCHES.register_module()
class DescriptionBranch(BaseBranch):
    """Encodes each clip's description into ``f_d``.

    The text encoder (Long-CLIP's tower by default, 248 tokens) comes from
    ``ENCODERS`` and receives the model's frozen CLIP. Token ids arrive as
    ``inputs['description']`` from ``TokenizeDescription``.

    Optionally the branch adds a video-description alignment loss: a
    symmetric InfoNCE between each clip's video representation and its own
    description against the other clips of the batch, as used when
    descriptions (or captions) supervise the video encoder.

    Args:
        clip (nn.Module): The model's frozen CLIP (given by the recognizer).
        encoder (dict): Config of the text encoder.
        input_key (str): Which input holds the token ids.
        alignment_weight (float): Weight of the alignment loss (0: off).
        alignment_temperature (float): Its softmax temperature.
        align_with (str): The representation aligned with ``f_d``.
    """

    def __init__(self, clip: nn.Module,
                 encoder: dict = dict(type='LongCLIPTextEncoder'),
                 input_key: str = 'description',
                 alignment_weight: float = 0.0,
                 alignment_temperature: float = 0.07,
                 align_with: str = 'video'):
        super().__init__()
        if alignment_weight < 0 or alignment_temperature <= 0:
            raise ValueError('alignment_weight must be >= 0 and '
                             'alignment_temperature > 0, got '
                             f'{alignment_weight}, {alignment_temperature}')
        self.encoder = ENCODERS.build(encoder, default_args=dict(clip=clip))
        self.input_key = input_key
        self.alignment_weight = alignment_weight
        self.alignment_temperature = alignment_temperature
        self.align_with = align_with

    @property
    def input_keys(self) -> Tuple[str, ...]:
        """``(input_key,)``: the description token ids."""
        return (self.input_key, )

    @property
    def context_length(self) -> int:
        """Tokens per description the encoder expects."""
        return self.encoder.context_length

    def memory_passes(self) -> list:
        """Activation passes per clip (:mod:`fineclip.models.memory`)."""
        return self.encoder.memory_passes()

    def forward(self, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Returns ``(B, D)`` L2-normalised description features ``f_d``."""
        if self.input_key not in inputs:
            raise KeyError(
                f"DescriptionBranch reads inputs['{self.input_key}'] but the "
                f'batch has {sorted(inputs)}: add TokenizeDescription to the '
                'pipeline and description_file to the dataset.')
        tokens = inputs[self.input_key]
        if tokens.shape[-1] != self.context_length:
            raise ValueError(
                f'Descriptions are tokenised to {tokens.shape[-1]} tokens but '
                f'the encoder takes {self.context_length}: set '
                'TokenizeDescription(context_length=...) to match.')
        return self.encoder(tokens)

    def auxiliary_losses(self, features: Dict[str, torch.Tensor],
                         own_name: str) -> Dict[str, torch.Tensor]:
        """The alignment loss, if enabled: ``{'loss_align': ...}``."""
        if self.alignment_weight == 0:
            return {}
        if self.align_with not in features:
            raise KeyError(f"DescriptionBranch aligns with '{self.align_with}'"
                           f' but the branches give {sorted(features)}')
        video = F.normalize(features[self.align_with], dim=-1)
        text = F.normalize(features[own_name], dim=-1)
        logits = video @ text.t() / self.alignment_temperature
        target = torch.arange(len(logits), device=logits.device)
        loss = (F.cross_entropy(logits, target) +
                F.cross_entropy(logits.t(), target)) / 2
        return {'loss_align': self.alignment_weight * loss}
