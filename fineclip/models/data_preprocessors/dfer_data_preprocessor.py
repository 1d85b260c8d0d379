"""Stacks a batch of clips, moves it to the device and normalises images.

Host-to-device traffic is one copy per modality per batch: each modality
is stacked where the dataloader left it (the CPU) and then copied with
``non_blocking=True``; image modalities travel as uint8 (a quarter of the
bytes of float) and become float on the device.
"""
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor
from mmengine.structures import BaseDataElement

from fineclip.registry import MODELS

# open_clip's OpenAI CLIP statistics, on the 0-255 scale of decoded frames.
CLIP_MEAN = (122.770938, 116.7460125, 104.09373615)
CLIP_STD = (68.5005327, 66.6321579, 70.32316305)
#: ``dict(mean=..., std=...)`` that only scales frames to [0, 1] (x / 255),
#: as the official DFER-CLIP data loader feeds its model.
UNIT_RANGE = dict(mean=(0., 0., 0.), std=(255., 255., 255.))
#: The image inputs of FineCLIP's own pipelines: frames and rendered face
#: maps (``PackDFERInputs``' default image fields).
DEFAULT_IMAGE_KEYS = ('frames', 'parsing', 'landmarks')


@MODELS.register_module()
class DFERDataPreprocessor(BaseDataPreprocessor):
    """Turns ``PackDFERInputs`` output into model inputs.

    ``inputs`` arrive as ``{modality: (B, ...) tensor}`` (``default_collate``,
    the datasets' configs: stacked in the loader workers, so that
    ``pin_memory=True`` pins the whole batch), as ``{modality: [tensor per
    clip]}`` (MMEngine's ``pseudo_collate``) or as a list of per-clip
    dicts. A modality not stacked yet is stacked on the CPU; then each
    modality is copied to the device once, with ``non_blocking``. Image
    modalities (uint8 ``(T, 3, H, W)`` per clip) become float and are
    normalised per channel on the device; the others (token ids, a plugin's
    features) are only moved. The data samples' tensor fields (``gt_label``)
    are moved the same way: one copy per field for the batch, each sample
    keeping a view of its row.

    A plugin modality that holds images is named in ``image_keys``, e.g.
    ``image_keys=('frames', 'motion')``.

    Args:
        mean (Sequence[float], optional): Per-channel mean on the 0-255 scale;
            CLIP's by default. ``None`` skips normalisation: the model then
            gets the decoded 0-255 values as float.
        std (Sequence[float], optional): Per-channel std on the 0-255 scale.
            :data:`UNIT_RANGE` (``mean=(0, 0, 0), std=(255, 255, 255)``)
            scales frames to [0, 1] and nothing else: the official
            DFER-CLIP model's input, which its configs use.
        image_keys (Sequence[str]): Modalities that are images;
            :data:`DEFAULT_IMAGE_KEYS` by default.
        non_blocking (bool): Copy to the device without blocking the host.
            A copy from pinned memory then overlaps with the host's work;
            one from pageable memory is staged by CUDA and is as fast as a
            blocking one. Either way the copy is queued on the current
            stream before the forward pass that reads it.
    """

    def __init__(self,
                 mean: Optional[Sequence[float]] = CLIP_MEAN,
                 std: Optional[Sequence[float]] = CLIP_STD,
                 image_keys: Sequence[str] = DEFAULT_IMAGE_KEYS,
                 non_blocking: bool = True):
        super().__init__(non_blocking=non_blocking)
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
        batch = data['inputs']
        if not isinstance(batch, dict):
            batch = {key: [sample[key] for sample in batch]
                     for key in batch[0]}
        inputs: Dict[str, torch.Tensor] = {}
        for key, tensors in batch.items():
            stacked = self._to_device(_stack(tensors))
            if key in self.image_keys:
                stacked = self._normalise(stacked)
            inputs[key] = stacked
        samples = data.get('data_samples')
        if samples is not None:
            samples = self._samples_to_device(samples)
        return dict(inputs=inputs, data_samples=samples)

    def _to_device(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor.to(self.device, non_blocking=self._non_blocking)

    def _normalise(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (or float) images on the device -> normalised float32.

        In place on the float copy: a batch of 16 clips of 16 frames at
        224 px is 154 MB in fp32, and out-of-place ops would allocate two
        more of those per image modality.
        """
        floats = images.float()
        if not self.normalize:
            return floats
        if floats is images:  # already float32: leave the caller's tensor
            floats = floats - self.mean
        else:
            floats.sub_(self.mean)
        return floats.div_(self.std)

    def _samples_to_device(self, samples: Sequence) -> List:
        """Moves the data samples' tensors: a field that every sample holds
        with the same shape and dtype (``gt_label``) in one copy."""
        samples = list(samples)
        if not samples or not all(
                isinstance(s, BaseDataElement) for s in samples):
            return self.cast_data(samples)
        batched = {}
        for key in samples[0].keys():
            values = [s.get(key) for s in samples]
            first = values[0]
            if isinstance(first, torch.Tensor) and all(
                    isinstance(v, torch.Tensor) and v.shape == first.shape
                    and v.dtype == first.dtype
                    and v.device == first.device for v in values):
                batched[key] = self._to_device(torch.stack(values))
        moved = []
        for i, sample in enumerate(samples):
            # a shallow copy: the loader's sample keeps its CPU tensors
            sample = sample.clone()
            for key, rows in batched.items():
                sample.set_field(rows[i], key)
            # whatever was not batched (nothing, for PackDFERInputs' samples)
            moved.append(sample.to(self.device,
                                   non_blocking=self._non_blocking))
        return moved


def _stack(tensors: Union[torch.Tensor, Sequence[torch.Tensor]]
           ) -> torch.Tensor:
    """A modality's batch: as given if stacked, else stacked where its clips
    are (the CPU, before the copy)."""
    if isinstance(tensors, torch.Tensor):
        return tensors
    return torch.stack(list(tensors))
