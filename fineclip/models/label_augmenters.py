"""Label augmenters: class names in, groups of text prompts out (Sec 3.2).

Each augmenter returns a dict from a prompt group name to one prompt per
class. The group names are also the names of the text encoder's adapter
stacks, so the positive and the negative prompts get separate adapters.
"""
from typing import Dict, List, Sequence

from fineclip.registry import LABEL_AUGMENTERS

DEFAULT_TEMPLATE = 'A person with an expression of {cls}.'


def _fill(template: str, class_names: Sequence[str]) -> List[str]:
    if '{cls}' not in template:
        raise ValueError(
            f"Prompt template '{template}' has no '{{cls}}' slot.")
    return [template.format(cls=name) for name in class_names]


@LABEL_AUGMENTERS.register_module()
class PositiveOnlyAugmenter:
    """One positive prompt per class (no negative descriptor).

    Args:
        template (str): Prompt with a ``{cls}`` slot for the class name.
        lowercase (bool): Lower-case class names (``'Happy'`` -> ``'happy'``)
            so prompts read as sentences.
    """

    groups = ('positive', )

    def __init__(self,
                 template: str = DEFAULT_TEMPLATE,
                 lowercase: bool = True):
        self.template = template
        self.lowercase = lowercase

    def _names(self, class_names: Sequence[str]) -> List[str]:
        if not class_names:
            raise ValueError(
                'A label augmenter needs at least one class name.')
        return [n.lower() if self.lowercase else n for n in class_names]

    def __call__(self, class_names: Sequence[str]) -> Dict[str, List[str]]:
        return {'positive': _fill(self.template, self._names(class_names))}


@LABEL_AUGMENTERS.register_module()
class PNAugmenter(PositiveOnlyAugmenter):
    """Positive and negative prompt per class (PN descriptors).

    The default negative is ``A person with an expression of no {cls}.``,
    the paper's "no" variant.

    Args:
        template (str): Positive prompt with a ``{cls}`` slot.
        negative_template (str): Negative prompt with a ``{cls}`` slot.
        lowercase (bool): Lower-case class names.
    """

    groups = ('positive', 'negative')

    def __init__(self,
                 template: str = DEFAULT_TEMPLATE,
                 negative_template: str = 'A person with an expression of '
                 'no {cls}.',
                 lowercase: bool = True):
        super().__init__(template, lowercase)
        self.negative_template = negative_template

    def __call__(self, class_names: Sequence[str]) -> Dict[str, List[str]]:
        names = self._names(class_names)
        return {
            'positive': _fill(self.template, names),
            'negative': _fill(self.negative_template, names),
        }


@LABEL_AUGMENTERS.register_module()
class PNLessAugmenter(PNAugmenter):
    """PN descriptors whose negative says "less": ``... of less {cls}.``"""

    def __init__(self,
                 template: str = DEFAULT_TEMPLATE,
                 negative_template: str = 'A person with an expression of '
                 'less {cls}.',
                 lowercase: bool = True):
        super().__init__(template, negative_template, lowercase)
