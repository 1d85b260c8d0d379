"""A new modality from a plugin: frame differences ("motion").

Two parts, and no change to the package:

- ``FrameDifferences`` (``TRANSFORMS``) writes ``motion_imgs``: one image
  per frame, ``128 + (frame_t - frame_{t-1}) / 2`` clipped to uint8 (the
  first frame repeats the second's difference), so the clip's motion looks
  like any other image sequence. Put it after the group augmentations, so
  it sees the frames as cropped and flipped.
- ``MotionBranch`` (``BRANCHES``) reads ``inputs['motion']``: every motion
  image through the model's frozen CLIP image tower, averaged over the T
  frames, then a trainable projection (the identity at first).

The config packs the new field and normalises it as an image
(``configs/plugins/fineclip_motion_synthetic.py``)::

    dict(type='PackDFERInputs',
         image_fields=dict(frames='imgs', motion='motion_imgs'))
    data_preprocessor=dict(type='DFERDataPreprocessor',
                           image_keys=('frames', 'motion'))
"""
from typing import Dict, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import BaseTransform
from torch import nn

from fineclip.models.branches import BaseBranch
from fineclip.registry import BRANCHES, TRANSFORMS


@TRANSFORMS.register_module()
class FrameDifferences(BaseTransform):
    """Writes the differences of consecutive frames as images.

    Args:
        key (str): The results field holding the frames (``(H, W, 3)``
            uint8 each).
        out_key (str): The field to write the motion images to.
    """

    def __init__(self, key: str = 'imgs', out_key: str = 'motion_imgs'):
        self.key = key
        self.out_key = out_key

    def transform(self, results: dict) -> dict:
        frames = np.stack(results[self.key]).astype(np.int16)
        if len(frames) < 2:
            diffs = np.zeros_like(frames)
        else:
            diffs = np.diff(frames, axis=0)
            diffs = np.concatenate([diffs[:1], diffs])
        images = np.clip(128 + diffs // 2, 0, 255).astype(np.uint8)
        results[self.out_key] = list(images)
        return results


@BRANCHES.register_module()
class MotionBranch(BaseBranch):
    """The frozen CLIP image tower over motion images, then a projection.

    Args:
        clip (nn.Module): The model's frozen CLIP (given by the recognizer).
        input_key (str): Which entry of the model inputs holds the motion
            images (``(B, T, 3, H, W)``).
    """

    def __init__(self, clip: nn.Module, input_key: str = 'motion'):
        super().__init__()
        # Referenced, not registered: the recognizer owns the CLIP.
        self.__dict__['visual'] = clip.visual
        self.input_key = input_key
        dim = clip.visual.output_dim
        self.projection = nn.Linear(dim, dim)
        nn.init.eye_(self.projection.weight)
        nn.init.zeros_(self.projection.bias)

    @property
    def input_keys(self) -> Tuple[str, ...]:
        return (self.input_key, )

    def forward(self, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Returns ``(B, D)`` L2-normalised motion features."""
        if self.input_key not in inputs:
            raise KeyError(
                f"MotionBranch reads inputs['{self.input_key}'] but the batch "
                f'has {sorted(inputs)}: add FrameDifferences to the pipeline '
                "and 'motion' to PackDFERInputs' image_fields.")
        motion = inputs[self.input_key]
        b, t = motion.shape[:2]
        # The tower is frozen: only the projection learns.
        with torch.no_grad():
            per_frame = self.visual(motion.flatten(0, 1))
        return F.normalize(self.projection(per_frame.view(b, t, -1).mean(1)),
                           dim=-1)
