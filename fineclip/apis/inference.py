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
"""
import copy
import csv
import json
import math
import os
import os.path as osp
import tempfile
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from mmengine.config import Config

from fineclip.datasets.base import IMAGE_EXTENSIONS, list_frames, natural_key
from fineclip.engine.checkpoints import CheckpointError
from fineclip.engine.checkpoints import load_weights as _load_weights
from fineclip.datasets.face_maps import FaceMaps, save_face_maps
from fineclip.datasets.transforms.loading import read_frame_files
from fineclip.datasets.transforms.sampling import segment_indices
from fineclip.datasets.video import VIDEO_EXTENSIONS, _decord_reader
from fineclip.preprocessing.face_detectors.tracking import (FaceTrack,
                                                            crop_square,
                                                            track_faces)

__all__ = [
    'FaceTrack', 'InferenceError', 'ModelNeeds', 'Recognizer',
    'VideoResult', 'WindowResult', 'FrameSource', 'find_inputs',
    'load_recognizer', 'model_needs', 'infer_video', 'format_result',
    'write_results', 'save_result_figure', 'figure_names'
]

# Extensions a folder is searched for (a file given by name is tried
# whatever its extension).
INPUT_VIDEO_EXTENSIONS = tuple(sorted(set(VIDEO_EXTENSIONS) | {
    '.m4v', '.mpg', '.mpeg', '.wmv', '.flv', '.3gp', '.ts', '.mts'}))
# Frame folders carry no frame rate; DFEW, FERV39k and MAFW are 25 fps.
DEFAULT_FOLDER_FPS = 25.0
# Pipeline steps whose inputs infer provides.
KNOWN_STEPS = ('SampleFrameIndices', 'DecodeFrames', 'LoadFaceMaps',
               'RenderFaceMaps', 'TokenizeDescription', 'PackDFERInputs',
               'GroupResize', 'GroupRandomResizedCrop', 'GroupFlip',
               'GroupBrightness', 'GroupRotate')


class InferenceError(RuntimeError):
    """A config, checkpoint or option infer cannot work with (the message
    says why and what to change)."""


# --- inputs -----------------------------------------------------------------
def _is_video_name(name: str) -> bool:
    return osp.splitext(name)[1].lower() in INPUT_VIDEO_EXTENSIONS


def _has_frames(folder: str) -> bool:
    return any(osp.splitext(n)[1].lower() in IMAGE_EXTENSIONS
               for n in os.listdir(folder))


def find_inputs(path: str) -> List[str]:
    """The clips under ``path``.

    A file is one clip (a video, whatever its extension). A folder gives
    its videos and its sub-folders of frame images, or, when it holds
    frame images itself and neither of those, is one frame-folder clip.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        InferenceError: a folder with neither videos nor frames.
    """
    if not osp.exists(path):
        raise FileNotFoundError(f"No such video or folder: '{path}'")
    if osp.isfile(path):
        return [path]
    names = sorted(os.listdir(path), key=natural_key)
    clips = [
        osp.join(path, n) for n in names
        if (osp.isfile(osp.join(path, n)) and _is_video_name(n)) or (
            osp.isdir(osp.join(path, n)) and _has_frames(osp.join(path, n)))
    ]
    if not clips and _has_frames(path):
        clips = [path]
    if not clips:
        raise InferenceError(
            f"'{path}' holds no video ({', '.join(INPUT_VIDEO_EXTENSIONS)}) "
            'and no frame images.')
    return clips


class FrameSource:
    """A video file or a frame folder, read in order, chunk by chunk.

    Videos are read with decord, or PyAV when decord cannot open (or stops
    reading) a file, as the datasets do (:mod:`fineclip.datasets.video`);
    here the frames are streamed once in order instead of fetched by index,
    so a long video is decoded once per pass and never held whole.

    Args:
        path: Video file or folder of frame images.
        fps: Frame rate to use instead of the video's (needed for frame
            folders, which have none: :data:`DEFAULT_FOLDER_FPS`).

    Raises:
        OSError: the video cannot be opened (the message names it).
        ValueError: a frame folder without images.
    """

    def __init__(self, path: str, fps: Optional[float] = None):
        self.path = path
        self.name = osp.basename(osp.normpath(path))
        self.is_video = osp.isfile(path)
        self.fps_assumed = False
        if self.is_video:
            self.num_frames, native_fps = self._probe_video()
        else:
            self.frame_names = list_frames(path)
            if not self.frame_names:
                raise ValueError(f"Frame folder '{path}' holds no images")
            self.num_frames, native_fps = len(self.frame_names), None
        if fps is not None:
            self.fps = float(fps)
        elif native_fps:
            self.fps = float(native_fps)
        else:
            self.fps, self.fps_assumed = DEFAULT_FOLDER_FPS, True
        if self.fps <= 0:
            raise ValueError(f'fps must be > 0, got {self.fps}')

    def _probe_video(self) -> Tuple[Optional[int], Optional[float]]:
        """``(frame count or None, fps or None)``."""
        try:
            reader = _decord_reader(self.path)
            return len(reader), reader.get_avg_fps()
        except Exception:  # decord raises its own errors; try PyAV
            pass
        try:
            import av
            with av.open(self.path) as container:
                stream = container.streams.video[0]
                rate = stream.average_rate or stream.guessed_rate
                return (stream.frames or None,
                        float(rate) if rate else None)
        except Exception as err:
            raise OSError(f"Cannot read video '{self.path}': neither decord "
                          f'nor PyAV can open it ({err})') from err

    def chunks(self, size: int = 64) -> Iterator[Tuple[int, np.ndarray]]:
        """Yields ``(index of the first frame, (n, H, W, 3) RGB uint8)``.

        Raises:
            OSError: a frame cannot be decoded (the message names the file).
            ValueError: frames of different sizes.
        """
        shape = None
        for start, frames in self._raw_chunks(size):
            if shape is None:
                shape = frames.shape[1:]
            if frames.shape[1:] != shape:
                raise ValueError(f"'{self.path}' mixes frame sizes "
                                 f'{shape[:2]} and {frames.shape[1:3]}')
            yield start, frames

    def _raw_chunks(self, size):
        if not self.is_video:
            for start in range(0, self.num_frames, size):
                inds = range(start, min(start + size, self.num_frames))
                yield start, np.stack(read_frame_files(
                    self.path, self.frame_names, inds, self.name))
            return
        start = 0
        try:
            reader = _decord_reader(self.path)
            for start in range(0, len(reader), size):
                stop = min(start + size, len(reader))
                yield start, reader.get_batch(range(start,
                                                    stop)).asnumpy()
            return
        except Exception:  # a file decord opens but cannot seek in
            pass
        yield from self._pyav_chunks(size, skip=start)

    def _pyav_chunks(self, size, skip=0):
        try:
            import av
        except ImportError as err:
            raise OSError(f"decord cannot read '{self.path}' and PyAV, the "
                          'fallback, is not installed (pip install av)'
                          ) from err
        batch, first = [], skip
        try:
            with av.open(self.path) as container:
                for i, frame in enumerate(container.decode(video=0)):
                    if i < skip:
                        continue
                    batch.append(frame.to_ndarray(format='rgb24'))
                    if len(batch) == size:
                        yield first, np.stack(batch)
                        batch, first = [], i + 1
        except Exception as err:  # av.error.* differ between versions
            raise OSError(f"Cannot decode video '{self.path}' after frame "
                          f'{first + len(batch)}: {err}') from err
        if batch:
            yield first, np.stack(batch)


# --- the model --------------------------------------------------------------
@dataclass
class ModelNeeds:
    """What a config's test pipeline reads besides the frames.

    Attributes:
        face_maps: ``LoadFaceMaps`` reads a face-map file.
        description: ``TokenizeDescription`` reads a description.
        num_frames: Frames the pipeline samples per clip (T).
        unknown_steps: Pipeline steps infer does not know; they get the
            same sample the known ones do and may need more.
    """

    face_maps: bool = False
    description: bool = False
    num_frames: int = 16
    unknown_steps: Tuple[str, ...] = ()


def test_pipeline_cfg(cfg: Config) -> list:
    """The config's test pipeline (``test_dataloader``, else ``val_``)."""
    for key in ('test_dataloader', 'val_dataloader'):
        loader = cfg.get(key)
        if loader and loader.get('dataset', {}).get('pipeline'):
            return list(loader['dataset']['pipeline'])
    raise InferenceError('The config has no test_dataloader.dataset.pipeline'
                         ': infer preprocesses clips with it.')


