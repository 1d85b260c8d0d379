"""Parametric geometry of a cartoon face.

Everything is computed in *face units* first: the origin is the centre of the
face, ``y`` points down, the hairline sits at ``y = -0.5`` and the chin at
``y = +0.5``, so one unit is the face height. A :class:`HeadPose` then maps
face units to image pixels (scale, in-plane rotation, translation).

The 68 landmarks follow the iBUG layout: jaw 0-16 (image left to image right),
brows 17-26 (17-21 is the subject's right brow, i.e. the image-left one),
nose 27-35, eyes 36-47 (36-41 image-left), outer lips 48-59, inner lips 60-67.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

ACTION_UNITS = ('brow_raise', 'inner_brow_raise', 'eye_open', 'lip_corner',
                'mouth_open', 'lip_stretch', 'nose_wrinkle',
                'upper_lip_raise', 'blink')
_AU = {name: i for i, name in enumerate(ACTION_UNITS)}

# Height of the jaw's upper ends (near the ears) in face units.
_JAW_TOP = -0.06
NUM_HAIR_STYLES = 4
_JAW_THETA = np.linspace(0.0, np.pi, 17)
_BROW_U = np.linspace(0.0, 1.0, 5)
_BROW_TAPER = np.linspace(0.3, 0.6, 5)[:, None]  # half thickness, outer->inner
_THIRDS = np.linspace(0.0, 1.0, 4)
# Lip points 48-67: position along the mouth (-1 = image-left corner), side
# (-1 upper lip, +1 lower lip, 0 inner corner) and relative lip thickness.
_LIP_U = np.array([-1, -2 / 3, -1 / 3, 0, 1 / 3, 2 / 3, 1, 2 / 3, 1 / 3, 0,
                   -1 / 3, -2 / 3, -0.88, -0.4, 0, 0.4, 0.88, 0.4, 0, -0.4])
_LIP_SIDE = np.array([-1] * 7 + [1] * 5 + [0, -1, -1, -1, 0, 1, 1, 1])
_LIP_THICK = np.array([1.0] * 7 + [1.25] * 5 + [0.0] * 8)


@dataclass(frozen=True)
class FaceIdentity:
    """Identity-specific shape parameters, all in face units."""

    aspect: float          # face width / face height
    jaw_power: float       # >1 narrows the lower face, <1 squares it
    eye_y: float
    eye_dx: float          # horizontal distance of each eye centre from 0
    eye_w: float           # half width of an eye
    eye_h: float           # upper-lid height of an open eye
    brow_gap: float        # vertical distance eye centre -> brow
    brow_len: float        # half length of a brow
    brow_arch: float
    brow_thickness: float
    nose_tip_y: float
    nose_w: float          # half width of the nostril wings
    mouth_y: float
    mouth_w: float         # half width of the mouth at rest
    lip_t: float           # upper-lip thickness
    hair_style: int        # 0 short, 1 long, 2 fringe, 3 bun
    hair_volume: float
    hairline: float


@dataclass(frozen=True)
class HeadPose:
    """Where the face sits in the image."""

    cx: float     # pixel position of the face centre
    cy: float
    scale: float  # face height (hairline to chin) in pixels
    roll: float   # in-plane rotation in radians, clockwise on screen

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Maps ``(N, 2)`` face-unit points to pixel coordinates."""
        cos, sin = np.cos(self.roll), np.sin(self.roll)
        rot = np.array([[cos, -sin], [sin, cos]]) * self.scale
        return points @ rot.T + np.array([self.cx, self.cy])


@dataclass
class FaceGeometry:
    """A posed face: landmarks plus the non-landmark outlines renderers need.

    ``shapes`` maps ``face``, ``ears``, ``neck``, ``hair_back``,
    ``hair_front``, ``brow_left``, ``brow_right`` and ``nose`` to lists of
    closed ``(N, 2)`` pixel polygons.
    """

    landmarks: np.ndarray  # (68, 2) float32 pixel coordinates (x, y)
    shapes: dict
    scale: float           # face height in pixels, for line thicknesses


