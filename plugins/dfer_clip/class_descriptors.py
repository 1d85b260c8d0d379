"""Class descriptors for DFER-CLIP: the visual features of each class.

DFER-CLIP replaces bare class names with descriptions of the facial
behaviour of each class, obtained by asking a language model "What visual
features are useful for {class}'s facial expressions?" and joining the
listed features. The lists below were written for this project in that
manner (features an observer would list, most telling first); they are not
taken from DFER-CLIP's release.

A description is composed to fit the text tower: features are added in
order while the tokens fit the budget, so a short context (the tiny CLIP of
the synthetic configs) keeps the most telling features whole instead of
cutting one mid-phrase.
"""
from typing import Callable, Dict, List, Sequence

from fineclip.models.class_descriptions import canonical_class

#: Lower-case class name -> its visual features, most telling first.
FACIAL_FEATURES: Dict[str, List[str]] = {
    'happy': [
        'lip corners pulled up into a smile', 'cheeks raised',
        'crinkled skin at the outer eye corners', 'narrowed lower eyelids',
        'teeth often showing', 'relaxed brows', 'rounded lifted face',
        'bright open gaze',
    ],
    'sad': [
        'inner brows raised and drawn together', 'lip corners pulled down',
        'drooping upper eyelids', 'downcast gaze', 'chin pushed up',
        'lower lip pouting', 'slack cheeks', 'slow heavy movements',
    ],
    'neutral': [
        'relaxed brows at rest', 'lips closed and still', 'even steady gaze',
        'no wrinkles on the forehead', 'smooth cheeks', 'level mouth corners',
        'eyelids at rest', 'little movement over time',
    ],
    'angry': [
        'brows lowered and pulled together',
        'vertical lines between the brows',
        'glaring eyes with tense lids', 'lips pressed tight or bared teeth',
        'flared nostrils', 'jaw clenched forward', 'tightened face muscles',
        'sudden forceful movements',
    ],
    'surprise': [
        'brows raised high and curved', 'eyes opened wide showing white',
        'jaw dropped with the mouth open', 'horizontal forehead wrinkles',
        'lips parted and relaxed', 'head pulled back', 'quick onset',
        'short-lived expression',
    ],
    'disgust': [
        'wrinkled nose', 'upper lip raised', 'lowered brows',
        'narrowed eyes', 'cheeks pushed up', 'lower lip pushed out',
        'head turned away', 'mouth corners pulled down',
    ],
    'fear': [
        'brows raised and drawn together', 'upper eyelids raised wide',
        'tense lower eyelids', 'lips stretched back toward the ears',
        'mouth slightly open', 'wrinkles across the mid forehead',
        'head drawn back', 'darting gaze',
    ],
    'contempt': [
        'one lip corner tightened and raised', 'asymmetric half smile',
        'slightly narrowed eyes', 'chin lifted', 'gaze looking down the nose',
        'head tilted back', 'relaxed brows', 'brief one-sided movement',
    ],
    'anxiety': [
        'inner brows raised', 'eyes widened and watchful',
        'lips pressed or bitten', 'restless gaze shifting around',
        'tense jaw', 'frequent blinking', 'swallowing movements',
        'small repeated fidgeting',
    ],
    'helplessness': [
        'inner brows raised', 'mouth corners turned down', 'lips parted',
        'gaze drifting away or upward', 'drooping eyelids',
        'head tilted or shaking slowly', 'shoulders dropping',
        'sighing breath',
    ],
    'disappointment': [
        'lip corners pulled down', 'lips pressed together',
        'brows slightly lowered', 'gaze lowered', 'eyelids half closed',
        'head dropping', 'slow exhale', 'faded smile',
    ],
}


def facial_features(name: str, overrides: Dict[str, List[str]] = None
                    ) -> List[str]:
    """The feature list of class ``name`` (any case, common aliases).

    Raises:
        KeyError: for a class without features, naming the known ones.
    """
    if overrides and name in overrides:
        return list(overrides[name])
    key = canonical_class(name)
    if key not in FACIAL_FEATURES:
        raise KeyError(
            f"DFER-CLIP has no visual features for class '{name}'; known: "
            f'{sorted(FACIAL_FEATURES)}. Give them with '
            "model.label_augmenter.features={'" + name + "': [...]}.")
    return FACIAL_FEATURES[key]


def compose_description(name: str, features: Sequence[str],
                        count_tokens: Callable[[str], int], budget: int,
                        template: str = '{cls}, with {features}') -> str:
    """Joins as many of ``features`` as fit ``budget`` tokens.

    Args:
        name: Class name for the ``{cls}`` slot.
        features: Feature phrases, most telling first.
        count_tokens: Text -> number of tokens (without start/end tokens).
        budget: Most tokens the description may take.
        template: Text with ``{cls}`` and ``{features}`` slots.

    Returns:
        str: the description, with at least the first feature.

    Raises:
        ValueError: if not even the first feature fits.
    """
    text = None
    for count in range(1, len(features) + 1):
        candidate = template.format(cls=name,
                                    features=', '.join(features[:count]))
        if count_tokens(candidate) > budget:
            break
        text = candidate
    if text is None:
        raise ValueError(
            f"The description of '{name}' does not fit {budget} tokens even "
            'with one feature: use fewer context vectors or a text tower '
            'with a longer context.')
    return text
