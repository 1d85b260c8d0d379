"""Packing a sample into model inputs and a data sample."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from fineclip.registry import TRANSFORMS
from fineclip.structures import DFERDataSample


@TRANSFORMS.register_module()
class PackDFERInputs(BaseTransform):
    """Builds ``dict(inputs={modality: tensor}, data_samples=...)``.

    Frames become a uint8 ``(T, 3, H, W)`` tensor under ``inputs['frames']``;
    normalisation happens batched in the data preprocessor.

    Args:
        meta_keys (tuple): Sample fields copied into the data sample's
            metainfo.
    """

    def __init__(self, meta_keys=('clip_id', 'frame_inds', 'flip',
                                  'crop_box')):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        frames = np.stack(results['imgs'])  # (T, H, W, 3)
        inputs = {'frames': torch.from_numpy(frames).permute(0, 3, 1, 2)
                  .contiguous()}
        sample = DFERDataSample()
        if 'label' in results:
            sample.set_gt_label(results['label'])
        sample.set_metainfo(
            {k: results[k] for k in self.meta_keys if k in results})
        return dict(inputs=inputs, data_samples=sample)