def sample_identity(rng: np.random.Generator) -> FaceIdentity:
    """Draws a random face shape.

    Args:
        rng: Source of randomness.

    Returns:
        A :class:`FaceIdentity`.
    """
    aspect = rng.uniform(0.68, 0.88)
    style = int(rng.integers(NUM_HAIR_STYLES))
    return FaceIdentity(
        aspect=aspect, jaw_power=rng.uniform(0.7, 1.5),
        eye_y=rng.uniform(-0.09, -0.05),
        eye_dx=aspect / 2 * rng.uniform(0.42, 0.52),
        eye_w=rng.uniform(0.058, 0.072), eye_h=rng.uniform(0.026, 0.036),
        brow_gap=rng.uniform(0.07, 0.09), brow_len=rng.uniform(0.065, 0.085),
        brow_arch=rng.uniform(0.005, 0.025),
        brow_thickness=rng.uniform(0.02, 0.036),
        nose_tip_y=rng.uniform(0.12, 0.16), nose_w=rng.uniform(0.045, 0.065),
        mouth_y=rng.uniform(0.27, 0.31), mouth_w=rng.uniform(0.12, 0.155),
        lip_t=rng.uniform(0.028, 0.04), hair_style=style,
        hair_volume=rng.uniform(0.02, 0.09),
        hairline=rng.uniform(-0.32, -0.27) if style == 2
        else rng.uniform(-0.4, -0.34))


def _pos(value: float) -> float:
    return max(float(value), 0.0)


def _jaw(idt: FaceIdentity, au: np.ndarray) -> np.ndarray:
    theta = _JAW_THETA
    x = -idt.aspect / 2 * np.cos(theta)
    y = _JAW_TOP + (0.5 - _JAW_TOP) * np.sin(theta) ** idt.jaw_power
    # The jaw hinges: points below the mouth follow the dropping chin.
    below = np.clip((y - idt.mouth_y) / (0.5 - idt.mouth_y), 0.0, 1.0)
    y = y + 0.08 * _pos(au[_AU['mouth_open']]) * below
    return np.stack([x, y], axis=1)


def _brow(idt: FaceIdentity, au: np.ndarray, side: int) -> np.ndarray:
    """Five brow points ordered outer -> inner; side -1 is image-left."""
    u = _BROW_U  # 0 = outer end, 1 = inner end
    raise_ = float(au[_AU['brow_raise']])
    lower = _pos(-raise_)
    x = side * (idt.eye_dx + idt.brow_len * (1 - 2 * u))
    arch = idt.brow_arch + 0.015 * _pos(raise_)
    y = idt.eye_y - idt.brow_gap - arch * np.sin(np.pi * (0.15 + 0.75 * u))
    # Lowering is capped so the inner ends stop just above the upper lids.
    y = (y - 0.09 * _pos(raise_) + lower * (0.025 + 0.03 * u)
         - 0.09 * au[_AU['inner_brow_raise']] * u ** 1.5)
    # Knitting slides the inner ends toward the midline.
    x = x - side * 0.035 * lower * u
    return np.stack([x, y], axis=1)


def _eye(idt: FaceIdentity, au: np.ndarray, side: int) -> np.ndarray:
    """Six eye points, left-to-right corner, upper lid, other corner, lower."""
    e = float(au[_AU['eye_open']])
    shut = 1.0 - float(np.clip(au[_AU['blink']], 0.0, 1.0))
    upper = idt.eye_h * (1 + (0.9 if e > 0 else 0.8) * e) * shut
    # Narrowing pushes the lower lid up, as a raised cheek does.
    lower = idt.eye_h * 0.7 * (1 + (0.3 if e > 0 else 0.7) * e) * shut
    cx, w = side * idt.eye_dx, idt.eye_w
    x = cx + w * np.array([-1.0, -0.35, 0.35, 1.0, 0.35, -0.35])
    y = idt.eye_y + 0.95 * np.array([0, -upper, -upper, 0, lower, lower])
    return np.stack([x, y], axis=1)


