"""Face detectors (MTCNN) and the face tracker behind tools/infer.py."""
import cv2
import numpy as np
import pytest
from matplotlib import cbook

from fineclip.preprocessing.face_detectors import (BaseFaceDetector,
                                                   FaceTrack,
                                                   MTCNNFaceDetector,
                                                   box_iou, crop_square,
                                                   gaussian_smooth,
                                                   square_boxes, track_faces)
from fineclip.registry import FACE_DETECTORS

# The face in grace_hopper.jpg (512 x 600 px), generously boxed by eye
# (as in test_mediapipe_mesh.py): hat brim above, collar below, ears.
FACE_BOX = (140, 100, 390, 360)


def _photo():
    path = cbook.get_sample_data('grace_hopper.jpg', asfileobj=False)
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def _det(x1, y1, x2, y2, score=0.99):
    return np.array([[x1, y1, x2, y2, score]], np.float32)


def _moving(n=20, jitter=0.0, seed=0):
    """A 60-px face moving right 5 px a frame; jittered detections."""
    rng = np.random.default_rng(seed)
    truth = np.array([[20 + 5 * t, 30, 80 + 5 * t, 90] for t in range(n)],
                     np.float32)
    dets = [_det(*(box + rng.normal(0, jitter, 4))) for box in truth]
    return truth, dets


# --- tracking ---------------------------------------------------------------
def test_track_follows_a_moving_face_and_smooths_jitter():
    truth, dets = _moving(jitter=2.0)
    track = track_faces(dets, smooth_sigma=2.0)
    assert isinstance(track, FaceTrack)
    assert track.found and track.num_detected == 20 == track.num_checked
    raw_err = np.abs(track.raw_boxes - truth)[2:-2].mean()
    err = np.abs(track.boxes - truth)[2:-2].mean()
    assert err < 0.6 * raw_err  # smoothing removes most jitter


def test_smoothing_keeps_constant_motion_exact_up_to_the_ends():
    truth, dets = _moving(jitter=0.0)
    track = track_faces(dets, smooth_sigma=3.0)
    np.testing.assert_allclose(track.boxes, truth, atol=1e-3)
    series = np.stack([np.arange(10.0), 3 * np.arange(10.0)], axis=1)
    np.testing.assert_allclose(gaussian_smooth(series, 2.0), series,
                               atol=1e-9)


def test_missed_frames_are_interpolated_and_ends_held():
    truth, dets = _moving()
    empty = np.zeros((0, 5), np.float32)
    for t in (0, 1, 7, 8, 9, 19):
        dets[t] = empty
    track = track_faces(dets, smooth_sigma=0)
    assert track.num_detected == 14
    assert not track.detected[[0, 1, 7, 8, 9, 19]].any()
    # inside: linear between frames 6 and 10, exact for linear motion
    np.testing.assert_allclose(track.boxes[7:10], truth[7:10], atol=1e-4)
    # before the first and after the last detection: held
    np.testing.assert_allclose(track.boxes[0], truth[2])
    np.testing.assert_allclose(track.boxes[19], truth[18])


def test_skipped_frames_count_as_unchecked():
    truth, dets = _moving()
    dets = [d if t % 3 == 0 or t == 19 else None for t, d in
            enumerate(dets)]
    track = track_faces(dets, smooth_sigma=0)
    assert track.num_checked == 8 and track.num_detected == 8
    np.testing.assert_allclose(track.boxes, truth, atol=1e-4)


def test_starts_on_the_largest_face_and_ignores_a_distractor():
    truth, dets = _moving()
    small = np.array([200, 200, 230, 230, 0.99], np.float32)
    big = np.array([150, 10, 260, 120, 0.99], np.float32)
    dets[0] = np.stack([small, dets[0][0]])       # largest: the tracked one
    for t in range(5, 20):                        # a bigger face appears
        dets[t] = np.stack([big, dets[t][0]])
    track = track_faces(dets, smooth_sigma=0)
    np.testing.assert_allclose(track.boxes, truth, atol=1e-4)
    assert (track.segment == 0).all()


