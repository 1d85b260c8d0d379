import pytest
import torch

from fineclip.models.adapters import DEFAULT_ADAPTER
from fineclip.models.encoders import AIMBlock, AIMVideoEncoder


def _frozen_clip_video(clip, frames):
    """Reference: the plain frozen CLIP image tower, averaged over frames."""
    b, t = frames.shape[:2]
    feats = clip.encode_image(frames.flatten(0, 1))
    return torch.nn.functional.normalize(feats.view(b, t, -1).mean(1), dim=-1)


def _randomise(adapter):
    torch.nn.init.normal_(adapter.fc_up.weight, std=0.5)


def test_zero_initialised_adapters_leave_frozen_tower_unchanged(tiny_clip):
    encoder = AIMVideoEncoder(tiny_clip.visual, num_frames=4)
    frames = torch.randn(2, 4, 3, 32, 32)
    assert torch.allclose(
        encoder(frames), _frozen_clip_video(tiny_clip, frames), atol=1e-5)


def test_zero_adapter_leaves_each_block_unchanged(tiny_clip):
    encoder = AIMVideoEncoder(tiny_clip.visual, num_frames=4)
    x = torch.randn(8, 17, 64)
    for aim_block in encoder.blocks:
        assert torch.allclose(aim_block(x), aim_block.block(x), atol=1e-5)


def _frame_outputs(encoder, frames):
    """Per-frame CLS tokens after the blocks (before the temporal mean)."""
    b, t = frames.shape[:2]
    x = encoder._patch_tokens(frames.flatten(0, 1))
    x = encoder.visual.ln_pre(x)
    for block in encoder.blocks:
        x = block(x)
    return x[:, 0].view(b, t, -1)


def test_t_adapter_mixes_frames_and_s_adapter_does_not(tiny_clip):
    torch.manual_seed(0)
    frames = torch.randn(1, 4, 3, 32, 32)
    changed = frames.clone()
    changed[:, 0] += 1.0  # perturb frame 0 only

    temporal = AIMVideoEncoder(
        tiny_clip.visual, num_frames=4, s_adapter=False, mlp_adapter=False)
    spatial = AIMVideoEncoder(
        tiny_clip.visual, num_frames=4, t_adapter=False, mlp_adapter=False)
    for block in temporal.blocks:
        _randomise(block.t_adapter)
    for block in spatial.blocks:
        _randomise(block.s_adapter)

    for encoder, mixes in ((temporal, True), (spatial, False)):
        with torch.no_grad():
            before = _frame_outputs(encoder, frames)
            after = _frame_outputs(encoder, changed)
        other_frames_moved = not torch.allclose(
            before[:, 1:], after[:, 1:], atol=1e-6)
        assert other_frames_moved == mixes


def test_temporal_embedding_starts_at_zero_and_is_tunable(tiny_clip):
    encoder = AIMVideoEncoder(tiny_clip.visual, num_frames=4)
    assert encoder.temporal_embedding.shape == (4, 64)
    assert not encoder.temporal_embedding.any()
    tunable = {n for n, p in encoder.named_parameters() if p.requires_grad}
    assert 'temporal_embedding' in tunable
    assert all(
        n.startswith(('blocks.', 'temporal_embedding')) for n in tunable)


def test_adapters_can_be_switched_off(tiny_clip):
    encoder = AIMVideoEncoder(
        tiny_clip.visual,
        num_frames=4,
        t_adapter=False,
        s_adapter=True,
        mlp_adapter=False,
        mlp_scale=0.3)
    block = encoder.blocks[0]
    assert block.t_adapter is None and block.mlp_adapter is None
    assert block.s_adapter.skip and block.mlp_scale == 0.3


def test_wrong_frame_count_is_reported(tiny_clip):
    encoder = AIMVideoEncoder(tiny_clip.visual, num_frames=4)
    with pytest.raises(ValueError, match='4 frames'):
        encoder(torch.randn(1, 3, 3, 32, 32))


