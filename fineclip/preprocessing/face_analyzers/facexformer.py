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
import os.path as osp
import pickle
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from fineclip.registry import FACE_ANALYZERS

from .base import BaseFaceAnalyzer
from .facexformer_model import NUM_LANDMARKS, FaceXFormer

INPUT_SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
BOX_MARGIN = 0.5
CHECKPOINT_KEY = 'state_dict_backbone'
HF_REPO = 'kartiknarayan/facexformer'
HF_FILE = 'ckpts/model.pt'

Box = Tuple[int, int, int, int]
BoxLike = Sequence[float]
FaceDetector = Callable[[np.ndarray], Sequence[Optional[BoxLike]]]


class CheckpointError(ValueError):
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
# Crops and coordinate mapping
# --------------------------------------------------------------------------
def expand_box(box: BoxLike, width: int, height: int,
               margin: float = BOX_MARGIN) -> Box:
    """Grows a face box as the authors' inference does, in integer pixels.

    The box grows by ``margin`` of its width and height (half on each side),
    is clipped to the frame and truncated to integers (the crop PIL makes).

    Args:
        box: ``(x0, y0, x1, y1)`` in pixels.
        width: Frame width.
        height: Frame height.
        margin: Fraction of the box size added.

    Returns:
        ``(x0, y0, x1, y1)`` integers with at least one pixel each way.
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    dx, dy = (x1 - x0) * margin / 2, (y1 - y0) * margin / 2
    x0, y0 = int(max(0.0, x0 - dx)), int(max(0.0, y0 - dy))
    x1, y1 = int(min(width, x1 + dx)), int(min(height, y1 + dy))
    x0, y0 = min(x0, width - 1), min(y0, height - 1)
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def crop_to_input(frame: np.ndarray, box: Box) -> Tensor:
    """Crops a frame, resizes to 224 x 224 (bicubic) and normalises it.

    PIL does the resize, as in the authors' torchvision transform on PIL
    images, so inputs match theirs.
    """
    crop = Image.fromarray(frame).crop(box)
    crop = crop.resize((INPUT_SIZE, INPUT_SIZE), Image.BICUBIC)
    x = torch.from_numpy(np.asarray(crop, np.float32) / 255.0)
    mean = torch.tensor(IMAGENET_MEAN)
    std = torch.tensor(IMAGENET_STD)
    return ((x - mean) / std).permute(2, 0, 1)


def landmarks_to_frame(points: np.ndarray, boxes: Sequence[Box],
                       width: int, height: int) -> np.ndarray:
    """Maps crop landmarks in [-1, 1] to frame-normalised ``(x/W, y/H)``.

    -1 and 1 are the crop's outer edges (the authors de-normalise with
    ``align_corners=False``). Points are clipped to the frame, [0, 1].

    Args:
        points: ``(N, 68, 2)`` crop coordinates.
        boxes: The N integer crop boxes.
        width: Frame width.
        height: Frame height.
    """
    box = np.asarray(boxes, np.float64).reshape(-1, 1, 4)
    origin, size = box[..., :2], box[..., 2:] - box[..., :2]
    pixels = origin + (points.astype(np.float64) + 1) / 2 * size
    norm = pixels / np.array([width, height], np.float64)
    return np.clip(norm, 0.0, 1.0).astype(np.float32)


def parsing_to_frame(labels: np.ndarray, boxes: Sequence[Box], width: int,
                     height: int, size: int) -> np.ndarray:
    """Resamples crop label maps onto an S x S grid over the whole frame.

    Each output cell takes the crop label under its centre (nearest);
    cells outside the crop are background (0).

    Args:
        labels: ``(N, h, w)`` crop labels.
        boxes: The N integer crop boxes.
        width: Frame width.
        height: Frame height.
        size: Output side ``S``.

    Returns:
        ``(N, S, S)`` uint8 labels.
    """
    out = np.zeros((len(labels), size, size), np.uint8)
    centres = (np.arange(size) + 0.5) / size
    for n, (lab, (x0, y0, x1, y1)) in enumerate(zip(labels, boxes)):
        cols = _cells(centres * width, x0, x1, lab.shape[1])
        rows = _cells(centres * height, y0, y1, lab.shape[0])
        inside = (rows >= 0)[:, None] & (cols >= 0)[None, :]
        picked = lab[rows.clip(0)[:, None], cols.clip(0)[None, :]]
        out[n] = np.where(inside, picked, 0)
    return out


def _cells(coords: np.ndarray, start: float, stop: float,
           cells: int) -> np.ndarray:
    """Crop cell index under each frame coordinate; -1 outside the crop."""
    idx = np.floor((coords - start) / (stop - start) * cells).astype(int)
    return np.where((idx >= 0) & (idx < cells), idx, -1)


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
    """

    def __init__(self, checkpoint: str,
                 device: Union[str, torch.device] = 'cpu',
                 parsing_size: int = 224, batch_size: int = 16,
                 face_detector: Union[None, str, FaceDetector] = None,
                 margin: float = BOX_MARGIN,
                 model_cfg: Optional[dict] = None):
        super().__init__(parsing_size=parsing_size, batch_size=batch_size)
        self.device = torch.device(device)
        self.margin = margin
        self.model = load_facexformer(checkpoint, self.device, model_cfg)
        self.face_detector = _build_detector(face_detector, self.device)

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
        parts = [self._analyze_batch(frames[i:i + self.batch_size])
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

    @torch.no_grad()
    def _analyze_batch(self, frames: np.ndarray) -> Dict[str, np.ndarray]:
        h, w = frames.shape[1:3]
        boxes, found = self.face_boxes(frames)
        images = torch.stack([crop_to_input(f, b)
                              for f, b in zip(frames, boxes)])
        out = self.model(images.to(self.device))
        points = out['landmarks'].float().cpu().numpy()
        labels = out['parsing'].argmax(dim=1).to(torch.uint8).cpu().numpy()
        return dict(
            landmarks=landmarks_to_frame(points, boxes, w, h),
            face_found=found,
            parsing=parsing_to_frame(labels, boxes, w, h,
                                     self.parsing_size))
