"""DFER-CLIP (Zhao & Patras, BMVC 2023) rebuilt from registered parts.

Loaded only through a config's ``custom_imports``::

    custom_imports = dict(imports=['plugins.dfer_clip'],
                          allow_failed_imports=False)

Importing the package registers its parts:

- ``TemporalTransformerBranch`` (``BRANCHES``): per-frame CLIP image
  features, then ``TemporalTransformer`` (``ENCODERS``), whose class token
  is the video feature;
- ``LearnableContextAugmenter`` (``LABEL_AUGMENTERS``): CoOp context vectors
  around class descriptors (:mod:`.class_descriptors`).

Everything else is FineCLIP's own: ``FineCLIPER`` with one branch and
positive prompts only computes DFER-CLIP's logits ``cos(v, t_c) / tau`` and
its cross-entropy loss; the image tower is fine-tuned through the CLIP
builder's ``trainable=('visual',)``.
"""
from .class_descriptors import FACIAL_FEATURES, compose_description
from .prompt_learner import LearnableContextAugmenter, assemble_prompt
from .temporal_transformer import (TemporalTransformer,
                                   TemporalTransformerBranch,
                                   TemporalTransformerLayer)

__all__ = [
    'FACIAL_FEATURES', 'compose_description', 'LearnableContextAugmenter',
    'assemble_prompt', 'TemporalTransformer', 'TemporalTransformerBranch',
    'TemporalTransformerLayer'
]
