"""MediaPipeFaceAnalyzer on a real photo (matplotlib's Grace Hopper)."""
import os
import sys

import cv2
import numpy as np
import pytest
from matplotlib import cbook

from fineclip.datasets.face_maps import (LANDMARK_FLIP_ORDER,
                                         PARSING_FLIP_LABELS, FaceMaps)
from fineclip.preprocessing.face_analyzers import mediapipe_mesh as mpm
from fineclip.registry import FACE_ANALYZERS

# The analyser module imports mediapipe lazily; everything below needs it.
# It is an optional extra: skipped where it is not installed, except in CI,
# which installs it (README) and must run these tests.
if os.environ.get('CI') != 'true':
    pytest.importorskip('mediapipe')

PARSING_SIZE = 224
# The face in grace_hopper.jpg (512 x 600 px), generously boxed by eye:
# hat brim above, collar below, ears at the sides (x0, y0, x1, y1 pixels).
FACE_BOX = (140, 100, 390, 360)


def _photo():
    path = cbook.get_sample_data('grace_hopper.jpg', asfileobj=False)
    bgr = cv2.imread(str(path))
    assert bgr is not None and bgr.shape == (600, 512, 3)
    return np.ascontiguousarray(bgr[..., ::-1])


@pytest.fixture(scope='module')
def analyzer():
    # unrelated images in one batch: detect afresh in each
    with mpm.MediaPipeFaceAnalyzer(parsing_size=PARSING_SIZE,
                                   static_image_mode=True) as an:
        yield an


@pytest.fixture(scope='module')
def result(analyzer):
    """Photo, its mirror image and a blank gray frame in one batch."""
    photo = _photo()
    gray = np.full_like(photo, 128)
    return analyzer.analyze(np.stack([photo, photo[:, ::-1], gray]))


@pytest.fixture(scope='module')
def lm(result):
    """The photo's landmarks in pixels."""
    return result['landmarks'][0] * [512, 600]


def _label_at(parsing, point):
    """The parsing label under a normalised point."""
    size = parsing.shape[0]
    col, row = np.floor(np.asarray(point) * size).astype(int)
    return int(parsing[row, col])


def test_output_format(result):
    assert result['landmarks'].shape == (3, 68, 2)
    assert result['landmarks'].dtype == np.float32
    assert result['face_found'].dtype == np.bool_
    assert result['parsing'].shape == (3, PARSING_SIZE, PARSING_SIZE)
    assert result['parsing'].dtype == np.uint8
    FaceMaps(**result).validate()


def test_registered():
    assert FACE_ANALYZERS.get('MediaPipeFaceAnalyzer') is \
        mpm.MediaPipeFaceAnalyzer


def test_face_found_inside_face_box(result, lm):
    assert result['face_found'].tolist() == [True, True, False]
    x0, y0, x1, y1 = FACE_BOX
    assert (lm[:, 0] > x0).all() and (lm[:, 0] < x1).all()
    assert (lm[:, 1] > y0).all() and (lm[:, 1] < y1).all()
    top, bottom = lm[:, 1].min(), lm[:, 1].max()
    eyes_y = lm[36:48, 1]
    assert (eyes_y < (top + bottom) / 2).all()
    assert lm[51, 1] > lm[33, 1] > lm[27, 1]  # mouth below nose below eyes


def test_landmark_order(lm):
    x, y = lm[:, 0], lm[:, 1]
    assert (np.diff(x[0:17]) > 0).all()  # jaw runs left to right
    assert y[8] == y[0:17].max()  # chin lowest of the jaw
    assert x[17:22].max() < x[22:27].min()  # image-left brow first
    assert (np.diff(x[17:27]) > 0).all()
    assert x[36] < x[39] < x[42] < x[45]  # outer, inner corners
    assert x[39] < x[30] < x[42]  # nose tip between eyes
    assert (np.diff(y[27:31]) > 0).all()  # bridge runs downwards
    assert (np.diff(x[31:36]) > 0).all()
    assert y[37] < y[41] and y[38] < y[40]  # upper lid above lower
    assert y[43] < y[47] and y[44] < y[46]
    assert y[19] < y[37] and y[24] < y[44]  # brows above the eyes
    assert x[48] < x[51] < x[54] and x[60] < x[64]
    # Lips top to bottom; the mouth is closed, so 62 and 66 may touch.
    assert y[51] < min(y[62], y[66]) and max(y[62], y[66]) < y[57]


