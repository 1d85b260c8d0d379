"""A regex sentence splitter for descriptions.

NLTK's punkt model would need a corpus download; descriptions are short,
plain prose, so a boundary rule with an abbreviation list does.
"""
import re
from typing import List

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
