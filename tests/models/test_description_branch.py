"""FineCLIPER†: the description branch and its alignment loss."""
import pytest
import torch
import torch.nn.functional as F

from fineclip.models.encoders.long_clip_text_encoder import stretched_length
from fineclip.registry import MODELS
from fineclip.structures import DFERDataSample
from tests.conftest import CLASSES, TINY_ARCH, tiny_model_cfg

T = 4
CONTEXT = stretched_length(TINY_ARCH['text_cfg']['context_length'])


def dagger_cfg(alignment_weight=0.0, **overrides):
    cfg = tiny_model_cfg(num_frames=T, **overrides)
    cfg['branches'] = dict(
        cfg['branches'],
        description=dict(type='DescriptionBranch',
                         encoder=dict(type='LongCLIPTextEncoder',
                                      context_length=CONTEXT),
                         alignment_weight=alignment_weight))
    return cfg


def _batch(model, n=4):
    torch.manual_seed(3)
    texts = [f'the brows rise and the mouth opens {"wide " * i}'
             for i in range(n)]
    tokens = model.branches['description'].encoder.tokenize(texts)
    clips = [dict(frames=torch.randint(0, 255, (T, 3, 32, 32),
                                       dtype=torch.uint8),
                  description=tokens[i]) for i in range(n)]
    samples = [DFERDataSample().set_gt_label(i % len(CLASSES))
               for i in range(n)]
    return dict(inputs=clips, data_samples=samples)


def test_description_is_a_fusion_branch_with_its_own_weight():
    model = MODELS.build(dagger_cfg())
    data = model.data_preprocessor(_batch(model), training=True)
    assert data['inputs']['description'].dtype == torch.long
    feats = model.extract_feat(data['inputs'])
    assert list(feats) == ['video', 'description']
    assert torch.allclose(feats['description'].norm(dim=-1), torch.ones(4))
    losses = model(**data, mode='loss')
    assert {'ce_description', 'w_description'} <= set(losses)
    assert 'loss_align' not in losses


def test_frozen_text_tower_is_shared_not_copied():
    model = MODELS.build(dagger_cfg())
    keys = [k for k in model.state_dict()
            if 'resblocks.0.attn.in_proj_weight' in k
            and not k.startswith('clip.visual')]
    assert keys == ['clip.transformer.resblocks.0.attn.in_proj_weight']
    encoder = model.branches['description'].encoder
    assert encoder.clip is model.clip


def test_alignment_loss_is_symmetric_infonce():
    model = MODELS.build(dagger_cfg(alignment_weight=0.5))
    data = model.data_preprocessor(_batch(model), training=True)
    losses = model(**data, mode='loss')
    feats = model.extract_feat(data['inputs'])
    logits = (F.normalize(feats['video'], dim=-1) @ F.normalize(
        feats['description'], dim=-1).t()) / 0.07
    target = torch.arange(4)
    expected = 0.5 * (F.cross_entropy(logits, target) +
                      F.cross_entropy(logits.t(), target)) / 2
    assert torch.allclose(losses['loss_align'], expected, atol=1e-5)
    # MMEngine sums every key with 'loss' in it into the optimised total
    total, _ = model.parse_losses(losses)
    assert torch.allclose(total, losses['loss'] + losses['loss_align'])


def test_training_reaches_the_description_adapters():
    model = MODELS.build(dagger_cfg(alignment_weight=1.0))
    branch = model.branches['description']
    before = {n: p.detach().clone() for n, p in branch.named_parameters()}
    optim = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.5)
    data = model.data_preprocessor(_batch(model), training=True)
    loss, _ = model.parse_losses(model(**data, mode='loss'))
    loss.backward()
    optim.step()
    moved = {n for n, p in branch.named_parameters()
             if not torch.equal(p, before[n])}
    assert any('fc_up' in n for n in moved)
    assert any(n.startswith('encoder.projector') for n in moved)
    assert all(p.grad is None for p in model.clip.parameters())


def test_wrong_token_length_and_missing_input_are_explained():
    model = MODELS.build(dagger_cfg())
    data = model.data_preprocessor(_batch(model))
    branch = model.branches['description']
    with pytest.raises(ValueError, match='TokenizeDescription'):
        branch(dict(description=data['inputs']['description'][:, :10]))
    with pytest.raises(KeyError, match='description_file'):
        branch(dict(frames=data['inputs']['frames']))
    with pytest.raises(ValueError, match='alignment'):
        MODELS.build(dagger_cfg(alignment_weight=-1.0))