def model_needs(cfg: Config) -> ModelNeeds:
    """Reads from a config which inputs its model gets, and checks that
    infer can compute them.

    The test pipeline decides (a branch the pipeline never feeds, such as a
    zero-shot model's caption branch, is not run at test time), except that
    a ``FaceMapBranch`` with no ``LoadFaceMaps`` could not run at all.

    Raises:
        InferenceError: the model needs something infer cannot compute.
    """
    from fineclip.models.branches import FaceMapBranch
    from fineclip.registry import BRANCHES
    pipeline = test_pipeline_cfg(cfg)
    types = [step.get('type') for step in pipeline]
    needs = ModelNeeds(face_maps='LoadFaceMaps' in types,
                       description='TokenizeDescription' in types)
    for needed in ('SampleFrameIndices', 'DecodeFrames', 'PackDFERInputs'):
        if needed not in types:
            raise InferenceError(
                f'The test pipeline {types} has no {needed}: infer hands it '
                'a folder of face crops to sample, decode and pack, as the '
                'datasets do.')
    for step in pipeline:
        if step.get('type') == 'SampleFrameIndices':
            needs.num_frames = int(step.get('num_frames', 16))
        key = step.get('key', 'description')
        if step.get('type') == 'TokenizeDescription' and \
                key != 'description':
            raise InferenceError(
                f"The test pipeline tokenises the samples' '{key}' field "
                "(a dataset's own captions); infer can only write a "
                "'description' of a new video (LandmarkMotionDescriber).")
    needs.unknown_steps = tuple(t for t in types if t not in KNOWN_STEPS)
    for name, branch in (cfg.model.get('branches') or {}).items():
        cls = branch.get('type')
        cls = BRANCHES.get(cls) if isinstance(cls, str) else cls
        if isinstance(cls, type) and issubclass(cls, FaceMapBranch) \
                and not needs.face_maps:
            raise InferenceError(
                f"model.branches.{name} reads face maps but the test "
                'pipeline never loads them (no LoadFaceMaps); add them with '
                'with_face_maps(test_pipeline), as the FineCLIPER* configs '
                'do.')
    return needs


