"""What every branch offers the recognizer.

A branch turns some of the model's inputs (``{modality: batch tensor}``
from the data preprocessor) into one or more ``(B, D)`` representations in
CLIP's joint space, which the fusion weighs against each other (Eq 9-11).
``FineCLIPER`` calls only the methods below, so a plugin branch subclasses
:class:`BaseBranch`, implements ``forward`` and ``input_keys`` and
overrides the rest where it has more to say.
"""
from typing import Dict, Tuple

import torch
from torch import nn


class BaseBranch(nn.Module):
    """Base of the modality branches (``BRANCHES``).

    Branches are built with ``default_args=dict(clip=<the frozen CLIP>)``;
    one that uses the CLIP's towers references them instead of registering
    them, so the frozen weights appear once in ``state_dict``.

    ``forward(inputs)`` returns the branch's ``(B, D)`` representation. A
    branch that gives several (``FaceMapBranch``: parsing and landmarks)
    overrides :meth:`representations` instead, which is what the
    recognizer calls.
    """

    @property
    def input_keys(self) -> Tuple[str, ...]:
        """The entries of the model inputs this branch reads, e.g.
        ``('frames',)``: what a pipeline must pack for it (and the keys
        ``FineCLIPER.input_keys`` collects)."""
        raise NotImplementedError(
            f'{type(self).__name__} must say which inputs it reads: define '
            'the input_keys property.')

    def representations(self, inputs: Dict[str, torch.Tensor],
                        name: str) -> Dict[str, torch.Tensor]:
        """The representations this branch gives the fusion.

        Args:
            inputs: The model inputs.
            name: The branch's key in ``model.branches``.

        Returns:
            dict: ``{representation name: (B, D)}``; by default the one
            output of ``forward`` under the branch's own name.
        """
        return {name: self(inputs)}

    def auxiliary_losses(self, features: Dict[str, torch.Tensor],
                         own_name: str) -> Dict[str, torch.Tensor]:
        """Losses the branch adds to Eq 11 in training.

        Args:
            features: Every representation of the step, ``{name: (B, D)}``.
            own_name: The branch's key in ``model.branches``.

        Returns:
            dict: ``{'loss_...': scalar}`` (MMEngine sums keys holding
            ``loss``); none by default.
        """
        return {}
