"""EmoCLIP (Foteinopoulou and Patras, FG 2024) rebuilt from registered parts.

Loaded only through a config's ``custom_imports``::

    custom_imports = dict(imports=['plugins.emoclip'],
                          allow_failed_imports=False)

Importing the package registers its parts:

- ``EmoCLIP`` (``MODELS``): FineCLIP's caption-supervised zero-shot model
  whose temperature is learned (:mod:`.recognizer`);
- ``EmoCLIPVideoBranch`` and ``EmoCLIPCaptionBranch`` (``BRANCHES``): the
  frozen CLIP image tower with a temporal transformer
  (``EmoCLIPTemporalTransformer``, ``ENCODERS``), and the frozen text tower
  on each clip's caption with CLIP's symmetric contrastive loss
  (:mod:`.branches`);
- ``EmoCLIPClassSentences`` (``LABEL_AUGMENTERS``): one descriptive
  sentence per class, the official ones (:mod:`.class_descriptions`);
- ``EmoCLIPSampleFrames`` (``TRANSFORMS``): temporal down-sampling, then a
  window of consecutive frames (:mod:`.sampling`).

:mod:`.official_checkpoint` maps the official checkpoints' names to these
parts (``tools/model_converters/emoclip.py``).

``docs/baselines_emoclip.md`` says where this follows the paper and where
the official code.
"""
from .branches import (EmoCLIPCaptionBranch, EmoCLIPVideoBranch,
                       clip_contrastive_loss)
from .class_descriptions import (EMOCLIP_CLASS_SENTENCES,
                                 EmoCLIPClassSentences, emoclip_sentence)
from .official_checkpoint import convert_official_state_dict
from .recognizer import EmoCLIP
from .sampling import EmoCLIPSampleFrames, emoclip_indices
from .temporal_transformer import (EmoCLIPTemporalLayer,
                                   EmoCLIPTemporalTransformer)

__all__ = [
    'EmoCLIP', 'EmoCLIPCaptionBranch', 'EmoCLIPVideoBranch',
    'clip_contrastive_loss', 'EMOCLIP_CLASS_SENTENCES',
    'EmoCLIPClassSentences', 'emoclip_sentence', 'EmoCLIPSampleFrames',
    'emoclip_indices', 'EmoCLIPTemporalLayer', 'EmoCLIPTemporalTransformer',
    'convert_official_state_dict'
]
