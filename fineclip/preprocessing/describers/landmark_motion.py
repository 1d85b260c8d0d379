"""An offline describer: facial movements read from landmark tracks.

:class:`LandmarkMotionDescriber` needs no model and no download. It reads a
clip's iBUG-68 landmarks (its face-map file, see
:mod:`fineclip.datasets.face_maps`), measures a few facial distances in
every frame, compares the frames after the start with the first frames (the
clip is assumed to start near a neutral face, as DFER clips usually do) and
words the changes that pass a threshold, e.g. *"Early in the clip, the
eyebrows clearly rise and the eyes strongly widen, then the mouth slightly
opens."* It names movements only, never an emotion.

Every frame is first put into an *eye frame*: the origin halfway between
the outer eye corners (36, 45), the x axis along them, ``y`` pointing down
and one unit the inter-ocular distance (IOD). Head translation, zoom and
in-plane roll then drop out; vertical positions are read from the eye line.

Measures (per frame, eye-frame units unless said otherwise):

================ ===========================================================
brow_height      height of the outer brow halves (17, 18, 25, 26) above the
                 eye centres (midpoint of each eye's corners)
inner_brow       height of the inner brow ends (21, 22) minus that of the
                 outer halves: the brows slant up toward the middle
brow_gap         distance between the inner brow ends (21-22), relative
eye_open         lid distances 37-41 and 38-40 over eye width 36-39, both
                 eyes averaged, relative (short dips are blinks, see below)
mouth_drop       how far the lower lip (57, 66) sits below the eye line
corner_height    height of the lip corners (48, 54): the eye line is the
                 reference rather than the lip centre, whose middle moves
                 whenever the lips part; sinking by up to a third of the
                 lower lip's drop is put down to an opening jaw
mouth_width      corner-to-corner distance 48-54, relative
upper_lip        height of the upper lip centre (51, 62), less the third of
                 the lower lip's drop that an opening jaw takes along
nostril_drop     how far the nostril base (31-35) sits below the eye line,
                 relative: it shrinks when the nose wrinkles
nostril_width    nostril wing distance 31-35, relative
================ ===========================================================

Each measure is smoothed over time (running median of 3 frames, then
running mean of 3) and its change from the baseline (median of the first
1-3 frames, :func:`baseline_frames`) is divided by the size of a full
movement of its kind (:data:`FULL_SCALE`), so that 1.0 means "as far as
that feature usually goes". The full sizes are the largest movements of
the project's synthetic face model (``fineclip.datasets.synthetic``),
which are of the order real faces show; they are not fitted to real data.
A change is described when its peak passes :data:`THRESHOLD` and stands
out of the track's frame-to-frame jitter (:data:`NOISE_FACTOR`), with an
intensity adverb (``slightly`` < 0.35 <= ``clearly`` < 0.7 <=
``strongly``) and its timing: when a change reaches half its peak decides
whether it is told as early, later, or after the others ("then ...").

Blinks are found as short, deep dips of the eye opening (below half the
opening a few frames before *and* after); they are reported and bridged
over, so a blink is never read as narrowing eyes.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np

from fineclip.registry import DESCRIBERS

from .base import BaseDescriber, ClipInput
from .motion_wording import (MOVEMENT_ORDER, NO_FACE_TEXT,  # noqa: F401
                             PHRASES, STILL_TEXT, Movement, word_movements)

#: Smallest scaled change worth describing.
THRESHOLD = 0.15
#: A movement must also exceed this many times its track's frame-to-frame
#: jitter (see :func:`noise_level`).
NOISE_FACTOR = 2.5
#: Size of a full movement of each kind: ``(upward/positive, downward/
#: negative)`` change of the measure that counts as 1.0. Brows go up much
#: further than they can go down, lids open less far than they can close.
FULL_SCALE = {
    'brow_raise': (0.18, 0.07),      # IOD
    'brow_knit': (0.3, 0.3),         # relative shrink of the brow gap
    'inner_brow': (0.17, 0.17),      # IOD
    'eye_open': (0.65, 0.75),        # relative
    'nose_wrinkle': (1.0, 1.0),      # already scaled, see _NOSE_CUES
    'upper_lip': (0.09, 0.09),       # IOD
    'lip_corner': (0.17, 0.17),      # IOD
    'mouth_open': (0.25, 0.25),      # IOD
    'mouth_width': (0.35, 0.3),      # relative
}
# A wrinkling nose lifts the nostril base toward the eyes and flares the
# wings; the nose track is the mean of both, each over its full size
# (relative shrink of nostril_drop, relative growth of nostril_width).
# The lift is the stronger cue: face-mesh landmarks barely flare the wings.
_NOSE_CUES = (0.12, 0.3)
# Share of the lower lip's drop that the lip corners follow when the jaw
# opens (their sinking up to this much is not a movement of their own).
_JAW_SHARE = 1 / 3

# iBUG-68 point groups
_OUTER_BROW = [17, 18, 25, 26]
_INNER_BROW = [21, 22]
_LEFT_CORNERS, _RIGHT_CORNERS = [36, 39], [42, 45]
_LIDS = [(37, 41), (38, 40), (43, 47), (44, 46)]
_NOSTRILS = [31, 32, 33, 34, 35]


def to_eye_frame(landmarks: np.ndarray) -> np.ndarray:
    """Maps landmarks into each frame's eye frame (see the module doc).

    Args:
        landmarks: ``(T, 68, 2)`` points in any consistent unit.

    Returns:
        ``(T, 68, 2)`` float64 points in inter-ocular units, the outer eye
        corners at ``(-0.5, 0)`` and ``(0.5, 0)``.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    left, right = lm[:, 36], lm[:, 45]
    axis = right - left
    iod = np.maximum(np.linalg.norm(axis, axis=-1), 1e-9)
    cos, sin = (axis / iod[:, None]).T
    rel = lm - ((left + right) / 2)[:, None]
    x = rel[..., 0] * cos[:, None] + rel[..., 1] * sin[:, None]
    y = -rel[..., 0] * sin[:, None] + rel[..., 1] * cos[:, None]
    return np.stack([x, y], axis=-1) / iod[:, None, None]