def class_names_from(cfg: Config, meta: Optional[dict]) -> Tuple[str, ...]:
    """Class names: the checkpoint's ``meta.dataset_meta``, else the
    config's (``model.class_names``, the test dataset's ``metainfo``, its
    class's ``METAINFO``)."""
    from fineclip.registry import DATASETS
    classes = ((meta or {}).get('dataset_meta') or {}).get('classes')
    if not classes:
        classes = cfg.model.get('class_names')
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    if not classes:
        classes = (dataset.get('metainfo') or {}).get('classes')
    if not classes and dataset.get('type'):
        ds_type = dataset['type']
        ds_cls = DATASETS.get(ds_type) if isinstance(ds_type, str) \
            else ds_type
        classes = (getattr(ds_cls, 'METAINFO', None) or {}).get('classes')
    if not classes:
        raise InferenceError(
            'No class names: the checkpoint has no meta.dataset_meta.classes'
            ' and the config names none (model.class_names or the test '
            "dataset's metainfo).")
    return tuple(classes)


def load_weights(model: torch.nn.Module, checkpoint: str) -> dict:
    """Loads a trained checkpoint into ``model`` (see
    :func:`fineclip.engine.checkpoints.load_weights`); returns its
    ``meta``."""
    try:
        return _load_weights(model, checkpoint)
    except CheckpointError as err:
        raise InferenceError(str(err)) from err


