"""FaceXFormer face analyser: iBUG-68 landmarks and LaPa parsing per frame.

FaceXFormer (Narayan et al., 2024, "FaceXFormer: A Unified Transformer for
Facial Analysis") is a Swin-B encoder whose four stage outputs are projected
to 256 channels, fused at stride 4 and decoded by a two-way transformer that
refines one learnable token per task (landmarks, head pose, attributes,
visibility, age, gender, race) plus 11 parsing-class tokens. The network
below is written for this project; its module names and parameter shapes
follow the authors' release so that the ``state_dict_backbone`` entry of
their checkpoint (``ckpts/model.pt`` in the Hugging Face repo
``kartiknarayan/facexformer``) loads with ``strict=True``.

The authors' inference reads the outputs as follows, and so does
:class:`FaceXFormerAnalyzer`:

* input: an RGB face crop (detector box grown by 50 %, clipped to the image),
  resized to 224 x 224 (bicubic), scaled to [0, 1] and normalised with the
  ImageNet mean and std;
* landmarks: 136 numbers, read as 68 ``(x, y)`` pairs in [-1, 1] over the
  crop (-1 is its left/top edge, 1 its right/bottom edge);
* parsing: 11 x 224 x 224 logits over the crop; the label is their argmax.

Registering: ``FACE_ANALYZERS`` finds this class once this module is
imported (``fineclip.preprocessing.face_analyzers`` must import it).
"""
import math
import os.path as osp
import pickle
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn
from torchvision.models import swin_b
from torchvision.models.swin_transformer import SwinTransformer

from fineclip.registry import FACE_ANALYZERS

from .base import BaseFaceAnalyzer

INPUT_SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
NUM_PARSING_CLASSES = 11
NUM_LANDMARKS = 68
BOX_MARGIN = 0.5
CHECKPOINT_KEY = 'state_dict_backbone'
HF_REPO = 'kartiknarayan/facexformer'
HF_FILE = 'ckpts/model.pt'

# Single-vector task heads in token order: (name, outputs). The parsing
# tokens follow them. The order fixes which decoder output is which task.
TASK_HEADS = (('landmarks', 2 * NUM_LANDMARKS), ('pose', 3),
              ('attribute', 40), ('visibility', 29), ('age', 8),
              ('gender', 2), ('race', 5))

# Swin-B as built by ``torchvision.models.swin_b``.
SWIN_B = dict(embed_dim=128, depths=(2, 2, 18, 2), num_heads=(4, 8, 16, 32),
              window_size=(7, 7))

Box = Tuple[int, int, int, int]
BoxLike = Sequence[float]
FaceDetector = Callable[[np.ndarray], Sequence[Optional[BoxLike]]]


class CheckpointError(ValueError):
    """A FaceXFormer checkpoint that cannot be read or does not fit."""


# --------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------
class MLP(nn.Module):
    """Linear layers with ReLU between them (none after the last).

    Args:
        in_dim: Input features.
        hidden_dim: Features of every hidden layer.
        out_dim: Output features.
        num_layers: Number of linear layers.
    """

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int,
                 num_layers: int):
        super().__init__()
        dims = [in_dim] + [hidden_dim] * (num_layers - 1) + [out_dim]
        self.layers = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, x: Tensor) -> Tensor:
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < last:
                x = F.relu(x)
        return x


class LayerNorm2d(nn.Module):
    """Layer norm over the channels of a ``(B, C, H, W)`` map."""

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return x * self.weight[:, None, None] + self.bias[:, None, None]


class Attention(nn.Module):
    """Multi-head attention whose projections may shrink the width.

    Args:
        dim: Width of queries, keys, values and output.
        num_heads: Attention heads.
        downsample_rate: The inner width is ``dim // downsample_rate``.
    """

    def __init__(self, dim: int, num_heads: int, downsample_rate: int = 1):
        super().__init__()
        inner = dim // downsample_rate
        if inner % num_heads:
            raise ValueError(f'{num_heads} heads do not divide width {inner}')
        self.num_heads = num_heads
        self.q_proj = nn.Linear(dim, inner)
        self.k_proj = nn.Linear(dim, inner)
        self.v_proj = nn.Linear(dim, inner)
        self.out_proj = nn.Linear(inner, dim)

    def _heads(self, x: Tensor) -> Tensor:
        b, n, c = x.shape
        return x.view(b, n, self.num_heads, c // self.num_heads).transpose(
            1, 2)

    def forward(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        q = self._heads(self.q_proj(q))
        k = self._heads(self.k_proj(k))
        v = self._heads(self.v_proj(v))
        # Plain softmax(q k^T / sqrt(d)) v, without dropout or masks.
        out = F.scaled_dot_product_attention(q, k, v)
        b, h, n, d = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(b, n, h * d))


