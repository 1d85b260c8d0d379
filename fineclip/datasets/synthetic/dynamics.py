"""Expression dynamics (action-unit tracks) and their plain-language captions.

Captions describe physical movements only; they never name an emotion, so a
text branch cannot simply read the label out of them.
"""
from __future__ import annotations

import numpy as np

from .face_model import ACTION_UNITS

SYNTHETIC_CLASSES = ('Happy', 'Sad', 'Neutral', 'Angry', 'Surprise',
                     'Disgust', 'Fear')

_APEX = {
    'Happy': dict(lip_corner=1.0, eye_open=-0.35, mouth_open=0.3,
                  lip_stretch=0.3),
    'Sad': dict(lip_corner=-0.9, inner_brow_raise=1.0, eye_open=-0.3,
                brow_raise=-0.1),
    'Neutral': {},
    'Angry': dict(brow_raise=-1.0, eye_open=-0.5, lip_stretch=0.4,
                  lip_corner=-0.15),
    'Surprise': dict(brow_raise=1.0, inner_brow_raise=0.3, eye_open=1.0,
                     mouth_open=1.0, lip_stretch=-0.5),
    'Disgust': dict(nose_wrinkle=1.0, upper_lip_raise=1.0, brow_raise=-0.4,
                    eye_open=-0.3, lip_corner=-0.3, mouth_open=0.1),
    'Fear': dict(brow_raise=0.6, inner_brow_raise=0.8, eye_open=0.85,
                 lip_stretch=1.0, mouth_open=0.4, lip_corner=-0.2),
}
#: ``(num_classes, num_action_units)`` apex intensities at full strength.
APEX_PROFILES = np.array([[_APEX[c].get(a, 0.0) for a in ACTION_UNITS]
                          for c in SYNTHETIC_CLASSES], dtype=np.float64)

# The four MAFW-only classes. Each differs from every other profile in at
# least one large, renderable movement (positive lip_stretch thins and
# presses the lips; negative mouth_open is not drawn, so it is not used).
_EXTRA_APEX = {
    # a mild lip-corner raise, eyes slightly narrowed, brows a little low
    'Contempt': dict(lip_corner=0.55, eye_open=-0.35, brow_raise=-0.35),
    # inner brows up, lips stretched thin, eyes a little wide, mouth closed
    'Anxiety': dict(inner_brow_raise=0.75, lip_stretch=0.65, eye_open=0.4),
    # slanted, raised brows, corners down, eyes narrowed, lips a bit apart
    'Helplessness': dict(inner_brow_raise=0.85, brow_raise=0.4,
                         lip_corner=-0.5, eye_open=-0.45, mouth_open=0.2),
    # corners down, brows slightly lowered, lips pressed thin
    'Disappointment': dict(lip_corner=-0.7, brow_raise=-0.35,
                           lip_stretch=0.35),
}
#: Every profile name, the seven basic classes first (in label order).
PROFILE_NAMES = SYNTHETIC_CLASSES + tuple(_EXTRA_APEX)
#: Other datasets' names for a profile (lower case), e.g. MAFW's.
PROFILE_ALIASES = {'happiness': 'Happy', 'sadness': 'Sad', 'anger': 'Angry',
                   'surprised': 'Surprise', 'disgusted': 'Disgust',
                   'fearful': 'Fear', 'happy': 'Happy', 'sad': 'Sad',
                   'angry': 'Angry'}
_PROFILE_ROWS = {
    name.lower(): np.array([{**_APEX, **_EXTRA_APEX}[name].get(a, 0.0)
                            for a in ACTION_UNITS], dtype=np.float64)
    for name in PROFILE_NAMES}
_BLINK = ACTION_UNITS.index('blink')

