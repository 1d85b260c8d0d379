"""Rasterises a posed cartoon face into an RGB frame and a parsing map.

Frame and parsing map are drawn from the *same* smoothed polygons in the
same order, so every parsing label sits exactly where its colour is painted
(up to anti-aliased edges and thin decorative lines).
"""
from __future__ import annotations

import colorsys
import functools
from dataclasses import dataclass

import cv2
import numpy as np

from ..face_maps import PARSING_CLASSES  # noqa: F401 (re-exported)
from .face_model import ACTION_UNITS, FaceGeometry


# Painting order (later layers cover earlier ones) and parsing label of each
# layer. "left" means image-left, i.e. landmarks 17-21 and 36-41. The body
# (neck and shoulders) is painted but labelled background, as in LaPa.
_LAYERS = (('hair_back', 10), ('body', 0), ('ears', 1), ('face', 1),
           ('hair_front', 10), ('nose', 6), ('brow_left', 2),
           ('brow_right', 3), ('eye_left', 4), ('eye_right', 5),
           ('upper_lip', 7), ('lower_lip', 9), ('inner_mouth', 8))
_SPAN = np.linspace(-1, 1, 7)[:, None]  # sample positions along a crease
_SHIFT = 4  # cv2 sub-pixel bits: coordinates are passed as fixed point
_AU = {name: i for i, name in enumerate(ACTION_UNITS)}


@dataclass(frozen=True)
class Palette:
    """Colours of one identity (RGB tuples of floats in [0, 255])."""

    skin: tuple
    shade: tuple      # ears, nose, wrinkles: a darker skin
    line: tuple       # outlines
    hair: tuple
    brow: tuple
    lip: tuple
    mouth: tuple      # inner mouth
    iris: tuple
    body: tuple


def _hsv(h, s, v) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(h % 1.0, s, v)) * 255.0


def _tup(c) -> tuple:
    return tuple(float(v) for v in np.clip(c, 0, 255))


def sample_palette(rng: np.random.Generator) -> Palette:
    """Draws identity colours: natural or fantasy skin, hair, lips, clothes.

    Features are forced darker / more saturated than the skin so that they
    remain visible after downscaling, whatever the skin tint.

    Args:
        rng: Source of randomness.

    Returns:
        A :class:`Palette`.
    """
    if rng.random() < 0.65:  # natural: from dark brown to pale
        skin = (np.array([80.0, 52, 36]) + rng.normal(0, 8, 3)
                + rng.random() * np.array([172, 172, 166]))
    else:
        skin = _hsv(rng.random(), rng.uniform(0.2, 0.55),
                    rng.uniform(0.55, 0.95))
    skin = np.clip(skin, 40, 250)
    if rng.random() < 0.75:  # natural: black, browns, blond, ginger
        hair = _hsv(rng.uniform(0.02, 0.12), rng.uniform(0.3, 0.8),
                    rng.uniform(0.08, 0.85))
    else:
        hair = _hsv(rng.random(), rng.uniform(0.5, 0.9),
                    rng.uniform(0.4, 0.9))
    brow = hair * 0.5
    luma = np.array([0.299, 0.587, 0.114])
    brow *= min(1.0, 0.4 * (skin @ luma) / max(brow @ luma, 1.0))
    lip = _hsv(rng.uniform(-0.08, 0.03), rng.uniform(0.6, 0.95),
               rng.uniform(0.55, 0.9))
    if np.linalg.norm(lip - skin) < 90:
        lip *= 0.55
    return Palette(
        skin=_tup(skin), shade=_tup(skin * 0.9), line=_tup(skin * 0.4),
        hair=_tup(hair), brow=_tup(brow), lip=_tup(lip),
        mouth=_tup(rng.uniform([40, 5, 10], [80, 20, 35])),
        iris=_tup(_hsv(rng.random(), rng.uniform(0.4, 0.9),
                       rng.uniform(0.2, 0.5))),
        body=_tup(_hsv(rng.random(), rng.uniform(0.2, 0.9),
                       rng.uniform(0.2, 0.9))))


@functools.lru_cache(maxsize=None)
def _spline_matrix(n: int, closed: bool, steps: int) -> np.ndarray:
    """Catmull-Rom is linear in its control points: precompute the weights."""
    p = np.eye(n)
    if closed:
        ext, n_seg = np.concatenate([p[-1:], p, p[:2]]), n
    else:
        ext = np.concatenate([2 * p[:1] - p[1:2], p, 2 * p[-1:] - p[-2:-1]])
        n_seg = n - 1
    a, b, c, d = (ext[i:i + n_seg, None] for i in range(4))
    t = np.linspace(0, 1, steps, endpoint=False)[None, :, None]
    out = 0.5 * (2 * b + (c - a) * t + (2 * a - 5 * b + 4 * c - d) * t ** 2
                 + (3 * b - a - 3 * c + d) * t ** 3)
    out = out.reshape(-1, n)
    return out if closed else np.concatenate([out, p[-1:]])


