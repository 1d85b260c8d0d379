"""Packing a sample into model inputs and a data sample."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from fineclip.registry import TRANSFORMS
from fineclip.structures import DFERDataSample


@TRANSFORMS.register_module()
class PackDFERInputs(BaseTransform):
    """Builds ``dict(inputs={modality: tensor}, data_samples=...)``.

    Frames become a uint8 ``(T, 3, H, W)`` tensor under ``inputs['frames']``,
    rendered face maps (``RenderFaceMaps``) the same under
    ``inputs['parsing']`` and ``inputs['landmarks']``, and description token
    ids (``TokenizeDescription``) under ``inputs['description']``;
    normalisation happens batched in the data preprocessor.

    Args:
        meta_keys (tuple): Sample fields copied into the data sample's
            metainfo.
    """

    # model input name -> field of the results holding its images
    IMAGE_FIELDS = dict(frames='imgs', parsing='parsing_imgs',
                        landmarks='landmark_imgs')

    def __init__(self, meta_keys=('clip_id', 'frame_inds', 'flip',
                                  'crop_box')):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        inputs = {}
        for name, field in self.IMAGE_FIELDS.items():
            if field in results:
                images = np.stack(results[field])  # (T, H, W, 3)
                inputs[name] = torch.from_numpy(images).permute(
                    0, 3, 1, 2).contiguous()
        if 'description_tokens' in results:
            inputs['description'] = torch.as_tensor(
                results['description_tokens'], dtype=torch.long)
        sample = DFERDataSample()
        if 'label' in results:
            sample.set_gt_label(results['label'])
        sample.set_metainfo(
            {k: results[k] for k in self.meta_keys if k in results})
        return dict(inputs=inputs, data_samples=sample)
