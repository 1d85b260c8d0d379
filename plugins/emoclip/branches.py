"""EmoCLIP's two encoders as FineCLIP branches.

- :class:`EmoCLIPVideoBranch`: the frozen CLIP image tower on every frame,
  then :class:`~.temporal_transformer.EmoCLIPTemporalTransformer`; its class
  token output is the clip's feature.
- :class:`EmoCLIPCaptionBranch`: the frozen CLIP text tower on each clip's
  own caption, and the training loss: CLIP's symmetric contrastive loss
  between the clips of a batch and their captions, scaled by a learnable
  logit scale that starts at the CLIP's.
"""
from contextlib import nullcontext
from typing import Dict

import torch
import torch.nn.functional as F
from torch import nn

from fineclip.models.branches import DescriptionBranch, FrameFeaturesBranch
from fineclip.registry import BRANCHES


def clip_contrastive_loss(video: torch.Tensor, text: torch.Tensor,
                          logit_scale: torch.Tensor) -> torch.Tensor:
    """CLIP's symmetric loss over a batch of matching pairs.

    ``logits = exp(logit_scale) * cos(video_i, text_j)``; the loss is the
    mean of the cross-entropy of each clip over the captions and of each
    caption over the clips, the i-th caption being the i-th clip's.

    Args:
        video (Tensor): ``(B, D)`` clip features (any norm).
        text (Tensor): ``(B, D)`` caption features, in the clips' order.
        logit_scale (Tensor): Scalar log of the inverse temperature.

    Returns:
        Tensor: The scalar loss.
    """
    # fp32 whatever autocast is on: exp(logit_scale) is about 100, and
    # half-precision cosines would be rounded by up to 0.4 logits.
    with torch.autocast(video.device.type, enabled=False) \
            if torch.amp.is_autocast_available(video.device.type) \
            else nullcontext():
        video = F.normalize(video.float(), dim=-1)
        text = F.normalize(text.float(), dim=-1)
        logits = logit_scale.float().exp() * video @ text.t()
        target = torch.arange(len(logits), device=logits.device)
        return (F.cross_entropy(logits, target) +
                F.cross_entropy(logits.t(), target)) / 2


@BRANCHES.register_module()
class EmoCLIPVideoBranch(FrameFeaturesBranch):
    """Per-frame CLIP image features, then EmoCLIP's temporal transformer
    (:class:`~fineclip.models.branches.FrameFeaturesBranch`).

    The image tower is the recognizer's CLIP, frozen in EmoCLIP: it runs
    without autograd (it trains only if ``model.clip.trainable`` names it,
    the official code's optional ``--finetune --visual``).

    Args:
        clip (nn.Module): The model's CLIP (given by the recognizer).
        temporal (dict): Config of the temporal model (``ENCODERS``); its
            ``width`` defaults to the CLIP embedding width.
        input_key (str): Which entry of the model inputs holds the frames.
    """

    def __init__(self, clip: nn.Module,
                 temporal: dict = dict(type='EmoCLIPTemporalTransformer'),
                 input_key: str = 'frames'):
        super().__init__(clip, temporal, input_key)

    def memory_passes(self) -> list:
        """Activation passes per clip (``fineclip.models.memory``): none
        kept by the frozen image tower, which runs without autograd; the
        temporal model's few tokens are left out (a tower fine-tuned
        through ``model.clip.trainable`` is not modelled)."""
        return []


@BRANCHES.register_module()
class EmoCLIPCaptionBranch(DescriptionBranch):
    """Each clip's caption through the frozen CLIP text tower, and the
    video-caption contrastive loss that trains EmoCLIP.

    The loss's logit scale is a parameter of this branch, initialised from
    the CLIP's own (``clip.logit_scale``, log of 100 for OpenAI's weights)
    and trained; :class:`~.recognizer.EmoCLIP` also classifies with it.

    Args:
        clip (nn.Module): The model's frozen CLIP (given by the recognizer).
        encoder (dict): Config of the text encoder: by default the plain
            frozen CLIP text tower (``AdaptedTextEncoder`` without adapter
            stacks), whose context (77 tokens for ViT-B/32) the captions
            must be tokenised to.
        input_key (str): Which input holds the caption token ids
            (``TokenizeDescription(key='caption')`` writes them).
        align_with (str): The representation the captions are contrasted
            with (the video branch's name).
        loss_weight (float): Weight of the contrastive loss.
    """

    def __init__(self, clip: nn.Module,
                 encoder: dict = dict(type='AdaptedTextEncoder', stacks=()),
                 input_key: str = 'description',
                 align_with: str = 'video',
                 loss_weight: float = 1.0):
        if loss_weight <= 0:
            raise ValueError(f'loss_weight must be > 0, got {loss_weight}: '
                             'the caption loss is all EmoCLIP trains on.')
        super().__init__(clip, encoder=encoder, input_key=input_key,
                         alignment_weight=loss_weight,
                         align_with=align_with)
        self.logit_scale = nn.Parameter(clip.logit_scale.detach().clone())

    def memory_passes(self) -> list:
        """None: the frozen text tower runs on frozen token embeddings, so
        autograd keeps nothing of it."""
        return []

    def auxiliary_losses(self, features: Dict[str, torch.Tensor],
                         own_name: str) -> Dict[str, torch.Tensor]:
        """``{'loss_contrastive': ...}``, CLIP's symmetric loss between the
        clips (``features[align_with]``) and their captions."""
        if self.align_with not in features:
            raise KeyError(
                f"EmoCLIPCaptionBranch contrasts captions with "
                f"'{self.align_with}' but the branches give "
                f'{sorted(features)}: set align_with to the video branch.')
        loss = clip_contrastive_loss(features[self.align_with],
                                     features[own_name], self.logit_scale)
        return {'loss_contrastive': self.alignment_weight * loss}