@dataclass
class Recognizer:
    """A model ready for inference, with what feeding it takes.

    Attributes:
        model: The recognizer in eval mode, with its class names set.
        cfg: The config it was built from.
        classes: Class names in label order.
        pipeline: The config's test pipeline (``Compose``).
        needs: What the pipeline reads besides frames.
        device: Where the model runs.
    """

    model: torch.nn.Module
    cfg: Config
    classes: Tuple[str, ...]
    pipeline: object
    needs: ModelNeeds
    device: str = 'cpu'

    def predict(self, samples: Sequence[dict],
                batch_size: int = 8) -> np.ndarray:
        """Class probabilities of dataset-like samples.

        Args:
            samples: Dicts with ``frame_dir``, ``frame_names``,
                ``total_frames`` (and ``face_map_path`` / ``description``
                when :attr:`needs` says so).
            batch_size: Clips per forward pass.

        Returns:
            ``(len(samples), C)`` float64 probabilities.
        """
        from mmengine.dataset import pseudo_collate
        scores = []
        for start in range(0, len(samples), batch_size):
            packed = []
            for sample in samples[start:start + batch_size]:
                try:
                    packed.append(self.pipeline(dict(sample)))
                except (KeyError, TypeError) as err:
                    raise InferenceError(
                        f"The config's test pipeline failed on "
                        f"{sample.get('clip_id')}: {err!r}. infer provides "
                        f'{sorted(sample)}; a step needing more cannot run '
                        'on a new video.') from err
            try:
                with torch.no_grad():
                    outputs = self.model.test_step(pseudo_collate(packed))
            except KeyError as err:
                raise InferenceError(
                    f'The model needs an input infer does not compute: '
                    f'{err}') from err
            scores += [o.pred_score.double().cpu().numpy() for o in outputs]
        scores = np.stack(scores)
        # float32 softmax sums to one only within ~1e-7
        return scores / scores.sum(axis=1, keepdims=True)


def load_recognizer(config: Union[str, Config],
                    checkpoint: str,
                    device: str = 'cpu',
                    cfg_options: Optional[dict] = None) -> Recognizer:
    """Builds a config's model and loads a checkpoint into it.

    Args:
        config: Config file or loaded ``Config``.
        checkpoint: MMEngine checkpoint (``epoch_N.pth``): its
            ``state_dict`` must fit the model exactly; class names come
            from its ``meta.dataset_meta.classes`` when present.
        device: ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.
        cfg_options: Overrides, as ``--cfg-options`` gives them.

    Returns:
        Recognizer: in eval mode on ``device``.

    Raises:
        FileNotFoundError: missing config or checkpoint.
        InferenceError: a config whose model needs inputs infer cannot
            compute, a checkpoint that does not fit, CUDA unavailable.
    """
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    from mmengine.utils import import_modules_from_strings

    from fineclip.registry import MODELS
    from .cli import load_config
    if str(device).startswith('cuda') and not torch.cuda.is_available():
        raise InferenceError(f"--device {device}: CUDA is not available; "
                             'use --device cpu')
    if isinstance(config, Config):
        cfg = copy.deepcopy(config)  # overrides must not reach the caller
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        init_default_scope(cfg.get('default_scope', 'fineclip'))
    else:
        if not osp.isfile(config):
            raise FileNotFoundError(f"No such config: '{config}'")
        cfg = load_config(config, cfg_options)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f"No such checkpoint: '{checkpoint}'")
    needs = model_needs(cfg)
    try:
        pipeline = Compose(test_pipeline_cfg(cfg))
    except (TypeError, KeyError, ValueError) as err:
        raise InferenceError(
            f"Cannot build the config's test pipeline: {err}") from err
    model = MODELS.build(cfg.model)
    meta = load_weights(model, checkpoint)
    classes = class_names_from(cfg, meta)
    if hasattr(model, 'set_class_names'):
        model.set_class_names(classes)
    model.to(device).eval()
    return Recognizer(model, cfg, classes, pipeline, needs, str(device))


# --- results ----------------------------------------------------------------
@dataclass
class WindowResult:
    """The prediction for frames ``[start_frame, end_frame)``."""

    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    probs: np.ndarray


