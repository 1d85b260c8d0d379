"""Learnable prompts in the CoOp manner, around DFER-CLIP's class
descriptors.

Each class prompt is ``[SOT] context... description [.] [EOT]`` where the M
context vectors are learned in the text tower's embedding space (CoOp), and
the description lists the class's visual features
(:mod:`.class_descriptors`). As in CoOp, the position names where the class
text sits: at the ``'end'`` (all context first; DFER-CLIP's choice), in the
``'middle'`` (context split around it) or at the ``'front'`` (context
after it). The context is one set per class or shared by all classes.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from fineclip.models.label_augmenters import BaseLabelAugmenter
from fineclip.registry import LABEL_AUGMENTERS
from .class_descriptors import compose_description, facial_features

POSITIONS = ('end', 'middle', 'front')


def assemble_prompt(description: List[int], period: List[int],
                    num_context: int, position: str, placeholder: int,
                    sot: int, eot: int,
                    length: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Lays out one prompt's token ids and where its context goes.

    Args:
        description: Token ids of the class text (no start/end tokens).
        period: Token ids that close the prompt (``'.'``).
        num_context: M, the number of context vectors.
        position: Where the class text sits: ``'end'``, ``'middle'`` or
            ``'front'``.
        placeholder: Token id written where the context vectors go.
        sot, eot: Start- and end-of-text token ids.
        length: The text tower's context length.

    Returns:
        tuple: ``(L,)`` token ids (zero padded) and ``(M,)`` positions of
        the context vectors, in order.
    """
    if position not in POSITIONS:
        raise ValueError(f"Context position '{position}' is not one of "
                         f'{POSITIONS}.')
    context = [None] * num_context  # None marks a context slot
    half = num_context // 2 if position == 'middle' else num_context
    if position == 'front':
        body = description + context
    else:  # 'end' puts all of it before the description, 'middle' half
        body = context[:half] + description + context[half:]
    ids = [sot] + body + period + [eot]
    if len(ids) > length:
        raise ValueError(f'A prompt of {len(ids)} tokens does not fit the '
                         f'text context of {length}.')
    slots = [i for i, token in enumerate(ids) if token is None]
    tokens = torch.zeros(length, dtype=torch.long)
    tokens[:len(ids)] = torch.tensor(
        [placeholder if token is None else token for token in ids])
    return tokens, torch.tensor(slots, dtype=torch.long)


