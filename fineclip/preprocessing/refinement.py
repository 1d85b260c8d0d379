"""Rule-based refinement of MLLM facial-movement descriptions.

FineCLIPER asks Video-LLaVA for the movements of the facial features, but
the answers still name or imply the emotion ("..., suggesting joy"), which
leaks the label into the text branch (paper, appendix A.5). The paper
cleans them with regular filters and NLTK, then by hand. This module is the
automatic part, in two stages:

1. **Sentences.** The text is split into sentences (a regex splitter: the
   NLTK punkt model needs a corpus that is not installed). A sentence that
   says nothing about a facial movement but names an emotion, hedges
   ("This suggests ...") or attributes a state ("She seems tense.") is pure
   interpretation and is dropped whole.
2. **Clauses.** In a kept sentence, a clause introduced by a hedge
   (``INTERPRETATION_HEDGES``) is cut up to the next comma, semicolon or the
   end. The rest is split into clauses at commas and conjunctions; a clause
   naming an emotion keeps its facial movement only where the emotion word
   can go with the words that hang on it and leave a grammatical fragment
   ("the eyes widen in surprise" -> "the eyes widen"); otherwise the whole
   clause goes.

Then whitespace, punctuation and repeated sentences are tidied. A
description with nothing left becomes :data:`FALLBACK_TEXT` and is counted.

Words are matched on NLTK tokens that need no corpus (a
``RegexpTokenizer``) and their Porter stems, so "smiles", "smiled" and
"smiling" all match "smile". Words whose stem collides with a harmless word
are matched only as written (:data:`EXACT_ONLY`); words left out on purpose
are listed with the reason in :data:`NOT_IN_LEXICON`.

The leakage check (:func:`leakage_report`) measures what is left: the share
of descriptions holding a lexicon word, and how well a logistic-regression
classifier on bag-of-stems predicts the clip's label from the text
(stratified, seeded k-fold), before and after, next to chance level.
"""
import csv
import json
import os.path as osp
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from nltk.stem import PorterStemmer
from nltk.tokenize import RegexpTokenizer

# --------------------------------------------------------------------------
# Lexicons
# --------------------------------------------------------------------------

#: Emotion words by category: every class name of DFEW, FERV39k and MAFW
#: with its synonyms and derivations, words naming an expression
#: (``'expression_words'``) and generic affect words. Inflections need not
#: be listed (matching is by stem) except where the stemmer keeps forms
#: apart ("happily" -> "happili", "happy" -> "happi").
#:
#: Expression words: a smile, frown, grin, scowl or grimace is a movement of
#: the face, but the word names the expression class rather than the
#: movement ("the corners of the mouth turn up" is the movement a smile
#: labels), and the paper's refinement removes emotional expressions, so
#: they count as emotion words. Likewise laughing, crying and tears.
EMOTION_LEXICON: Dict[str, Tuple[str, ...]] = {
    'happy': (
        'happy', 'happier', 'happiest', 'happiness', 'happily', 'joy',
        'joyful', 'joyfully', 'joyous', 'glad', 'gladly', 'gladness',
        'cheerful', 'cheerfully', 'cheerfulness', 'cheery', 'delight',
        'delighted', 'delightful', 'pleased', 'pleasure', 'pleasant',
        'contented', 'contentment', 'amused', 'amusement', 'amusing',
        'elated', 'elation', 'euphoric', 'euphoria', 'gleeful', 'glee',
        'merry', 'jolly', 'jovial', 'excited', 'excitement', 'thrilled',
        'enjoyment', 'enjoying', 'satisfied', 'satisfaction', 'playful',
        'playfully', 'friendly', 'warmth', 'warmly'),
    'sad': (
        'sad', 'sadder', 'saddest', 'sadly', 'sadness', 'sorrow',
        'sorrowful', 'unhappy', 'unhappiness', 'upset', 'gloomy', 'gloom',
        'melancholy', 'melancholic', 'grief', 'grieving', 'mournful',
        'mourning', 'miserable', 'misery', 'despair', 'despondent',
        'dejected', 'dejection', 'forlorn', 'heartbroken', 'glum', 'somber',
        'sombre', 'sulky', 'sulking', 'sullen', 'woeful', 'distraught'),
    'angry': (
        'angry', 'angrier', 'angrily', 'anger', 'angered', 'furious',
        'furiously', 'fury', 'mad', 'irritated', 'irritation', 'irritable',
        'annoyed', 'annoyance', 'rage', 'raging', 'enraged', 'hostile',
        'hostility', 'irate', 'livid', 'outraged', 'outrage', 'resentful',
        'resentment', 'indignant', 'indignation', 'frustrated',
        'frustration', 'aggressive', 'aggression', 'fierce', 'fiercely',
        'stern', 'sternly', 'displeased', 'displeasure', 'exasperated',
        'glare', 'glaring', 'glower', 'glowering'),
    'surprise': (
        'surprise', 'surprised', 'surprising', 'surprisingly',
        'astonished', 'astonishment', 'amazed', 'amazement', 'amazing',
        'shocked', 'shock', 'startled', 'startle', 'stunned',
        'awe', 'awestruck', 'disbelief', 'incredulous', 'incredulity'),
    'disgust': (
        'disgust', 'disgusted', 'disgusting', 'revulsion', 'repulsed',
        'repulsion', 'repulsive', 'repelled', 'distaste', 'distasteful',
        'aversion', 'revolted', 'nauseated', 'nausea', 'grossed',
        'loathing'),
    'fear': (
        'fear', 'fearful', 'fearfully', 'afraid', 'scared', 'scary',
        'frightened', 'fright', 'terrified', 'terror', 'panic',
        'panicked', 'panicky', 'horror', 'horrified', 'dread',
        'alarmed', 'alarm', 'apprehensive', 'apprehension',
        'threatened'),
    'neutral': (
        'neutral', 'neutrally', 'neutrality', 'calm', 'calmly', 'calmness',
        'composed', 'composure', 'expressionless', 'impassive', 'blank',
        'blankly', 'indifferent', 'indifference', 'unemotional',
        'emotionless', 'placid', 'serene', 'serenity', 'stoic', 'deadpan',
        'unmoved', 'unfazed', 'poker'),
    'contempt': (
        'contempt', 'contemptuous', 'contemptuously', 'disdain',
        'disdainful', 'disdainfully', 'scorn', 'scornful', 'derision',
        'derisive', 'mocking', 'mockery', 'sarcastic', 'sarcasm',
        'condescending', 'smug', 'smugly', 'arrogant', 'arrogance',
        'dismissive', 'dismissively'),
    'anxiety': (
        'anxiety', 'anxious', 'anxiously', 'nervous', 'nervously',
        'nervousness', 'worried', 'worry', 'worrying', 'uneasy', 'unease',
        'uneasiness', 'stressed', 'stress', 'distressed', 'distress',
        'agitated', 'agitation', 'restless', 'restlessness', 'fidgety',
        'jittery', 'concerned', 'concern', 'insecure', 'insecurity'),
    'helplessness': (
        'helpless', 'helplessly', 'helplessness', 'powerless',
        'powerlessness', 'hopeless', 'hopelessly', 'hopelessness',
        'defeated', 'defeat', 'resigned', 'resignation', 'overwhelmed'),
    'disappointment': (
        'disappointed', 'disappointment', 'disappointing', 'dismayed',
        'dismay', 'discouraged', 'disheartened', 'crestfallen', 'regret',
        'regretful', 'letdown'),
    'expression_words': (
        'smile', 'smiling', 'smiley', 'grin', 'grinning', 'beaming',
        'laugh', 'laughing', 'laughter', 'giggle', 'chuckle', 'smirk',
        'frown', 'frowning', 'scowl', 'scowling', 'grimace', 'grimacing',
        'sneer', 'sneering', 'snarl', 'pout', 'pouting', 'cry', 'crying',
        'weep', 'weeping', 'sob', 'sobbing', 'tear', 'tears', 'tearful',
        'teary'),
    'generic': (
        'emotion', 'emotions', 'emotional', 'emotionally', 'emotive',
        'feel', 'feeling', 'feelings', 'mood', 'moody', 'sentiment',
        'affective', 'positive', 'negative', 'pain', 'painful', 'relief',
        'relieved', 'embarrassed', 'embarrassment', 'shame', 'ashamed',
        'guilt', 'guilty', 'pride', 'proud', 'love', 'hate', 'hatred',
        'bored', 'boredom', 'confused', 'confusion', 'puzzled',
        'perplexed', 'bewildered', 'pensive', 'thoughtful',
        'contemplative', 'curious', 'curiosity', 'shy', 'jealous', 'envy',
        'lonely', 'loneliness', 'mental', 'mentally', 'excitedly'),
}