@dataclass
class VideoResult:
    """What infer found in one video.

    Attributes:
        path: The input.
        status: ``'ok'``, ``'no_face'`` or ``'error'`` (see ``message``).
        message: Why a video has no prediction; empty when ``'ok'``.
        classes: Class names, in the order of ``probs``.
        probs: ``(C,)`` probabilities for the whole video (T frames sampled
            over all of it, as the test pipeline samples a clip).
        windows: Sliding-window predictions, if asked for.
        num_frames: Frames read.
        fps: Frame rate used for times.
        fps_assumed: A frame folder, whose rate was not given.
        track: The face track.
        strip: ``(T, S, S, 3)`` crops of the frames the whole-video clip
            sampled, and ``strip_times`` their times in seconds.
        description: The whole video's description, when the model reads
            one.
        warnings: Things worth knowing that did not stop the run.
    """

    path: str
    status: str = 'ok'
    message: str = ''
    classes: Tuple[str, ...] = ()
    probs: Optional[np.ndarray] = None
    windows: List[WindowResult] = field(default_factory=list)
    num_frames: int = 0
    fps: float = 0.0
    fps_assumed: bool = False
    track: Optional[FaceTrack] = None
    strip: Optional[np.ndarray] = None
    strip_times: List[float] = field(default_factory=list)
    description: Optional[str] = None
    warnings: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == 'ok'

    def ranked(self, probs: Optional[np.ndarray] = None
               ) -> List[Tuple[str, float]]:
        """``(class, probability)`` pairs, most probable first."""
        probs = self.probs if probs is None else probs
        order = np.argsort(-np.asarray(probs), kind='stable')
        return [(self.classes[i], float(probs[i])) for i in order]

    @property
    def top_class(self) -> Optional[str]:
        return self.ranked()[0][0] if self.ok else None

    def per_second(self) -> List[Tuple[int, np.ndarray]]:
        """The window timeline resampled to whole seconds.

        Second ``s`` gets the mean of the windows that contain its middle
        ``s + 0.5`` (the nearest window when none does).
        """
        if not self.windows:
            return []
        duration = self.num_frames / self.fps
        starts = np.array([w.start_s for w in self.windows])
        ends = np.array([w.end_s for w in self.windows])
        out = []
        for second in range(max(1, math.ceil(duration - 1e-9))):
            mid = min(second + 0.5, duration)
            inside = (starts <= mid) & (mid <= ends)
            if not inside.any():
                centre = (starts + ends) / 2
                inside = np.abs(centre - mid) == np.abs(centre - mid).min()
            probs = np.mean([w.probs for w, keep in
                             zip(self.windows, inside) if keep], axis=0)
            out.append((second, probs))
        return out

    def to_dict(self) -> dict:
        """A JSON-ready summary (probabilities sorted, highest first)."""
        out = dict(video=self.path, status=self.status,
                   message=self.message, num_frames=self.num_frames,
                   fps=round(self.fps, 3), fps_assumed=self.fps_assumed)
        if self.track is not None:
            out.update(frames_with_face=self.track.num_detected,
                       frames_checked=self.track.num_checked)
        if self.warnings:
            out['warnings'] = list(self.warnings)
        if not self.ok:
            return out
        ranked = self.ranked()
        out.update(top_class=ranked[0][0], top_prob=ranked[0][1],
                   probabilities=dict(ranked))
        if self.description is not None:
            out['description'] = self.description
        if self.windows:
            out['windows'] = [
                dict(start_s=round(w.start_s, 3), end_s=round(w.end_s, 3),
                     start_frame=w.start_frame, end_frame=w.end_frame,
                     top_class=self.ranked(w.probs)[0][0],
                     probabilities=dict(self.ranked(w.probs)))
                for w in self.windows
            ]
            out['per_second'] = [
                dict(second=s, top_class=self.ranked(p)[0][0],
                     probabilities=dict(self.ranked(p)))
                for s, p in self.per_second()
            ]
        return out