def _nose(idt: FaceIdentity, au: np.ndarray) -> np.ndarray:
    lift = 0.03 * _pos(au[_AU['nose_wrinkle']]) + 0.01 * _pos(
        au[_AU['upper_lip_raise']])
    tip = idt.nose_tip_y - 0.5 * lift
    base = idt.nose_tip_y + 0.025 - lift
    bridge = np.stack([np.zeros(4), idt.eye_y + (tip - idt.eye_y) * _THIRDS],
                      axis=1)
    nw = idt.nose_w * (1 + 0.3 * _pos(au[_AU['nose_wrinkle']]))
    wings = np.array([[-nw, base - 0.02], [-nw / 2, base - 0.003], [0, base],
                      [nw / 2, base - 0.003], [nw, base - 0.02]])
    return np.concatenate([bridge, wings])


def _mouth(idt: FaceIdentity, au: np.ndarray) -> np.ndarray:
    """Twenty lip points: outer 48-59 then inner 60-67."""
    corner = float(au[_AU['lip_corner']])
    stretch = float(au[_AU['lip_stretch']])
    half_w = idt.mouth_w * (1 + 0.35 * _pos(stretch) - 0.3 * _pos(-stretch)
                            + 0.15 * _pos(corner))
    gap = 0.17 * _pos(au[_AU['mouth_open']])
    lip_raise = 0.045 * _pos(au[_AU['upper_lip_raise']])
    thin = 1 - 0.2 * _pos(stretch)  # stretched lips press thin
    u, side = _LIP_U, _LIP_SIDE
    mid = idt.mouth_y - 0.085 * corner * u ** 2  # where the lips meet
    prof = (1 - u ** 2) ** 0.6  # opening is widest in the middle
    opening = np.where(side < 0, -(0.25 * gap + lip_raise) * prof,
                       np.where(side > 0, 0.75 * gap * prof, 0.0))
    bulge = side * _LIP_THICK * idt.lip_t * thin * np.sqrt(1 - u ** 2)
    return np.stack([u * half_w, mid + opening + bulge], axis=1)


def canonical_landmarks(idt: FaceIdentity, au: np.ndarray) -> np.ndarray:
    """Computes the 68 landmarks in face units.

    Args:
        idt: Face shape.
        au: Action-unit intensities, ordered as :data:`ACTION_UNITS`.

    Returns:
        ``(68, 2)`` float64 array in face units.
    """
    return np.concatenate([
        _jaw(idt, au), _brow(idt, au, -1), _brow(idt, au, 1)[::-1],
        _nose(idt, au), _eye(idt, au, -1), _eye(idt, au, 1), _mouth(idt, au)])


def _arc(rx: float, ry: float, cy: float, start: float, stop: float,
         n: int = 24) -> np.ndarray:
    t = np.linspace(start, stop, n)
    return np.stack([rx * np.cos(t), cy - ry * np.sin(t)], axis=1)


def _brow_polygon(idt: FaceIdentity, centre: np.ndarray) -> np.ndarray:
    """Thickens an outer->inner brow centre line into a tapered polygon."""
    tangent = np.gradient(centre, axis=0)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    half = idt.brow_thickness * _BROW_TAPER
    return np.concatenate([centre + normal * half,
                           (centre - normal * half)[::-1]])