#: Lexicon words matched only as written, never by stem, because their
#: Porter stem is shared with a harmless word of facial descriptions:
#: "positive"/"position" -> "posit", "contentment"/"content" -> "content",
#: "concern"/"concerning" (preposition), "stress"/"stressed" (also used of
#: syllables), "warmth"/"warm" (skin tone), "pleasant"/"please",
#: "resignation"/"resign", "defeat"/"defeated" kept literal for symmetry.
EXACT_ONLY = frozenset({
    'positive', 'negative', 'contented', 'contentment', 'concern',
    'concerned', 'pleasant', 'warmth', 'warmly', 'resigned', 'resignation',
    'blank', 'blankly', 'poker', 'mental', 'mentally', 'friendly', 'alarm',
    'threatened', 'stress', 'stressed', 'shock', 'composed', 'letdown'})

#: Words deliberately left out of the lexicon, with the reason. Most are
#: muscle movements in the FACS sense that the refined text should keep; a
#: sentence that only attributes them to the person ("She looks tense.")
#: is still dropped by the attribution rule (see :func:`refine`).
NOT_IN_LEXICON: Dict[str, str] = {
    'tense': 'muscles tense (AU 23/24 lip tightening): a movement',
    'tension': 'muscle tension around the mouth or jaw: a movement',
    'relaxed': 'the face/jaw relaxes: a movement back to rest',
    'depressed': 'lip-corner depressor (AU 15): the corners are depressed',
    'downcast': 'gaze direction (eyes downcast)',
    'furrow': 'brow lowering (AU 4): "the brows furrow" is the movement',
    'wince': 'a movement (eyes squeeze, cheeks raise); names no class',
    'gasp': 'breathing, which the prompt asks for; names no class',
    'sigh': 'breathing, which the prompt asks for; names no class',
    'made': 'shares no stem with "mad" ("made" -> "made"); never matched',
    'content': 'mostly "the content of"; only "contented"/"contentment" '
               'are emotion words',
    'down': '"feeling down" is dropped through "feeling"; "down" is a '
            'direction',
}

#: Phrases that introduce an interpretation of the movements. A hedge and
#: what follows it up to the next comma, semicolon or the end of the
#: sentence are cut. Matched on lowercase tokens, as written (no stemming:
#: "expression" must not match "expressing").
INTERPRETATION_HEDGES: Tuple[str, ...] = (
    'suggesting', 'suggests', 'suggested', 'suggest', 'suggestive of',
    'indicating', 'indicates', 'indicated', 'indicate', 'indicative of',
    'implying', 'implies', 'implied', 'imply',
    'a sense of', 'sense of', 'conveying', 'conveys', 'convey',
    'expressing', 'expresses', 'express', 'reflecting', 'reflects',
    'reflect', 'as if', 'as though', 'which shows', 'which show',
    'which showed', 'that shows', 'showing that', 'shows that',
    'showing signs of', 'shows signs of', 'revealing that', 'reveals that',
    'hinting at', 'hints at', 'hint at', 'a sign of', 'a sign that',
    'signs of', 'signaling', 'signalling', 'signals', 'signifying',
    'signifies', 'pointing to', 'points to', 'denoting', 'denotes',
    'betraying', 'betrays', 'characteristic of', 'typical of',
    'consistent with', 'associated with', 'in response to', 'possibly due',
    'likely due', 'probably due')