# --- the steps --------------------------------------------------------------
def window_ranges(num_frames: int, fps: float, window: float,
                  stride: float) -> List[Tuple[int, int]]:
    """``[start, end)`` frame ranges of sliding windows over a video.

    Windows of ``window`` seconds start every ``stride`` seconds; one more
    window, flush with the end, covers a remainder. A video shorter than
    one window is one window.
    """
    if window <= 0 or stride <= 0:
        raise ValueError(f'window and stride must be > 0 seconds, got '
                         f'{window} and {stride}')
    length = max(1, int(round(window * fps)))
    step = max(1, int(round(stride * fps)))
    if num_frames <= length:
        return [(0, num_frames)]
    ranges = [(s, s + length)
              for s in range(0, num_frames - length + 1, step)]
    if ranges[-1][1] < num_frames:
        ranges.append((num_frames - length, num_frames))
    return ranges


def detect_track(source: FrameSource, detector, detect_every: int = 1,
                 chunk_size: int = 64, track_cfg: Optional[dict] = None,
                 progress: bool = False) -> FaceTrack:
    """Pass one: detect faces (every ``detect_every``-th frame; the others
    are filled by the tracker) and follow one through the video."""
    from tqdm import tqdm
    detections: List[Optional[np.ndarray]] = []
    bar = tqdm(total=source.num_frames, desc=f'faces {source.name}',
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


def _default_detector(device: str):
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


def _write_crops(source: FrameSource, track: FaceTrack, crop_dir: str,
                 margin: float, crop_size: int, analyzer,
                 chunk_size: int) -> Tuple[List[str], Optional[FaceMaps]]:
    """Pass two: crops every frame to ``crop_dir``; analyses them if
    ``analyzer`` is given."""
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


def _slice_maps(maps: FaceMaps, start: int, end: int) -> FaceMaps:
    return FaceMaps(maps.landmarks[start:end], maps.face_found[start:end],
                    maps.parsing[start:end])


def _describe(describer, clip_id: str, crop_dir: str, names: List[str],
              maps: Optional[FaceMaps]) -> str:
    from fineclip.preprocessing.describers import ClipInput, segment_middles
    frames = None
    if describer.needs_frames:
        inds = segment_middles(len(names), describer.num_frames)
        frames = np.stack(read_frame_files(crop_dir, names, inds, clip_id))
    return describer.describe([ClipInput(clip_id, frames, maps, None)])[0]


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
    from tqdm import tqdm
    if margin <= 0 or crop_size < 1 or detect_every < 1:
        raise ValueError('margin must be > 0, crop_size and detect_every '
                         f'>= 1; got {margin}, {crop_size}, {detect_every}')
    result = VideoResult(path=path, classes=recognizer.classes)
    try:
        source = FrameSource(path, fps)
        result.fps, result.fps_assumed = source.fps, source.fps_assumed
        detector = detector or _default_detector(recognizer.device)
        track = detect_track(source, detector, detect_every, chunk_size,
                             track_cfg, progress)
    except (OSError, ValueError) as err:
        result.status, result.message = 'error', str(err)
        return result
    result.track, result.num_frames = track, track.num_frames
    if not track.found:
        result.status = 'no_face'
        result.message = (f'No face found in {track.num_checked} frames of '
                          f"'{path}'")
        return result
    if track.num_detected < 0.5 * track.num_checked:
        result.warnings.append(
            f'a face was found in only {track.num_detected} of '
            f'{track.num_checked} checked frames; the crops of the others '
            'follow the nearest or interpolated boxes')
    needs = recognizer.needs
    if needs.description and describer is None:
        describer = build_describer()
    with_maps = needs.face_maps or (needs.description
                                    and describer.needs_face_maps)
    if with_maps and analyzer is None:
        analyzer = build_analyzer()
    tmp = None
    if crops_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix='fineclip_infer_')
        work = tmp.name
    else:
        work = osp.join(crops_dir, osp.splitext(source.name)[0])
    crop_dir, map_dir = osp.join(work, 'crops'), osp.join(work, 'face_maps')
    os.makedirs(crop_dir, exist_ok=True)
    try:
        try:
            names, maps = _write_crops(source, track, crop_dir, margin,
                                       crop_size, analyzer if with_maps
                                       else None, chunk_size)
        except (OSError, ValueError) as err:
            result.status, result.message = 'error', str(err)
            return result
        if maps is not None and not maps.face_found.all():
            result.warnings.append(
                f'the face analyser found landmarks in '
                f'{int(maps.face_found.sum())} of {len(names)} crops; the '
                'others take the nearest frame\'s maps')
        ranges = [(0, len(names))]
        if window is not None:
            stride = stride if stride is not None else min(1.0, window)
            ranges += window_ranges(len(names), source.fps, window, stride)
        samples = []
        for k, (start, end) in enumerate(tqdm(
                ranges, desc=f'clips {source.name}', leave=False,
                disable=not progress or len(ranges) < 3)):
            clip_id = f'{source.name}[{start}:{end}]'
            sample = dict(clip_id=clip_id, frame_dir=crop_dir,
                          frame_names=names[start:end],
                          total_frames=end - start)
            clip_maps = None if maps is None else _slice_maps(maps, start,
                                                              end)
            if needs.face_maps:
                sample['face_map_path'] = osp.join(map_dir, f'{k}.npz')
                save_face_maps(sample['face_map_path'], clip_maps)
            if needs.description:
                sample['description'] = _describe(
                    describer, clip_id, crop_dir, names[start:end],
                    clip_maps)
                if k == 0:
                    result.description = sample['description']
            samples.append(sample)
        probs = recognizer.predict(samples, batch_size)
        result.probs = probs[0]
        result.windows = [
            WindowResult(s, e, s / source.fps, e / source.fps, p)
            for (s, e), p in zip(ranges[1:], probs[1:])
        ]
        inds = segment_indices(len(names), needs.num_frames, random=False)
        result.strip = np.stack(read_frame_files(crop_dir, names, inds,
                                                 source.name))
        result.strip_times = [float(i) / source.fps for i in inds]
    finally:
        if tmp is not None:
            tmp.cleanup()
    return result


