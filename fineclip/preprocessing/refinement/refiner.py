"""The refiner: which sentences, hedges, clauses and emotion words of a
description go. The two stages are described in
:mod:`fineclip.preprocessing.refinement`.
"""
import re
from dataclasses import asdict, dataclass, field
from typing import List, Optional, Sequence

from .clauses import (cut_hedges, group_hits, join_clauses, removal_span,
                      remove_spans, split_clauses, terminal, tidy)
from .function_words import DANGLING
from .lexicon import FALLBACK_TEXT
from .sentences import split_sentences
from .tokens import (EmotionMatcher, Token, attributes_state, find_hedges,
                     has_facial_content, tokenize)


@dataclass
class RefinementStats:
    """What refinement did to one description (or, summed, to many)."""

    sentences_dropped: int = 0
    hedges_cut: int = 0
    words_removed: int = 0
    clauses_dropped: int = 0
    duplicates_dropped: int = 0
    fallbacks: int = 0
    changed: int = 0

    def __iadd__(self, other: 'RefinementStats') -> 'RefinementStats':
        for key, value in asdict(other).items():
            setattr(self, key, getattr(self, key) + value)
        return self


@dataclass
class RefinedDescription:
    """A refined description and what was done to it."""

    text: str
    stats: RefinementStats = field(default_factory=RefinementStats)


class DescriptionRefiner:
    """Removes emotion words and interpretations from descriptions.

    Args:
        matcher (EmotionMatcher, optional): Emotion-word matcher; defaults
            to one over :data:`EMOTION_LEXICON`.
        fallback (str): What an emptied description becomes.

    Example:
        >>> refiner = DescriptionRefiner()
        >>> refiner('The eyes widen in surprise, suggesting fear.').text
        'The eyes widen.'
    """

    def __init__(self, matcher: Optional[EmotionMatcher] = None,
                 fallback: str = FALLBACK_TEXT):
        self.matcher = matcher or EmotionMatcher()
        self.fallback = fallback

    def __call__(self, text: str) -> RefinedDescription:
        """Refines one description."""
        return self.refine(text)

    def refine(self, text: str) -> RefinedDescription:
        """Refines one description (the stages:
        :mod:`fineclip.preprocessing.refinement`)."""
        stats = RefinementStats()
        kept, seen = [], set()
        for sentence in split_sentences(text):
            refined = self._refine_sentence(sentence, stats)
            if not refined:
                continue
            key = re.sub(r'\W+', ' ', refined.lower()).strip()
            if key in seen:
                stats.duplicates_dropped += 1
                continue
            seen.add(key)
            kept.append(refined)
        result = ' '.join(kept)
        if not result:
            result, stats.fallbacks = self.fallback, 1
        stats.changed = int(result != ' '.join(text.split()))
        return RefinedDescription(result, stats)

    # -- one sentence -----------------------------------------------------

    def is_pure_interpretation(self, sentence: str) -> bool:
        """Whether a sentence holds no facial movement and names an
        emotion, hedges or attributes a state."""
        tokens = tokenize(sentence)
        if has_facial_content(tokens):
            return False
        return (any(self.matcher.category(t) for t in tokens)
                or bool(find_hedges(tokens)) or attributes_state(tokens))

    def _refine_sentence(self, sentence: str, stats: RefinementStats) -> str:
        if self.is_pure_interpretation(sentence):
            stats.sentences_dropped += 1
            return ''
        sentence, hedges = cut_hedges(sentence)
        stats.hedges_cut += hedges
        tokens = tokenize(sentence)
        body_end = terminal(tokens)
        end_mark = '.'
        if body_end < len(tokens) and tokens[body_end].text in '!?':
            end_mark = tokens[body_end].text
        body = sentence[:tokens[body_end - 1].end] if body_end else ''
        refined = self._refine_clauses(body, stats)
        if refined != body and not has_facial_content(tokenize(refined)):
            # Only the setting is left: "In the video, <dropped>."
            stats.sentences_dropped += 1
            return ''
        return tidy(refined, end_mark)

    def _refine_clauses(self, body: str, stats: RefinementStats) -> str:
        """Keeps, edits or drops each clause of a sentence body."""
        tokens = tokenize(body)
        seps = split_clauses(tokens)
        # Clause k runs from the end of separator k-1 to the start of
        # separator k; separator k-1 is kept with it.
        starts = [0] + [tokens[b - 1].end for _, b in seps]
        ends = [tokens[a].start for a, _ in seps] + [len(body)]
        sep_texts = [''] + [body[tokens[a].start:tokens[b - 1].end]
                            for a, b in seps]
        pieces = [(sep, self._refine_clause(body[start:end], stats))
                  for sep, start, end in zip(sep_texts, starts, ends)]
        return join_clauses(pieces)

    def _refine_clause(self, clause: str, stats: RefinementStats
                       ) -> Optional[str]:
        """The clause, edited, or None to drop it."""
        tokens = tokenize(clause)
        hits = [i for i, t in enumerate(tokens) if self.matcher.category(t)]
        facial = has_facial_content(tokens)
        if not hits:
            if tokens and not facial and attributes_state(tokens):
                stats.clauses_dropped += 1
                return None
            return clause
        if facial:
            edited = self._remove_words(clause, tokens, hits)
            if edited is not None:
                stats.words_removed += len(hits)
                return edited
        stats.clauses_dropped += 1
        return None

    def _remove_words(self, clause: str, tokens: Sequence[Token],
                      hits: List[int]) -> Optional[str]:
        """The clause without its emotion words, or None if that leaves no
        grammatical fragment or no facial movement."""
        spans = []
        for group in group_hits(tokens, hits):
            rng = removal_span(tokens, group[0], group[-1])
            if rng is None:
                return None
            spans.append((tokens[rng[0]].start, tokens[rng[1] - 1].end))
        edited = remove_spans(clause, spans)
        left = tokenize(edited)
        if (not left or not has_facial_content(left)
                or any(self.matcher.category(t) for t in left)
                or left[-1].lower in DANGLING):
            return None
        return edited