# (action unit, direction) -> (clip movement phrases, frame state phrases);
# "{a}" takes an intensity adverb.
_PHRASES = {
    ('brow_raise', 1): (
        ['the brows {a}rise', 'the eyebrows {a}lift', 'the brows {a}go up'],
        ['the brows are {a}raised', 'the eyebrows are {a}lifted']),
    ('brow_raise', -1): (
        ['the brows {a}lower and draw together',
         'the eyebrows {a}pull down and knit',
         'the brows are {a}drawn down toward the nose'],
        ['the brows are {a}lowered and knit',
         'the eyebrows are {a}pulled down together']),
    ('inner_brow_raise', 1): (
        ['the inner ends of the brows {a}lift', 'the inner brows {a}rise'],
        ['the inner brows are {a}raised',
         'the inner corners of the brows are {a}lifted']),
    ('inner_brow_raise', -1): (['the inner brows {a}drop'],
                               ['the inner brows are {a}lowered']),
    ('eye_open', 1): (
        ['the eyes {a}widen', 'the upper eyelids {a}lift',
         'the eyes {a}open wide'],
        ['the eyes are {a}widened', 'the eyelids are {a}pulled wide']),
    ('eye_open', -1): (
        ['the eyes {a}narrow', 'the eyelids {a}tighten', 'the eyes {a}squint'],
        ['the eyes are {a}narrowed', 'the eyelids are {a}tightened']),
    ('lip_corner', 1): (
        ['the lip corners {a}pull upward',
         'the corners of the mouth {a}turn up', 'the mouth corners {a}lift'],
        ['the lip corners are {a}pulled up',
         'the corners of the mouth are {a}turned up']),
    ('lip_corner', -1): (
        ['the lip corners {a}pull down',
         'the corners of the mouth {a}turn down', 'the mouth corners {a}sink'],
        ['the lip corners are {a}pulled down',
         'the corners of the mouth are {a}turned down']),
    ('mouth_open', 1): (
        ['the mouth {a}drops open', 'the jaw {a}drops and the lips part',
         'the lips {a}part'],
        ['the mouth is {a}open', 'the jaw is {a}lowered with the lips apart']),
    ('mouth_open', -1): (['the lips {a}press shut'],
                         ['the lips are {a}pressed']),
    ('lip_stretch', 1): (
        ['the lips {a}stretch sideways', 'the mouth {a}widens horizontally',
         'the lips {a}pull wide'],
        ['the lips are {a}stretched sideways', 'the mouth is {a}pulled wide']),
    ('lip_stretch', -1): (
        ['the lips {a}round', 'the mouth {a}narrows into an oval'],
        ['the lips are {a}rounded', 'the mouth is {a}narrowed into an oval']),
    ('nose_wrinkle', 1): (
        ['the nose {a}wrinkles', 'the nose {a}scrunches up',
         'creases {a}form across the nose'],
        ['the nose is {a}wrinkled', 'the nose is {a}scrunched up']),
    ('nose_wrinkle', -1): (['the nose {a}smooths out'],
                           ['the nose is {a}smoothed']),
    ('upper_lip_raise', 1): (
        ['the upper lip {a}lifts', 'the upper lip {a}curls up',
         'the upper lip {a}rises off the teeth'],
        ['the upper lip is {a}raised', 'the upper lip is {a}curled up']),
    ('upper_lip_raise', -1): (['the upper lip {a}lowers'],
                              ['the upper lip is {a}lowered']),
}
_ADVERBS = (['slightly ', 'faintly '], ['', 'clearly ', 'visibly '],
            ['strongly ', 'markedly '])
_STILL_CLIP = ('The face stays still throughout the clip.',
               'No clear facial movement; the features stay at rest.',
               'The features hold steady with the mouth closed.')
_STILL_FRAME = ('A face at rest with the mouth closed.',
                'The face is still, with no visible movement.',
                'All features are at rest.')
_OPENERS = (['Early in the clip, ', 'Almost at once, ', 'Right away, '],
            ['Partway through, ', 'After a still start, ',
             'Later in the clip, '])
_ENDINGS = (['', ', and the face holds there'],
            [', then the movement eases a little',
             ', before easing off slightly'])
_BLINKS = ('the eyes blink once', 'the eyelids close briefly')
_THRESHOLD = 0.15  # weaker movements are not worth mentioning


def apex_profile(label: int | str) -> np.ndarray:
    """The full-strength apex profile of a class.

    Args:
        label: 0-based index into :data:`SYNTHETIC_CLASSES`, or a class name
            from :data:`PROFILE_NAMES` or :data:`PROFILE_ALIASES`
            (case-insensitive; e.g. MAFW's ``'anger'`` gives ``'Angry'``).

    Returns:
        ``(K,)`` float64 intensities (a read-only view).

    Raises:
        KeyError: If the name is unknown.
    """
    if isinstance(label, str):
        key = label.strip().lower()
        key = PROFILE_ALIASES.get(key, key).lower()
        if key not in _PROFILE_ROWS:
            raise KeyError(f'no action-unit profile for class {label!r}; '
                           f'known: {list(PROFILE_NAMES)} and aliases '
                           f'{sorted(PROFILE_ALIASES)}')
        row = _PROFILE_ROWS[key]
    else:
        row = APEX_PROFILES[label]
    row = row.view()
    row.flags.writeable = False
    return row


def sample_apex(label: int | str, rng: np.random.Generator) -> np.ndarray:
    """Apex action units of one clip: the class profile, scaled and jittered.

    Args:
        label: 0-based index into :data:`SYNTHETIC_CLASSES`, or a class name
            (see :func:`apex_profile`).
        rng: Source of randomness.

    Returns:
        ``(K,)`` float64 intensities in ``[-1, 1]`` (blink is always 0).
    """
    strength = rng.uniform(0.6, 1.0)
    jitter = 1 + rng.normal(0, 0.1, len(ACTION_UNITS))
    apex = apex_profile(label) * strength * jitter
    apex += rng.normal(0, 0.04, len(ACTION_UNITS))
    apex[_BLINK] = 0.0
    return np.clip(apex, -1.0, 1.0)


