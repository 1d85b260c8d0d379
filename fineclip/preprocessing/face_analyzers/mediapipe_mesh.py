"""A CPU face analyser on MediaPipe's legacy face mesh (fully offline).

MediaPipe 0.10.21 is the last release whose wheel ships the legacy
``solutions.face_mesh`` graph together with its detector and mesh models,
so nothing is downloaded at run time. Its metadata pins ``numpy<2`` but it
runs with numpy 2, hence the two-step install in :data:`INSTALL_COMMAND`
(see ``docs/face_analyzers_mediapipe.md``).

The mesh's 468 points are turned into the project's face maps (format:
:mod:`fineclip.datasets.face_maps`) with fixed index tables:

* :data:`MESH_TO_IBUG68` picks one mesh point per iBUG-68 point;
* :data:`PARSING_POLYGONS` lists mesh contours that are filled, in order,
  into the 11-label LaPa map. Hair (label 10) is never produced: the mesh
  stops at the mid-forehead and says nothing about hair, ears or neck.

MediaPipe names sides from the subject's view ("right eye" = image left);
every table here is in the project's image-left convention.
"""
from typing import Dict, Optional, Tuple

import cv2
import numpy as np

from fineclip.registry import FACE_ANALYZERS

from .base import BaseFaceAnalyzer

# mediapipe's other declared dependencies (jax, sentencepiece, sounddevice,
# opencv-contrib-python, ...) are not needed by the face mesh; numpy,
# opencv-python and matplotlib come with fineclip itself.
INSTALL_COMMAND = ('pip install --no-deps mediapipe==0.10.21 && '
                   'pip install "protobuf>=4.25.3,<5" "attrs>=19.1.0"')

NUM_MESH_POINTS = 468  # refine_landmarks adds 10 iris points after these

# Mesh index of each iBUG-68 point. Contour points were chosen along the
# mesh's own contours (FACEMESH_* connection sets): the jaw at equal arc
# length along the face oval from ear level (127 / 356) to the chin (152),
# the brows on their upper edge, the lids at one and two thirds of each
# lid, 50 / 52 at the peaks of the Cupid's bow and 49 / 53 halfway to the
# corners; lower and inner lip points sit under their upper partners.
# yapf: disable
MESH_TO_IBUG68 = np.array([
    # 0-16 jaw, image left to image right
    127, 234, 132, 58, 172, 150, 149, 148, 152,
    377, 378, 379, 397, 288, 361, 454, 356,
    # 17-21 image-left brow (outer to inner), 22-26 image-right brow
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,
    # 27-30 nose bridge down to the tip, 31-35 nostril base
    168, 197, 5, 1, 98, 97, 2, 326, 327,
    # 36-41 image-left eye from its outer corner, 42-47 image-right eye
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,
    # 48-59 outer lips clockwise from the image-left corner
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,
    # 60-67 inner lips clockwise from the image-left corner
    78, 82, 13, 312, 308, 317, 14, 87,
])
# yapf: enable

# Closed mesh contours (polygon vertex order).
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397,
             365, 379, 378, 400, 377, 152, 148, 176, 149, 150, 136, 172, 58,
             132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
# Brows: upper edge outer to inner, then lower edge inner to outer.
LEFT_BROW = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
RIGHT_BROW = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
# Eyes: upper lid from the outer corner, then lower lid back.
LEFT_EYE = (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145,
            144, 163, 7)
RIGHT_EYE = (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374,
             373, 390, 249)
# Nose: bridge between the inner eye corners, down the flanks to the alae
# and along the nostril base (FACEMESH_NOSE outlines only the lower nose).
NOSE = (168, 417, 412, 399, 420, 429, 358, 294, 327, 326, 2, 97, 98, 64, 129,
        209, 198, 174, 188, 193)
_OUTER_UPPER_LIP = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
_OUTER_LOWER_LIP = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
_INNER_UPPER_LIP = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
_INNER_LOWER_LIP = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
UPPER_LIP = _OUTER_UPPER_LIP + _INNER_UPPER_LIP[::-1]
LOWER_LIP = _OUTER_LOWER_LIP + _INNER_LOWER_LIP[::-1]
INNER_MOUTH = _INNER_UPPER_LIP + _INNER_LOWER_LIP[-2:0:-1]

# (LaPa label, polygon) in painting order: later regions cover earlier
# ones, so the lips and the inner mouth win over skin and nose.
PARSING_POLYGONS: Tuple[Tuple[int, Tuple[int, ...]], ...] = (
    (1, FACE_OVAL),
    (6, NOSE),
    (2, LEFT_BROW),
    (3, RIGHT_BROW),
    (4, LEFT_EYE),
    (5, RIGHT_EYE),
    (7, UPPER_LIP),
    (9, LOWER_LIP),
    (8, INNER_MOUTH),
)

_SUBPIXEL_BITS = 4  # cv2.fillPoly fixed-point precision (1/16 pixel)


def _load_face_mesh():
    """Imports MediaPipe's legacy face-mesh module, explaining a failure."""
    try:
        from mediapipe.python.solutions import face_mesh
    except ImportError as err:
        # A missing protobuf also surfaces here ("initialization failed").
        raise ImportError(
            'MediaPipeFaceAnalyzer needs mediapipe 0.10.21 (the last '
            'release shipping the legacy face-mesh models), protobuf 4 and '
            'attrs; '
            f'install them with: {INSTALL_COMMAND}') from err
    return face_mesh


