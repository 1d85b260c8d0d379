"""DFER-CLIP's visual side: per-frame CLIP features, then a temporal
transformer whose class token is the clip's feature.

The image tower encodes each frame on its own (pooled, projected CLIP
feature); a small transformer over the T frame features, with a learnable
class token in front and a learnable position embedding over the T + 1
tokens, models how the face changes; its class token is the video feature.

The defaults are the official DFER-CLIP code's (docs/baselines_dfer_clip.md):
its MLP uses the tanh approximation of GELU (the exact GELU moves ViT-B/32
logits by about 3e-4), its class token and position embedding start from
a standard normal, and a clip of fewer than T frames uses the first rows
of the position embedding.
"""
import torch
import torch.nn.functional as F
from torch import nn

from fineclip.models.branches import FrameFeaturesBranch
from fineclip.registry import BRANCHES, ENCODERS

#: ``activation`` values: GELU's tanh approximation (the official code's)
#: or the exact, erf-based GELU (``nn.GELU()``'s default).
ACTIVATIONS = ('tanh', 'exact')


class TemporalTransformerLayer(nn.Module):
    """One pre-norm transformer layer: attention, then an MLP, each on a
    residual path.

    Args:
        width (int): Token width.
        heads (int): Attention heads.
        head_width (int): Width of each head (inner width heads x
            head_width, as DFER-CLIP's 8 x 64).
        mlp_width (int): Hidden width of the MLP.
        dropout (float): Dropout in the attention output and the MLP.
        activation (str): The MLP's GELU: ``'tanh'`` (the official
            DFER-CLIP code's approximation) or ``'exact'``.
    """

    def __init__(self, width: int, heads: int, head_width: int,
                 mlp_width: int, dropout: float = 0.,
                 activation: str = 'tanh'):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation '{activation}' is not one of "
                             f'{ACTIVATIONS}: set '
                             'model.branches.video.temporal.activation.')
        inner = heads * head_width
        self.heads = heads
        self.norm_attn = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * inner, bias=False)
        self.out = nn.Sequential(nn.Linear(inner, width), nn.Dropout(dropout))
        self.norm_mlp = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, mlp_width),
            nn.GELU(approximate='tanh' if activation == 'tanh' else 'none'),
            nn.Dropout(dropout),
            nn.Linear(mlp_width, width), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, N, width)`` tokens in and out."""
        b, n, _ = x.shape
        q, k, v = self.qkv(self.norm_attn(x)).view(
            b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(q, k, v)
        x = x + self.out(attended.transpose(1, 2).reshape(b, n, -1))
        return x + self.mlp(self.norm_mlp(x))


@ENCODERS.register_module()
class TemporalTransformer(nn.Module):
    """Class token + position embedding + transformer over frame features.

    Args:
        width (int): Width of the frame features (the CLIP embedding, 512
            for ViT-B/32).
        num_frames (int): T; the position embedding has T + 1 rows.
        depth (int): Transformer layers (1).
        heads (int): Attention heads (8).
        head_width (int): Width of each head (64).
        mlp_width (int): MLP hidden width (1024).
        dropout (float): Dropout inside the layers.
        init_std (float): Standard deviation of the class token's and the
            position embedding's normal initialisation (1, the official
            code's ``torch.randn``).
        activation (str): The layers' GELU, ``'tanh'`` or ``'exact'``
            (:class:`TemporalTransformerLayer`).
    """

    def __init__(self, width: int = 512, num_frames: int = 16,
                 depth: int = 1, heads: int = 8, head_width: int = 64,
                 mlp_width: int = 1024, dropout: float = 0.,
                 init_std: float = 1.0, activation: str = 'tanh'):
        super().__init__()
        self.num_frames = num_frames
        self.class_token = nn.Parameter(torch.randn(1, 1, width) * init_std)
        self.position_embedding = nn.Parameter(
            torch.randn(1, num_frames + 1, width) * init_std)
        self.layers = nn.ModuleList(
            TemporalTransformerLayer(width, heads, head_width, mlp_width,
                                     dropout, activation)
            for _ in range(depth))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """``(B, t, width)`` frame features -> ``(B, width)`` class token.

        ``t`` may be below ``num_frames`` (the first ``t + 1`` position
        rows are used, as the official code does); above it there is no
        position for the extra frames.
        """
        b, t, _ = frames.shape
        if t > self.num_frames:
            raise ValueError(
                f'TemporalTransformer was built for at most '
                f'{self.num_frames} frames but got {t}: sample '
                f'{self.num_frames} (SampleFrameIndices.num_frames) or set '
                'model.branches.video.temporal.num_frames.')
        x = torch.cat([self.class_token.expand(b, -1, -1), frames], dim=1)
        x = x + self.position_embedding[:, :t + 1]
        for layer in self.layers:
            x = layer(x)
        return x[:, 0]


@BRANCHES.register_module()
class TemporalTransformerBranch(FrameFeaturesBranch):
    """Per-frame CLIP image features, then DFER-CLIP's temporal transformer
    (:class:`~fineclip.models.branches.FrameFeaturesBranch`).

    Whether the image tower trains is the CLIP's setting
    (``model.clip.trainable=('visual',)`` for DFER-CLIP).

    Args:
        clip (nn.Module): The model's CLIP (given by the recognizer).
        temporal (dict): Config of the temporal model (``ENCODERS``); its
            ``width`` defaults to the CLIP embedding width.
        input_key (str): Which entry of the model inputs holds the frames.
    """

    def __init__(self, clip: nn.Module,
                 temporal: dict = dict(type='TemporalTransformer'),
                 input_key: str = 'frames'):
        super().__init__(clip, temporal, input_key)

    def memory_passes(self) -> list:
        """Activation passes per clip (``fineclip.models.memory``): every
        frame through the fine-tuned image tower (nothing is kept for a
        frozen one, which runs without autograd); the one-layer temporal
        model over T + 1 tokens is negligible beside it."""
        from fineclip.models.memory import ActivationPass, vit_tokens
        if not any(p.requires_grad for p in self.visual.parameters()):
            return []
        return [ActivationPass('vit', self.temporal.num_frames,
                               vit_tokens(self.visual),
                               self.visual.conv1.out_channels,
                               len(self.visual.transformer.resblocks),
                               checkpointable=False)]
