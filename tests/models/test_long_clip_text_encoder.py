"""Long-CLIP text encoder: stretching, sharing, checkpoints, training."""
import copy

import open_clip
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fineclip.models.clip import build_clip
from fineclip.models.encoders.long_clip_text_encoder import (
    LongCLIPTextEncoder, stretch_positional_embedding, stretched_length)
from fineclip.registry import ENCODERS

from tests.conftest import TINY_ARCH

SHORT = 'a person smiles'
WIDTH = TINY_ARCH['text_cfg']['width']


class NotAStateDict:
    """Pickled into a checkpoint: arbitrary objects must be refused."""

    def __init__(self):
        self.payload = 'code could run here'


@pytest.fixture(scope='module')
def clip77():
    """Tiny CLIP with CLIP's 77-token text context (stretchable to 248)."""
    arch = copy.deepcopy(TINY_ARCH)
    arch['text_cfg']['context_length'] = 77
    torch.manual_seed(0)
    return build_clip(arch)


def long_text(tail_word: str) -> str:
    """About 150 one-token words; those after token 100 are ``tail_word``."""
    return ' '.join(['happy'] * 100 + [tail_word] * 50)


def text_state_dict(clip, table, residual=None, seed=1):
    """A Long-CLIP-like state dict from ``clip``'s towers, text perturbed."""
    gen = torch.Generator().manual_seed(seed)
    state = {k: v.clone() for k, v in clip.state_dict().items()}
    state['ln_final.bias'] = torch.randn(WIDTH, generator=gen)
    state['positional_embedding'] = table
    if residual is not None:
        state['positional_embedding_res'] = residual
    return state


def clip_encode(clip, tokens, table):
    """Long-CLIP's encode_text with ``table`` (no adapters), normalised."""
    x = clip.token_embedding(tokens) + table[:tokens.shape[1]]
    mask = torch.full((tokens.shape[1], ) * 2, float('-inf')).triu_(1)
    for block in clip.transformer.resblocks:
        x = block(x, attn_mask=mask)
    x = clip.ln_final(x)
    x = x[torch.arange(len(x)), tokens.argmax(-1)] @ clip.text_projection
    return F.normalize(x, dim=-1)


def test_stretch_matches_long_clip_formula():
    old = torch.randn(77, 8)
    new = stretch_positional_embedding(old)
    assert new.shape == (248, 8) and stretched_length(77) == 248
    expected = {
        0: old[0],
        19: old[19],
        20: old[20],  # i = 0, k = 0
        21: (3 * old[20] + 1 * old[21]) / 4,  # i = 0, k = 1
        243: (1 * old[75] + 3 * old[76]) / 4,  # i = 55, k = 3
        244: old[76],
        247: old[76] + 3 * (old[76] - old[75]) / 4,
    }
    for row, value in expected.items():
        torch.testing.assert_close(new[row], value, msg=f'row {row}')


def test_stretch_needs_more_rows_than_keep():
    with pytest.raises(ValueError, match='more than 20 rows'):
        stretch_positional_embedding(torch.randn(20, 4))
    assert stretch_positional_embedding(
        torch.randn(24, 4), keep=4).shape == (84, 4)


def test_shares_the_frozen_clip_weights(clip77):
    enc = LongCLIPTextEncoder(clip77)
    assert enc.context_length == 248
    keys = set(enc.state_dict())
    assert all(
        k.startswith(('adapters.',
                      'projector.')) or k == 'positional_embedding_res'
        for k in keys), keys
    assert {'projector.weight', 'positional_embedding_res'} <= keys

    class Holder(nn.Module):

        def __init__(self):
            super().__init__()
            self.clip = clip77
            self.encoder = LongCLIPTextEncoder(clip77)

    holder = Holder()
    own = sum(p.numel() for p in holder.encoder.parameters())
    total = sum(p.numel() for p in holder.parameters())
    assert total == sum(p.numel() for p in clip77.parameters()) + own
    assert not any(
        k.startswith('encoder.transformer') for k in holder.state_dict())
    torch.testing.assert_close(
        enc.positional_embedding,
        stretch_positional_embedding(clip77.positional_embedding))


def test_registered_and_rejects_wrong_context(clip77):
    enc = ENCODERS.build(
        dict(type='LongCLIPTextEncoder'), default_args=dict(clip=clip77))
    assert isinstance(enc, LongCLIPTextEncoder)
    with pytest.raises(ValueError, match='context_length=248'):
        LongCLIPTextEncoder(clip77, context_length=200)


def test_untrained_short_text_equals_frozen_clip(clip77):
    """Positions < 20 are CLIP's; adapters, projector start as identity."""
    enc = LongCLIPTextEncoder(clip77)
    tokens = enc.tokenize([SHORT, 'a sad face'])
    assert tokens.shape == (2, 248) and tokens.dtype == torch.long
    with torch.no_grad():
        out = enc(tokens)
        ref = clip77.encode_text(
            open_clip.tokenize([SHORT, 'a sad face']), normalize=True)
    assert out.shape == (2, TINY_ARCH['embed_dim'])
    torch.testing.assert_close(out.norm(dim=-1), torch.ones(2))
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def test_words_after_token_77_change_the_output(clip77):
    enc = LongCLIPTextEncoder(clip77)
    first, second = enc.tokenize([long_text('sad'), long_text('angry')])
    differ = (first != second).nonzero().flatten()
    assert differ.min() > 77 and first.argmax() > 150
    with torch.no_grad():
        out = enc(torch.stack([first, second]))
    assert (out[0] - out[1]).abs().max() > 1e-4


