"""Label augmenters: class names in, groups of text prompts out (Sec 3.2).

Each augmenter returns a dict from a prompt group name to one prompt per
class. The group names are also the names of the text encoder's adapter
stacks, so the positive and the negative prompts get separate adapters.
:class:`BaseLabelAugmenter` is the contract ``FineCLIPER`` relies on.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from fineclip.registry import LABEL_AUGMENTERS
from .class_descriptions import describe_classes

DEFAULT_TEMPLATE = 'A person with an expression of {cls}.'


def _fill(template: str, class_names: Sequence[str]) -> List[str]:
    if '{cls}' not in template:
        raise ValueError(
            f"Prompt template '{template}' has no '{{cls}}' slot.")
    return [template.format(cls=name) for name in class_names]


def check_prompt_groups(augmenter, prompts, num_classes: int) -> None:
    """Raises ``TypeError`` unless ``prompts`` holds exactly the groups
    ``augmenter.groups`` declares, each with one prompt per class."""
    name = type(augmenter).__name__
    if not isinstance(prompts, dict):
        raise TypeError(f'{name}.__call__ must return {{group: [one prompt '
                        f'per class]}}, got {type(prompts).__name__}.')
    groups = tuple(augmenter.groups)
    if set(prompts) != set(groups):
        wrote = tuple(prompts)
        raise TypeError(
            f'{name} writes the prompt groups {list(wrote)} but declares '
            f'groups = {groups}: set the class attribute groups = '
            f'{wrote!r} (and positive_group / negative_group to the groups '
            'giving t_p and t_n), since each group gets the text adapter '
            'stack of its name.')
    for group, texts in prompts.items():
        if len(texts) != num_classes:
            raise TypeError(
                f'{name} writes {len(texts)} prompt(s) in group {group!r} '
                f'for {num_classes} classes; write one per class.')


class BaseLabelAugmenter:
    """What every label augmenter (``LABEL_AUGMENTERS``) offers FineCLIPER.

    Class attributes (or attributes set in ``__init__``) say which prompt
    groups exist and which of them are the paper's ``t_p`` and ``t_n``
    (Eq 8); the methods are called in this order:

    1. :meth:`bind` once, while the model is built (before the optimiser
       exists, so parameters created there train);
    2. :meth:`encode` whenever the class features are needed (each training
       step; once in eval), giving one ``(C, D)`` tensor per group;
    3. :meth:`pn_features` picks ``(t_p, t_n)`` from them.

    A learnable augmenter (a prompt learner) is also an ``nn.Module``: list
    ``nn.Module`` first among its bases, so that calling it runs
    ``forward`` (which then returns the prompts as text).

    Attributes:
        groups (tuple[str]): The prompt groups, each encoded with the text
            adapter stack of its name.
        positive_group (str): The group giving ``t_p``.
        negative_group (str, optional): The group giving ``t_n``; ``None``:
            Eq 8 without the negative term.
    """

    groups: Tuple[str, ...] = ('positive', )
    positive_group: str = 'positive'
    negative_group: Optional[str] = None

    def __call__(self, class_names: Sequence[str]) -> Dict[str, List[str]]:
        """``{group: [one prompt per class]}`` for ``class_names``."""
        raise NotImplementedError(
            f'{type(self).__name__} must write the class prompts.')

    def check_groups(self, class_names: Optional[Sequence[str]] = None
                     ) -> None:
        """Checks the declared group names against the prompts written.

        FineCLIPER calls this while it builds the model, so that a plugin
        whose ``groups`` do not name what it returns fails there, saying
        which attribute to set, rather than at its first training step.

        Args:
            class_names: Names to write probe prompts for; the model's
                classes where known (default: two placeholder classes).

        Raises:
            TypeError: ``groups``, ``positive_group`` or ``negative_group``
                do not match each other or the prompts :meth:`__call__`
                returns; the message names the attribute to set.
        """
        name = type(self).__name__
        groups = tuple(self.groups)
        if not groups or not all(isinstance(g, str) for g in groups):
            raise TypeError(f'{name}.groups must be a non-empty tuple of '
                            f'group names, got {self.groups!r}.')
        for attr in ('positive_group', 'negative_group'):
            value = getattr(self, attr)
            if value is not None and value not in groups:
                raise TypeError(
                    f'{name}.{attr} is {value!r}, which is not one of its '
                    f'groups {groups}: set {attr} to one of them (or add it '
                    'to groups).')
        if self.positive_group is None:
            raise TypeError(f'{name}.positive_group must name the group '
                            f'giving t_p (one of {groups}).')
        if type(self).__call__ is BaseLabelAugmenter.__call__ and \
                not isinstance(self, torch.nn.Module):
            raise TypeError(f'{name} must write the class prompts: define '
                            '__call__(class_names) -> {group: [prompt per '
                            'class]}.')
        probe = tuple(class_names) if class_names else ('Happy', 'Sad')
        try:
            prompts = self(probe)
        except Exception:  # noqa: BLE001
            # Some parts cannot write prompts before they see the data
            # (e.g. a class-specific learner sized to another class
            # count); their first step checks the groups instead.
            return
        check_prompt_groups(self, prompts, len(probe))

    def bind(self, text_encoder) -> None:
        """Called once with the model's text encoder, before training.

        Nothing to do for prompts written as text; a prompt learner creates
        its parameters here, sized from the text tower.
        """

    def encode(self, class_names: Sequence[str],
               text_encoder) -> Dict[str, torch.Tensor]:
        """``{group: (C, D)}`` class features; by default the text prompts
        encoded by ``text_encoder.encode_prompts``."""
        prompts = self(class_names)
        check_prompt_groups(self, prompts, len(class_names))
        return text_encoder.encode_prompts(prompts)

    def pn_features(self, features: Dict[str, torch.Tensor]
                    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """``(t_p, t_n)`` of Eq 8 from :meth:`encode`'s output; ``t_n`` is
        ``None`` without a negative group."""
        wanted = [self.positive_group] + (
            [self.negative_group] if self.negative_group else [])
        missing = [group for group in wanted if group not in features]
        if missing:
            raise KeyError(f'{type(self).__name__} names the prompt groups '
                           f'{missing} but its features have '
                           f'{sorted(features)}.')
        negative = features[self.negative_group] \
            if self.negative_group else None
        return features[self.positive_group], negative


@LABEL_AUGMENTERS.register_module()
class PositiveOnlyAugmenter(BaseLabelAugmenter):
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
    negative_group = 'negative'

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
        self.negative_group = 'negative' if negative_template else None

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