def _smooth(points: np.ndarray, closed: bool, steps: int = 4) -> np.ndarray:
    """Densifies ``(N, 2)`` points with a Catmull-Rom spline through them."""
    points = np.asarray(points, dtype=np.float64)
    return _spline_matrix(len(points), closed, steps) @ points


def feature_polygons(face: FaceGeometry) -> dict:
    """All paintable regions of a face as pixel polygons, keyed by layer."""
    lm = face.landmarks.astype(np.float64)
    inner_up = _smooth(lm[[48, 60, 61, 62, 63, 64, 54]], False)
    inner_lo = _smooth(lm[[54, 64, 65, 66, 67, 60, 48]], False)
    outer_up = _smooth(lm[48:55], False)
    outer_lo = _smooth(lm[[54, 55, 56, 57, 58, 59, 48]], False)
    polys = {name: list(face.shapes[name]) for name in (
        'hair_back', 'ears', 'hair_front', 'nose', 'brow_left', 'brow_right')}
    polys.update(
        body=face.shapes['neck'],
        face=[_smooth(face.shapes['face'][0], True)],
        eye_left=[_smooth(lm[36:42], True)],
        eye_right=[_smooth(lm[42:48], True)],
        upper_lip=[np.concatenate([outer_up, inner_up[::-1]])],
        lower_lip=[np.concatenate([outer_lo, inner_lo[::-1]])],
        inner_mouth=[np.concatenate([inner_up, inner_lo])])
    return polys


def _fix(poly: np.ndarray) -> np.ndarray:
    return np.rint(poly * (1 << _SHIFT)).astype(np.int32)


def _fill(img, polys, colour, aa=True):
    if polys:
        cv2.fillPoly(img, [_fix(p) for p in polys], colour,
                     cv2.LINE_AA if aa else cv2.LINE_8, _SHIFT)


def _line(img, pts, colour, thickness, closed=False):
    cv2.polylines(img, [_fix(pts)], closed, colour, max(1, int(thickness)),
                  cv2.LINE_AA, _SHIFT)


def _paint_clipped(img, poly, paint):
    """Calls ``paint(layer, offset)`` and keeps the result only inside poly."""
    x0, y0 = np.maximum(np.floor(poly.min(0)).astype(int) - 1, 0)
    x1, y1 = np.minimum(np.ceil(poly.max(0)).astype(int) + 2, img.shape[1::-1])
    if x1 <= x0 or y1 <= y0:
        return
    roi = img[y0:y1, x0:x1]
    layer = roi.copy()
    paint(layer, np.array([x0, y0], dtype=np.float64))
    mask = np.zeros(roi.shape[:2], np.uint8)
    _fill(mask, [poly - [x0, y0]], 255)
    alpha = mask[..., None].astype(np.float32) / 255.0
    roi[:] = (layer * alpha + roi * (1 - alpha) + 0.5).astype(np.uint8)


def _eye(img, poly, lm, palette, scale):
    centre = (lm[0] + lm[3]) / 2
    radius = 0.28 * np.linalg.norm(lm[3] - lm[0])

    def paint(layer, off):
        layer[:] = (246, 246, 240)
        c = _fix(centre - off).tolist()
        for r, colour in ((radius, palette.iris), (radius / 2, (10, 10, 10))):
            cv2.circle(layer, c, int(r * (1 << _SHIFT)), colour, -1,
                       cv2.LINE_AA, _SHIFT)

    _paint_clipped(img, poly, paint)
    _line(img, _smooth(lm[:4], False), (20, 15, 15), scale / 55)


def _mouth(img, poly, lm, palette, scale):
    inner_up = _smooth(lm[[48, 60, 61, 62, 63, 64, 54]], False)
    teeth = np.concatenate([inner_up, inner_up[::-1] + [0, 0.04 * scale]])

    def paint(layer, off):
        layer[:] = palette.mouth
        _fill(layer, [teeth - off], (238, 235, 222))

    _paint_clipped(img, poly, paint)
    _line(img, inner_up, palette.mouth, scale / 80)


def _mix(a, b, t) -> tuple:
    t = float(np.clip(t, 0, 1))
    return tuple((1 - t) * x + t * y for x, y in zip(a, b))