@LABEL_AUGMENTERS.register_module()
class LearnableContextAugmenter(nn.Module, BaseLabelAugmenter):
    """M learnable context vectors around each class's description (CoOp).

    The context vectors are created by :meth:`bind` from the text tower's
    width (FineCLIPER calls it once when it builds the model) and inserted
    into the token embeddings at their positions by :meth:`encode`; the
    frozen text tower then encodes the sequences. Calling the augmenter
    gives the prompts as text, with ``x`` for each context vector.

    Args:
        num_classes (int, optional): Number of classes; needed for
            class-specific context (one set per class).
        num_context (int): M, context vectors per prompt (8).
        class_specific (bool): One set of context vectors per class
            (DFER-CLIP's choice) or one shared set.
        position (str): Where the class text sits in the prompt (CoOp's
            class-token position): ``'end'`` (context, then description;
            DFER-CLIP's choice), ``'middle'`` (context split around it) or
            ``'front'`` (description, then context).
        features (dict, optional): ``{class name: [feature, ...]}``
            replacing the built-in visual features of those classes.
        descriptions (dict, optional): ``{class name: text}``: the whole
            class text of those classes, used as given (no template, no
            features), before the closing ``'.'``. A checkpoint converted
            from the official code comes with a config that names its
            class texts here (``tools/model_converters/dfer_clip.py``).
        template (str): Class text with ``{cls}`` and ``{features}``.
        init_std (float): Standard deviation of the context's normal
            initialisation (CoOp's 0.02).
    """

    groups = ('positive', )

    def __init__(self,
                 num_classes: Optional[int] = None,
                 num_context: int = 8,
                 class_specific: bool = True,
                 position: str = 'end',
                 features: Optional[Dict[str, List[str]]] = None,
                 descriptions: Optional[Dict[str, str]] = None,
                 template: str = '{cls}, with {features}',
                 init_std: float = 0.02):
        super().__init__()
        if position not in POSITIONS:
            raise ValueError(f"position '{position}' is not one of "
                             f'{POSITIONS}.')
        if num_context < 1:
            raise ValueError(f'num_context must be >= 1, got {num_context}')
        if class_specific and not num_classes:
            raise ValueError('Class-specific context needs num_classes (the '
                             "dataset's class count).")
        self.num_classes = num_classes
        self.num_context = num_context
        self.class_specific = class_specific
        self.position = position
        self.features = dict(features or {})
        self.descriptions = dict(descriptions or {})
        self.template = template
        self.init_std = init_std
        self.context = None
        self._layout_cache = {}

    def bind(self, text_encoder: nn.Module) -> None:
        """Creates the context vectors in the text tower's width."""
        # Referenced, not registered: the recognizer owns the encoder.
        self.__dict__['_text_encoder'] = text_encoder
        width = text_encoder.clip.token_embedding.weight.shape[1]
        rows = self.num_classes if self.class_specific else 1
        self.context = nn.Parameter(
            torch.randn(rows, self.num_context, width) * self.init_std)

    def _layout(self, class_names: Sequence[str], text_encoder: nn.Module):
        """Token ids ``(C, L)`` and context positions ``(C, M)``, cached."""
        key = (tuple(class_names), text_encoder.context_length)
        if key in self._layout_cache:
            return self._layout_cache[key]
        tokenizer = text_encoder.tokenizer
        length = text_encoder.context_length
        period = tokenizer.encode('.')
        budget = length - self.num_context - len(period) - 2
        tokens, slots = [], []
        for name in class_names:
            text = self.descriptions.get(name)
            if text is None:
                text = compose_description(
                    name.lower(), facial_features(name, self.features),
                    lambda t: len(tokenizer.encode(t)), budget,
                    self.template)
            ids, where = assemble_prompt(
                tokenizer.encode(text), period, self.num_context,
                self.position, tokenizer.encode('X')[0],
                tokenizer.sot_token_id, tokenizer.eot_token_id, length)
            tokens.append(ids)
            slots.append(where)
        layout = torch.stack(tokens), torch.stack(slots)
        self._layout_cache[key] = layout
        return layout

    def _check(self, class_names: Sequence[str]) -> None:
        if self.context is None:
            raise RuntimeError('LearnableContextAugmenter has no context '
                               'vectors yet: bind(text_encoder) creates them.')
        if self.class_specific and len(class_names) != self.num_classes:
            raise ValueError(
                f'The prompt learner has context for {self.num_classes} '
                f'classes but the data has {len(class_names)} '
                f'({list(class_names)}): set '
                'model.label_augmenter.num_classes.')

    def forward(self, class_names: Sequence[str]) -> Dict[str, List[str]]:
        """The prompts as text, ``X`` marking each context vector (for
        logs and plots; :meth:`encode` is what the model uses)."""
        encoder = self.__dict__.get('_text_encoder')
        if encoder is None:
            raise RuntimeError('bind(text_encoder) first: the prompts are '
                               "laid out for the text tower's context.")
        tokens, _ = self._layout(class_names, encoder)
        eot = encoder.tokenizer.eot_token_id
        texts = []
        for row in tokens.tolist():
            row = row[1:row.index(eot)]  # drop start, end and padding
            texts.append(encoder.tokenizer.decode(row).strip())
        return {'positive': texts}

    def embed(self, class_names: Sequence[str], text_encoder: nn.Module
              ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Token embeddings with the context inserted: ``(C, L, W)``, and
        the token ids ``(C, L)``."""
        self._check(class_names)
        tokens, slots = self._layout(class_names, text_encoder)
        tokens = tokens.to(self.context.device)
        slots = slots.to(self.context.device)
        embeddings = text_encoder.embed_tokens(tokens)
        context = self.context.to(embeddings.dtype).expand(
            len(class_names), -1, -1)
        index = slots.unsqueeze(-1).expand(-1, -1, embeddings.shape[-1])
        # Out of place: the frozen embeddings carry no graph, the context
        # does, and the gradient reaches it through scatter.
        return embeddings.scatter(1, index, context), tokens

    def encode(self, class_names: Sequence[str],
               text_encoder: nn.Module) -> Dict[str, torch.Tensor]:
        """``{'positive': (C, D)}`` features of the learned prompts."""
        embeddings, tokens = self.embed(class_names, text_encoder)
        stack = 'positive' if 'positive' in text_encoder.adapters else None
        return {'positive': text_encoder.encode_embeddings(
            embeddings, tokens, stack)}
