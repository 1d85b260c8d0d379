"""Models: CLIP builders, adapters, encoders, branches, fusions, recognizers.

Importing this package registers every part in ``fineclip.registry``.
"""
from .adapters import *  # noqa: F401,F403
from .branches import *  # noqa: F401,F403
from .clip import *  # noqa: F401,F403
from .data_preprocessors import *  # noqa: F401,F403
from .encoders import *  # noqa: F401,F403
from .fusions import AdaptiveFusion, BaseFusion, FixedFusion  # noqa: F401
from .label_augmenters import (BaseLabelAugmenter,  # noqa: F401
                               ClassDescriptionAugmenter, PNAugmenter,
                               PNLessAugmenter, PositiveOnlyAugmenter)
from .recognizers import *  # noqa: F401,F403
from .similarity import class_probabilities, pn_similarity  # noqa: F401
