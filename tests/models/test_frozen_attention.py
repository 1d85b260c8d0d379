"""Frozen attention from the module's weights equals the module's own."""
import pytest
import torch
from open_clip.transformer import ResidualAttentionBlock

from fineclip.models.encoders import frozen_attention
from fineclip.models.encoders.frozen_attention import (residual_block,
                                                       self_attention)
from fineclip.models.encoders.text_encoder import AdaptedTextEncoder


def _causal_mask(length):
    return torch.full((length, length), float('-inf')).triu(1)


@pytest.mark.parametrize('masked', [False, True])
def test_block_matches_open_clip_forward_with_and_without_mask(
        tiny_clip, masked):
    torch.manual_seed(0)
    block = tiny_clip.transformer.resblocks[0]
    width = block.ln_1.normalized_shape[0]
    mask = _causal_mask(7) if masked else None
    x = torch.randn(3, 7, width, requires_grad=True)
    out = residual_block(block, x, attn_mask=mask)
    grad, = torch.autograd.grad(out.pow(2).sum(), x)
    x_ref = x.detach().requires_grad_(True)
    ref = block(x_ref, attn_mask=mask)
    ref_grad, = torch.autograd.grad(ref.pow(2).sum(), x_ref)
    assert (out - ref).abs().max() < 1e-5
    assert (grad - ref_grad).abs().max() < 1e-5
    if masked:  # the first token sees only itself: later tokens are masked
        y = x.detach().clone()
        y[:, 1:] += 1.0
        assert torch.allclose(residual_block(block, y, mask)[:, 0],
                              out[:, 0].detach(), atol=1e-6)


def test_text_encoder_outputs_and_adapter_gradients_unchanged(
        tiny_clip, monkeypatch):
    """The adapted text tower gives the features and adapter gradients it
    gave when the frozen blocks were called as modules."""
    results = []
    for direct in (True, False):
        if not direct:
            monkeypatch.setattr(
                frozen_attention, 'residual_block',
                lambda block, x, attn_mask=None: block(x,
                                                       attn_mask=attn_mask))
        torch.manual_seed(0)
        encoder = AdaptedTextEncoder(tiny_clip, stacks=('positive',))
        for adapter in encoder.adapters['positive']:
            torch.nn.init.normal_(adapter.fc_up.weight, std=0.5)
        features = encoder(encoder.tokenize(['a happy face', 'a sad one']),
                           stack='positive')
        features.pow(3).sum().backward()
        grads = {n: p.grad.clone() for n, p in encoder.named_parameters()}
        results.append((features.detach(), grads))
    (out, grads), (ref, ref_grads) = results
    assert (out - ref).abs().max() < 1e-5
    assert grads.keys() == ref_grads.keys() and grads
    for name in grads:
        assert (grads[name] - ref_grads[name]).abs().max() < 1e-5, name


def test_blocks_with_their_own_forward_are_called():
    calls = []

    class Custom(ResidualAttentionBlock):
        def forward(self, q_x, attn_mask=None):
            calls.append(q_x.shape)
            return super().forward(q_x, attn_mask=attn_mask)

    block = Custom(32, 2, batch_first=True)
    x = torch.randn(2, 5, 32)
    assert torch.allclose(residual_block(block, x),
                          ResidualAttentionBlock.forward(block, x))
    assert calls == [x.shape]  # residual_block called it once


def test_attention_follows_the_modules_current_weights(tiny_clip):
    """The direct path reads the weights at call time, not a copy:
    changing ``out_proj`` changes the result as it changes the module's."""
    attn = tiny_clip.transformer.resblocks[0].attn
    width = attn.embed_dim
    x = torch.randn(2, 4, width)
    with torch.no_grad():
        attn.out_proj.weight.mul_(2)
        ref = attn(x, x, x, need_weights=False)[0]
        assert frozen_attention.is_plain_self_attention(attn)
        assert (self_attention(attn, x) - ref).abs().max() < 1e-5
        attn.out_proj.weight.div_(2)


def _text_features_and_grads(encoder, tokens, **kwargs):
    for params in encoder.parameters():
        params.grad = None
    out = encoder(tokens, **kwargs)
    out.pow(3).sum().backward()
    return out.detach(), {n: p.grad.clone() for n, p in
                          encoder.named_parameters() if p.grad is not None}


def test_text_towers_recompute_their_layers_to_the_same_result(tiny_clip):
    """Gradient checkpointing of both text towers changes neither the
    features nor any adapter gradient."""
    from fineclip.models.encoders.long_clip_text_encoder import (
        LongCLIPTextEncoder, stretched_length)
    torch.manual_seed(0)
    long_context = stretched_length(tiny_clip.context_length, keep=16)
    towers = [(AdaptedTextEncoder(tiny_clip, stacks=('positive', )),
               dict(stack='positive')),
              (LongCLIPTextEncoder(tiny_clip, context_length=long_context,
                                   keep=16), {})]
    for encoder, kwargs in towers:
        for module in encoder.modules():
            if hasattr(module, 'fc_up'):
                torch.nn.init.normal_(module.fc_up.weight, std=0.5)
        tokens = encoder.tokenize(['a happy face', 'a sad one'])
        encoder.train()
        encoder.grad_checkpointing = False
        ref, ref_grads = _text_features_and_grads(encoder, tokens, **kwargs)
        encoder.grad_checkpointing = True
        out, grads = _text_features_and_grads(encoder, tokens, **kwargs)
        assert (out - ref).abs().max() < 1e-6
        assert grads.keys() == ref_grads.keys() and grads
        for name in grads:
            assert torch.allclose(grads[name], ref_grads[name], atol=1e-6), \
                name
