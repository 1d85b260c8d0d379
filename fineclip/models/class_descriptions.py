"""What each expression class looks like on a face, in plain words.

Class names alone mean something only to a text tower that learned them
(CLIP from web captions). A description of the facial actions of each class
(the cues an observer uses, after FACS: brows, eyes, nose, lips, jaw) carries
over to any text tower that knows those words. The zero-shot protocol uses
these descriptions as the target classes' prompts, and prompt-learning
baselines can start from them.

Written for this project from the facial-action facts of each class; short
enough (under 20 words) to fit a 32-token tiny CLIP context with a template.
"""
from typing import Dict, Sequence

#: Lower-case class name -> facial actions of that class.
CLASS_DESCRIPTIONS: Dict[str, str] = {
    'happy': 'the corners of the mouth turn up, the cheeks lift and the '
    'eyes narrow',
    'sad': 'the inner ends of the brows lift and the corners of the mouth '
    'turn down',
    'neutral': 'the face stays at rest with the mouth closed and no '
    'movement',
    'angry': 'the brows are drawn down toward the nose, the eyes narrow and '
    'the lips stretch',
    'surprise': 'the brows rise, the eyes open wide and the mouth drops '
    'open',
    'disgust': 'the nose wrinkles, the upper lip lifts and the brows lower',
    'fear': 'the inner brows rise, the eyes widen and the lips stretch '
    'sideways',
    'contempt': 'a lip corner lifts slightly, the eyes narrow and the brows '
    'lower a little',
    'anxiety': 'the inner brows rise, the eyes widen a little and the lips '
    'stretch thin',
    'helplessness': 'the inner brows lift, the mouth corners sink and the '
    'eyes narrow',
    'disappointment': 'the corners of the mouth pull down, the brows lower '
    'slightly and the lips press thin',
}

#: Other spellings of the same classes across DFEW, FERV39k and MAFW.
CLASS_ALIASES: Dict[str, str] = {
    'happiness': 'happy', 'sadness': 'sad', 'anger': 'angry',
    'surprised': 'surprise', 'disgusted': 'disgust', 'fearful': 'fear',
    'fearfulness': 'fear', 'anxious': 'anxiety', 'helpless': 'helplessness',
    'disappointed': 'disappointment', 'contemptuous': 'contempt',
}


def canonical_class(name: str) -> str:
    """Lower-case name of a class, aliases mapped to one spelling
    (``'Happiness'`` -> ``'happy'``)."""
    key = name.strip().lower()
    return CLASS_ALIASES.get(key, key)


def describe_class(name: str) -> str:
    """The facial actions of class ``name`` (any case, common aliases).

    Raises:
        KeyError: for a class without a description, naming the known ones.
    """
    key = canonical_class(name)
    if key not in CLASS_DESCRIPTIONS:
        raise KeyError(
            f"No facial-action description for class '{name}'; known: "
            f'{sorted(CLASS_DESCRIPTIONS)} (and aliases '
            f'{sorted(CLASS_ALIASES)}). Pass descriptions={{...}} to the '
            'label augmenter for other classes.')
    return CLASS_DESCRIPTIONS[key]


def describe_classes(names: Sequence[str],
                     overrides: Dict[str, str] = None) -> list:
    """Descriptions of ``names`` in order; ``overrides`` (by exact class
    name) take precedence over the built-in table."""
    overrides = overrides or {}
    return [overrides[n] if n in overrides else describe_class(n)
            for n in names]
