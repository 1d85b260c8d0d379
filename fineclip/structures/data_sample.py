"""Per-clip annotations and predictions."""
from typing import Sequence, Union

import numpy as np
import torch
from mmengine.structures import BaseDataElement

LabelLike = Union[int, np.integer, torch.Tensor, Sequence[int]]


def _as_label(value: LabelLike) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().long().reshape(-1)
    return torch.as_tensor(np.asarray(value), dtype=torch.long).reshape(-1)


class DFERDataSample(BaseDataElement):
    """One clip's ground truth (``gt_label``) and prediction.

    Predictions are ``pred_score`` (``(C,)`` class probabilities) and
    ``pred_label`` (``(1,)``, the arg-max).
    """

    def set_gt_label(self, value: LabelLike) -> 'DFERDataSample':
        """Sets the ground-truth class index."""
        self.set_field(_as_label(value), 'gt_label', dtype=torch.Tensor)
        return self

    def set_pred_score(self, value: torch.Tensor) -> 'DFERDataSample':
        """Sets the ``(C,)`` class probabilities."""
        if value.dim() != 1:
            raise ValueError(
                f'pred_score must be 1-D, got {tuple(value.shape)}')
        self.set_field(value, 'pred_score', dtype=torch.Tensor)
        return self

    def set_pred_label(self, value: LabelLike) -> 'DFERDataSample':
        """Sets the predicted class index."""
        self.set_field(_as_label(value), 'pred_label', dtype=torch.Tensor)
        return self
