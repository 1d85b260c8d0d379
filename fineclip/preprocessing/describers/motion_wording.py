"""Wording facial movements as one sentence (movements only, never an
emotion): the second half of :mod:`.landmark_motion`, kept apart so the
measuring and the wording can each be read (and changed) alone."""
from typing import List, NamedTuple

import numpy as np

#: Scaled changes from which the adverb becomes "clearly" / "strongly".
CLEARLY, STRONGLY = 0.35, 0.7
#: Which movements are worded, top of the face to the bottom; a movement's
# negative side is described only where it means something of its own.
PHRASES = {
    ('brow_raise', 1): 'the eyebrows {a}rise',
    ('brow_raise', -1): 'the eyebrows {a}lower',
    ('brow_knit', 1): 'the eyebrows {a}draw together',
    ('inner_brow', 1): 'the inner ends of the eyebrows {a}lift',
    ('eye_open', 1): 'the eyes {a}widen',
    ('eye_open', -1): 'the eyes {a}narrow',
    ('nose_wrinkle', 1): 'the nose {a}wrinkles',
    ('upper_lip', 1): 'the upper lip {a}lifts',
    ('lip_corner', 1): 'the corners of the mouth {a}pull up',
    ('lip_corner', -1): 'the corners of the mouth {a}turn down',
    ('mouth_open', 1): 'the mouth {a}opens',
    ('mouth_open', -1): 'the mouth {a}closes',
    ('mouth_width', 1): 'the lips {a}stretch sideways',
    ('mouth_width', -1): 'the mouth {a}narrows',
}
MOVEMENT_ORDER = [name for name, _ in PHRASES]
STILL_TEXT = 'The face stays mostly still.'
NO_FACE_TEXT = 'No face is visible in the clip.'
_BLINK_WORDS = {1: 'once', 2: 'twice'}


class Movement(NamedTuple):
    """One facial movement found in a clip.

    Attributes:
        name: Key of :data:`FULL_SCALE` (e.g. ``'brow_raise'``).
        sign: ``1`` up / open / wider, ``-1`` the opposite.
        magnitude: Peak change in full-movement units (>= 0).
        onset: Fraction of the clip (0-1) where the change first reaches
            half its peak.
        eased: Whether less than half of the peak change is left at the
            end of the clip.
    """

    name: str
    sign: int
    magnitude: float
    onset: float
    eased: bool


def _adverb(magnitude: float) -> str:
    if magnitude >= STRONGLY:
        return 'strongly '
    return 'clearly ' if magnitude >= CLEARLY else 'slightly '


def _merge(movements: List[Movement]) -> List[tuple]:
    """Pairs movements that read as one: ``(phrase, magnitude, onset)``.

    Lowered brows that also knit are told as one movement; a mouth that
    widens no more than its rising corners explain (corners pull up *and
    out*) is folded into the corners' phrase.
    """
    by_name = {m.name: m for m in movements}
    brow, knit = by_name.get('brow_raise'), by_name.get('brow_knit')
    corner, width = by_name.get('lip_corner'), by_name.get('mouth_width')
    extra, skip = {}, set()
    if brow and knit and brow.sign < 0:
        extra['brow_raise'] = ' and draw together'
        skip.add('brow_knit')
    if (corner and width and corner.sign > 0 and width.sign > 0
            and width.magnitude <= 1.5 * corner.magnitude):
        extra['lip_corner'] = ' and outward'
        skip.add('mouth_width')
    phrases = []
    for m in movements:
        if m.name in skip:
            continue
        magnitude = m.magnitude
        if m.name == 'brow_raise' and 'brow_raise' in extra:
            magnitude = max(magnitude, knit.magnitude)
        text = PHRASES[(m.name, m.sign)].format(a=_adverb(magnitude))
        phrases.append((text + extra.get(m.name, ''), m.onset))
    return phrases


def _join(clauses: List[str]) -> str:
    if len(clauses) == 1:
        return clauses[0]
    return ', '.join(clauses[:-1]) + ' and ' + clauses[-1]


def _split_in_time(phrases: List[tuple], gap: float = 0.2) -> List[list]:
    """One group, or two where the onsets leave a gap of ``gap`` of the
    clip (the later group is told after "then")."""
    onsets = sorted({onset for _, onset in phrases})
    steps = np.diff(onsets)
    if not len(steps) or steps.max() < gap:
        return [phrases]
    cut = onsets[int(np.argmax(steps)) + 1]
    return [[p for p in phrases if p[1] < cut],
            [p for p in phrases if p[1] >= cut]]


def word_movements(movements: List[Movement], blinks: int = 0) -> str:
    """Words movements as one sentence (no emotion words).

    Args:
        movements: Output of :func:`find_movements`.
        blinks: Number of blinks.

    Returns:
        str: e.g. ``'Early in the clip, the eyebrows clearly rise and the
        eyes widen slightly, then the mouth slightly opens.'``, or
        :data:`STILL_TEXT`.
    """
    phrases = _merge(movements)
    if not phrases and not blinks:
        return STILL_TEXT
    groups = _split_in_time(phrases) if phrases else [[]]
    clauses = [[text for text, _ in group] for group in groups]
    if blinks:
        times = _BLINK_WORDS.get(blinks, 'several times')
        clauses[-1].append(f'the eyes blink {times}')
    text = ', then '.join(_join(c) for c in clauses)
    if phrases:
        first = min(onset for _, onset in groups[0])
        if first <= 0.15:
            text = 'early in the clip, ' + text
        elif first >= 0.45:
            text = 'later in the clip, ' + text
    if movements and all(m.eased for m in movements):
        text += ', before the face eases back'
    return text[0].upper() + text[1:] + '.'