def test_loads_248_row_checkpoint(clip77, tmp_path):
    gen = torch.Generator().manual_seed(2)
    table = torch.randn(248, WIDTH, generator=gen) * 0.02
    residual = torch.randn(248, WIDTH, generator=gen) * 0.02
    state = text_state_dict(clip77, table, residual)
    path = tmp_path / 'longclip-tiny.pt'
    torch.save({'state_dict': state}, path)  # nested form is accepted

    enc = LongCLIPTextEncoder(clip77, checkpoint=str(path))
    torch.testing.assert_close(enc.positional_embedding[:20], table[:20])
    torch.testing.assert_close(enc.positional_embedding[20:], residual[20:])
    torch.testing.assert_close(enc.text_tower.ln_final.bias,
                               state['ln_final.bias'])
    assert enc.text_tower.ln_final.bias is not clip77.ln_final.bias
    assert all(not p.requires_grad for p in enc.text_tower.parameters())
    # The file's rows drive the output, as in Long-CLIP's encode_text.
    reference = copy.deepcopy(clip77)
    reference.ln_final.bias.data.copy_(state['ln_final.bias'])
    combined = torch.cat([table[:20], residual[20:]])
    tokens = enc.tokenize([long_text('sad'), SHORT])
    with torch.no_grad():
        torch.testing.assert_close(
            enc(tokens),
            clip_encode(reference, tokens, combined),
            atol=1e-5,
            rtol=1e-5)


def test_77_row_checkpoint_is_stretched(clip77, tmp_path):
    table = torch.randn(77, WIDTH)
    path = tmp_path / 'clip-text.pt'
    torch.save(text_state_dict(clip77, table), path)
    enc = LongCLIPTextEncoder(clip77, checkpoint=str(path))
    torch.testing.assert_close(enc.positional_embedding,
                               stretch_positional_embedding(table))


def test_checkpoint_keys_are_checked(clip77, tmp_path):
    state = text_state_dict(clip77, torch.randn(248, WIDTH),
                            torch.randn(248, WIDTH))
    del state['transformer.resblocks.1.mlp.c_fc.bias']
    state['transformer.extra.weight'] = torch.zeros(1)
    path = tmp_path / 'bad.pt'
    torch.save(state, path)
    with pytest.raises(ValueError) as err:
        LongCLIPTextEncoder(clip77, checkpoint=str(path))
    assert 'transformer.resblocks.1.mlp.c_fc.bias' in str(err.value)
    assert 'transformer.extra.weight' in str(err.value)


def test_missing_checkpoint_says_what_to_download(clip77, tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        LongCLIPTextEncoder(clip77, checkpoint=str(tmp_path / 'none.pt'))
    message = str(err.value)
    assert 'BeichenZhang/LongCLIP-B' in message
    assert 'longclip-B.pt' in message
    assert 'model.branches.description.encoder.checkpoint' in message


def test_pickled_objects_are_refused(clip77, tmp_path):
    path = tmp_path / 'evil.pt'
    torch.save({'state_dict': NotAStateDict()}, path)
    with pytest.raises(ValueError, match='weights_only=True'):
        LongCLIPTextEncoder(clip77, checkpoint=str(path))


def test_one_sgd_step_trains_only_the_new_parts(clip77):
    enc = LongCLIPTextEncoder(clip77)
    trainable = {n for n, p in enc.named_parameters() if p.requires_grad}
    assert all(
        n.startswith(('adapters.',
                      'projector.')) or n == 'positional_embedding_res'
        for n in trainable)
    frozen = {n: p.clone() for n, p in clip77.state_dict().items()}
    table = enc.positional_embedding.clone()
    before = {n: p.detach().clone() for n, p in enc.named_parameters()}
    optim = torch.optim.SGD(enc.parameters(), lr=1.0)

    tokens = enc.tokenize([long_text('sad'), SHORT])
    target = F.normalize(torch.randn(2, TINY_ARCH['embed_dim']), dim=-1)
    loss = -(enc(tokens) * target).sum()
    loss.backward()
    assert all(p.grad is None for p in clip77.parameters())
    assert enc.positional_embedding_res.grad[:20].abs().max() == 0
    optim.step()

    for name, value in clip77.state_dict().items():
        assert torch.equal(value, frozen[name]), name
    assert torch.equal(enc.positional_embedding, table)
    res = enc.positional_embedding_res
    assert res[:20].abs().max() == 0 and res[20:].abs().max() > 0
    changed = {
        n
        for n, p in enc.named_parameters() if not torch.equal(p, before[n])
    }
    # fc_up of every adapter moves (the first one only if gradients pass the
    # frozen layers); fc_down has no gradient while fc_up is still zero.
    assert {f'adapters.{i}.fc_up.weight' for i in range(2)} <= changed
    assert {'projector.weight', 'positional_embedding_res'} <= changed
