"""Rule-based refinement of MLLM facial-movement descriptions.

FineCLIPER asks Video-LLaVA for the movements of the facial features, but
the answers still name or imply the emotion ("..., suggesting joy"), which
leaks the label into the text branch (paper, appendix A.5). The paper
cleans them with regular filters and NLTK, then by hand. This package is
the automatic part, in two stages:

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
(stratified, seeded k-fold; scikit-learn, ``pip install
"fineclip[refine]"``), before and after, next to chance level; and, per
fold, the same classifier fitted on a fold's training descriptions and
scored on its test descriptions (:func:`fold_leakage`).

Modules, one job each:

- :mod:`.lexicon`: emotion words, hedges, facial terms (data);
- :mod:`.function_words`: the closed-class words clause rules use (data);
- :mod:`.tokens`: tokens, stems, the emotion matcher, hedge finder;
- :mod:`.sentences`: the sentence splitter;
- :mod:`.clauses`: cutting and joining spans of a sentence;
- :mod:`.refiner`: :class:`DescriptionRefiner`, what goes and what stays;
- :mod:`.labels`: clip labels from a JSONL/CSV file;
- :mod:`.leakage`: the leakage report.

Labels from a config's datasets come from
:func:`fineclip.apis.description_refinement.labels_from_config` (it loads
configs and builds datasets, a layer above preprocessing).
"""
from .labels import read_labels
from .leakage import (bag_of_stems, cross_validate, fold_leakage,
                      leakage_report, lexicon_share, require_scikit_learn,
                      train_to_test)
from .lexicon import (EMOTION_LEXICON, EXACT_ONLY, FACIAL_TERMS,
                      FALLBACK_TEXT, INTERPRETATION_HEDGES, NOT_IN_LEXICON)
from .refiner import DescriptionRefiner, RefinedDescription, RefinementStats
from .sentences import ABBREVIATIONS, split_sentences
from .tokens import (EmotionMatcher, LexiconHit, Token, has_facial_content,
                     stem, tokenize)

__all__ = [
    'ABBREVIATIONS', 'EMOTION_LEXICON', 'EXACT_ONLY', 'FACIAL_TERMS',
    'FALLBACK_TEXT', 'INTERPRETATION_HEDGES', 'NOT_IN_LEXICON',
    'DescriptionRefiner', 'EmotionMatcher', 'LexiconHit',
    'RefinedDescription', 'RefinementStats', 'Token', 'bag_of_stems',
    'cross_validate', 'has_facial_content', 'leakage_report',
    'lexicon_share', 'read_labels', 'require_scikit_learn',
    'split_sentences', 'stem', 'tokenize'
]