#: Facial parts and movements (matched by stem): a clause holding one of
#: them describes the face, one without is about something else.
FACIAL_TERMS: Tuple[str, ...] = (
    'face', 'facial', 'feature', 'features', 'eye', 'eyes', 'eyebrow',
    'eyebrows', 'brow', 'brows', 'eyelid', 'eyelids', 'lid', 'lids',
    'eyelash', 'lashes', 'pupil', 'pupils', 'iris', 'gaze', 'glance',
    'stare', 'staring', 'blink', 'blinking', 'squint', 'wink', 'forehead',
    'temple', 'cheek', 'cheeks', 'cheekbone', 'dimple', 'nose', 'nostril',
    'nostrils', 'mouth', 'lip', 'lips', 'jaw', 'jawline', 'chin', 'teeth',
    'tooth', 'tongue', 'wrinkle', 'wrinkles', 'crease', 'creases',
    'furrow', 'furrows', 'skin', 'muscle', 'muscles', 'head', 'neck',
    'throat', 'breath', 'breathing', 'breathe', 'inhale', 'exhale',
    'nod', 'nodding', 'swallow', 'gulp', 'sigh', 'gasp', 'wince')

#: What a description with nothing left after refinement becomes. It names
#: no feature and no emotion; being one fixed string it says nothing about
#: the clip (if fallbacks concentrate in one class, the report shows it).
FALLBACK_TEXT = 'The face moves.'

# Linking verbs that attribute a state to the person ("seems", "appears",
# "looks" unless it is a gaze: "looks to the left").
_ATTRIBUTION_VERBS = frozenset({
    'seem', 'seems', 'seemed', 'seeming', 'appear', 'appears', 'appeared',
    'appearing'})
_LOOK_VERBS = frozenset({'look', 'looks', 'looked', 'looking'})
_GAZE_WORDS = frozenset({
    'at', 'to', 'away', 'down', 'up', 'around', 'toward', 'towards', 'into',
    'over', 'left', 'right', 'off', 'ahead', 'aside', 'back', 'forward',
    'straight', 'directly', 'sideways', 'upward', 'upwards', 'downward',
    'downwards', 'out', 'through', 'past', 'across', 'about', 'beyond'})
_DETERMINERS = frozenset({
    'a', 'an', 'the', 'his', 'her', 'their', 'its', 'some', 'any', 'this',
    'that', 'such', 'one', 'no'})
_INTENSIFIERS = frozenset({
    'very', 'slightly', 'quite', 'rather', 'somewhat', 'mildly', 'clearly',
    'visibly', 'obviously', 'deeply', 'extremely', 'really', 'fairly',
    'highly', 'slight', 'mild', 'faint', 'strong', 'intense', 'deep',
    'subtle', 'genuine', 'apparent', 'evident', 'obvious', 'clear',
    'certain', 'overall', 'general', 'more', 'most', 'less', 'a', 'bit',
    'little', 'so', 'too', 'almost', 'nearly', 'increasingly',
    'possibly', 'perhaps', 'likely', 'probably', 'maybe'})
_PREPOSITIONS = frozenset({
    'in', 'with', 'of', 'from', 'into', 'for', 'out', 'by', 'at'})
# Words that go with the emotion word they qualify: "a gentle smile".
_MODIFIERS = _INTENSIFIERS | _DETERMINERS | frozenset({
    'gentle', 'small', 'big', 'broad', 'large', 'huge', 'soft', 'warm',
    'brief', 'quick', 'sudden', 'sheepish', 'polite', 'forced', 'fake',
    'tight', 'thin', 'half', 'weak', 'wry', 'sly', 'knowing', 'wide',
    'toothy', 'closed', 'open', 'sincere', 'hint', 'trace', 'touch',
    'visible', 'noticeable', 'growing', 'rising', 'mounting', 'palpable',
    'pure', 'utter', 'sheer', 'great', 'hidden', 'suppressed',
    'restrained', 'controlled', 'momentary', 'fleeting', 'sharp'})
# Nouns an emotion word qualifies and that go with it: "a sad expression".
_EXPRESSION_NOUNS = frozenset({
    'expression', 'expressions', 'look', 'demeanor', 'demeanour', 'manner',
    'way', 'mood', 'state', 'tone', 'countenance', 'air', 'sense', 'sign',
    'signs', 'hint', 'hints', 'touch', 'trace', 'display', 'show', 'mix',
    'mixture', 'combination', 'kind', 'sort', 'type', 'feeling',
    'feelings', 'emotion', 'emotions', 'moment', 'reaction', 'response'})
# Words a clause must not end on once a word is removed from it.
_DANGLING = (_DETERMINERS | _PREPOSITIONS | _INTENSIFIERS
             | _ATTRIBUTION_VERBS | _LOOK_VERBS | frozenset({
                 'and', 'or', 'but', 'as', 'is', 'are', 'was', 'were', 'be',
                 'been', 'being', 'becomes', 'become', 'became', 'shows',
                 'show', 'showing', 'displays', 'display', 'displaying',
                 'wears', 'wearing', 'has', 'have', 'having', 'gives',
                 'giving', 'makes', 'making', 'forms', 'form', 'forming',
                 'into', 'to', 'than', 'like', 'conveys', 'expresses',
                 'remains', 'stays', 'turns', 'grows', 'gets', 'feels'}))
# Conjunctions that split a sentence into clauses ("as" only alone: not
# "as well as", "such as", "as if").
_CLAUSE_WORDS = frozenset({
    'and', 'but', 'while', 'whereas', 'as', 'although', 'though',
    'because', 'yet'})