def test_parsing_regions(result):
    parsing, pts = result['parsing'][0], result['landmarks'][0]
    assert set(np.unique(parsing)) <= set(range(10))  # no hair label
    assert _label_at(parsing, pts[36:42].mean(0)) == 4
    assert _label_at(parsing, pts[42:48].mean(0)) == 5
    # Brow points lie on the brow's upper edge: step a little towards
    # the lid to land inside the brow.
    assert _label_at(parsing, 0.9 * pts[19] + 0.1 * pts[37]) == 2
    assert _label_at(parsing, 0.9 * pts[24] + 0.1 * pts[44]) == 3
    assert _label_at(parsing, pts[29]) == 6
    assert _label_at(parsing, (pts[51] + pts[62]) / 2) == 7
    assert _label_at(parsing, (pts[57] + pts[66]) / 2) == 9
    assert _label_at(parsing, (pts[62] + pts[66]) / 2) in (7, 8, 9)
    assert _label_at(parsing, (pts[3] + pts[48]) / 2) == 1  # cheek
    assert _label_at(parsing, (pts[8] + [0, 0.05])) == 0  # below chin
    assert parsing[0, 0] == 0


def test_no_face_gives_empty_maps(result):
    assert not result['face_found'][2]
    assert not result['landmarks'][2].any()
    assert not result['parsing'][2].any()


def test_mirror_image_gives_mirrored_maps(result):
    orig, flipped = result['landmarks'][:2]
    mirrored = flipped[LANDMARK_FLIP_ORDER].copy()
    mirrored[:, 0] = 1 - mirrored[:, 0]
    face_width = orig[16, 0] - orig[0, 0]
    assert np.abs(mirrored - orig).max() < 0.05 * face_width
    parsing = result['parsing'][0]
    unflipped = PARSING_FLIP_LABELS[result['parsing'][1][:, ::-1]]
    face = (parsing > 0) | (unflipped > 0)
    assert (parsing == unflipped)[face].mean() > 0.85


def _edges(pairs):
    return {frozenset(p) for p in pairs}


def _loop_edges(polygon):
    return {frozenset(p) for p in zip(polygon, polygon[1:] + polygon[:1])}


def test_tables_follow_mediapipe_contours():
    from mediapipe.python.solutions import face_mesh_connections as con

    def points(pairs):
        return {i for p in pairs for i in p}

    oval = _edges(con.FACEMESH_FACE_OVAL)
    assert _loop_edges(mpm.FACE_OVAL) == oval
    # MediaPipe's "right" is the subject's right, i.e. image left.
    assert _loop_edges(mpm.LEFT_EYE) == _edges(con.FACEMESH_RIGHT_EYE)
    assert _loop_edges(mpm.RIGHT_EYE) == _edges(con.FACEMESH_LEFT_EYE)
    assert _loop_edges(mpm.LEFT_BROW) > _edges(con.FACEMESH_RIGHT_EYEBROW)
    assert _loop_edges(mpm.RIGHT_BROW) > _edges(con.FACEMESH_LEFT_EYEBROW)
    lips = _loop_edges(mpm.UPPER_LIP) | _loop_edges(mpm.LOWER_LIP)
    assert lips > _edges(con.FACEMESH_LIPS)
    table = mpm.MESH_TO_IBUG68
    assert set(table[0:17]) <= points(con.FACEMESH_FACE_OVAL)
    assert set(table[17:22]) <= points(con.FACEMESH_RIGHT_EYEBROW)
    assert set(table[22:27]) <= points(con.FACEMESH_LEFT_EYEBROW)
    assert set(table[27:36]) <= points(con.FACEMESH_NOSE)
    assert set(table[36:42]) <= points(con.FACEMESH_RIGHT_EYE)
    assert set(table[42:48]) <= points(con.FACEMESH_LEFT_EYE)
    assert set(table[48:68]) <= points(con.FACEMESH_LIPS)
    assert len(set(table)) == 68


def test_video_mode_tracks_and_resets():
    photo = _photo()[::2, ::2]
    with mpm.MediaPipeFaceAnalyzer(
            parsing_size=32, static_image_mode=False,
            refine_landmarks=False) as an:
        first = an.analyze(np.stack([photo, photo]))
        an.reset()
        again = an.analyze(photo[None])
    assert first['face_found'].all() and again['face_found'].all()
    np.testing.assert_allclose(
        first['landmarks'][1], again['landmarks'][0], atol=0.02)


def test_rejects_non_rgb_batch(analyzer):
    with pytest.raises(ValueError, match='RGB'):
        analyzer.analyze(np.zeros((2, 8, 8), np.uint8))


def test_missing_mediapipe_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, 'mediapipe.python.solutions', None)
    with pytest.raises(ImportError, match='--no-deps mediapipe==0.10.21'):
        mpm.MediaPipeFaceAnalyzer()