# --- reporting --------------------------------------------------------------
def _clock(seconds: float) -> str:
    minutes, seconds = divmod(seconds, 60)
    return f'{int(minutes):02d}:{seconds:05.2f}'


def format_result(result: VideoResult, top: Optional[int] = None) -> str:
    """A readable report of one result (several lines)."""
    head = f'{result.path}'
    if result.num_frames:
        rate = f'{result.fps:.2f} fps' + (' (assumed)'
                                         if result.fps_assumed else '')
        head += f' ({result.num_frames} frames, {rate}'
        if result.track is not None:
            head += (f', face in {result.track.num_detected}/'
                     f'{result.track.num_checked} checked frames')
        head += ')'
    lines = [head]
    if not result.ok:
        label = 'no face' if result.status == 'no_face' else 'error'
        lines.append(f'  {label}: {result.message}')
        return '\n'.join(lines)
    for warning in result.warnings:
        lines.append(f'  warning: {warning}')
    if result.description is not None:
        lines.append(f'  description: {result.description}')
    ranked = result.ranked()
    width = max(len(c) for c in result.classes)
    for name, prob in ranked[:top]:
        lines.append(f'  {name:<{width}}  {prob:.4f}')
    lines.append(f'  top: {ranked[0][0]} ({ranked[0][1]:.4f})')
    if result.windows:
        lines.append('  timeline (window: top class, then the next two):')
        for w in result.windows:
            best = result.ranked(w.probs)[:3]
            rest = ', '.join(f'{n} {p:.2f}' for n, p in best[1:])
            lines.append(f'    {_clock(w.start_s)}-{_clock(w.end_s)}  '
                         f'{best[0][0]} {best[0][1]:.2f}  ({rest})')
    return '\n'.join(lines)