def test_low_scores_are_ignored():
    _, dets = _moving(n=5)
    dets = [d * np.array([1, 1, 1, 1, 0.5], np.float32) for d in dets]
    track = track_faces(dets, min_score=0.9)
    assert not track.found and np.isnan(track.boxes).all()
    assert track.num_checked == 5


def test_no_face_at_all():
    track = track_faces([np.zeros((0, 5), np.float32)] * 6)
    assert not track.found and track.num_detected == 0
    assert track.boxes.shape == (6, 4) and np.isnan(track.boxes).all()


def test_reacquires_when_the_face_is_gone():
    first = [_det(20, 20, 80, 80) for _ in range(5)]
    other = [_det(200, 100, 260, 160) for _ in range(10)]
    track = track_faces(first + other, reacquire_after=3, smooth_sigma=1)
    # frames 5-7 find no continuation; the 3rd of them starts segment 1
    assert track.segment[:5].tolist() == [0] * 5
    assert track.segment[5:7].tolist() == [-1, -1]
    assert (track.segment[7:] == 1).all()
    # the gap between two segments holds the nearest box, no smoothing
    # across the two faces
    np.testing.assert_allclose(track.boxes[:6], [[20, 20, 80, 80]] * 6,
                               atol=1e-4)
    np.testing.assert_allclose(track.boxes[6:], [[200, 100, 260, 160]] * 9,
                               atol=1e-4)


def test_box_helpers():
    assert box_iou(np.array([0, 0, 10, 10.]),
                   np.array([[0, 0, 10, 10], [5, 0, 15, 10],
                             [20, 20, 30, 30]])).tolist() == [1, 1 / 3, 0]
    sq = square_boxes(np.array([[10, 20, 30, 60]]), margin=1.5)
    np.testing.assert_allclose(sq, [[-10, 10, 50, 70]])
    frame = np.full((40, 40, 3), 200, np.uint8)
    crop = crop_square(frame, (-20, -20, 20, 20), 20)
    assert crop.shape == (20, 20, 3)
    # the part outside the frame is black, the inside kept
    assert crop[:9, :9].max() == 0 and crop[11:, 11:].min() == 200


# --- detectors --------------------------------------------------------------
@pytest.fixture(scope='module')
def mtcnn():
    return FACE_DETECTORS.build(dict(type='MTCNNFaceDetector', batch_size=4))


def _centre(box):
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])


def test_mtcnn_finds_the_photo_face(mtcnn):
    assert isinstance(mtcnn, MTCNNFaceDetector)
    photo = _photo()
    big = cv2.resize(photo, None, fx=2, fy=2)  # shrunk to 640 for MTCNN
    blank = np.full_like(photo, 128)
    found = mtcnn.detect([photo, blank, big])
    assert len(found) == 3 and found[1].shape == (0, 5)
    box = found[0][np.argmax(found[0][:, 4])]
    assert box[4] > 0.95
    x0, y0, x1, y1 = FACE_BOX
    assert x0 <= box[0] < box[2] <= x1 and y0 <= box[1] < box[3] <= y1
    # boxes come back in the frame's own pixels whatever the shrinking
    big_box = found[2][np.argmax(found[2][:, 4])]
    # (MTCNN's boxes vary by a few % of the face with the image scale)
    assert box_iou(big_box[:4] / 2, box[None, :4])[0] > 0.8


def test_detector_batching_and_checks():
    class Counting(BaseFaceDetector):
        calls = []

        def detect_batch(self, frames):
            self.calls.append(len(frames))
            return [np.zeros((0, 5))] * len(frames)

    frames = np.zeros((5, 8, 8, 3), np.uint8)
    assert len(Counting(batch_size=2).detect(frames)) == 5
    assert Counting.calls == [2, 2, 1]
    with pytest.raises(ValueError, match='RGB'):
        Counting().detect(np.zeros((2, 8, 8), np.uint8))
    with pytest.raises(ValueError, match='min_face_size'):
        MTCNNFaceDetector(min_face_size=5)
