"""Tokens, stems and the matchers refinement runs on them.

Words are NLTK tokens that need no corpus (a ``RegexpTokenizer``) with
their Porter stems, so "smiles", "smiled" and "smiling" all match "smile".
On top of them: the emotion-word matcher, the facial-content and
state-attribution tests, and the hedge finder.
"""
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from nltk.stem import PorterStemmer
from nltk.tokenize import RegexpTokenizer

from .function_words import (ATTRIBUTION_VERBS, DETERMINERS, GAZE_WORDS,
                             LOOK_VERBS)
from .lexicon import (EMOTION_LEXICON, EXACT_ONLY, FACIAL_TERMS,
                      INTERPRETATION_HEDGES)

# Words (keeping "person's" whole), numbers with decimals, single symbols.
_TOKENIZER = RegexpTokenizer(r"\d+(?:\.\d+)?|\w+(?:['’]\w+)*|[^\w\s]")
_STEMMER = PorterStemmer()


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Porter stem of a lowercase word (cached: descriptions repeat)."""
    return _STEMMER.stem(word)


@dataclass(frozen=True)
class Token:
    """One token of a text: its form, lowercase form, stem and span."""

    text: str
    lower: str
    stem: str
    start: int
    end: int


def tokenize(text: str) -> List[Token]:
    """Tokens of ``text`` with character spans (no corpus needed)."""
    tokens = []
    for start, end in _TOKENIZER.span_tokenize(text):
        word = text[start:end]
        lower = word.lower().replace('’', "'")
        tokens.append(Token(word, lower, stem(lower), start, end))
    return tokens


@dataclass(frozen=True)
class LexiconHit:
    """An emotion word found in a text."""

    word: str
    category: str
    start: int
    end: int


class EmotionMatcher:
    """Finds emotion words: by Porter stem, or as written for
    :data:`EXACT_ONLY` words.

    Args:
        lexicon (dict): ``{category: words}``; defaults to
            :data:`EMOTION_LEXICON`.
        exact_only (Iterable[str]): Words matched only as written.
    """

    def __init__(self, lexicon: Optional[Dict[str, Sequence[str]]] = None,
                 exact_only: Iterable[str] = EXACT_ONLY):
        lexicon = EMOTION_LEXICON if lexicon is None else lexicon
        exact_only = frozenset(exact_only)
        self.by_word: Dict[str, str] = {}
        self.by_stem: Dict[str, str] = {}
        for category, words in lexicon.items():
            for word in words:
                word = word.lower()
                self.by_word.setdefault(word, category)
                if word not in exact_only:
                    self.by_stem.setdefault(stem(word), category)

    def category(self, token: Token) -> Optional[str]:
        """The lexicon category of ``token``, or None."""
        return self.by_word.get(token.lower) or self.by_stem.get(token.stem)

    def find(self, text: str) -> List[LexiconHit]:
        """Every emotion word in ``text``, in order."""
        return [LexiconHit(t.text, cat, t.start, t.end)
                for t in tokenize(text)
                for cat in [self.category(t)] if cat]

    def contains(self, text: str) -> bool:
        """Whether ``text`` holds an emotion word."""
        return any(self.category(t) for t in tokenize(text))


#: Stems of :data:`FACIAL_TERMS` (clause rules test tokens against them).
FACIAL_STEMS = frozenset(stem(w) for w in FACIAL_TERMS)
# Longest first, so "a sense of" wins over "sense of".
_HEDGE_TOKENS = tuple(sorted(
    (tuple(t.lower for t in tokenize(h)) for h in INTERPRETATION_HEDGES),
    key=len, reverse=True))


def has_facial_content(tokens: Sequence[Token]) -> bool:
    """Whether the tokens name a facial part or movement (a gaze counts:
    "looks to the left")."""
    for i, tok in enumerate(tokens):
        if tok.stem in FACIAL_STEMS:
            return True
        if (tok.lower in LOOK_VERBS and i + 1 < len(tokens)
                and tokens[i + 1].lower in GAZE_WORDS):
            return True
    return False


def attributes_state(tokens: Sequence[Token]) -> bool:
    """Whether the tokens attribute a state ("seems", "looks" + not a
    direction)."""
    for i, tok in enumerate(tokens):
        if tok.lower in ATTRIBUTION_VERBS:
            return True
        if tok.lower in LOOK_VERBS:
            after = tokens[i + 1].lower if i + 1 < len(tokens) else ''
            before = tokens[i - 1].lower if i else ''
            # "a look" is a noun; a gaze goes somewhere.
            if after not in GAZE_WORDS and before not in DETERMINERS:
                return True
    return False


def _hedge_at(tokens: Sequence[Token], i: int) -> int:
    """Length in tokens of the hedge starting at ``i`` (0: none)."""
    for hedge in _HEDGE_TOKENS:
        n = len(hedge)
        if tuple(t.lower for t in tokens[i:i + n]) == hedge:
            return n
    return 0


def find_hedges(tokens: Sequence[Token]) -> List[Tuple[int, int]]:
    """``(start, length)`` of every hedge, left to right."""
    found, i = [], 0
    while i < len(tokens):
        n = _hedge_at(tokens, i)
        if n:
            found.append((i, n))
        i += max(n, 1)
    return found