class MLPBlock(nn.Module):
    """Two linear layers with an activation between them."""

    def __init__(self, dim: int, hidden_dim: int,
                 act: Callable[[], nn.Module] = nn.ReLU):
        super().__init__()
        self.lin1 = nn.Linear(dim, hidden_dim)
        self.lin2 = nn.Linear(hidden_dim, dim)
        self.act = act()

    def forward(self, x: Tensor) -> Tensor:
        return self.lin2(self.act(self.lin1(x)))


class TwoWayAttentionBlock(nn.Module):
    """Token self-attention, token-to-face and face-to-token attention.

    Args:
        dim: Token width.
        num_heads: Attention heads.
        mlp_dim: Hidden width of the token MLP.
        downsample_rate: Width reduction of the cross-attentions.
        skip_first_pe: Drop the residual and positional terms from the
            self-attention (first block only), as the release does.
    """

    def __init__(self, dim: int, num_heads: int, mlp_dim: int,
                 downsample_rate: int = 2, skip_first_pe: bool = False):
        super().__init__()
        self.self_attn = Attention(dim, num_heads)
        self.norm1 = nn.LayerNorm(dim)
        self.cross_attn_token_to_image = Attention(dim, num_heads,
                                                   downsample_rate)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = MLPBlock(dim, mlp_dim)
        self.norm3 = nn.LayerNorm(dim)
        self.norm4 = nn.LayerNorm(dim)
        self.cross_attn_image_to_token = Attention(dim, num_heads,
                                                   downsample_rate)
        self.skip_first_pe = skip_first_pe

    def forward(self, tokens: Tensor, face: Tensor, token_pe: Tensor,
                face_pe: Tensor) -> Tuple[Tensor, Tensor]:
        if self.skip_first_pe:
            tokens = self.self_attn(tokens, tokens, tokens)
        else:
            q = tokens + token_pe
            tokens = tokens + self.self_attn(q, q, tokens)
        tokens = self.norm1(tokens)

        q, k = tokens + token_pe, face + face_pe
        tokens = self.norm2(
            tokens + self.cross_attn_token_to_image(q, k, face))
        tokens = self.norm3(tokens + self.mlp(tokens))

        q, k = tokens + token_pe, face + face_pe
        face = self.norm4(
            face + self.cross_attn_image_to_token(k, q, tokens))
        return tokens, face


class TwoWayTransformer(nn.Module):
    """The FaceX decoder: task tokens and face tokens refine each other.

    Args:
        depth: Number of :class:`TwoWayAttentionBlock`.
        dim: Token width.
        num_heads: Attention heads.
        mlp_dim: Hidden width of the token MLPs.
        downsample_rate: Width reduction of the cross-attentions.
    """

    def __init__(self, depth: int, dim: int, num_heads: int, mlp_dim: int,
                 downsample_rate: int = 2):
        super().__init__()
        self.layers = nn.ModuleList(
            TwoWayAttentionBlock(dim, num_heads, mlp_dim, downsample_rate,
                                 skip_first_pe=(i == 0))
            for i in range(depth))
        self.final_attn_token_to_image = Attention(dim, num_heads,
                                                   downsample_rate)
        self.norm_final_attn = nn.LayerNorm(dim)

    def forward(self, face: Tensor, face_pe: Tensor,
                tokens: Tensor) -> Tuple[Tensor, Tensor]:
        """Refines ``tokens`` (B, T, C) against ``face`` (B, C, H, W).

        Returns:
            The refined tokens ``(B, T, C)`` and face tokens ``(B, HW, C)``.
        """
        face = face.flatten(2).transpose(1, 2)
        face_pe = face_pe.flatten(2).transpose(1, 2)
        token_pe, queries = tokens, tokens
        for layer in self.layers:
            queries, face = layer(queries, face, token_pe, face_pe)
        attn = self.final_attn_token_to_image(queries + token_pe,
                                              face + face_pe, face)
        return self.norm_final_attn(queries + attn), face


