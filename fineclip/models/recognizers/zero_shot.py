"""Caption-supervised FineCLIPER for zero-shot DFER (paper Tab 3).

Training sees videos and their captions only (MAFW's English captions or
generated fine-grained descriptions), never a class label: the loss is the
video-caption contrastive loss of the caption branch. Testing sees another
dataset's videos and that dataset's class prompts only, encoded by the same
text tower the captions trained, so prompts and videos meet in the space the
training aligned.
"""
from typing import Dict, List, Optional, Tuple

import torch

from fineclip.registry import MODELS
from fineclip.structures import DFERDataSample
from .fineclip import FineCLIPER


@MODELS.register_module()
class ZeroShotFineCLIPER(FineCLIPER):
    """FineCLIPER trained on captions, evaluated on unseen class prompts.

    Args:
        caption_branch (str): Name of the branch that encodes the captions
            (a ``DescriptionBranch`` with ``alignment_weight > 0``). It runs
            in training only; at test time the target data need no
            captions, and its text encoder encodes the class prompts.
        **kwargs: See :class:`FineCLIPER`. ``text_encoder`` is not used for
            prompts; give it ``stacks=()`` so it adds no parameters.
    """

    def __init__(self, caption_branch: str = 'description', **kwargs):
        super().__init__(**kwargs)
        if caption_branch not in self.branches:
            raise KeyError(f"caption_branch '{caption_branch}' is not one of "
                           f'the branches {list(self.branches)}')
        branch = self.branches[caption_branch]
        if getattr(branch, 'alignment_weight', 0) <= 0:
            raise ValueError(
                f"Branch '{caption_branch}' gives no video-caption loss: set "
                f'model.branches.{caption_branch}.alignment_weight > 0.')
        if len(self.branches) < 2:
            raise ValueError('ZeroShotFineCLIPER needs a video branch beside '
                             'the caption branch.')
        self.caption_branch = caption_branch

    @property
    def prompt_encoder(self):
        """The caption branch's text encoder, which encodes class prompts."""
        return self.branches[self.caption_branch].encoder

    def _encode_prompts(self):
        prompts = self.label_augmenter(self.class_names)
        encoder = self.prompt_encoder
        feats = {name: encoder(encoder.tokenize(texts))
                 for name, texts in prompts.items()}
        return self.label_augmenter.pn_features(feats)

    def input_keys(self, mode: str = 'predict') -> Tuple[str, ...]:
        """As :meth:`FineCLIPER.input_keys`; the captions are read in
        ``'loss'`` mode only."""
        names = [name for name in self.branches
                 if mode == 'loss' or name != self.caption_branch]
        return self._input_keys_of(names)

    def extract_feat(self, inputs: Dict[str, torch.Tensor],
                     with_captions: bool = False
                     ) -> Dict[str, torch.Tensor]:
        """Runs the branches: all of them with ``with_captions``, else every
        branch but the caption branch (what classification uses)."""
        skip = () if with_captions else (self.caption_branch, )
        return super().extract_feat(inputs, skip=skip)

    def loss(self, inputs: Dict[str, torch.Tensor],
             data_samples: Optional[List[DFERDataSample]] = None
             ) -> Dict[str, torch.Tensor]:
        """The caption branch's video-caption loss; labels are not read."""
        features = self.extract_feat(inputs, with_captions=True)
        branch = self.branches[self.caption_branch]
        return branch.auxiliary_losses(features, self.caption_branch)