def write_results(results: Sequence[VideoResult], out_file: str,
                  extra: Optional[dict] = None) -> None:
    """Writes results as JSON (everything) or CSV (one row per video, or
    per window when there are windows).

    Args:
        results: The videos' results.
        out_file: ``.json`` or ``.csv``.
        extra: More top-level JSON fields (config, checkpoint...).
    """
    ext = osp.splitext(out_file)[1].lower()
    if ext not in ('.json', '.csv'):
        raise ValueError(f"--out must end in .json or .csv, got "
                         f"'{out_file}'")
    folder = osp.dirname(osp.abspath(out_file))
    os.makedirs(folder, exist_ok=True)
    classes = next((r.classes for r in results if r.classes), ())
    if ext == '.json':
        payload = dict(extra or {}, classes=list(classes),
                       results=[r.to_dict() for r in results])
        with open(out_file, 'w') as f:
            json.dump(payload, f, indent=2)
        return
    # clip: 'video' for the whole video, 'window' for a sliding window
    header = ['video', 'status', 'message', 'clip', 'start_s', 'end_s',
              'top_class', 'top_prob'] + [f'p_{c}' for c in classes]
    with open(out_file, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for r in results:
            if not r.ok:
                writer.writerow([r.path, r.status, r.message] + [''] *
                                (len(header) - 3))
                continue
            duration = r.num_frames / r.fps
            rows = [('video', 0.0, duration, r.probs)] + [
                ('window', w.start_s, w.end_s, w.probs) for w in r.windows]
            for clip, start, end, probs in rows:
                best = r.ranked(probs)[0]
                writer.writerow(
                    [r.path, r.status, '', clip, f'{start:.3f}',
                     f'{end:.3f}', best[0], f'{best[1]:.6f}'] +
                    [f'{p:.6f}' for p in probs])


def save_result_figure(result: VideoResult, out_file: str) -> None:
    """A PNG: the face crops the model saw with their times, the top-3
    classes in the title, and with windows the probability of each class
    over time."""
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt
    if not result.ok or result.strip is None:
        raise ValueError(f'{result.path} has no prediction to show')
    num = len(result.strip)
    cols = min(num, 8)
    rows = math.ceil(num / cols)
    plot_rows = 1 if result.windows else 0
    width = max(1.7 * cols, 6.0 if plot_rows else 0.0)
    fig = plt.figure(figsize=(width, 2.0 * rows + 2.8 * plot_rows + 0.5),
                     layout='constrained')
    grid = fig.add_gridspec(rows + plot_rows, cols,
                            height_ratios=[1] * rows + [1.4] * plot_rows)
    for i, (crop, when) in enumerate(zip(result.strip, result.strip_times)):
        ax = fig.add_subplot(grid[i // cols, i % cols])
        ax.imshow(crop)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(f'{when:.2f} s', fontsize=8)
    top3 = ', '.join(f'{n} {p:.2f}' for n, p in result.ranked()[:3])
    fig.suptitle(f'{osp.basename(osp.normpath(result.path))}: {top3}',
                 fontsize=11)
    if result.windows:
        ax = fig.add_subplot(grid[rows, :])
        centres = [(w.start_s + w.end_s) / 2 for w in result.windows]
        probs = np.stack([w.probs for w in result.windows])
        cmap = plt.get_cmap('tab10' if len(result.classes) <= 10
                            else 'tab20')
        for c, name in enumerate(result.classes):
            ax.plot(centres, probs[:, c], marker='o', markersize=3,
                    label=name, color=cmap(c % cmap.N))
        ax.set_xlim(0, result.num_frames / result.fps)
        ax.set_ylim(0, 1)
        ax.set_xlabel('time (s), at window centres')
        ax.set_ylabel('probability')
        ax.grid(alpha=0.3)
        # outside the axes: inside, it would hide the lines it names
        ax.legend(fontsize=7, loc='upper left', bbox_to_anchor=(1.01, 1))
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def figure_names(paths: Sequence[str]) -> Dict[str, str]:
    """A unique PNG name per input: its name without the extension, or
    with it (dot replaced) where two inputs share a stem."""
    bases = [osp.basename(osp.normpath(p)) for p in paths]
    stems = [osp.splitext(b)[0] for b in bases]
    return {
        p: (stem if stems.count(stem) == 1 else base.replace('.', '_'))
        + '.png'
        for p, base, stem in zip(paths, bases, stems)
    }