def temporal_curve(num_frames: int, rng: np.random.Generator) -> np.ndarray:
    """Expression strength over time, 0 (neutral) to 1 (apex).

    Neutral until a random onset in the first 35 % of the clip, a smooth rise
    over 20-40 % of it, a hold, and in 30 % of clips a slight final decay.
    Frame 0 is always neutral and the apex is always reached; a single-frame
    clip shows the apex.

    Args:
        num_frames: Clip length ``T >= 1``.
        rng: Source of randomness.

    Returns:
        ``(T,)`` float64 curve.
    """
    if num_frames == 1:
        return np.ones(1)
    last = num_frames - 1
    onset = rng.uniform(0.0, 0.35) * last
    rise = rng.uniform(0.2, 0.4) * last
    t = np.arange(num_frames, dtype=np.float64)
    x = np.clip((t - onset) / rise, 0.0, 1.0)
    curve = x * x * (3 - 2 * x)
    if rng.random() < 0.3:
        start = onset + rise + rng.uniform(0.3, 0.7) * (last - onset - rise)
        fade = np.clip((t - start) / max(last - start, 1e-6), 0.0, 1.0)
        curve -= rng.uniform(0.05, 0.2) * fade
    return curve


def sample_action_units(label: int | str, num_frames: int,
                        rng: np.random.Generator) -> np.ndarray:
    """Samples the action-unit track of one clip.

    Args:
        label: 0-based class index or class name (see :func:`apex_profile`).
        num_frames: Clip length ``T``.
        rng: Source of randomness.

    Returns:
        ``(T, K)`` float32 track, columns ordered as :data:`ACTION_UNITS`.
    """
    apex = sample_apex(label, rng)
    au = temporal_curve(num_frames, rng)[:, None] * apex[None]
    # A slow, small wobble keeps even still faces alive between frames.
    t = np.arange(num_frames)[:, None] / max(num_frames, 8)
    phase = rng.uniform(0, 2 * np.pi, len(ACTION_UNITS))
    wobble = 0.02 * np.sin(2 * np.pi * t + phase)
    wobble[:, _BLINK] = 0.0
    au += wobble
    if num_frames >= 4 and rng.random() < 0.35:
        at = int(rng.integers(1, num_frames - 2))
        au[at, _BLINK] = 1.0
        au[at - 1:at + 2:2, _BLINK] = 0.4
    return au.astype(np.float32)


def _choose(options, rng):
    """The first option without an rng (canonical wording), else any one."""
    if rng is None:
        return options[0]
    return options[int(rng.integers(len(options)))]


def _clauses(row: np.ndarray, rng, state: bool) -> list[str]:
    """One phrase per visibly active action unit, strongest first."""
    items = [(abs(v), name, 1 if v > 0 else -1)
             for name, v in zip(ACTION_UNITS, row)
             if name != 'blink' and abs(v) >= _THRESHOLD]
    items.sort(reverse=True)
    if rng is not None and rng.random() < 0.5:
        items = [items[i] for i in rng.permutation(len(items))]
    out = []
    for mag, name, sign in items:
        options = _PHRASES[(name, sign)][int(state)]
        level = 0 if mag < 0.35 else (1 if mag < 0.7 else 2)
        adverb = _choose(_ADVERBS[level], rng)
        out.append(_choose(options, rng).format(a=adverb))
    return out


def _join(clauses: list[str]) -> str:
    if len(clauses) == 1:
        return clauses[0]
    return ', '.join(clauses[:-1]) + ' and ' + clauses[-1]


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:] + '.'


def describe_frame(action_units: np.ndarray,
                   rng: np.random.Generator | None = None) -> str:
    """Captions the facial state of one frame.

    Args:
        action_units: ``(K,)`` row of a clip's ``action_units`` array.
        rng: Optional source of phrasing variety; ``None`` gives a fixed
            canonical wording.

    Returns:
        A short sentence naming physical movements only.
    """
    row = np.asarray(action_units, dtype=np.float64)
    clauses = _clauses(row, rng, state=True)
    if row[_BLINK] > 0.5:
        clauses = [c for c in clauses if 'eye' not in c]
        clauses.append('the eyes are closed')
    if not clauses:
        return _choose(_STILL_FRAME, rng)
    return _sentence(_join(clauses))


def describe_action_units(action_units: np.ndarray,
                          rng: np.random.Generator | None = None) -> str:
    """Describes the facial movements of a clip in plain words.

    Args:
        action_units: ``(T, K)`` track (a ``(K,)`` apex row also works).
        rng: Optional source of phrasing / ordering variety; ``None`` gives a
            fixed canonical wording.

    Returns:
        One or two short sentences with no emotion words.
    """
    au = np.atleast_2d(np.asarray(action_units, dtype=np.float64))
    energy = np.abs(np.delete(au, _BLINK, axis=1)).sum(axis=1)
    apex_t = int(np.argmax(energy))
    clauses = _clauses(au[apex_t], rng, state=False)
    if au[:, _BLINK].max() > 0.5:
        clauses.append(_choose(_BLINKS, rng))
    if not clauses:
        return _choose(_STILL_CLIP, rng)
    onset = int(np.argmax(energy >= 0.5 * energy[apex_t]))
    late = onset > 0.3 * (len(au) - 1)
    eased = energy[-1] < 0.85 * energy[apex_t]
    opener = _choose([''] + _OPENERS[int(late)], rng)
    ending = _choose(_ENDINGS[int(eased)], rng)
    return _sentence(opener + _join(clauses) + ending)
