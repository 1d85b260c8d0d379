"""Expression recognition on a user's own videos (``tools/infer.py``).

One video (or frame folder) goes through:

1. **Detection** (first pass over the frames, in chunks, so a long video
   never sits in memory): a registered face detector (``FACE_DETECTORS``,
   MTCNN by default) finds the faces of every frame.
2. **Tracking** (:func:`~fineclip.preprocessing.face_detectors.track_faces`):
   one face is followed, its boxes smoothed and gaps filled.
3. **Cropping** (second pass): a square around the face (``margin`` times
   its longer side) is cut from every frame, resized to ``crop_size`` and
   written as a frame folder, the form DFEW's face crops come in. When the
   model reads face maps or descriptions, the offline MediaPipe analyser
   and landmark describer make them from the crops, in the datasets'
   formats.
4. **Recognition**: each clip (the whole video, and each sliding window if
   asked) becomes a sample shaped like a dataset's (``frame_dir``,
   ``frame_names``, ``total_frames``, ``face_map_path``, ``description``)
   and goes through the config's own test pipeline, so frame sampling,
   resizing and face-map rendering are exactly those of testing.

Python use::

    from fineclip.apis.inference import infer_video, load_recognizer
    recognizer = load_recognizer('configs/fineclip_dfew.py', 'epoch_30.pth')
    result = infer_video(recognizer, 'me.mp4')
    print(result.ranked()[:3])

The pieces live in one module per concern, all re-exported here:
:mod:`.inference_inputs` (finding clips, reading frames),
:mod:`.inference_model` (what a model reads, :class:`Recognizer`),
:mod:`.inference_faces` (detection, tracking, crops, face maps,
descriptions), :mod:`.inference_clips` (the whole video and its windows
as dataset-like samples) and :mod:`.inference_results` (results and their
text, JSON, CSV and figure); this module chains the steps
(:func:`infer_video`).
"""
import os
import os.path as osp
import tempfile
from contextlib import contextmanager
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np

from fineclip.datasets.face_maps import FaceMaps
from fineclip.datasets.transforms.loading import read_frame_files
from fineclip.datasets.transforms.sampling import segment_indices
from fineclip.preprocessing.face_detectors.tracking import FaceTrack
from .inference_clips import clip_ranges, clip_samples, window_ranges
from .inference_faces import (build_analyzer, build_describer,
                              default_detector, detect_track, write_crops)
from .inference_inputs import (DEFAULT_FOLDER_FPS, INPUT_VIDEO_EXTENSIONS,
                               FrameSource, InferenceError, find_inputs)
from .inference_model import (KNOWN_STEPS, ModelNeeds, Recognizer,
                              class_names_from, load_recognizer,
                              load_weights, model_needs, test_pipeline_cfg)
from .inference_results import (VideoResult, WindowResult, figure_names,
                                format_result, save_result_figure,
                                write_results)

__all__ = [
    'FaceTrack', 'InferenceError', 'ModelNeeds', 'Recognizer',
    'VideoResult', 'WindowResult', 'FrameSource', 'find_inputs',
    'load_recognizer', 'model_needs', 'infer_video', 'format_result',
    'write_results', 'save_result_figure', 'figure_names', 'window_ranges',
    'detect_track', 'build_analyzer', 'build_describer',
    'test_pipeline_cfg', 'class_names_from', 'load_weights', 'KNOWN_STEPS',
    'DEFAULT_FOLDER_FPS', 'INPUT_VIDEO_EXTENSIONS', 'clip_ranges',
    'clip_samples'
]


# --- the steps of infer_video, in order -------------------------------------
def check_options(margin: float, crop_size: int, detect_every: int) -> None:
    """Refuses crop and detection options that cannot work.

    Raises:
        ValueError: ``margin <= 0``, ``crop_size < 1`` or
            ``detect_every < 1``.
    """
    if margin <= 0 or crop_size < 1 or detect_every < 1:
        raise ValueError('margin must be > 0, crop_size and detect_every '
                         f'>= 1; got {margin}, {crop_size}, {detect_every}')