_HARD_BOUNDARIES = frozenset({',', ';', ':', '—', '–'})
# Words left at the start once the clause before them is dropped.
_LEADING_CONNECTORS = frozenset({
    'and', 'but', 'while', 'whereas', 'as', 'with', 'although', 'though',
    'because', 'yet', 'so', 'which', 'also'})
# Words before a hedge that belong to it: "..., which may suggest".
_RELATIVE_WORDS = frozenset({'which', 'that', 'this', 'it', 'what'})
_HEDGE_LEAD_INS = _RELATIVE_WORDS | frozenset({
    'all', 'and', 'may', 'might', 'could', 'can', 'would', 'possibly',
    'perhaps', 'likely', 'probably', 'also', 'clearly', 'further',
    'thereby', 'with', 'of', 'in', 'giving', 'gives', 'creating',
    'creates', 'adding', 'adds', 'to', 'some', 'an', 'a', 'almost',
    'seemingly', 'again'})
# First words of hedges that are phrases, not verbs: "a sense of",
# "as if", "consistent with".
_PHRASE_HEDGE_HEADS = frozenset({
    'a', 'as', 'sense', 'signs', 'suggestive', 'indicative',
    'characteristic', 'typical', 'consistent', 'associated', 'in',
    'possibly', 'likely', 'probably'})

# --------------------------------------------------------------------------
# Tokens and matching
# --------------------------------------------------------------------------

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


_FACIAL_STEMS = frozenset(stem(w) for w in FACIAL_TERMS)
_HEDGE_TOKENS = tuple(sorted(
    (tuple(t.lower for t in tokenize(h)) for h in INTERPRETATION_HEDGES),
    key=len, reverse=True))


def has_facial_content(tokens: Sequence[Token]) -> bool:
    """Whether the tokens name a facial part or movement (a gaze counts:
    "looks to the left")."""
    for i, tok in enumerate(tokens):
        if tok.stem in _FACIAL_STEMS:
            return True
        if (tok.lower in _LOOK_VERBS and i + 1 < len(tokens)
                and tokens[i + 1].lower in _GAZE_WORDS):
            return True
    return False


def _attributes_state(tokens: Sequence[Token]) -> bool:
    """Whether the tokens attribute a state ("seems", "looks" + not a
    direction)."""
    for i, tok in enumerate(tokens):
        if tok.lower in _ATTRIBUTION_VERBS:
            return True
        if tok.lower in _LOOK_VERBS:
            after = tokens[i + 1].lower if i + 1 < len(tokens) else ''
            before = tokens[i - 1].lower if i else ''
            # "a look" is a noun; a gaze goes somewhere.
            if after not in _GAZE_WORDS and before not in _DETERMINERS:
                return True
    return False


def _hedge_at(tokens: Sequence[Token], i: int) -> int:
    """Length in tokens of the hedge starting at ``i`` (0: none)."""
    for hedge in _HEDGE_TOKENS:
        n = len(hedge)
        if tuple(t.lower for t in tokens[i:i + n]) == hedge:
            return n
    return 0


def _find_hedges(tokens: Sequence[Token]) -> List[Tuple[int, int]]:
    """``(start, length)`` of every hedge, left to right."""
    found, i = [], 0
    while i < len(tokens):
        n = _hedge_at(tokens, i)
        if n:
            found.append((i, n))
        i += max(n, 1)
    return found


# --------------------------------------------------------------------------
# Sentences
# --------------------------------------------------------------------------

# Lowercase words a period follows without ending the sentence. "etc." is
# not among them: it usually does end one.
ABBREVIATIONS = frozenset({
    'e.g', 'i.e', 'eg', 'ie', 'vs', 'approx', 'cf', 'mr', 'mrs', 'ms', 'dr',
    'prof', 'st', 'jr', 'sr', 'fig', 'ca', 'resp'})
_BOUNDARY = re.compile(r'[.!?]+["\')\]]*(\s+)')
_LAST_WORD = re.compile(r'(\w+(?:\.\w+)*)$')
_LIST_MARKER = re.compile(r'^\s*(?:\d+[.)]|[-*•])\s+')


def _ends_with_abbreviation(text: str) -> bool:
    match = _LAST_WORD.search(text)
    return bool(match) and match.group(1).lower() in ABBREVIATIONS


def split_sentences(text: str) -> List[str]:
    """Splits a description into sentences.

    A sentence ends at ``.``, ``!`` or ``?`` (with closing quotes or
    brackets) followed by white space and a capital letter, digit or
    opening quote, and at a line break. A decimal ("0.5") has no space
    after its point and an abbreviation ("e.g.", "i.e.", "Dr.") is not an
    end. List markers ("1.", "-") at line starts are removed.

    Args:
        text (str): The description.

    Returns:
        list[str]: The sentences, stripped, none empty.
    """
    sentences = []
    for line in text.splitlines():
        line = _LIST_MARKER.sub('', line).strip()
        start = 0
        for match in _BOUNDARY.finditer(line):
            nxt = line[match.end():match.end() + 1]
            if not (nxt.isupper() or nxt.isdigit() or nxt in '"\'(['):
                continue
            if _ends_with_abbreviation(line[start:match.start()]):
                continue
            sentences.append(line[start:match.start(1)].strip())
            start = match.end()
        sentences.append(line[start:].strip())
    return [s for s in sentences if s]


# --------------------------------------------------------------------------
# Refinement
# --------------------------------------------------------------------------


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


def _remove_spans(text: str, spans: Iterable[Tuple[int, int]]) -> str:
    """``text`` without the character ``spans`` (overlaps allowed)."""
    out, pos = [], 0
    for start, end in sorted(spans):
        out.append(text[pos:max(start, pos)])
        pos = max(pos, end)
    out.append(text[pos:])
    return re.sub(r' {2,}', ' ', ''.join(out))


def _terminal(tokens: Sequence[Token]) -> int:
    """Index of the sentence's closing punctuation run (len if none)."""
    end = len(tokens)
    while end and tokens[end - 1].text in '.!?"\')]':
        end -= 1
    return end