def test_frozen_tower_is_shared_not_registered(tiny_clip):
    encoder = AIMVideoEncoder(tiny_clip.visual, num_frames=4)
    names = [n for n, _ in encoder.named_parameters()]
    assert not any('conv1' in n or 'resblocks' in n for n in names)


def test_aim_block_follows_equations_5_to_7(tiny_clip):
    """One block computed by hand: temporal, spatial and MLP steps."""
    torch.manual_seed(3)
    t, length, width = 4, 5, 64
    encoder = AIMVideoEncoder(tiny_clip.visual, num_frames=t, mlp_scale=0.3)
    aim = encoder.blocks[0]
    for adapter in (aim.t_adapter, aim.s_adapter, aim.mlp_adapter):
        _randomise(adapter)
    block = aim.block
    x = torch.randn(2 * t, length, width)

    def attend(tokens):
        return block.attn(tokens, tokens, tokens, need_weights=False)[0]

    # Eq 5: attention across the T frames at each token position
    xt = x.view(2, t, length, width).transpose(1, 2).reshape(-1, t, width)
    temporal = aim.t_adapter(attend(block.ln_1(xt)))
    temporal = temporal.view(2, length, t, width).transpose(1, 2)
    expected = x + temporal.reshape(2 * t, length, width)
    # Eq 6: S-Adapter with skip after the frozen spatial attention
    expected = expected + aim.s_adapter(attend(block.ln_1(expected)))
    # Eq 7: MLP in parallel with a scaled MLP-Adapter (no skip)
    normed = block.ln_2(expected)
    expected = (expected + block.mlp(normed) +
                0.3 * aim.mlp_adapter(normed))
    with torch.no_grad():
        assert torch.allclose(aim(x), expected, atol=1e-5)
    assert not aim.t_adapter.skip and aim.s_adapter.skip
    assert not aim.mlp_adapter.skip


def test_gradient_checkpointing_gives_the_same_outputs_and_gradients(
        tiny_clip):
    for p in tiny_clip.parameters():
        p.requires_grad_(False)
    size = tiny_clip.visual.image_size[0]
    frames = torch.randn(2, 3, 3, size, size)
    results = []
    for recompute in (False, True):
        torch.manual_seed(0)
        encoder = AIMVideoEncoder(tiny_clip.visual, num_frames=3,
                                  grad_checkpointing=recompute).train()
        for block in encoder.blocks:
            _randomise(block.t_adapter)
            _randomise(block.mlp_adapter)
        out = encoder(frames)
        out.pow(2).sum().backward()
        results.append((out.detach(), [p.grad.clone() for p in
                                       encoder.parameters()]))
    assert torch.allclose(results[0][0], results[1][0], atol=1e-6)
    for plain, recomputed in zip(results[0][1], results[1][1]):
        assert torch.allclose(plain, recomputed, atol=1e-6)


def _module_attend(block, x):
    """Reference: the frozen ``nn.MultiheadAttention`` called as a module on
    batch-first tokens (the implementation ``AIMBlock._attend`` replaces)."""
    attn = block.attn
    tokens = x if attn.batch_first else x.transpose(0, 1)
    out = attn(tokens, tokens, tokens, need_weights=False)[0]
    return out if attn.batch_first else out.transpose(0, 1)


def _sequence_first_copy(block):
    """The same block with its attention built sequence-first."""
    from open_clip.transformer import ResidualAttentionBlock
    width = block.ln_1.normalized_shape[0]
    copy = ResidualAttentionBlock(width, block.attn.num_heads,
                                  batch_first=False)
    copy.load_state_dict(block.state_dict())
    return copy