def read_and_track(result: VideoResult, fps: Optional[float], detector,
                   device: str, detect_every: int, chunk_size: int,
                   track_cfg: Optional[dict],
                   progress: bool) -> Tuple[FrameSource, FaceTrack]:
    """Step 1: opens the video (its frame rate goes into ``result``) and
    detects and tracks the face over it (pass one).

    Raises:
        OSError: the video cannot be read.
        ValueError: a frame folder without images, frames of different
            sizes.
    """
    source = FrameSource(result.path, fps)
    result.fps, result.fps_assumed = source.fps, source.fps_assumed
    detector = detector or default_detector(device)
    track = detect_track(source, detector, detect_every, chunk_size,
                         track_cfg, progress)
    return source, track


def check_track(result: VideoResult, track: FaceTrack) -> bool:
    """Step 2: records the track in ``result``; ``False`` (status
    ``'no_face'``) when no frame has a face, a warning when few have."""
    result.track, result.num_frames = track, track.num_frames
    if not track.found:
        result.status = 'no_face'
        result.message = (f'No face found in {track.num_checked} frames of '
                          f"'{result.path}'")
        return False
    if track.num_detected < 0.5 * track.num_checked:
        result.warnings.append(
            f'a face was found in only {track.num_detected} of '
            f'{track.num_checked} checked frames; the crops of the others '
            'follow the nearest or interpolated boxes')
    return True


def input_makers(needs: ModelNeeds, analyzer, describer) -> tuple:
    """Step 3: ``(analyzer, describer)`` the model's inputs take, the
    default ones built where none is given, ``None`` where not needed.

    Face maps need the analyser, and so does a description made from
    landmarks (a describer whose ``needs_face_maps`` is true).

    Raises:
        InferenceError: the analyser cannot be built (mediapipe missing).
    """
    if not needs.description:
        describer = None
    elif describer is None:
        describer = build_describer()
    with_maps = needs.face_maps or (describer is not None
                                    and describer.needs_face_maps)
    if not with_maps:
        analyzer = None
    elif analyzer is None:
        analyzer = build_analyzer()
    return analyzer, describer


@contextmanager
def work_folder(crops_dir: Optional[str], name: str) -> Iterator[str]:
    """The folder the crops and face maps go to: ``crops_dir/<name without
    extension>``, kept, or a temporary one removed afterwards."""
    if crops_dir is not None:
        yield osp.join(crops_dir, osp.splitext(name)[0])
        return
    with tempfile.TemporaryDirectory(prefix='fineclip_infer_') as tmp:
        yield tmp


def crop_faces(result: VideoResult, source: FrameSource, track: FaceTrack,
               crop_dir: str, margin: float, crop_size: int, analyzer,
               chunk_size: int) -> Tuple[List[str], Optional[FaceMaps]]:
    """Step 4: writes the face crops (pass two) to the existing
    ``crop_dir`` and, with an analyser,
    their face maps; warns in ``result`` about crops without landmarks.

    Raises:
        OSError: as :func:`~.inference_faces.write_crops`.
        ValueError: frames of different sizes.
    """
    names, maps = write_crops(source, track, crop_dir, margin, crop_size,
                              analyzer, chunk_size)
    if maps is not None and not maps.face_found.all():
        result.warnings.append(
            f'the face analyser found landmarks in '
            f'{int(maps.face_found.sum())} of {len(names)} crops; the '
            'others take the nearest frame\'s maps')
    return names, maps