def _clause_start(tokens: Sequence[Token], i: int) -> int:
    """Index of the first token of the clause holding token ``i``."""
    while i and tokens[i - 1].text not in _HARD_BOUNDARIES:
        i -= 1
    return i


def _hedge_cut_start(tokens: Sequence[Token], i: int, n: int) -> int:
    """Where the cut of the hedge ``tokens[i:i+n]`` starts.

    A participle ("..., suggesting"), a relative clause ("which suggests")
    or a phrase ("with a sense of") goes from the hedge on, with the words
    leading into it. A finite verb ("The eyes express fear") is the
    clause's own verb: the whole clause goes, since what is left ("The
    eyes") says nothing.
    """
    start = i
    while start and tokens[start - 1].lower in _HEDGE_LEAD_INS:
        start -= 1
    lead_ins = {t.lower for t in tokens[start:i]}
    head = tokens[i].lower
    finite = (not head.endswith('ing') and head not in _PHRASE_HEDGE_HEADS
              and not lead_ins & _RELATIVE_WORDS)
    if finite or (start and tokens[start - 1].lower in _DANGLING):
        return _clause_start(tokens, start)
    if start and tokens[start - 1].text in (',', ';'):
        start -= 1
    return start


def _cut_hedges(sentence: str, stats: RefinementStats) -> str:
    """Cuts each hedge with what it introduces (to the next comma,
    semicolon or the sentence end) and the words leading into it."""
    tokens = tokenize(sentence)
    body_end = _terminal(tokens)
    spans, cut_to = [], 0
    for i, n in _find_hedges(tokens[:body_end]):
        if i < cut_to:  # inside the previous cut: "conveying a sense of"
            continue
        paren = _open_paren(tokens, i)
        if paren is not None:
            # "(a sign of anger)": the aside goes, the sentence goes on.
            start, end = paren, _close_paren(tokens, i, body_end)
        else:
            start = _hedge_cut_start(tokens, i, n)
            end = i + n
            while (end < body_end
                   and tokens[end].text not in _HARD_BOUNDARIES):
                end += 1
        cut_to = end
        stop = tokens[end].start if end < len(tokens) else len(sentence)
        spans.append((tokens[start].start, stop))
        stats.hedges_cut += 1
    return _remove_spans(sentence, spans) if spans else sentence


def _open_paren(tokens: Sequence[Token], i: int) -> Optional[int]:
    """Index of the unclosed "(" before token ``i``, or None."""
    depth = 0
    for j in range(i - 1, -1, -1):
        if tokens[j].text == ')':
            depth += 1
        elif tokens[j].text == '(':
            if not depth:
                return j
            depth -= 1
    return None


def _close_paren(tokens: Sequence[Token], i: int, end: int) -> int:
    """Index just past the ")" closing the parenthesis holding ``i`` (or
    ``end`` if it is never closed)."""
    for j in range(i, end):
        if tokens[j].text == ')':
            return j + 1
    return end


def _split_clauses(tokens: Sequence[Token]) -> List[Tuple[int, int]]:
    """Token ranges ``[a, b)`` of the separators between clauses, in order;
    adjacent separators (", and") form one."""
    seps: List[Tuple[int, int]] = []
    for i, tok in enumerate(tokens):
        before = tokens[i - 1].lower if i else ''
        after = tokens[i + 1].lower if i + 1 < len(tokens) else ''
        if tok.text in _HARD_BOUNDARIES:
            pass
        elif tok.lower in _CLAUSE_WORDS and i:
            if tok.lower == 'as' and (before in ('such', 'as', 'well')
                                      or after in ('well', 'if', 'though')):
                continue
        else:
            continue
        if seps and seps[-1][1] == i:
            seps[-1] = (seps[-1][0], i + 1)
        else:
            seps.append((i, i + 1))
    return seps


def _group_hits(tokens: Sequence[Token], hits: List[int]) -> List[List[int]]:
    """Groups emotion-word indices joined by "or"/"and" or modifiers
    ("joy or amusement", "surprised and scared")."""
    glue = _INTENSIFIERS | _DETERMINERS | {'or', 'and', '/', '-'}
    groups: List[List[int]] = []
    for i in hits:
        if groups and all(tokens[k].lower in glue
                          for k in range(groups[-1][-1] + 1, i)):
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _removal_span(tokens: Sequence[Token], first: int, last: int
                  ) -> Optional[Tuple[int, int]]:
    """Token range to remove for emotion words ``first..last``, or None when
    removing them would not leave a grammatical clause.

    Three shapes go cleanly: a prepositional phrase ("in surprise", "with a
    hint of fear", "into a smile"), an adverb ("nervously") and an
    adjective before a facial noun ("his nervous eyes").
    """
    end = last + 1
    while end < len(tokens) and tokens[end].lower in _EXPRESSION_NOUNS:
        end += 1
    end = _where_on_face(tokens, end)
    start = first
    while True:
        while start and tokens[start - 1].lower in _MODIFIERS:
            start -= 1
        # "an expression of", "a sense of": the head noun goes too.
        if (start >= 2 and tokens[start - 1].lower == 'of'
                and tokens[start - 2].lower in _EXPRESSION_NOUNS):
            start -= 2
            continue
        break
    if start and tokens[start - 1].lower in _PREPOSITIONS:
        start -= 1
        if start and tokens[start - 1].lower == 'out':  # "out of fear"
            start -= 1
        return start, end
    single = first == last and end == last + 1
    # An adverb has no determiner ("a jolly face" holds an adjective).
    if (single and tokens[first].lower.endswith('ly')
            and not any(t.lower in _DETERMINERS
                        for t in tokens[start:first])):
        return start, end
    if (end < len(tokens) and tokens[end].stem in _FACIAL_STEMS
            and end == last + 1):
        # Keep the determiner: "his nervous eyes" -> "his eyes".
        while start < first and tokens[start].lower in _DETERMINERS:
            start += 1
        return start, end
    return None


