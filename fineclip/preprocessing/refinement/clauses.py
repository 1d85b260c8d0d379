"""Span surgery on a sentence's tokens: where hedges and emotion words are
cut, where clauses split, and how the pieces are joined and tidied.

These functions decide *how* text is removed; :mod:`.refiner` decides
*what* goes.
"""
import re
from typing import Iterable, List, Optional, Sequence, Tuple

from .function_words import (CLAUSE_WORDS, DANGLING, DETERMINERS,
                             EXPRESSION_NOUNS, HARD_BOUNDARIES,
                             HEDGE_LEAD_INS, INTENSIFIERS,
                             LEADING_CONNECTORS, MODIFIERS,
                             PHRASE_HEDGE_HEADS, PREPOSITIONS,
                             RELATIVE_WORDS)
from .tokens import FACIAL_STEMS, Token, find_hedges, tokenize


def remove_spans(text: str, spans: Iterable[Tuple[int, int]]) -> str:
    """``text`` without the character ``spans`` (overlaps allowed)."""
    out, pos = [], 0
    for start, end in sorted(spans):
        out.append(text[pos:max(start, pos)])
        pos = max(pos, end)
    out.append(text[pos:])
    return re.sub(r' {2,}', ' ', ''.join(out))


def terminal(tokens: Sequence[Token]) -> int:
    """Index of the sentence's closing punctuation run (len if none)."""
    end = len(tokens)
    while end and tokens[end - 1].text in '.!?"\')]':
        end -= 1
    return end


def _clause_start(tokens: Sequence[Token], i: int) -> int:
    """Index of the first token of the clause holding token ``i``."""
    while i and tokens[i - 1].text not in HARD_BOUNDARIES:
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
    while start and tokens[start - 1].lower in HEDGE_LEAD_INS:
        start -= 1
    lead_ins = {t.lower for t in tokens[start:i]}
    head = tokens[i].lower
    finite = (not head.endswith('ing') and head not in PHRASE_HEDGE_HEADS
              and not lead_ins & RELATIVE_WORDS)
    if finite or (start and tokens[start - 1].lower in DANGLING):
        return _clause_start(tokens, start)
    if start and tokens[start - 1].text in (',', ';'):
        start -= 1
    return start


def cut_hedges(sentence: str) -> Tuple[str, int]:
    """Cuts each hedge with what it introduces (to the next comma,
    semicolon or the sentence end) and the words leading into it.

    Returns:
        tuple: The sentence without its hedges, and how many were cut.
    """
    tokens = tokenize(sentence)
    body_end = terminal(tokens)
    spans, cut_to = [], 0
    for i, n in find_hedges(tokens[:body_end]):
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
                   and tokens[end].text not in HARD_BOUNDARIES):
                end += 1
        cut_to = end
        stop = tokens[end].start if end < len(tokens) else len(sentence)
        spans.append((tokens[start].start, stop))
    return (remove_spans(sentence, spans) if spans else sentence), len(spans)


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


def split_clauses(tokens: Sequence[Token]) -> List[Tuple[int, int]]:
    """Token ranges ``[a, b)`` of the separators between clauses, in order;
    adjacent separators (", and") form one."""
    seps: List[Tuple[int, int]] = []
    for i, tok in enumerate(tokens):
        before = tokens[i - 1].lower if i else ''
        after = tokens[i + 1].lower if i + 1 < len(tokens) else ''
        if tok.text in HARD_BOUNDARIES:
            pass
        elif tok.lower in CLAUSE_WORDS and i:
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


def group_hits(tokens: Sequence[Token], hits: List[int]) -> List[List[int]]:
    """Groups emotion-word indices joined by "or"/"and" or modifiers
    ("joy or amusement", "surprised and scared")."""
    glue = INTENSIFIERS | DETERMINERS | {'or', 'and', '/', '-'}
    groups: List[List[int]] = []
    for i in hits:
        if groups and all(tokens[k].lower in glue
                          for k in range(groups[-1][-1] + 1, i)):
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def removal_span(tokens: Sequence[Token], first: int, last: int
                 ) -> Optional[Tuple[int, int]]:
    """Token range to remove for emotion words ``first..last``, or None when
    removing them would not leave a grammatical clause.

    Three shapes go cleanly: a prepositional phrase ("in surprise", "with a
    hint of fear", "into a smile"), an adverb ("nervously") and an
    adjective before a facial noun ("his nervous eyes").
    """
    end = last + 1
    while end < len(tokens) and tokens[end].lower in EXPRESSION_NOUNS:
        end += 1
    end = _where_on_face(tokens, end)
    start = first
    while True:
        while start and tokens[start - 1].lower in MODIFIERS:
            start -= 1
        # "an expression of", "a sense of": the head noun goes too.
        if (start >= 2 and tokens[start - 1].lower == 'of'
                and tokens[start - 2].lower in EXPRESSION_NOUNS):
            start -= 2
            continue
        break
    if start and tokens[start - 1].lower in PREPOSITIONS:
        start -= 1
        if start and tokens[start - 1].lower == 'out':  # "out of fear"
            start -= 1
        return start, end
    single = first == last and end == last + 1
    # An adverb has no determiner ("a jolly face" holds an adjective).
    if (single and tokens[first].lower.endswith('ly')
            and not any(t.lower in DETERMINERS
                        for t in tokens[start:first])):
        return start, end
    if (end < len(tokens) and tokens[end].stem in FACIAL_STEMS
            and end == last + 1):
        # Keep the determiner: "his nervous eyes" -> "his eyes".
        while start < first and tokens[start].lower in DETERMINERS:
            start += 1
        return start, end
    return None


def _where_on_face(tokens: Sequence[Token], end: int) -> int:
    """Extends a removal past "on her face" / "across his lips": where the
    removed expression sat, meaningless without it."""
    if end < len(tokens) and tokens[end].lower in ('on', 'across'):
        k = end + 1
        while k < len(tokens) and tokens[k].lower in DETERMINERS:
            k += 1
        if k < len(tokens) and tokens[k].stem in FACIAL_STEMS:
            return k + 1
    return end


def join_clauses(pieces: List[Tuple[str, Optional[str]]]) -> str:
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
            # tidy closes the space a leading comma leaves: " , and".
            out.extend([' ', sep.strip(), ' ', clause])
    return ''.join(out)


def _strip_leading_connector(clause: str) -> str:
    tokens = tokenize(clause)
    while tokens and tokens[0].lower in LEADING_CONNECTORS:
        clause = clause[tokens[0].end:]
        tokens = tokenize(clause)
    return clause


def tidy(body: str, end_mark: str = '.') -> str:
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
