"""The default adapter of every tower (``ADAPTERS``: ``'Adapter'``)."""
import torch
from torch import nn

from fineclip.registry import ADAPTERS


@ADAPTERS.register_module()
class Adapter(nn.Module):
    """Bottleneck adapter: ``fc_up(GELU(fc_down(x)))``, optionally plus ``x``.

    ``fc_up`` starts at zero, so a new adapter is the identity when it has a
    skip connection and outputs zero when it has none: inserting adapters into
    a frozen network leaves its output unchanged until training moves them.

    Args:
        width (int): Channel width of the tokens it adapts.
        ratio (float): Bottleneck width as a fraction of ``width``
            (0.25 in AIM and FineCLIPER).
        skip (bool): Whether to add the input to the output.
    """

    def __init__(self, width: int, ratio: float = 0.25, skip: bool = True):
        super().__init__()
        if width <= 0 or not 0 < ratio:
            raise ValueError(
                f'Adapter needs width > 0 and ratio > 0, got {width}, {ratio}')
        hidden = max(1, int(width * ratio))
        self.skip = skip
        self.fc_down = nn.Linear(width, hidden)
        self.act = nn.GELU()
        self.fc_up = nn.Linear(hidden, width)
        nn.init.zeros_(self.fc_up.weight)
        nn.init.zeros_(self.fc_up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.fc_up(self.act(self.fc_down(x)))
        return x + out if self.skip else out

    def extra_repr(self) -> str:
        return f'skip={self.skip}'