def _where_on_face(tokens: Sequence[Token], end: int) -> int:
    """Extends a removal past "on her face" / "across his lips": where the
    removed expression sat, meaningless without it."""
    if end < len(tokens) and tokens[end].lower in ('on', 'across'):
        k = end + 1
        while k < len(tokens) and tokens[k].lower in _DETERMINERS:
            k += 1
        if k < len(tokens) and tokens[k].stem in _FACIAL_STEMS:
            return k + 1
    return end


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
        """Refines one description (see the module docstring)."""
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
                or bool(_find_hedges(tokens)) or _attributes_state(tokens))

    def _refine_sentence(self, sentence: str, stats: RefinementStats) -> str:
        if self.is_pure_interpretation(sentence):
            stats.sentences_dropped += 1
            return ''
        sentence = _cut_hedges(sentence, stats)
        tokens = tokenize(sentence)
        body_end = _terminal(tokens)
        end_mark = '.'
        if body_end < len(tokens) and tokens[body_end].text in '!?':
            end_mark = tokens[body_end].text
        body = sentence[:tokens[body_end - 1].end] if body_end else ''
        refined = self._refine_clauses(body, stats)
        if refined != body and not has_facial_content(tokenize(refined)):
            # Only the setting is left: "In the video, <dropped>."
            stats.sentences_dropped += 1
            return ''
        return _tidy(refined, end_mark)

    def _refine_clauses(self, body: str, stats: RefinementStats) -> str:
        """Keeps, edits or drops each clause of a sentence body."""
        tokens = tokenize(body)
        seps = _split_clauses(tokens)
        # Clause k runs from the end of separator k-1 to the start of
        # separator k; separator k-1 is kept with it.
        starts = [0] + [tokens[b - 1].end for _, b in seps]
        ends = [tokens[a].start for a, _ in seps] + [len(body)]
        sep_texts = [''] + [body[tokens[a].start:tokens[b - 1].end]
                            for a, b in seps]
        pieces = [(sep, self._refine_clause(body[start:end], stats))
                  for sep, start, end in zip(sep_texts, starts, ends)]
        return _join_clauses(pieces)

    def _refine_clause(self, clause: str, stats: RefinementStats
                       ) -> Optional[str]:
        """The clause, edited, or None to drop it."""
        tokens = tokenize(clause)
        hits = [i for i, t in enumerate(tokens) if self.matcher.category(t)]
        facial = has_facial_content(tokens)
        if not hits:
            if tokens and not facial and _attributes_state(tokens):
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
        for group in _group_hits(tokens, hits):
            rng = _removal_span(tokens, group[0], group[-1])
            if rng is None:
                return None
            spans.append((tokens[rng[0]].start, tokens[rng[1] - 1].end))
        edited = _remove_spans(clause, spans)
        left = tokenize(edited)
        if (not left or not has_facial_content(left)
                or any(self.matcher.category(t) for t in left)
                or left[-1].lower in _DANGLING):
            return None
        return edited


def _join_clauses(pieces: List[Tuple[str, Optional[str]]]) -> str:
    """Joins ``(separator, clause or None)`` pieces, dropping the
    separator of each dropped clause (the following one for the first)."""
    out: List[str] = []
    first_dropped = False
    for sep, clause in pieces:
        if clause is None:
            if not out:
                first_dropped = True
            continue
        if not out:
            if first_dropped:
                clause = _strip_leading_connector(clause)
            out.append(clause)
        else:
            # _tidy closes the space a leading comma leaves: " , and".
            out.extend([' ', sep.strip(), ' ', clause])
    return ''.join(out)


def _strip_leading_connector(clause: str) -> str:
    tokens = tokenize(clause)
    while tokens and tokens[0].lower in _LEADING_CONNECTORS:
        clause = clause[tokens[0].end:]
        tokens = tokenize(clause)
    return clause


def _tidy(body: str, end_mark: str = '.') -> str:
    """Normalises spaces and punctuation; capitalises; closes with
    ``end_mark``. An empty body (or one of punctuation only) gives ''."""
    text = ' '.join(body.split())
    if text.count('(') != text.count(')'):
        # A cut went through a parenthesis: its other half is noise.
        text = text.replace('(', '').replace(')', '')
    text = re.sub(r'\(\s*\)', '', text)
    text = re.sub(r'\s+([,;:.!?)])', r'\1', text)
    text = re.sub(r'([,;:])(?:\s*[,;:])+', r'\1', text)
    text = re.sub(r'^[\s,;:.!?\-—–]+', '', text)
    text = re.sub(r'[\s,;:\-—–]+$', '', text)
    if not re.search(r'\w', text):
        return ''
    text = text[0].upper() + text[1:]
    if text[-1] not in '.!?':
        text += end_mark
    return text


# --------------------------------------------------------------------------
# Files (descriptions JSONL I/O lives in fineclip.datasets.descriptions)
# --------------------------------------------------------------------------


