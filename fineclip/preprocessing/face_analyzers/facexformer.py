"""FaceXFormer face analyser: iBUG-68 landmarks and LaPa parsing per frame.

FaceXFormer (Narayan et al., 2024, "FaceXFormer: A Unified Transformer for
Facial Analysis") is a Swin-B encoder whose four stage outputs are projected
to 256 channels, fused at stride 4 and decoded by a two-way transformer that
refines one learnable token per task (landmarks, head pose, attributes,
visibility, age, gender, race) plus 11 parsing-class tokens. The network is
in :mod:`.facexformer_model`; this module loads the authors' weights (the
``state_dict_backbone`` entry of ``ckpts/model.pt`` in the Hugging Face repo
``kartiknarayan/facexformer``, strictly) and turns frames into face maps.

The authors' inference reads the outputs as follows, and so does
:class:`FaceXFormerAnalyzer`:

* input: an RGB face crop (detector box grown by 50 %, clipped to the image),
  resized to 224 x 224 (bicubic), scaled to [0, 1] and normalised with the
  ImageNet mean and std;
* landmarks: 136 numbers, read as 68 ``(x, y)`` pairs in [-1, 1] over the
  crop (-1 is its left/top edge, 1 its right/bottom edge);
* parsing: 11 x 224 x 224 logits over the crop; the label is their argmax.

"""
import contextlib
import os.path as osp
import pickle
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from fineclip.registry import FACE_ANALYZERS
from fineclip.utils.errors import UserInputError

from .base import BaseFaceAnalyzer
from .facexformer_geometry import (BOX_MARGIN, IMAGENET_MEAN,  # noqa: F401
                                   IMAGENET_STD, INPUT_SIZE, Box, BoxLike,
                                   FaceXFormerCropper, PreparedBatch,
                                   crop_to_input, crops_tensor, expand_box,
                                   landmarks_to_frame, normalise,
                                   parsing_to_frame, parsing_to_frame_tensor)
from .facexformer_model import NUM_LANDMARKS, FaceXFormer

CHECKPOINT_KEY = 'state_dict_backbone'
HF_REPO = 'kartiknarayan/facexformer'
HF_FILE = 'ckpts/model.pt'

FaceDetector = Callable[[np.ndarray], Sequence[Optional[BoxLike]]]


class CheckpointError(UserInputError, ValueError):
    """A FaceXFormer checkpoint that cannot be read or does not fit."""


# --------------------------------------------------------------------------
# Checkpoint
# --------------------------------------------------------------------------
def _missing_checkpoint_message(path: str) -> str:
    return (
        f'FaceXFormer checkpoint not found at {path!r}. Download the '
        f"authors' released weights, file {HF_FILE!r} of the Hugging Face "
        f'repo {HF_REPO!r} (https://huggingface.co/{HF_REPO}), e.g. '
        f'`huggingface-cli download {HF_REPO} {HF_FILE} --local-dir '
        'checkpoints/facexformer`, and pass the file as the `checkpoint` '
        "argument of the face analyser (config: dict(type="
        "'FaceXFormerAnalyzer', checkpoint='checkpoints/facexformer/"
        "ckpts/model.pt')).")