def _dist(pts: np.ndarray, a: int, b: int) -> np.ndarray:
    return np.linalg.norm(pts[:, a] - pts[:, b], axis=-1)


def _eye_centre_y(pts: np.ndarray, side_points: Sequence[int]) -> np.ndarray:
    # Eye corners, unlike the lids, stay put when the eyes widen or blink.
    return pts[:, side_points, 1].mean(axis=1)


def _brow_heights(pts: np.ndarray, points: Sequence[int]) -> np.ndarray:
    """Mean height of brow points above their own eye's centre."""
    left = _eye_centre_y(pts, _LEFT_CORNERS)
    right = _eye_centre_y(pts, _RIGHT_CORNERS)
    heights = [(left if p <= 21 else right) - pts[:, p, 1] for p in points]
    return np.mean(heights, axis=0)


def measure_face(landmarks: np.ndarray) -> Dict[str, np.ndarray]:
    """Per-frame facial measures (see the module docstring).

    Args:
        landmarks: ``(T, 68, 2)`` iBUG-68 points.

    Returns:
        dict: measure name -> ``(T,)`` float64 series.
    """
    pts = to_eye_frame(landmarks)
    y = pts[..., 1]
    widths = (_dist(pts, 36, 39) + _dist(pts, 42, 45)) / 2
    lids = np.mean([_dist(pts, a, b) for a, b in _LIDS], axis=0)
    mouth_drop = y[:, [57, 66]].mean(axis=1)
    return dict(
        brow_height=_brow_heights(pts, _OUTER_BROW),
        inner_brow=(_brow_heights(pts, _INNER_BROW)
                    - _brow_heights(pts, _OUTER_BROW)),
        brow_gap=_dist(pts, 21, 22),
        eye_open=lids / np.maximum(widths, 1e-9),
        mouth_drop=mouth_drop,
        corner_height=-y[:, [48, 54]].mean(axis=1),
        mouth_width=_dist(pts, 48, 54),
        upper_lip=-y[:, [51, 62]].mean(axis=1) - mouth_drop / 3,
        nostril_drop=y[:, _NOSTRILS].mean(axis=1),
        nostril_width=_dist(pts, 31, 35))


