"""EmoCLIP (Foteinopoulou and Patras, FG 2024) as a FineCLIP recognizer.

Training: clips and their own captions, CLIP's symmetric contrastive loss
(``EmoCLIPCaptionBranch``); labels are never read. Testing: each clip
against one sentence per class (``EmoCLIPClassSentences``), encoded by the
same frozen text tower; ``logits = exp(logit_scale) * cos(v, t_c)``.

That is FineCLIP's caption-supervised zero-shot model
(``ZeroShotFineCLIPER``) with a video branch, a caption branch and
positive-only class prompts; what EmoCLIP adds is that its temperature is
learned, ``1 / exp(logit_scale)`` of the caption branch, instead of a
fixed ``tau``.
"""
import torch

from fineclip.models.recognizers.zero_shot import ZeroShotFineCLIPER
from fineclip.registry import MODELS


@MODELS.register_module()
class EmoCLIP(ZeroShotFineCLIPER):
    """Video-caption contrastive model classified by class sentences.

    Args:
        caption_branch (str): Name of the ``EmoCLIPCaptionBranch``.
        **kwargs: See :class:`ZeroShotFineCLIPER`; EmoCLIP's defaults:
            ``label_augmenter=dict(type='EmoCLIPClassSentences')`` and a
            ``text_encoder`` without adapters (``stacks=()``: class
            sentences go through the caption branch's frozen tower).
            ``temperature`` is refused: EmoCLIP learns its own.
    """

    def __init__(self, caption_branch: str = 'caption', **kwargs):
        if 'temperature' in kwargs:
            raise ValueError(
                'EmoCLIP learns its temperature (1 / exp of the caption '
                "branch's logit_scale): remove model.temperature from the "
                'config.')
        kwargs.setdefault('label_augmenter',
                          dict(type='EmoCLIPClassSentences'))
        kwargs.setdefault('text_encoder',
                          dict(type='AdaptedTextEncoder', stacks=()))
        super().__init__(caption_branch=caption_branch, **kwargs)
        if not hasattr(self.branches[caption_branch], 'logit_scale'):
            raise TypeError(
                f"EmoCLIP's model.branches.{caption_branch} must have a "
                "logit_scale (type='EmoCLIPCaptionBranch'), got "
                f'{type(self.branches[caption_branch]).__name__}.')

    @property
    def logit_scale(self) -> torch.nn.Parameter:
        """The learned log inverse temperature (the caption branch's)."""
        return self.branches[self.caption_branch].logit_scale

    @property
    def temperature(self) -> torch.Tensor:
        """``1 / exp(logit_scale)``: FineCLIPER's ``tau``, learned here, so
        its class probabilities are ``softmax(exp(logit_scale) * cos)``."""
        return torch.exp(-self.logit_scale)

    @temperature.setter
    def temperature(self, value) -> None:
        # FineCLIPER's constructor stores its default tau; EmoCLIP's comes
        # from logit_scale (and __init__ refuses a configured one).
        pass
