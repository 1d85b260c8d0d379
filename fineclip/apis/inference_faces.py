"""The face steps of infer: detect and track the face (pass one), crop it
and analyse the crops (pass two), and describe a clip of crops.

The analyser and describer are the offline ones the data tools use, so
face maps and descriptions come in the datasets' formats.
"""
import os.path as osp
from typing import List, Optional, Tuple

import cv2
import numpy as np

from fineclip.datasets.face_maps import FaceMaps
from fineclip.datasets.transforms.loading import read_frame_files
from fineclip.preprocessing.face_detectors.tracking import (FaceTrack,
                                                            crop_square,
                                                            track_faces)
from .inference_inputs import FrameSource, InferenceError

__all__ = ['build_analyzer', 'build_describer', 'default_detector',
           'describe_clip', 'detect_track', 'slice_maps', 'write_crops']


def detect_track(source: FrameSource, detector, detect_every: int = 1,
                 chunk_size: int = 64, track_cfg: Optional[dict] = None,
                 progress: bool = False) -> FaceTrack:
    """Pass one: detect faces (every ``detect_every``-th frame; the others
    are filled by the tracker) and follow one through the video."""
    from fineclip.utils.progress import progress_bar
    detections: List[Optional[np.ndarray]] = []
    bar = progress_bar(total=source.num_frames, desc=f'faces {source.name}',
               unit='frame', leave=False, disable=not progress)
    frames = None
    with bar:
        for start, frames in source.chunks(chunk_size):
            inds = np.arange(start, start + len(frames))
            keep = inds % detect_every == 0
            found = iter(detector.detect(frames[keep]) if keep.any()
                         else [])
            detections += [next(found) if k else None for k in keep]
            bar.update(len(frames))
    if not detections:
        raise OSError(f"'{source.path}' holds no decodable frame")
    # the last frame is always looked at, so the track's end is measured
    # rather than held from up to detect_every - 1 frames before
    if detections[-1] is None:
        detections[-1] = detector.detect(frames[-1:])[0]
    return track_faces(detections, **(track_cfg or {}))


def default_detector(device: str):
    """MTCNN (``MTCNNFaceDetector``) on ``device``."""
    from fineclip.registry import FACE_DETECTORS
    return FACE_DETECTORS.build(dict(type='MTCNNFaceDetector',
                                     device=device))


def build_analyzer(cfg: Optional[dict] = None):
    """The face analyser for face maps (MediaPipe, offline, by default).

    Raises:
        InferenceError: the analyser cannot be built (mediapipe missing).
    """
    from fineclip.registry import FACE_ANALYZERS
    cfg = dict(cfg or dict(type='MediaPipeFaceAnalyzer'))
    try:
        return FACE_ANALYZERS.build(cfg)
    except (ImportError, RuntimeError) as err:
        raise InferenceError(
            "This config's model reads face maps (or a description made "
            f"from landmarks), which infer computes with {cfg['type']}: "
            f'{err}') from err


def build_describer(cfg: Optional[dict] = None):
    """The describer for descriptions (``LandmarkMotionDescriber``)."""
    from fineclip.registry import DESCRIBERS
    return DESCRIBERS.build(dict(cfg or dict(type='LandmarkMotionDescriber')))


def write_crops(source: FrameSource, track: FaceTrack, crop_dir: str,
                margin: float, crop_size: int, analyzer,
                chunk_size: int) -> Tuple[List[str], Optional[FaceMaps]]:
    """Pass two: crops every frame to ``crop_dir``; analyses them if
    ``analyzer`` is given.

    Returns:
        ``(crop file names in frame order, face maps or None)``.

    Raises:
        OSError: a crop cannot be written, or the second read of the
            video gave another number of frames than the first.
    """
    boxes = track.square_boxes(margin)
    names, parts = [], []
    if analyzer is not None:
        analyzer.reset()  # a tracking analyser must not carry a face over
    for start, frames in source.chunks(chunk_size):
        crops = [crop_square(frame, boxes[start + i], crop_size)
                 for i, frame in enumerate(frames)]
        for i, crop in enumerate(crops):
            # PNG: lossless, so the model sees exactly the cropped pixels
            name = f'{start + i:06d}.png'
            path = osp.join(crop_dir, name)
            if not cv2.imwrite(path, crop[..., ::-1],
                               [cv2.IMWRITE_PNG_COMPRESSION, 1]):
                raise OSError(f"Cannot write face crop '{path}'")
            names.append(name)
        if analyzer is not None:
            parts.append(analyzer.analyze(np.stack(crops)))
    if len(names) != track.num_frames:
        raise OSError(f"'{source.path}' gave {len(names)} frames on the "
                      f'second read and {track.num_frames} on the first')
    if analyzer is None:
        return names, None
    maps = FaceMaps(
        np.concatenate([p['landmarks'] for p in parts]).astype(np.float32),
        np.concatenate([p['face_found'] for p in parts]).astype(bool),
        np.concatenate([p['parsing'] for p in parts]).astype(np.uint8))
    return names, maps


def slice_maps(maps: FaceMaps, start: int, end: int) -> FaceMaps:
    """The face maps of frames ``[start, end)``."""
    return FaceMaps(maps.landmarks[start:end], maps.face_found[start:end],
                    maps.parsing[start:end])


def describe_clip(describer, clip_id: str, crop_dir: str,
                  names: List[str], maps: Optional[FaceMaps]) -> str:
    """The description of the crops ``names`` of ``crop_dir`` (with their
    face maps, for describers that read landmarks)."""
    from fineclip.preprocessing.describers import ClipInput, segment_middles
    frames = None
    if describer.needs_frames:
        inds = segment_middles(len(names), describer.num_frames)
        frames = np.stack(read_frame_files(crop_dir, names, inds, clip_id))
    return describer.describe([ClipInput(clip_id, frames, maps, None)])[0]
