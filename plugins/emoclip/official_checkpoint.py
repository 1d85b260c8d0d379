"""Parameter names of the official EmoCLIP checkpoints, mapped to the
plugin's.

The official training script (github.com/NickyFot/EmoCLIP, ``train.py``)
saves ``model.state_dict()`` of its DistributedDataParallel-wrapped
``VClip``: a plain dict of tensors (readable with ``weights_only=True``),
every key prefixed ``module.``, holding

- ``backbone.*``: the whole OpenAI CLIP (frozen; the same names as
  open_clip's CLIP, which FineCLIP's ``clip`` is);
- ``temporal.cls_token``, ``temporal.pos_embedding`` and
  ``temporal.temporal_transformer.layers.{i}.{0,1}.fn...``: the temporal
  transformer, each layer a residual pre-norm attention (``0``) and MLP
  (``1``);
- ``logit_scale``: the learned log inverse temperature.
"""
import re
from typing import Dict

import torch

#: Official temporal-transformer names (after ``temporal.``) -> the
#: plugin's (after the temporal model), ``{i}`` the layer.
_TEMPORAL_RULES = [
    (r'cls_token', 'class_token'),
    (r'pos_embedding', 'position_embedding'),
    (r'temporal_transformer\.layers\.(\d+)\.0\.fn\.norm\.(weight|bias)',
     r'layers.\1.norm_attn.\2'),
    (r'temporal_transformer\.layers\.(\d+)\.0\.fn\.fn\.to_qkv\.weight',
     r'layers.\1.qkv.weight'),
    (r'temporal_transformer\.layers\.(\d+)\.0\.fn\.fn\.to_out\.0\.'
     r'(weight|bias)', r'layers.\1.out.\2'),
    (r'temporal_transformer\.layers\.(\d+)\.1\.fn\.norm\.(weight|bias)',
     r'layers.\1.norm_mlp.\2'),
    # the MLP's Linear layers sit at 0 and 3 (GELU and dropout between)
    (r'temporal_transformer\.layers\.(\d+)\.1\.fn\.fn\.net\.0\.'
     r'(weight|bias)', r'layers.\1.mlp.0.\2'),
    (r'temporal_transformer\.layers\.(\d+)\.1\.fn\.fn\.net\.3\.'
     r'(weight|bias)', r'layers.\1.mlp.2.\2'),
]


def _temporal_key(name: str, prefix: str) -> str:
    for pattern, target in _TEMPORAL_RULES:
        if re.fullmatch(pattern, name):
            return prefix + re.sub(pattern, target, name)
    raise KeyError(name)


def convert_official_state_dict(state_dict: Dict[str, torch.Tensor],
                                video_branch: str = 'video',
                                caption_branch: str = 'caption'
                                ) -> Dict[str, torch.Tensor]:
    """Renames an official EmoCLIP state dict to the plugin's model.

    Args:
        state_dict: The official file's tensors, with or without the
            ``module.`` prefix of DistributedDataParallel.
        video_branch: The config's name of the ``EmoCLIPVideoBranch``.
        caption_branch: The config's name of the ``EmoCLIPCaptionBranch``.

    Returns:
        dict: The same tensors under the names of an ``EmoCLIP`` model
        (``clip.*``, ``branches.<video>.temporal.*``,
        ``branches.<caption>.logit_scale``).

    Raises:
        KeyError: For a name the official model does not have, listing
            them (the file is not an official EmoCLIP checkpoint).
    """
    temporal = f'branches.{video_branch}.temporal.'
    converted, unknown = {}, []
    for key, value in state_dict.items():
        name = key[len('module.'):] if key.startswith('module.') else key
        if name.startswith('backbone.'):
            converted['clip.' + name[len('backbone.'):]] = value
        elif name == 'logit_scale':
            converted[f'branches.{caption_branch}.logit_scale'] = value
        elif name.startswith('temporal.'):
            try:
                converted[_temporal_key(name[len('temporal.'):],
                                        temporal)] = value
            except KeyError:
                unknown.append(key)
        else:
            unknown.append(key)
    if unknown:
        raise KeyError(
            f'Not names of an official EmoCLIP checkpoint: {unknown[:8]}'
            f'{" ..." if len(unknown) > 8 else ""}; expected module.'
            'backbone.*, module.temporal.* and module.logit_scale.')
    return converted