@pytest.mark.parametrize('batch_first', [True, False])
@pytest.mark.parametrize('length', [4, 17])  # temporal and spatial passes
def test_direct_attention_matches_the_attention_module(
        tiny_clip, batch_first, length):
    """Forward and input gradient equal the module's, either layout."""
    torch.manual_seed(1)
    block = tiny_clip.visual.transformer.resblocks[0]
    if not batch_first:
        block = _sequence_first_copy(block)
    for p in block.parameters():
        p.requires_grad_(False)
    aim = AIMBlock(block, 4, True, True, True, 0.5, DEFAULT_ADAPTER).train()
    x = torch.randn(6, length, 64, requires_grad=True)
    out = aim._attend(x)
    grad, = torch.autograd.grad(out.pow(2).sum(), x)
    x_ref = x.detach().requires_grad_(True)
    ref = _module_attend(block, x_ref)
    ref_grad, = torch.autograd.grad(ref.pow(2).sum(), x_ref)
    assert (out - ref).abs().max() < 1e-5
    assert (grad - ref_grad).abs().max() < 1e-5


@pytest.mark.parametrize('batch_first', [True, False])
@pytest.mark.parametrize('recompute', [False, True])
@pytest.mark.parametrize('tune_tower', [False, True])
def test_encoder_outputs_and_gradients_match_module_attention(
        tiny_clip, batch_first, recompute, tune_tower):
    """A whole encoder with trained T-, S- and MLP-adapters gives the
    outputs and gradients it gave when the frozen attention was called as a
    module, with or without recomputation, and with the tower's own weights
    trainable (the full fine-tuning baseline runs the same blocks)."""
    visual = tiny_clip.visual
    if not batch_first:
        blocks = visual.transformer.resblocks
        for i, block in enumerate(blocks):
            blocks[i] = _sequence_first_copy(block)
    for p in visual.parameters():
        p.requires_grad_(tune_tower)
    size = visual.image_size[0]
    frames = torch.randn(2, 3, 3, size, size)
    results = []
    for attend in (AIMBlock._attend,
                   lambda self, x: _module_attend(self.block, x)):
        torch.manual_seed(0)
        visual.zero_grad()
        encoder = AIMVideoEncoder(visual, num_frames=3,
                                  grad_checkpointing=recompute).train()
        for block in encoder.blocks:
            for adapter in (block.t_adapter, block.s_adapter,
                            block.mlp_adapter):
                _randomise(adapter)
            block._attend = attend.__get__(block)
        with torch.no_grad():
            encoder.temporal_embedding.normal_()
        out = encoder(frames)
        out.pow(2).sum().backward()
        named = list(encoder.named_parameters()) + [
            (f'visual.{n}', p) for n, p in visual.named_parameters()
            if p.requires_grad]
        results.append((out.detach(),
                        {n: p.grad.clone() for n, p in named}))
    (out, grads), (ref, ref_grads) = results
    assert (out - ref).abs().max() < 1e-5
    assert grads.keys() == ref_grads.keys()
    assert any(n.startswith('visual.') for n in grads) == tune_tower
    for name in grads:
        assert (grads[name] - ref_grads[name]).abs().max() < 1e-5, name


def test_attention_the_direct_path_does_not_cover_uses_the_module(
        tiny_clip):
    """Separate q/k/v weights, key/value biases or active dropout: the
    block calls the module as before."""
    from fineclip.models.encoders.frozen_attention import (
        is_plain_self_attention as _plain_self_attention)
    torch.manual_seed(2)
    block = tiny_clip.visual.transformer.resblocks[0]
    assert _plain_self_attention(block.attn)
    block.attn.dropout = 0.5
    assert _plain_self_attention(block.attn.eval())
    assert not _plain_self_attention(block.attn.train())
    block.attn.dropout = 0.0
    block.attn.bias_k = torch.nn.Parameter(torch.randn(1, 1, 64))
    block.attn.bias_v = torch.nn.Parameter(torch.randn(1, 1, 64))
    assert not _plain_self_attention(block.attn)
    aim = AIMBlock(block, 4, True, True, True, 0.5, DEFAULT_ADAPTER)
    x = torch.randn(3, 5, 64)
    with torch.no_grad():
        assert torch.allclose(aim._attend(x), _module_attend(block, x),
                              atol=1e-6)