def find_blinks(eye_open: np.ndarray, window: int = 3,
                ratio: float = 0.5) -> np.ndarray:
    """Frames inside a blink: short, deep dips of the eye opening.

    A frame is a blink's low point when its opening is below ``ratio``
    times the widest opening among the ``window`` frames before it *and*
    among the ``window`` frames after it; a slow narrowing never dips
    below both, and landmark jitter rarely halves the opening. The frames
    next to a low point (lids half closed) belong to the blink too. The
    first and last frames cannot be judged.

    Returns:
        ``(T,)`` bool mask.
    """
    n = len(eye_open)
    low = np.zeros(n, bool)
    for t in range(1, n - 1):
        before = eye_open[max(0, t - window):t].max()
        after = eye_open[t + 1:t + 1 + window].max()
        low[t] = eye_open[t] < ratio * min(before, after)
    mask = low.copy()
    mask[1:] |= low[:-1]
    mask[:-1] |= low[1:]
    return mask


def _count_runs(mask: np.ndarray) -> int:
    return int(np.sum(mask[1:] & ~mask[:-1]) + mask[0])


def _bridge(series: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Replaces masked frames by interpolating their unmasked neighbours."""
    if not mask.any() or mask.all():
        return series
    t = np.arange(len(series))
    return np.interp(t, t[~mask], series[~mask])


def smooth_track(series: np.ndarray) -> np.ndarray:
    """A running median of 3 frames, then a running mean of 3.

    The median removes single-frame landmark glitches, the mean the
    remaining jitter; a facial movement lasts many frames and keeps its
    size. The ends repeat the first and last values.
    """
    if len(series) < 3:
        return series

    def windows(x):
        padded = np.concatenate([x[:1], x, x[-1:]])
        return np.stack([padded[:-2], padded[1:-1], padded[2:]])

    return windows(np.median(windows(series), axis=0)).mean(axis=0)


def noise_level(series: np.ndarray) -> float:
    """Frame-to-frame jitter of a track (robust standard deviation).

    Estimated from second differences, which a smooth movement barely
    changes but white jitter of standard deviation ``s`` spreads to
    ``s * sqrt(6)``; the median ignores the few frames where a movement
    starts or stops.
    """
    if len(series) < 3:
        return 0.0
    second = np.diff(series, n=2)
    return float(1.4826 * np.median(np.abs(second)) / np.sqrt(6))


def baseline_frames(num_frames: int) -> int:
    """How many first frames make the neutral baseline.

    One frame in short clips (an expression may start at once); up to three
    in long ones, whose median resists landmark jitter.
    """
    return int(np.clip(num_frames // 12, 1, 3))


def _scaled(delta: np.ndarray, name: str) -> np.ndarray:
    up, down = FULL_SCALE[name]
    return np.where(delta >= 0, delta / up, delta / down)


def _beyond_jaw(corner_rise: np.ndarray,
                mouth_drop: np.ndarray) -> np.ndarray:
    """Lip-corner rise, not counting the drop an opening jaw explains.

    The corners hang between the lips, so when the jaw opens they sink by
    up to :data:`_JAW_SHARE` of the lower lip's drop; only a sinking beyond
    that is the corners' own movement. Rises are kept as they are.
    """
    explained = _JAW_SHARE * np.maximum(mouth_drop, 0.0)
    sink = np.maximum(-corner_rise - explained, 0.0)
    return np.where(corner_rise >= 0, corner_rise, -sink)


def movement_tracks(measures: Dict[str, np.ndarray]
                    ) -> Dict[str, np.ndarray]:
    """Scaled changes from the baseline, one track per movement.

    Args:
        measures: Output of :func:`measure_face` (blinks already bridged
            in ``eye_open``).

    Returns:
        dict: movement name (a key of :data:`FULL_SCALE`) -> ``(T,)``
        change in full-movement units, positive = up / open / wider.
    """
    n = baseline_frames(len(next(iter(measures.values()))))
    base = {k: float(np.median(v[:n])) for k, v in measures.items()}

    def diff(key):
        return measures[key] - base[key]

    def rel(key):
        return diff(key) / max(abs(base[key]), 1e-9)

    lift, flare = _NOSE_CUES
    nose = 0.5 * (-rel('nostril_drop') / lift + rel('nostril_width') / flare)
    return dict(
        brow_raise=_scaled(diff('brow_height'), 'brow_raise'),
        brow_knit=_scaled(-rel('brow_gap'), 'brow_knit'),
        inner_brow=_scaled(diff('inner_brow'), 'inner_brow'),
        eye_open=_scaled(rel('eye_open'), 'eye_open'),
        nose_wrinkle=_scaled(nose, 'nose_wrinkle'),
        upper_lip=_scaled(diff('upper_lip'), 'upper_lip'),
        lip_corner=_scaled(_beyond_jaw(diff('corner_height'),
                                       diff('mouth_drop')), 'lip_corner'),
        mouth_open=_scaled(diff('mouth_drop'), 'mouth_open'),
        mouth_width=_scaled(rel('mouth_width'), 'mouth_width'))


def _movement(name: str, track: np.ndarray,
              noise: float) -> Optional[Movement]:
    """The peak of one smoothed track, if it stands out and has a phrase.

    It must pass :data:`THRESHOLD` and :data:`NOISE_FACTOR` times the
    track's jitter: with shaky landmarks only clear movements are told.
    """
    peak = int(np.argmax(np.abs(track)))
    sign = 1 if track[peak] >= 0 else -1
    magnitude = float(abs(track[peak]))
    if (magnitude < max(THRESHOLD, NOISE_FACTOR * noise)
            or (name, sign) not in PHRASES):
        return None
    reached = np.flatnonzero(sign * track >= 0.5 * magnitude)
    last = max(len(track) - 1, 1)
    return Movement(name, sign, magnitude, float(reached[0]) / last,
                    bool(sign * track[-1] < 0.5 * magnitude))


def find_movements(landmarks: np.ndarray) -> tuple:
    """The facial movements of a clip that pass the thresholds.

    Args:
        landmarks: ``(T, 68, 2)`` iBUG-68 points of the frames with a face,
            in frame order.

    Returns:
        tuple: ``(movements, blinks)``: :class:`Movement` items in face
        order (brows to mouth) and the number of blinks seen.
    """
    measures = measure_face(landmarks)
    blinks = find_blinks(measures['eye_open'])
    measures['eye_open'] = _bridge(measures['eye_open'], blinks)
    raw = movement_tracks(measures)
    smooth = movement_tracks({k: smooth_track(v)
                              for k, v in measures.items()})
    found = [_movement(name, smooth[name], noise_level(raw[name]))
             for name in FULL_SCALE]
    found = [m for m in found if m is not None]
    found.sort(key=lambda m: MOVEMENT_ORDER.index(m.name))
    return found, _count_runs(blinks)


def describe_landmarks(landmarks: np.ndarray,
                       face_found: Optional[np.ndarray] = None) -> str:
    """Describes the facial movements of one clip from its landmarks.

    Args:
        landmarks: ``(T, 68, 2)`` iBUG-68 points.
        face_found: Optional ``(T,)`` bool; frames without a face (which
            carry copies of a neighbour's points) are left out.

    Returns:
        str: One sentence; :data:`STILL_TEXT` when nothing moves enough,
        :data:`NO_FACE_TEXT` when no frame has a face.
    """
    landmarks = np.asarray(landmarks)
    if face_found is not None:
        landmarks = landmarks[np.asarray(face_found, bool)]
    if len(landmarks) == 0:
        return NO_FACE_TEXT
    if len(landmarks) < 2:
        return STILL_TEXT
    return word_movements(*find_movements(landmarks))


@DESCRIBERS.register_module()
class LandmarkMotionDescriber(BaseDescriber):
    """Offline describer: words the landmark movements of each clip.

    Works from face maps alone (no frames, no model, no download); see the
    module docstring for what is measured and how it is worded.

    Args:
        batch_size (int): Clips per :meth:`describe` call (the work is
            per clip; a larger batch only writes less often).
    """

    needs_frames = False
    needs_face_maps = True

    def __init__(self, batch_size: int = 32):
        super().__init__(batch_size=batch_size)

    def describe_batch(self, clips: List[ClipInput]) -> List[str]:
        return [describe_landmarks(c.face_maps.landmarks,
                                   c.face_maps.face_found) for c in clips]