def _hair(idt: FaceIdentity) -> tuple[list, list]:
    """Front hair cap (over the forehead) and optional back hair."""
    hw, side_y = idt.aspect / 2, _JAW_TOP - 0.1
    top = 0.5 + idt.hair_volume
    outer = _arc(hw * 1.08, top + side_y, side_y, 0.0, np.pi)
    hairline = _arc(hw * 0.98, side_y - idt.hairline, side_y, np.pi, 0.0)
    if idt.hair_style == 2:  # a fringe: scalloped hairline
        hairline[:, 1] += 0.025 * np.abs(np.sin(np.linspace(0, 5 * np.pi, 24)))
    front = [np.concatenate([outer, hairline])]
    back = []
    if idt.hair_style == 1:
        back.append(np.concatenate([
            _arc(hw * 1.25, top + side_y, side_y, 0.0, np.pi),
            [[-hw * 1.25, 0.38], [hw * 1.25, 0.38]]]))
    elif idt.hair_style == 3:
        t = np.linspace(0, 2 * np.pi, 20)
        back.append(np.stack([0.13 * np.cos(t), -0.5 - idt.hair_volume
                              - 0.06 + 0.1 * np.sin(t)], axis=1))
    return front, back


@functools.lru_cache(maxsize=32)
def _static_outlines(idt: FaceIdentity) -> dict:
    """Outlines that depend on the identity only (computed once per face)."""
    hw = idt.aspect / 2
    forehead = _arc(hw, _JAW_TOP + 0.5, _JAW_TOP, 0.0, np.pi)
    t = np.linspace(0, 2 * np.pi, 16)
    ears = [np.stack([s * hw * 0.98 + 0.045 * np.cos(t),
                      idt.eye_y + 0.07 + 0.085 * np.sin(t)], axis=1)
            for s in (-1, 1)]
    neck = np.array([[-hw * 0.45, 0.2], [hw * 0.45, 0.2], [hw * 0.55, 0.8],
                     [hw * 2.2, 0.95], [hw * 2.4, 1.6], [-hw * 2.4, 1.6],
                     [-hw * 2.2, 0.95], [-hw * 0.55, 0.8]])
    front, back = _hair(idt)
    return {'forehead': forehead, 'ears': ears, 'neck': [neck],
            'hair_back': back, 'hair_front': front}


def _outlines(idt: FaceIdentity, pts: np.ndarray) -> dict:
    outlines = dict(_static_outlines(idt))
    nose = pts[27:36]
    nose_region = np.concatenate([
        [[-0.022, idt.eye_y + 0.02]], nose[4:5] + [-0.012, -0.02], nose[4:],
        nose[8:9] + [0.012, -0.02], [[0.022, idt.eye_y + 0.02]]])
    outlines.update(
        face=[np.concatenate([pts[:17], outlines.pop('forehead')])],
        brow_left=[_brow_polygon(idt, pts[17:22])],
        brow_right=[_brow_polygon(idt, pts[26:21:-1])], nose=[nose_region])
    return outlines


def build_face(idt: FaceIdentity, au: np.ndarray, pose: HeadPose,
               canonical: np.ndarray | None = None) -> FaceGeometry:
    """Poses a face with the given expression.

    Args:
        idt: Face shape.
        au: Action-unit intensities, ordered as :data:`ACTION_UNITS`.
        pose: Placement in the image.
        canonical: ``canonical_landmarks(idt, au)`` if already computed.

    Returns:
        A :class:`FaceGeometry` in pixel coordinates.
    """
    pts = canonical if canonical is not None else canonical_landmarks(
        idt, np.asarray(au, dtype=np.float64))
    outlines = _outlines(idt, pts)
    # Transform everything in one matrix product, then cut it apart again.
    parts = [pts] + [poly for polys in outlines.values() for poly in polys]
    posed = iter(np.split(pose.apply(np.concatenate(parts)),
                          np.cumsum([len(p) for p in parts])[:-1]))
    landmarks = next(posed).astype(np.float32)
    shapes = {name: [next(posed) for _ in polys]
              for name, polys in outlines.items()}
    return FaceGeometry(landmarks, shapes, pose.scale)
