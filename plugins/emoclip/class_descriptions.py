"""EmoCLIP's zero-shot class prompts: one descriptive sentence per class.

EmoCLIP classifies a clip by comparing its video feature with the text
feature of a single sentence describing each class's expression (never a
template around the class name). The sentences below are data, taken as
facts from the official release: ``DataLoaders/class_descriptions.yml`` of
github.com/NickyFot/EmoCLIP (commit 6b4decf), where each class name maps
to one sentence, tokenised whole (77 tokens, longer ones cut). They are
kept word for word (including the repeated "resigned or resigned" of
helplessness) so the prompts are the ones the published numbers used.

FineCLIP's datasets spell classes differently (DFEW's ``'Happy'``, MAFW's
``'happiness'``); names are matched through
:func:`fineclip.models.class_descriptions.canonical_class`.
"""
from typing import Dict, List, Optional, Sequence

from fineclip.models.class_descriptions import canonical_class
from fineclip.models.label_augmenters import PositiveOnlyAugmenter
from fineclip.registry import LABEL_AUGMENTERS

#: Canonical class name -> EmoCLIP's sentence for it (official release).
EMOCLIP_CLASS_SENTENCES: Dict[str, str] = {
    'angry': 'A facial expression showing irritation and unrest, with a '
    'wrinkled forehead, narrowed eyes, and tight lips or a frown',
    'disgust': 'An expression of repulsion and displeasure, with a raised '
    'upper lip, a scrunched nose, and a downturned mouth',
    'fear': 'An expression of tension and withdrawal, with wide-open eyes, '
    'raised eyebrows, and a slightly open mouth. The face may appear '
    'physically tense or frozen in fear',
    'happy': 'An expression of contentment and pleasure, with a smile and '
    'the corners of the mouth turned up, often accompanied by crinkling '
    'around the eyes. The face may appear relaxed and at ease',
    'neutral': 'An expression of calm and neutrality, with a neutral mouth '
    'and no particular indication of emotion. The eyebrows are usually not '
    'raised or furrowed',
    'sad': 'An expression of sadness and sorrow, with a downturned mouth or '
    'frown, and sometimes tears or a tightness around the eyes. The face may '
    'appear physically withdrawn or resigned.',
    'surprise': 'An expression of shock and astonishment, with wide-open '
    'eyes and raised eyebrows, sometimes accompanied by a gasp or an open '
    'mouth',
    'contempt': 'An expression of disdain and superiority, with a slight '
    'smirk or sneer, often accompanied by a raised eyebrow or a lopsided '
    'smile',
    'anxiety': 'An expression of worry and apprehension, with furrowed '
    'eyebrows and a tight mouth. The eyes may appear wide and darting, and '
    'the face may appear physically tense or worried',
    'helplessness': 'An expression of defeat and resignation, with the eyes '
    'looking down and the mouth turned down. The eyebrows may be furrowed, '
    'and the face may appear resigned or resigned',
    'disappointment': 'An expression of frustration and disillusionment, '
    'with a slight frown or drooping of the mouth. The eyebrows may be '
    'lowered or furrowed, and the face may appear physically drawn or tired',
}


def emoclip_sentence(name: str) -> str:
    """EmoCLIP's sentence for class ``name`` (any case, common aliases).

    Raises:
        KeyError: For a class EmoCLIP has no sentence for, naming the known
            ones and the config key that supplies more.
    """
    key = canonical_class(name)
    if key not in EMOCLIP_CLASS_SENTENCES:
        raise KeyError(
            f"EmoCLIP has no class sentence for '{name}' (known: "
            f'{sorted(EMOCLIP_CLASS_SENTENCES)}); give one in '
            "model.label_augmenter.sentences={'<class>': '<sentence>'}.")
    return EMOCLIP_CLASS_SENTENCES[key]


@LABEL_AUGMENTERS.register_module()
class EmoCLIPClassSentences(PositiveOnlyAugmenter):
    """One sentence per class, as EmoCLIP prompts its zero-shot classes.

    Positive prompts only (Eq 8 without the negative term): the class
    feature is the text feature of the class's sentence.

    Args:
        sentences (dict, optional): ``{class name: sentence}`` for classes
            EmoCLIP did not describe, or to replace its sentence (matched by
            exact class name first).
    """

    groups = ('positive', )

    def __init__(self, sentences: Optional[Dict[str, str]] = None):
        super().__init__()
        self.sentences = dict(sentences or {})

    def __call__(self, class_names: Sequence[str]) -> Dict[str, List[str]]:
        self._names(class_names)  # refuses an empty list
        return {'positive': [
            self.sentences[name] if name in self.sentences else
            emoclip_sentence(name) for name in class_names]}
