"""Middle semantic level: face parsing and landmark images (paper Sec 3.3)."""
from typing import Dict, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from fineclip.registry import BRANCHES, ENCODERS
from .base import BaseBranch

FACE_MAP_MODALITIES = ('parsing', 'landmarks')


@BRANCHES.register_module()
class FaceMapBranch(BaseBranch):
    """One shared encoder for parsing and landmark images, one projection
    per modality (``phi_s``, ``phi_l``).

    The encoder is a video encoder in ``ENCODERS`` built on the model's
    frozen CLIP image tower, with adapters of its own: the frozen weights are
    the ones already in memory for the frames branch, only the adapters are
    new. Both modalities go through it in one batched pass. The projections
    start as the identity, so an untrained branch gives the adapted CLIP
    embedding of each map and the PN text features apply from step one.

    The branch returns one representation per modality, named by it; the
    recognizer hands each to the fusion as a branch of its own (``w_s``,
    ``w_l``).

    Args:
        clip (nn.Module): The model's frozen CLIP (given by the recognizer).
        modalities (Sequence[str]): ``('parsing', 'landmarks')`` or one of
            them (paper Tab 5 ablations).
        encoder (dict): Config of the shared video encoder; it receives the
            image tower as ``visual``.
    """

    def __init__(self, clip: nn.Module,
                 modalities: Sequence[str] = FACE_MAP_MODALITIES,
                 encoder: dict = dict(type='AIMVideoEncoder')):
        super().__init__()
        modalities = tuple(modalities)
        if not modalities or not set(modalities) <= set(FACE_MAP_MODALITIES):
            raise ValueError('FaceMapBranch modalities must be a non-empty '
                             f'subset of {FACE_MAP_MODALITIES}, got '
                             f'{modalities}')
        if len(set(modalities)) != len(modalities):
            raise ValueError(f'Repeated modality in {modalities}')
        self.modalities = modalities
        self.encoder = ENCODERS.build(
            encoder, default_args=dict(visual=clip.visual))
        dim = self.encoder.embed_dim
        self.projections = nn.ModuleDict()
        for name in modalities:
            projection = nn.Linear(dim, dim)
            nn.init.eye_(projection.weight)
            nn.init.zeros_(projection.bias)
            self.projections[name] = projection

    @property
    def input_keys(self) -> Tuple[str, ...]:
        """The modalities: each is an input of rendered map images."""
        return self.modalities

    def representations(self, inputs: Dict[str, torch.Tensor],
                        name: str) -> Dict[str, torch.Tensor]:
        """``{modality: (B, D)}``: each modality is a representation of
        its own, whatever the branch is called."""
        return self(inputs)

    def memory_passes(self) -> list:
        """Activation passes per clip (:mod:`fineclip.models.memory`):
        every modality's images go through the shared encoder."""
        return self.encoder.memory_passes(len(self.modalities))

    def forward(self, inputs: Dict[str, torch.Tensor]
                ) -> Dict[str, torch.Tensor]:
        """Returns ``{modality: (B, D)}`` L2-normalised representations."""
        missing = [m for m in self.modalities if m not in inputs]
        if missing:
            raise KeyError(
                f'FaceMapBranch reads inputs {list(self.modalities)} but the '
                f'batch has {sorted(inputs)}: add LoadFaceMaps and '
                'RenderFaceMaps to the pipeline and face_map_dir to the '
                'dataset.')
        batch = inputs[self.modalities[0]].shape[0]
        encoded = self.encoder(
            torch.cat([inputs[m] for m in self.modalities], dim=0))
        return {
            name: F.normalize(self.projections[name](feat), dim=-1)
            for name, feat in zip(self.modalities,
                                  encoded.split(batch, dim=0))
        }