def read_labels(path: str) -> Dict[str, str]:
    """Reads clip labels: JSONL ``{"clip_id": ..., "label": ...}`` (a
    ``.jsonl``/``.json`` file) or CSV rows ``clip_id,label`` (an optional
    header row whose second cell is ``label`` is skipped).

    Returns:
        dict: ``{clip_id: label name}`` (labels as strings).

    Raises:
        ValueError: a malformed line or a clip given two labels; the
            message names the file and line.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f"Labels file '{path}' not found")
    if path.endswith(('.jsonl', '.json')):
        rows = _label_rows_jsonl(path)
    else:
        rows = _label_rows_csv(path)
    labels: Dict[str, str] = {}
    for where, clip_id, label in rows:
        if labels.get(clip_id, label) != label:
            raise ValueError(f'{where}: clip {clip_id!r} labelled '
                             f'{label!r}, earlier {labels[clip_id]!r}')
        labels[clip_id] = label
    return labels


def _label_rows_jsonl(path: str):
    with open(path, encoding='utf-8') as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f'{path}:{line_no}'
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f'{where}: not valid JSON ({err.msg})'
                                 ) from err
            if (not isinstance(record, dict) or 'clip_id' not in record
                    or 'label' not in record):
                raise ValueError(f"{where}: expected an object with "
                                 "'clip_id' and 'label'")
            yield where, str(record['clip_id']), str(record['label'])


def _label_rows_csv(path: str):
    with open(path, encoding='utf-8-sig', newline='') as f:
        for line_no, row in enumerate(csv.reader(f), start=1):
            if not row or not ''.join(row).strip():
                continue
            where = f'{path}:{line_no}'
            if len(row) != 2:
                raise ValueError(f"{where}: expected 'clip_id,label', got "
                                 f'{",".join(row)!r}')
            if line_no == 1 and row[1].strip().lower() == 'label':
                continue
            yield where, row[0].strip(), row[1].strip()


def labels_from_config(config: str, cfg_options: Optional[dict] = None
                       ) -> Dict[str, str]:
    """``{clip_id: class name}`` of every clip the config's train, val and
    test datasets list (built with no pipeline, no face maps, no
    descriptions and no hold-out). A clip the dataset skips (no frames on
    disk) gets no label and counts as unlabelled in the report.

    Raises:
        ValueError: a clip with different labels in two splits.
    """
    from fineclip.apis import load_config
    from fineclip.registry import DATASETS
    cfg = load_config(config, cfg_options)
    labels: Dict[str, str] = {}
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if key not in cfg or cfg[key] is None:
            continue
        for ds_cfg in _leaf_dataset_cfgs(cfg[key].dataset):
            ds_cfg.update(pipeline=[], face_map_dir=None,
                          description_file=None, holdout_fraction=0.0,
                          on_bad_clip='skip', max_bad_fraction=1.0)
            dataset = DATASETS.build(ds_cfg)
            for info in dataset.load_data_list():
                name = dataset.classes[info['label']]
                if labels.get(info['clip_id'], name) != name:
                    raise ValueError(
                        f"Clip {info['clip_id']} is labelled {name!r} in "
                        f"{key} and {labels[info['clip_id']]!r} elsewhere")
                labels[info['clip_id']] = name
    return labels


def _leaf_dataset_cfgs(ds_cfg) -> List[dict]:
    """Copies of the dataset configs inside wrappers (ConcatDataset's
    ``datasets``, RepeatDataset's ``dataset``), or of ``ds_cfg`` itself."""
    if 'datasets' in ds_cfg:
        return [leaf for sub in ds_cfg['datasets']
                for leaf in _leaf_dataset_cfgs(sub)]
    if 'dataset' in ds_cfg:
        return _leaf_dataset_cfgs(ds_cfg['dataset'])
    return [ds_cfg.copy()]


# --------------------------------------------------------------------------
# Leakage check: a text-only classifier
# --------------------------------------------------------------------------


def bag_of_stems(text: str) -> List[str]:
    """Lowercase Porter stems of the alphabetic words of ``text``."""
    return [t.stem for t in tokenize(text) if t.lower.isalpha()]


class _SparseRows:
    """Documents as unit-length word-presence rows, kept sparse.

    Presence rather than counts, so a word repeated in one description
    does not dominate; unit length keeps the gradient step of
    :class:`LogisticRegressionText` stable whatever the text length.
    """

    def __init__(self, docs: Sequence[Sequence[str]], vocab: Dict[str, int]):
        rows: List[int] = []
        cols: List[int] = []
        for i, doc in enumerate(docs):
            ids = sorted({vocab[w] for w in doc if w in vocab})
            rows += [i] * len(ids)
            cols += ids
        self.rows = np.asarray(rows, dtype=np.int64)
        self.cols = np.asarray(cols, dtype=np.int64)
        per_row = np.bincount(self.rows, minlength=len(docs))
        self.vals = 1.0 / np.sqrt(np.maximum(per_row, 1))[self.rows]
        self.shape = (len(docs), len(vocab))

    def dot(self, weight: np.ndarray) -> np.ndarray:
        """``X @ weight`` for a ``(V, C)`` weight."""
        return np.stack([
            np.bincount(self.rows, self.vals * weight[self.cols, c],
                        minlength=self.shape[0])
            for c in range(weight.shape[1])], axis=1)

    def tdot(self, grad: np.ndarray) -> np.ndarray:
        """``X.T @ grad`` for an ``(N, C)`` grad."""
        return np.stack([
            np.bincount(self.cols, self.vals * grad[self.rows, c],
                        minlength=self.shape[1])
            for c in range(grad.shape[1])], axis=1)


class LogisticRegressionText:
    """Multinomial logistic regression on bag-of-stems, in numpy.

    Discriminative on purpose: naive Bayes counts every co-occurring
    movement word as separate evidence, so on small sets a few chance
    correlations outvote one perfectly leaking word. Trained by full-batch
    gradient descent with momentum on the L2-penalised cross-entropy.

    Args:
        l2 (float): Weight of the L2 penalty.
        iterations (int): Gradient steps.
        lr (float): Step size.
        momentum (float): Heavy-ball momentum.
    """

    def __init__(self, l2: float = 1e-3, iterations: int = 300,
                 lr: float = 1.0, momentum: float = 0.9):
        self.l2, self.iterations = l2, iterations
        self.lr, self.momentum = lr, momentum
        self.vocab: Dict[str, int] = {}
        self.weight = np.zeros((0, 0))
        self.bias = np.zeros(0)

    def fit(self, docs: Sequence[Sequence[str]], labels: Sequence[int],
            num_classes: int) -> 'LogisticRegressionText':
        """Learns from tokenised documents and integer labels."""
        self.vocab = {}
        for doc in docs:
            for word in doc:
                self.vocab.setdefault(word, len(self.vocab))
        x = _SparseRows(docs, self.vocab)
        target = np.eye(num_classes)[np.asarray(labels)]
        self.weight = np.zeros((len(self.vocab), num_classes))
        self.bias = np.zeros(num_classes)
        vel_w, vel_b = np.zeros_like(self.weight), np.zeros_like(self.bias)
        for _ in range(self.iterations):
            grad = (self._proba(x) - target) / len(docs)
            vel_w = self.momentum * vel_w - self.lr * (
                x.tdot(grad) + self.l2 * self.weight)
            vel_b = self.momentum * vel_b - self.lr * grad.sum(axis=0)
            self.weight += vel_w
            self.bias += vel_b
        return self

    def _proba(self, x: _SparseRows) -> np.ndarray:
        logits = x.dot(self.weight) + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, docs: Sequence[Sequence[str]]) -> np.ndarray:
        """Most probable class per document; unseen words are ignored."""
        return self._proba(_SparseRows(docs, self.vocab)).argmax(axis=1)


