"""An adapter from a plugin replaces the default one through config alone.

``configs/plugins/fineclip_lora_adapter_synthetic.py`` loads
``plugins/lora_adapter.py`` by ``custom_imports`` and names its
``LowRankAdapter`` in the text and video encoders' ``adapter`` keys.
"""
import pytest
import torch

from fineclip.models.adapters import Adapter
from fineclip.structures import DFERDataSample
from tests.plugins.tiny_training import (FRAMES, ROOT, SIZE, build_and_train,
                                         tiny_plugin_config)


@pytest.fixture(autouse=True)
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # custom_imports resolve from the repo root


def random_batch(step: int) -> dict:
    """Two clips as ``PackDFERInputs`` gives them (uint8 frames)."""
    g = torch.Generator().manual_seed(step)
    inputs, samples = [], []
    for label in range(2):
        frames = torch.randint(0, 256, (FRAMES, 3, SIZE, SIZE), generator=g,
                               dtype=torch.uint8)
        inputs.append(dict(frames=frames))
        samples.append(DFERDataSample().set_gt_label(label))
    return dict(inputs=inputs, data_samples=samples)


def test_plugin_adapter_is_built_and_trained_instead_of_the_default():
    cfg = tiny_plugin_config('fineclip_lora_adapter_synthetic.py')
    model, before = build_and_train(cfg, random_batch)
    from plugins.lora_adapter import LowRankAdapter

    adapters = {name: m for name, m in model.named_modules()
                if isinstance(m, LowRankAdapter)}
    assert not any(isinstance(m, Adapter) for m in model.modules())
    text_layers = len(model.clip.transformer.resblocks)
    video_layers = len(model.clip.visual.transformer.resblocks)
    # PN stacks in the text tower, T-, S- and MLP-adapters in each block
    assert len(adapters) == 2 * text_layers + 3 * video_layers
    assert all(m.up.in_features == 8 for m in adapters.values())  # rank 8
    # Where each is inserted decides the skip connection, as for Adapter.
    block = model.branches['video'].encoder.blocks[0]
    assert block.s_adapter.skip and not block.t_adapter.skip
    assert not block.mlp_adapter.skip

    changed = {n for n, p in model.named_parameters()
               if not torch.equal(p, before[n])}
    adapter_params = {f'{name}.{p}' for name, m in adapters.items()
                      for p, _ in m.named_parameters()}
    # Every adapter parameter trained; besides them only the video
    # encoder's temporal embedding, and nothing of the frozen CLIP.
    assert adapter_params <= changed
    assert changed - adapter_params == {
        'branches.video.encoder.temporal_embedding'}
    assert not any(n.startswith('clip.') for n in changed)