def _crease(img, pts, palette, strength, scale):
    """Draws a crease whose contrast grows with strength (none if <= 0)."""
    if strength > 0:
        _line(img, pts, _mix(palette.shade, palette.line, strength),
              scale / 70)


def _creases(img, lm, au, palette, scale):
    """Skin creases that accompany strong movements (intensity -> contrast)."""
    ax = (lm[16] - lm[0]) / np.linalg.norm(lm[16] - lm[0])
    ay = np.array([-ax[1], ax[0]])  # points down the face
    brow_mid = lm[17:27].mean(0)
    raise_ = au[_AU['brow_raise']]
    for k in (1, 2):  # forehead lines above lifted brows
        arc = brow_mid + scale * (_SPAN * ax * 0.17 + _SPAN**2 * ay * 0.02
                                  - ay * (0.05 + 0.045 * k))
        _crease(img, arc, palette, raise_ - 0.2, scale)
    for side in (-1, 1):  # vertical lines between knitted brows
        base = (lm[21] + lm[22]) / 2 + side * ax * 0.018 * scale
        _crease(img, np.stack([base, base - ay * 0.06 * scale]), palette,
                -raise_ - 0.3, scale)
    nose_mid = (lm[28] + lm[29]) / 2
    for k in (-1, 0, 1):  # wrinkles across the bridge of the nose
        arc = nose_mid + scale * (ay * k * 0.02 + _SPAN * ax * 0.03)
        _crease(img, arc, palette, au[_AU['nose_wrinkle']] - 0.1, scale)
    fold = max(au[_AU['lip_corner']], au[_AU['upper_lip_raise']])
    for wing, corner in ((31, 48), (35, 54)):  # lines from nose wing to mouth
        out = lm[corner] - lm[wing]
        pts = np.stack([lm[wing] + out * 0.1 + (lm[wing] - lm[33]) * 0.3,
                        lm[wing] + out * 0.55 + (lm[wing] - lm[33]) * 0.5,
                        lm[corner] + (lm[corner] - lm[51]) * 0.15])
        _crease(img, _smooth(pts, False), palette, fold - 0.25, scale)


def render_frame(face: FaceGeometry, au: np.ndarray, palette: Palette,
                 background: np.ndarray,
                 polys: dict | None = None) -> np.ndarray:
    """Paints one frame.

    Args:
        face: Posed geometry from :func:`~.face_model.build_face`.
        au: Action-unit row used for the geometry (drives skin creases).
        palette: Identity colours.
        background: ``(H, W, 3)`` RGB uint8 image, not modified.
        polys: :func:`feature_polygons` of ``face`` if already computed.

    Returns:
        ``(H, W, 3)`` RGB uint8 frame.
    """
    img = background.copy()
    polys = polys or feature_polygons(face)
    lm, scale = face.landmarks.astype(np.float64), face.scale
    colours = dict(
        hair_back=palette.hair, body=palette.body, ears=palette.shade,
        face=palette.skin, hair_front=palette.hair, nose=palette.shade,
        brow_left=palette.brow, brow_right=palette.brow,
        upper_lip=_mix(palette.lip, (0, 0, 0), 0.2), lower_lip=palette.lip)
    for name, _ in _LAYERS:
        if name == 'eye_left':
            _eye(img, polys[name][0], lm[36:42], palette, scale)
        elif name == 'eye_right':
            _eye(img, polys[name][0], lm[42:48], palette, scale)
        elif name == 'inner_mouth':
            _mouth(img, polys[name][0], lm, palette, scale)
        else:
            _fill(img, polys[name], colours[name])
        if name == 'face':
            _line(img, polys['face'][0], palette.line, scale / 60, True)
        elif name == 'nose':
            _line(img, _smooth(lm[31:36], False), palette.line,
                  scale / 70)
            _creases(img, lm, au, palette, scale)
    return img


def render_parsing(face: FaceGeometry, size: int, image_size: int,
                   polys: dict | None = None) -> np.ndarray:
    """Rasterises the parsing map of a face (labels: :data:`PARSING_CLASSES`).

    Args:
        face: Posed geometry in ``image_size`` pixel coordinates.
        size: Side of the output map.
        image_size: Side of the frame the geometry was posed in.
        polys: :func:`feature_polygons` of ``face`` if already computed.

    Returns:
        ``(size, size)`` uint8 label map.
    """
    k = size / image_size
    out = np.zeros((size, size), np.uint8)
    polys = polys or feature_polygons(face)
    for name, label in _LAYERS:
        # pixel centres sit at integer coordinates in both grids
        scaled = [(p + 0.5) * k - 0.5 for p in polys[name]]
        _fill(out, scaled, int(label), aa=False)
    return out
