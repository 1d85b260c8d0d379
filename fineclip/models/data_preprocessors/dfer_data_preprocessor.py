"""Stacks a batch of clips, normalises the images and moves it to device."""
from typing import Dict, Optional, Sequence

import torch
from mmengine.model import BaseDataPreprocessor

from fineclip.registry import MODELS

# open_clip's OpenAI CLIP statistics, on the 0-255 scale of decoded frames.
CLIP_MEAN = (122.770938, 116.7460125, 104.09373615)
CLIP_STD = (68.5005327, 66.6321579, 70.32316305)
#: The image inputs of FineCLIP's own pipelines: frames and rendered face
#: maps (``PackDFERInputs``' default image fields).
DEFAULT_IMAGE_KEYS = ('frames', 'parsing', 'landmarks')


@MODELS.register_module()
class DFERDataPreprocessor(BaseDataPreprocessor):
    """Turns ``PackDFERInputs`` output into model inputs.

    ``inputs`` arrive as a list of ``{modality: tensor}`` dicts, one per clip.
    Every modality is stacked over the batch; image modalities (uint8
    ``(T, 3, H, W)``) become float and are normalised per channel; the
    others (token ids, a plugin's features) are only stacked.

    A plugin modality that holds images is named in ``image_keys``, e.g.
    ``image_keys=('frames', 'motion')``.

    Args:
        mean (Sequence[float], optional): Per-channel mean on the 0-255 scale;
            ``None`` skips normalisation (DFER-CLIP's choice). CLIP's by
            default.
        std (Sequence[float], optional): Per-channel std on the 0-255 scale.
        image_keys (Sequence[str]): Modalities that are images;
            :data:`DEFAULT_IMAGE_KEYS` by default.
    """

    def __init__(self,
                 mean: Optional[Sequence[float]] = CLIP_MEAN,
                 std: Optional[Sequence[float]] = CLIP_STD,
                 image_keys: Sequence[str] = DEFAULT_IMAGE_KEYS):
        super().__init__()
        if (mean is None) != (std is None):
            raise ValueError('Give both mean and std, or neither.')
        self.normalize = mean is not None
        if self.normalize:
            self.register_buffer(
                'mean',
                torch.tensor(mean).view(1, 1, 3, 1, 1),
                persistent=False)
            self.register_buffer(
                'std', torch.tensor(std).view(1, 1, 3, 1, 1), persistent=False)
        self.image_keys = tuple(image_keys)

    def forward(self, data: dict, training: bool = False) -> dict:
        """Returns ``dict(inputs={modality: batch}, data_samples=[...])``."""
        data = self.cast_data(data)
        batch = data['inputs']
        # MMEngine's pseudo_collate gives {modality: [tensor per clip]};
        # a plain list of per-clip dicts is accepted too.
        if not isinstance(batch, dict):
            batch = {key: [sample[key] for sample in batch]
                     for key in batch[0]}
        inputs: Dict[str, torch.Tensor] = {}
        for key, tensors in batch.items():
            stacked = torch.stack(tensors)
            if key in self.image_keys:
                stacked = stacked.float()
                if self.normalize:
                    stacked = (stacked - self.mean) / self.std
            inputs[key] = stacked
        return dict(inputs=inputs, data_samples=data.get('data_samples'))