def _protobuf_version() -> str:
    try:
        from google.protobuf import __version__
    except ImportError:
        return 'no protobuf'
    return f'protobuf {__version__}'


def rasterize_parsing(mesh: np.ndarray, size: int) -> np.ndarray:
    """Paints the LaPa parsing map of one face from its mesh.

    Args:
        mesh: ``(468, 2)`` mesh points normalised to the frame.
        size: Side ``S`` of the map, which covers the whole frame.

    Returns:
        ``(S, S)`` uint8 labels, background 0 outside the face.
    """
    parsing = np.zeros((size, size), np.uint8)
    # Normalised -> pixel-index coordinates (docs/synthetic_data.md), in
    # fixed point so sub-pixel positions are kept at small map sizes.
    pixels = (mesh * size - 0.5) * (1 << _SUBPIXEL_BITS)
    pixels = np.round(pixels).astype(np.int32)
    for label, polygon in PARSING_POLYGONS:
        cv2.fillPoly(
            parsing, [pixels[list(polygon)]],
            int(label),
            lineType=cv2.LINE_8,
            shift=_SUBPIXEL_BITS)
    return parsing


def mesh_to_ibug68(mesh: np.ndarray) -> np.ndarray:
    """Picks the iBUG-68 points from ``(468, 2)`` mesh points."""
    return mesh[MESH_TO_IBUG68].astype(np.float32)


@FACE_ANALYZERS.register_module()
class MediaPipeFaceAnalyzer(BaseFaceAnalyzer):
    """Landmarks and parsing from MediaPipe's 468-point face mesh (CPU).

    One face per frame (the detector's most confident). Landmarks are the
    :data:`MESH_TO_IBUG68` points, clipped to the frame; parsing is painted
    from mesh contours (:data:`PARSING_POLYGONS`, no hair label). Frames
    without a face get ``face_found`` False, zero landmarks and an
    all-background map.

    Args:
        parsing_size (int): Side ``S`` of the parsing maps.
        batch_size (int): Frames per :meth:`analyze` call (frames are
            processed one by one; this only sets the tool's batching).
        min_detection_confidence (float): Face-detector score threshold.
        static_image_mode (bool): ``False`` (default) tracks the face from
            frame to frame, about three times faster on CPU than detecting
            it afresh in every frame (``True``) and as accurate on the
            synthetic set; :meth:`reset`, which the extraction tool calls
            before each clip, keeps one clip's face box out of the next.
        refine_landmarks (bool): Use the attention mesh model, which
            places lids and lips more precisely at little extra cost.
        min_tracking_confidence (float): Below this mesh score the face is
            re-detected (only used when ``static_image_mode`` is False).
    """

    def __init__(self,
                 parsing_size: int = 224,
                 batch_size: int = 16,
                 min_detection_confidence: float = 0.3,
                 static_image_mode: bool = False,
                 refine_landmarks: bool = True,
                 min_tracking_confidence: float = 0.5):
        super().__init__(parsing_size, batch_size)
        face_mesh = _load_face_mesh()
        self.static_image_mode = static_image_mode
        try:
            self._mesh = face_mesh.FaceMesh(
                static_image_mode=static_image_mode,
                max_num_faces=1,
                refine_landmarks=refine_landmarks,
                min_detection_confidence=min_detection_confidence,
                min_tracking_confidence=min_tracking_confidence)
        except (RuntimeError, AttributeError) as err:
            # protobuf 5 fails to parse the bundled graph, 7 lacks old APIs.
            raise RuntimeError(
                'MediaPipe could not build its face-mesh graph; '
                f'mediapipe 0.10.21 needs protobuf 4 ({_protobuf_version()} '
                f'is installed): {INSTALL_COMMAND}') from err

    def analyze(self, frames: np.ndarray) -> Dict[str, np.ndarray]:
        """Analyses frames of one clip (see :class:`BaseFaceAnalyzer`)."""
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError('frames must be (N, H, W, 3) RGB, got shape '
                             f'{frames.shape}')
        n, size = len(frames), self.parsing_size
        landmarks = np.zeros((n, 68, 2), np.float32)
        found = np.zeros(n, bool)
        parsing = np.zeros((n, size, size), np.uint8)
        for i, frame in enumerate(frames):
            mesh = self.detect_mesh(frame)
            if mesh is None:
                continue
            found[i] = True
            landmarks[i] = np.clip(mesh_to_ibug68(mesh), 0.0, 1.0)
            parsing[i] = rasterize_parsing(mesh, size)
        return dict(landmarks=landmarks, face_found=found, parsing=parsing)

    def detect_mesh(self, frame: np.ndarray) -> Optional[np.ndarray]:
        """Runs the face mesh on one RGB frame.

        Returns:
            ``(468, 2)`` float64 points normalised to the frame (not
            clipped), or None when no face is found.
        """
        frame = np.ascontiguousarray(frame, dtype=np.uint8)
        result = self._mesh.process(frame)
        faces = result.multi_face_landmarks
        if not faces:
            return None
        points = faces[0].landmark
        return np.array([(points[j].x, points[j].y)
                         for j in range(NUM_MESH_POINTS)], np.float64)

    def reset(self) -> None:
        """Forgets the tracked face (video mode); call between clips."""
        self._mesh.reset()

    def close(self) -> None:
        """Stops MediaPipe's graph; the analyser is unusable afterwards."""
        if getattr(self, '_mesh', None) is not None:
            self._mesh.close()
            self._mesh = None

    def __enter__(self) -> 'MediaPipeFaceAnalyzer':
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