def stratified_folds(labels: Sequence[int], k: int = 5, seed: int = 0
                     ) -> np.ndarray:
    """Fold index (0..k-1) per sample: each class dealt round-robin over
    the folds after a seeded shuffle, continuing where the last class
    stopped so fold sizes differ by at most one."""
    labels = np.asarray(labels)
    if len(labels) < k:
        raise ValueError(f'{k}-fold cross-validation needs at least {k} '
                         f'labelled samples, got {len(labels)}')
    rng = np.random.default_rng(seed)
    folds = np.empty(len(labels), dtype=int)
    offset = 0
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        folds[members] = (offset + np.arange(len(members))) % k
        offset += len(members)
    return folds


def cross_validate(texts: Sequence[str], labels: Sequence[str], k: int = 5,
                   seed: int = 0) -> Dict[str, float]:
    """Stratified k-fold accuracy and UAR (mean per-class recall) of
    :class:`LogisticRegressionText` predicting ``labels`` from ``texts``.

    Returns:
        dict: ``accuracy``, ``uar``, ``majority_share`` (accuracy of always
        answering the commonest class), ``uniform_chance`` (1 / classes),
        ``num_samples``, ``num_classes``, ``folds``, ``seed``.
    """
    names = sorted(set(labels))
    y = np.array([names.index(label) for label in labels])
    docs = [bag_of_stems(t) for t in texts]
    folds = stratified_folds(y, k, seed)
    pred = np.empty_like(y)
    for fold in range(k):
        test = folds == fold
        train = ~test
        model = LogisticRegressionText().fit(
            [docs[i] for i in np.flatnonzero(train)], y[train], len(names))
        pred[test] = model.predict([docs[i] for i in np.flatnonzero(test)])
    recalls = [float(np.mean(pred[y == c] == c)) for c in range(len(names))]
    counts = np.bincount(y, minlength=len(names))
    return dict(accuracy=float(np.mean(pred == y)),
                uar=float(np.mean(recalls)),
                majority_share=float(counts.max() / len(y)),
                uniform_chance=1.0 / len(names), num_samples=len(y),
                num_classes=len(names), folds=k, seed=seed)


def lexicon_share(texts: Sequence[str],
                  matcher: Optional[EmotionMatcher] = None
                  ) -> Tuple[float, Dict[str, int]]:
    """Share of ``texts`` holding an emotion word, and how many texts hold
    a word of each category."""
    matcher = matcher or EmotionMatcher()
    per_category: Counter = Counter()
    n_with = 0
    for text in texts:
        cats = {hit.category for hit in matcher.find(text)}
        n_with += bool(cats)
        per_category.update(cats)
    share = n_with / len(texts) if texts else 0.0
    return share, dict(sorted(per_category.items()))


def leakage_report(before: Sequence[str], after: Sequence[str],
                   labels: Optional[Sequence[Optional[str]]] = None,
                   stats: Optional[RefinementStats] = None,
                   k: int = 5, seed: int = 0,
                   matcher: Optional[EmotionMatcher] = None) -> dict:
    """Measures label leakage before and after refinement.

    Args:
        before (Sequence[str]): Original descriptions.
        after (Sequence[str]): Refined descriptions, same order.
        labels (Sequence[str | None], optional): Label per description
            (None: unlabelled, left out of the classifier). Without labels
            only the lexicon shares are reported.
        stats (RefinementStats, optional): Summed refinement statistics.
        k (int): Folds of the cross-validation.
        seed (int): Seed of the fold assignment.
        matcher (EmotionMatcher, optional): Emotion-word matcher.

    Returns:
        dict: ``num_descriptions``, ``lexicon`` (shares and per-category
        counts before/after), ``refinement`` (``stats``) and, with labels,
        ``classifier`` (before/after accuracy and UAR, chance levels,
        ``num_unlabelled``).
    """
    if len(before) != len(after):
        raise ValueError('before and after differ in length')
    matcher = matcher or EmotionMatcher()
    share_b, cats_b = lexicon_share(before, matcher)
    share_a, cats_a = lexicon_share(after, matcher)
    report = dict(
        num_descriptions=len(before),
        lexicon=dict(share_before=share_b, share_after=share_a,
                     categories_before=cats_b, categories_after=cats_a),
        refinement=asdict(stats) if stats is not None else None)
    if labels is not None:
        report['classifier'] = _classifier_section(before, after, labels, k,
                                                   seed)
    return report


def _classifier_section(before, after, labels, k, seed) -> dict:
    keep = [i for i, label in enumerate(labels) if label is not None]
    ys = [labels[i] for i in keep]
    res_b = cross_validate([before[i] for i in keep], ys, k, seed)
    res_a = cross_validate([after[i] for i in keep], ys, k, seed)
    section = {key: res_b[key] for key in (
        'majority_share', 'uniform_chance', 'num_samples', 'num_classes',
        'folds', 'seed')}
    section.update(accuracy_before=res_b['accuracy'],
                   accuracy_after=res_a['accuracy'],
                   uar_before=res_b['uar'], uar_after=res_a['uar'],
                   num_unlabelled=len(labels) - len(keep))
    return section
