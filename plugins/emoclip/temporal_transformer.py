"""EmoCLIP's temporal model: a transformer over per-frame CLIP features whose
class token is the clip's feature.

Shapes and initialisation follow the official code (github.com/NickyFot/
EmoCLIP, ``architecture/transformer.py`` and ``video_clip.py``; the paper
gives no sizes), which builds it as ``VClip(num_layers=2)`` in both its
training and evaluation scripts: width 512 (the ViT-B/32 embedding), 2
pre-norm layers, 8 heads of width 2048 each (the code passes its
``dim_forward=2048`` as the per-head width), an MLP of hidden width 512 with
the tanh approximation of GELU, no dropout, no final norm. The class token
and a position table of 1024 rows are drawn from N(0, 1); a clip of T
frames uses the table's first T + 1 rows, so any T up to 1023 runs.
"""
import torch
import torch.nn.functional as F
from torch import nn

from fineclip.registry import ENCODERS


class EmoCLIPTemporalLayer(nn.Module):
    """One pre-norm layer: ``x + attn(norm(x))``, then ``x + mlp(norm(x))``.

    Args:
        width (int): Token width.
        heads (int): Attention heads.
        head_width (int): Width of each head (inner width heads x
            head_width; no bias on the query/key/value projection).
        mlp_width (int): Hidden width of the MLP.
    """

    def __init__(self, width: int, heads: int, head_width: int,
                 mlp_width: int):
        super().__init__()
        self.heads = heads
        self.norm_attn = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * heads * head_width, bias=False)
        self.out = nn.Linear(heads * head_width, width)
        self.norm_mlp = nn.LayerNorm(width)
        # The official MLP writes GELU's tanh form out by hand.
        self.mlp = nn.Sequential(nn.Linear(width, mlp_width),
                                 nn.GELU(approximate='tanh'),
                                 nn.Linear(mlp_width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, N, width)`` tokens in and out."""
        b, n, _ = x.shape
        q, k, v = self.qkv(self.norm_attn(x)).view(
            b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        # Scaled by 1 / sqrt(head_width), as the official attention is.
        attended = F.scaled_dot_product_attention(q, k, v)
        x = x + self.out(attended.transpose(1, 2).reshape(b, n, -1))
        return x + self.mlp(self.norm_mlp(x))


@ENCODERS.register_module()
class EmoCLIPTemporalTransformer(nn.Module):
    """Class token + position embedding + transformer over frame features.

    Args:
        width (int): Width of the frame features (512 for ViT-B/32).
        depth (int): Layers (2).
        heads (int): Attention heads (8).
        head_width (int): Width of each head (2048).
        mlp_width (int): MLP hidden width (512).
        max_positions (int): Rows of the position table (1024): the class
            token and at most ``max_positions - 1`` frames.
        init_std (float): Standard deviation of the class token's and the
            position table's normal initialisation (1.0, as released).
    """

    def __init__(self, width: int = 512, depth: int = 2, heads: int = 8,
                 head_width: int = 2048, mlp_width: int = 512,
                 max_positions: int = 1024, init_std: float = 1.0):
        super().__init__()
        self.class_token = nn.Parameter(torch.randn(1, 1, width) * init_std)
        self.position_embedding = nn.Parameter(
            torch.randn(1, max_positions, width) * init_std)
        self.layers = nn.ModuleList(
            EmoCLIPTemporalLayer(width, heads, head_width, mlp_width)
            for _ in range(depth))

    @property
    def max_frames(self) -> int:
        """The longest clip the position table covers."""
        return self.position_embedding.shape[1] - 1

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """``(B, T, width)`` frame features -> ``(B, width)``: the output
        at the class token (not normalised)."""
        b, t, _ = frames.shape
        if t > self.max_frames:
            raise ValueError(
                f'EmoCLIPTemporalTransformer covers at most {self.max_frames}'
                f' frames but got {t}: raise its max_positions or sample '
                'fewer frames (EmoCLIPSampleFrames(clip_len=...)).')
        x = torch.cat([self.class_token.expand(b, -1, -1), frames], dim=1)
        x = x + self.position_embedding[:, :t + 1]
        for layer in self.layers:
            x = layer(x)
        return x[:, 0]