class FaceDecoder(nn.Module):
    """Task tokens, the two-way transformer and the task heads.

    Args:
        dim: Token width.
        transformer: The :class:`TwoWayTransformer`.
        num_classes: Parsing classes (one token each).
    """

    def __init__(self, dim: int, transformer: nn.Module,
                 num_classes: int = NUM_PARSING_CLASSES):
        super().__init__()
        self.transformer = transformer
        for name, _ in TASK_HEADS:
            setattr(self, f'{name}_token', nn.Embedding(1, dim))
        self.mask_tokens = nn.Embedding(num_classes, dim)
        # Stride-4 face tokens -> full input resolution, dim // 8 channels.
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose2d(dim, dim // 4, kernel_size=2, stride=2),
            LayerNorm2d(dim // 4), nn.GELU(),
            nn.ConvTranspose2d(dim // 4, dim // 8, kernel_size=2, stride=2),
            nn.GELU())
        self.output_hypernetwork_mlps = MLP(dim, dim, dim // 8, 3)
        for name, out in TASK_HEADS:
            setattr(self, f'{name}_prediction_head', MLP(dim, dim, out, 3))

    def forward(self, face: Tensor, face_pe: Tensor) -> Dict[str, Tensor]:
        """Decodes fused features ``(B, C, H, W)`` into every task output.

        Returns:
            dict: one ``(B, outputs)`` tensor per name in
            :data:`TASK_HEADS` and ``parsing``, ``(B, classes, 4H, 4W)``
            logits.
        """
        weights = [getattr(self, f'{n}_token').weight for n, _ in TASK_HEADS]
        tokens = torch.cat(weights + [self.mask_tokens.weight])
        tokens = tokens.unsqueeze(0).expand(face.size(0), -1, -1)
        b, c, h, w = face.shape
        tokens, face = self.transformer(face, face_pe, tokens)

        out = {}
        for i, (name, _) in enumerate(TASK_HEADS):
            head = getattr(self, f'{name}_prediction_head')
            out[name] = head(tokens[:, i])
        up = self.output_upscaling(face.transpose(1, 2).reshape(b, c, h, w))
        hyper = self.output_hypernetwork_mlps(tokens[:, len(TASK_HEADS):])
        out['parsing'] = torch.einsum('bkc,bchw->bkhw', hyper, up)
        return out


class PositionEmbeddingRandom(nn.Module):
    """Fourier features of pixel centres with a fixed random projection.

    The projection is a buffer: its values come from the checkpoint.
    """

    def __init__(self, num_feats: int):
        super().__init__()
        self.register_buffer('positional_encoding_gaussian_matrix',
                             torch.randn(2, num_feats))

    def forward(self, size: Tuple[int, int]) -> Tensor:
        """Returns the ``(2 * num_feats, H, W)`` encoding of an H x W grid."""
        h, w = size
        matrix = self.positional_encoding_gaussian_matrix
        ys = (torch.arange(h, device=matrix.device) + 0.5) / h
        xs = (torch.arange(w, device=matrix.device) + 0.5) / w
        grid = torch.stack(torch.meshgrid(xs, ys, indexing='xy'), dim=-1)
        proj = 2 * math.pi * ((2 * grid - 1) @ matrix)
        return torch.cat([proj.sin(), proj.cos()], dim=-1).permute(2, 0, 1)


class FaceXFormerMLP(nn.Module):
    """Projects one encoder stage's channels to the decoder width."""

    def __init__(self, in_dim: int, out_dim: int = 256):
        super().__init__()
        self.proj = nn.Linear(in_dim, out_dim)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, H, W, C_in)`` -> ``(B, C_out, H, W)``."""
        return self.proj(x).permute(0, 3, 1, 2)


def build_swin(embed_dim: int = 128, depths: Sequence[int] = (2, 2, 18, 2),
               num_heads: Sequence[int] = (4, 8, 16, 32),
               window_size: Sequence[int] = (7, 7)) -> nn.Module:
    """Builds a torchvision Swin transformer without downloading weights.

    The Swin-B settings give ``torchvision.models.swin_b(weights=None)``;
    other settings (small test models) keep the same module layout.
    """
    cfg = dict(embed_dim=embed_dim, depths=tuple(depths),
               num_heads=tuple(num_heads), window_size=tuple(window_size))
    if cfg == SWIN_B:
        return swin_b(weights=None)
    return SwinTransformer(patch_size=[4, 4], embed_dim=embed_dim,
                           depths=list(depths), num_heads=list(num_heads),
                           window_size=list(window_size))


class FaceXFormer(nn.Module):
    """The FaceXFormer network; defaults match the released checkpoint.

    ``backbone`` keeps torchvision's Swin children except the classifier
    (``features``, ``norm``, ``permute``, ``avgpool``, ``flatten``), so its
    state-dict keys are ``backbone.0.*`` and ``backbone.1.*`` as in the
    release. Only the four stages of ``backbone.0`` are run: the final norm
    and pooling feed nothing the heads use.

    Args:
        backbone: Swin settings for :func:`build_swin` (default Swin-B).
        dim: Decoder width.
        depth: Two-way transformer blocks.
        num_heads: Decoder attention heads.
        mlp_dim: Hidden width of the decoder token MLPs.
        num_classes: Parsing classes.
    """

    # Indices in ``backbone[0]`` (Swin ``features``) of the four stages.
    STAGES = (1, 3, 5, 7)

    def __init__(self, backbone: Optional[dict] = None, dim: int = 256,
                 depth: int = 2, num_heads: int = 8, mlp_dim: int = 2048,
                 num_classes: int = NUM_PARSING_CLASSES):
        super().__init__()
        swin_cfg = dict(SWIN_B, **(backbone or {}))
        swin = build_swin(**swin_cfg)
        self.backbone = nn.Sequential(*list(swin.children())[:-1])
        self.pe_layer = PositionEmbeddingRandom(dim // 2)
        self.face_decoder = FaceDecoder(
            dim, TwoWayTransformer(depth, dim, num_heads, mlp_dim),
            num_classes)
        widths = [swin_cfg['embed_dim'] * 2**i for i in range(4)]
        self.linear_c = nn.ModuleList(FaceXFormerMLP(c, dim) for c in widths)
        self.linear_fuse = nn.Conv2d(4 * dim, dim, kernel_size=1, bias=False)

    def stage_features(self, x: Tensor) -> List[Tensor]:
        """The four Swin stage outputs, channels last, finest first."""
        feats = []
        for i, module in enumerate(self.backbone[0]):
            x = module(x)
            if i in self.STAGES:
                feats.append(x)
        return feats

    def fuse(self, feats: List[Tensor]) -> Tensor:
        """Projects every stage, upsamples to the finest, fuses by 1x1."""
        size = feats[0].shape[1:3]
        maps = [F.interpolate(mlp(f), size=size, mode='bilinear',
                              align_corners=False)
                for f, mlp in zip(feats, self.linear_c)]
        # The release concatenates coarsest first.
        return self.linear_fuse(torch.cat(maps[::-1], dim=1))

    def forward(self, images: Tensor) -> Dict[str, Tensor]:
        """Runs every task on normalised ``(B, 3, 224, 224)`` face crops.

        Returns:
            dict: ``landmarks`` ``(B, 68, 2)`` in [-1, 1] over the crop,
            ``parsing`` ``(B, 11, 224, 224)`` logits, and the raw outputs
            of the other heads (``pose`` 3, ``attribute`` 40,
            ``visibility`` 29, ``age`` 8, ``gender`` 2, ``race`` 5).
        """
        fused = self.fuse(self.stage_features(images))
        pe = self.pe_layer(fused.shape[2:]).unsqueeze(0)
        out = self.face_decoder(fused, pe)
        out['landmarks'] = out['landmarks'].view(-1, NUM_LANDMARKS, 2)
        return out


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
