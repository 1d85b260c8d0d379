"""Label augmenters: class names in, groups of text prompts out (Sec 3.2).

Each augmenter returns a dict from a prompt group name to one prompt per
class. The group names are also the names of the text encoder's adapter
stacks, so the positive and the negative prompts get separate adapters.
"""
from typing import Dict, List, Optional, Sequence

from fineclip.registry import LABEL_AUGMENTERS
from .class_descriptions import describe_classes

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


@LABEL_AUGMENTERS.register_module()
class ClassDescriptionAugmenter(PositiveOnlyAugmenter):
    """Prompts that describe each class's facial actions (class descriptors).

    The positive prompt fills ``template``'s ``{desc}`` slot with the
    class's description from :mod:`fineclip.models.class_descriptions` (and
    ``{cls}``, if present, with its name); an optional negative template
    makes PN descriptors of them. Used where class names alone carry no
    meaning for the text tower, as in zero-shot transfer.

    Args:
        template (str): Positive prompt with a ``{desc}`` slot.
        negative_template (str, optional): Negative prompt (``{cls}`` and/or
            ``{desc}`` slots); ``None``: positive prompts only.
        descriptions (dict, optional): ``{class name: description}``
            replacing the built-in ones for those classes.
        lowercase (bool): Lower-case class names in ``{cls}``.
    """

    def __init__(self,
                 template: str = 'A face where {desc}.',
                 negative_template: Optional[str] = None,
                 descriptions: Optional[Dict[str, str]] = None,
                 lowercase: bool = True):
        for name, text in (('template', template),
                           ('negative_template', negative_template)):
            if text is not None and '{desc}' not in text \
                    and '{cls}' not in text:
                raise ValueError(f"{name} '{text}' has neither a '{{desc}}' "
                                 "nor a '{cls}' slot.")
        super().__init__(template, lowercase)
        self.negative_template = negative_template
        self.descriptions = dict(descriptions or {})
        self.groups = (('positive', 'negative') if negative_template
                       else ('positive', ))

    def _fill_both(self, template: str, names: List[str],
                   descs: List[str]) -> List[str]:
        return [template.format(cls=n, desc=d) for n, d in zip(names, descs)]

    def __call__(self, class_names: Sequence[str]) -> Dict[str, List[str]]:
        names = self._names(class_names)
        descs = describe_classes(class_names, self.descriptions)
        prompts = {'positive': self._fill_both(self.template, names, descs)}
        if self.negative_template:
            prompts['negative'] = self._fill_both(self.negative_template,
                                                  names, descs)
        return prompts
