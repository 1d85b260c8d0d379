"""FaceXFormer network (Narayan et al., 2024), architecture only.

A Swin-B encoder whose four stage outputs are projected to 256 channels,
fused at stride 4 and decoded by a two-way transformer that refines one
learnable token per task (landmarks, head pose, attributes, visibility, age,
gender, race) plus 11 parsing-class tokens. Written for this project; module
names and parameter shapes follow the authors' release so that their
checkpoint loads with ``strict=True``. Weights and pre/post-processing live
in :mod:`.facexformer` (the analyser), as open_clip keeps architecture and
weights apart.
"""
import math
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models import swin_b
from torchvision.models.swin_transformer import SwinTransformer

NUM_PARSING_CLASSES = 11
NUM_LANDMARKS = 68

# Single-vector task heads in token order: (name, outputs). The parsing
# tokens follow them. The order fixes which decoder output is which task.
TASK_HEADS = (('landmarks', 2 * NUM_LANDMARKS), ('pose', 3),
              ('attribute', 40), ('visibility', 29), ('age', 8),
              ('gender', 2), ('race', 5))

# Swin-B as built by ``torchvision.models.swin_b``.
SWIN_B = dict(embed_dim=128, depths=(2, 2, 18, 2), num_heads=(4, 8, 16, 32),
              window_size=(7, 7))


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
        # The logits' argmax is the label map: under fp16/bf16 autocast the
        # product would round them to 11 / 8 bits and flip labels where two
        # classes are close. In fp32 it costs 11 x C/8 MACs per pixel.
        with torch.autocast(up.device.type, enabled=False):
            out['parsing'] = torch.einsum('bkc,bchw->bkhw', hyper.float(),
                                          up.float())
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