def load_state_dict_file(path: str) -> Dict[str, Tensor]:
    """Reads the ``state_dict_backbone`` of a FaceXFormer checkpoint.

    Only tensors and plain containers are unpickled (``weights_only``):
    a checkpoint file can otherwise run arbitrary code when loaded.

    Raises:
        FileNotFoundError: no file at ``path`` (says what to download).
        CheckpointError: unreadable file, pickled objects other than
            weights, or no ``state_dict_backbone`` entry.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(_missing_checkpoint_message(path))
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as err:
        raise CheckpointError(
            f'{path}: cannot be read as a weights-only checkpoint ({err}). '
            'It is loaded with weights_only=True, which refuses pickled '
            'objects other than tensors and plain containers. If you trust '
            'the file, re-save just the weights once: torch.save('
            f"{{'{CHECKPOINT_KEY}': ckpt['{CHECKPOINT_KEY}']}}, path).") \
            from err
    if not isinstance(ckpt, dict) or CHECKPOINT_KEY not in ckpt:
        keys = sorted(ckpt) if isinstance(ckpt, dict) else type(ckpt)
        raise CheckpointError(
            f'{path}: no {CHECKPOINT_KEY!r} entry (found {keys}); expected '
            f'the FaceXFormer release {HF_FILE!r} from {HF_REPO!r}.')
    return ckpt[CHECKPOINT_KEY]


def load_facexformer(path: str, device: Union[str, torch.device] = 'cpu',
                     model_cfg: Optional[dict] = None) -> FaceXFormer:
    """Builds :class:`FaceXFormer` and loads a checkpoint strictly.

    Args:
        path: Checkpoint file holding ``state_dict_backbone``.
        device: Where the model runs.
        model_cfg: Keyword arguments of :class:`FaceXFormer` (default: the
            released architecture).

    Returns:
        The model in eval mode with gradients off.
    """
    state = load_state_dict_file(path)
    # Built without memory or random init: every tensor is a persistent
    # parameter or buffer, so the strict load below assigns all of them.
    with torch.device('meta'):
        model = FaceXFormer(**(model_cfg or {}))
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as err:
        raise CheckpointError(
            f'{path}: {CHECKPOINT_KEY!r} does not fit the FaceXFormer '
            f'architecture: {err}') from err
    return model.to(device).eval().requires_grad_(False)


# --------------------------------------------------------------------------
# Face detection
# --------------------------------------------------------------------------
class MTCNNDetector:
    """facenet-pytorch's MTCNN, the detector of the authors' inference.

    facenet-pytorch is optional (``pip install facenet-pytorch``; its
    wheels ship the MTCNN weights). Like the authors' inference it keeps
    the first box, which MTCNN sorts largest first.
    """

    def __init__(self, device: Union[str, torch.device] = 'cpu'):
        try:
            from facenet_pytorch import MTCNN
        except ImportError as err:
            raise ImportError(
                "face_detector='mtcnn' needs facenet-pytorch (pip install "
                'facenet-pytorch); leave face_detector=None for frames '
                'that are already face crops.') from err
        self.mtcnn = MTCNN(keep_all=True, device=device)

    def __call__(self, frames: np.ndarray) -> List[Optional[BoxLike]]:
        images = [Image.fromarray(f) for f in frames]
        boxes, _ = self.mtcnn.detect(images)
        return [None if b is None or len(b) == 0 else b[0] for b in boxes]


def _build_detector(spec, device) -> Optional[FaceDetector]:
    if spec is None or callable(spec):
        return spec
    if spec == 'mtcnn':
        return MTCNNDetector(device)
    raise ValueError("face_detector must be None, 'mtcnn' or a callable, "
                     f'got {spec!r}')


# --------------------------------------------------------------------------
# Analyser
# --------------------------------------------------------------------------
PRECISIONS = ('auto', 'float32', 'float16', 'bfloat16')


def resolve_precision(precision: str, device: torch.device) -> torch.dtype:
    """The dtype FaceXFormer runs in: ``'auto'`` is float16 on CUDA (full
    speed on every CUDA GPU with tensor cores, V100 and T4 included, and 3
    more mantissa bits than bfloat16) and float32 elsewhere (CPUs gain
    little from half precision and lose exactness)."""
    if precision not in PRECISIONS:
        raise ValueError(f'precision must be one of {PRECISIONS}, got '
                         f'{precision!r}')
    if precision == 'auto':
        return torch.float16 if device.type == 'cuda' else torch.float32
    return getattr(torch, precision)


@FACE_ANALYZERS.register_module()
class FaceXFormerAnalyzer(BaseFaceAnalyzer):
    """Landmarks and parsing maps from the released FaceXFormer weights.

    DFEW, FERV39k and MAFW frames are already face crops, so by default
    (``face_detector=None``) the whole frame is the face crop, no margin is
    added, and ``face_found`` is True for every frame: FaceXFormer has no
    face-presence output (its ``visibility`` head scores 29 COFW points,
    not whether there is a face). With a detector, each detected box grows
    by 50 % as in the authors' inference; frames without a detection are
    analysed whole and get ``face_found=False``.

    Work is split so that a GPU is not kept waiting
    (``tools/data/extract_face_maps.py``): the extraction's loader workers
    decode, crop and resize the frames (:meth:`batch_preparer`; with a
    detector they only decode, and the crops are cut here after
    detection), and :meth:`analyze_prepared` normalises them on the
    device, runs the network under autocast in ``precision``, takes the
    label argmax and resamples the label maps onto the frame grid there,
    so only ``(N, S, S)`` uint8 labels and the landmarks come back.

    Args:
        checkpoint: Local path of the released ``ckpts/model.pt`` (Hugging
            Face repo ``kartiknarayan/facexformer``).
        device: Torch device the network runs on.
        parsing_size: Side ``S`` of the returned parsing maps.
        batch_size: Frames per forward pass.
        face_detector: None (whole frame), ``'mtcnn'`` (facenet-pytorch)
            or a callable mapping ``(N, H, W, 3)`` uint8 frames to N boxes
            ``(x0, y0, x1, y1)`` in pixels, or None where there is no face.
        margin: Fraction a detected box grows by (0.5 in the release).
        model_cfg: :class:`FaceXFormer` keyword arguments; leave None for
            the released checkpoint (tests use small models).
        precision: ``'auto'`` (float16 on CUDA, float32 on CPU),
            ``'float32'``, ``'float16'`` or ``'bfloat16'`` (autocast; the
            parsing logits are computed in float32 in every case).
    """

    def __init__(self, checkpoint: str,
                 device: Union[str, torch.device] = 'cpu',
                 parsing_size: int = 224, batch_size: int = 16,
                 face_detector: Union[None, str, FaceDetector] = None,
                 margin: float = BOX_MARGIN,
                 model_cfg: Optional[dict] = None,
                 precision: str = 'auto'):
        super().__init__(parsing_size=parsing_size, batch_size=batch_size)
        self.device = torch.device(device)
        self.dtype = resolve_precision(precision, self.device)
        self.margin = margin
        self.model = load_facexformer(checkpoint, self.device, model_cfg)
        self.face_detector = _build_detector(face_detector, self.device)

    def batch_preparer(self) -> FaceXFormerCropper:
        """Crops and resizes batches of frames (in the loader workers);
        with a detector it only passes the frames on."""
        return FaceXFormerCropper(whole_frame=self.face_detector is None)

    def analyze(self, frames: np.ndarray) -> Dict[str, np.ndarray]:
        """Analyses frames of one clip (see :class:`BaseFaceAnalyzer`).

        Args:
            frames: ``(N, H, W, 3)`` uint8 RGB frames.

        Returns:
            dict: ``landmarks`` ``(N, 68, 2)`` float32 in [0, 1] of the
            frame, ``face_found`` ``(N,)`` bool, ``parsing`` ``(N, S, S)``
            uint8 labels 0-10 over the whole frame.
        """
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError('frames must be (N, H, W, 3), got '
                             f'{frames.shape}')
        prepare = self.batch_preparer()
        parts = [self.analyze_prepared(prepare(frames[i:i + self.batch_size]))
                 for i in range(0, len(frames), self.batch_size)]
        if not parts:
            return self._empty(0)
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def _empty(self, n: int) -> Dict[str, np.ndarray]:
        s = self.parsing_size
        return dict(landmarks=np.zeros((n, NUM_LANDMARKS, 2), np.float32),
                    face_found=np.zeros(n, bool),
                    parsing=np.zeros((n, s, s), np.uint8))

    def face_boxes(self, frames: np.ndarray
                   ) -> Tuple[List[Box], np.ndarray]:
        """Crop boxes of the frames and whether a face was found in each."""
        n, h, w = frames.shape[:3]
        whole = (0, 0, w, h)
        if self.face_detector is None:
            return [whole] * n, np.ones(n, bool)
        detections = list(self.face_detector(frames))
        if len(detections) != n:
            raise ValueError(f'face_detector gave {len(detections)} boxes '
                             f'for {n} frames')
        found = np.array([d is not None for d in detections], bool)
        boxes = [whole if d is None else expand_box(d, w, h, self.margin)
                 for d in detections]
        return boxes, found

    def _autocast(self):
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    @torch.inference_mode()
    def analyze_prepared(self, batch: PreparedBatch
                         ) -> Dict[str, np.ndarray]:
        """Analyses one batch made ready by :meth:`batch_preparer`.

        Returns:
            dict: as :meth:`analyze`, for the batch's frames.
        """
        h, w = batch.frame_hw
        crops, boxes, found = batch.crops, batch.boxes, batch.found
        if crops is None:  # the detector's turn, then the crops
            boxes, found = self.face_boxes(batch.frames)
            crops = crops_tensor(batch.frames, boxes)
        if len(boxes) == 0:
            return self._empty(0)
        images = normalise(crops.to(self.device, non_blocking=True))
        with self._autocast():
            out = self.model(images)
        labels = out['parsing'].argmax(dim=1).to(torch.uint8)
        parsing = parsing_to_frame_tensor(labels, boxes, w, h,
                                          self.parsing_size)
        points = out['landmarks'].float().cpu().numpy()
        return dict(landmarks=landmarks_to_frame(points, boxes, w, h),
                    face_found=np.asarray(found, bool),
                    parsing=parsing.cpu().numpy())