def assemble(result: VideoResult, probs: np.ndarray,
             ranges: Sequence[Tuple[int, int]], samples: Sequence[dict],
             fps: float, num_frames: int) -> VideoResult:
    """Step 7 (after :meth:`Recognizer.predict`): the whole video's and
    the windows' probabilities, its description, and the crops its clip
    sampled (the figure's strip), into ``result``."""
    result.probs = probs[0]
    result.windows = [
        WindowResult(s, e, s / fps, e / fps, p)
        for (s, e), p in zip(ranges[1:], probs[1:])
    ]
    result.description = samples[0].get('description')
    whole = samples[0]
    inds = segment_indices(whole['total_frames'], num_frames, random=False)
    result.strip = np.stack(read_frame_files(
        whole['frame_dir'], whole['frame_names'], inds, whole['clip_id']))
    result.strip_times = [float(i) / fps for i in inds]
    return result


def infer_video(recognizer: Recognizer,
                path: str,
                detector=None,
                analyzer=None,
                describer=None,
                margin: float = 1.25,
                crop_size: int = 224,
                window: Optional[float] = None,
                stride: Optional[float] = None,
                fps: Optional[float] = None,
                detect_every: int = 1,
                track_cfg: Optional[dict] = None,
                batch_size: int = 8,
                chunk_size: int = 64,
                crops_dir: Optional[str] = None,
                progress: bool = False) -> VideoResult:
    """Recognises the expression of the main face in one video.

    See the module docstring for the steps. Problems with the video itself
    (unreadable, no face) give a result with ``status`` ``'error'`` or
    ``'no_face'`` and a ``message``, so a folder carries on with the next.

    Args:
        recognizer: From :func:`load_recognizer`.
        path: Video file or folder of frame images.
        detector: A face detector (``FACE_DETECTORS``); MTCNN on the
            recognizer's device by default. Build it once for many videos.
        analyzer: A face analyser (``FACE_ANALYZERS``) for models that read
            face maps; MediaPipe by default.
        describer: A describer (``DESCRIBERS``) for models that read a
            description; ``LandmarkMotionDescriber`` by default. Training
            descriptions written by another describer (an MLLM) read
            differently, which the model may notice.
        margin: Side of the square crop over the face box's longer side.
        crop_size: Side of the saved crops (DFEW's are 224); the test
            pipeline resizes them to the model's input.
        window: Sliding-window length in seconds (None: whole video only).
        stride: Seconds between window starts (default 1 s, or ``window``
            if shorter).
        fps: Frame rate to use instead of the video's (frame folders:
            :data:`DEFAULT_FOLDER_FPS`).
        detect_every: Run the detector on every n-th frame only; the track
            interpolates the others (faster on long videos).
        track_cfg: Options of :func:`track_faces`.
        batch_size: Clips per forward pass.
        chunk_size: Frames decoded (and detected) at a time.
        crops_dir: Keep the crops (and face maps) in
            ``crops_dir/<video name>`` instead of a temporary folder.
        progress: Show progress bars for detection and windows.

    Returns:
        VideoResult
    """
    check_options(margin, crop_size, detect_every)
    result = VideoResult(path=path, classes=recognizer.classes)
    # Problems of the video itself end its result, not the run; the
    # steps after cropping can only fail on the config or the model.
    try:
        source, track = read_and_track(result, fps, detector,
                                       recognizer.device, detect_every,
                                       chunk_size, track_cfg, progress)
    except (OSError, ValueError) as err:
        result.status, result.message = 'error', str(err)
        return result
    if not check_track(result, track):
        return result
    needs = recognizer.needs
    analyzer, describer = input_makers(needs, analyzer, describer)
    with work_folder(crops_dir, source.name) as work:
        crop_dir = osp.join(work, 'crops')
        os.makedirs(crop_dir, exist_ok=True)
        try:
            names, maps = crop_faces(result, source, track, crop_dir,
                                     margin, crop_size, analyzer,
                                     chunk_size)
        except (OSError, ValueError) as err:
            result.status, result.message = 'error', str(err)
            return result
        # steps 5 to 7: samples, prediction, result
        ranges = clip_ranges(len(names), source.fps, window, stride)
        samples = clip_samples(ranges, source.name, work, names, maps, needs,
                               describer, progress)
        probs = recognizer.predict(samples, batch_size)
        return assemble(result, probs, ranges, samples, source.fps,
                        needs.num_frames)
