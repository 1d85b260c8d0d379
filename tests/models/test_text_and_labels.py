import pytest
import torch

from fineclip.models.encoders import AdaptedTextEncoder
from fineclip.models.label_augmenters import (PNAugmenter, PNLessAugmenter,
                                              PositiveOnlyAugmenter)
from fineclip.registry import LABEL_AUGMENTERS


def test_pn_augmenter_prompts():
    prompts = PNAugmenter()(['Happy', 'Sad'])
    assert prompts == {
        'positive': ['A person with an expression of happy.',
                     'A person with an expression of sad.'],
        'negative': ['A person with an expression of no happy.',
                     'A person with an expression of no sad.'],
    }


def test_less_augmenter_prompts():
    prompts = PNLessAugmenter()(['Fear'])
    assert prompts['negative'] == ['A person with an expression of less fear.']
    assert prompts['positive'] == ['A person with an expression of fear.']


def test_positive_only_augmenter_has_no_negative():
    prompts = PositiveOnlyAugmenter()(['Angry'])
    assert prompts == {'positive': ['A person with an expression of angry.']}
    assert PositiveOnlyAugmenter.groups == ('positive', )


def test_templates_are_config():
    aug = LABEL_AUGMENTERS.build(dict(
        type='PNAugmenter', template='a {cls} face',
        negative_template='not a {cls} face', lowercase=False))
    assert aug(['Happy']) == {'positive': ['a Happy face'],
                              'negative': ['not a Happy face']}
    with pytest.raises(ValueError, match='slot'):
        PNAugmenter(template='no slot here')(['Happy'])


def test_zero_adapters_leave_text_features_unchanged(tiny_clip):
    encoder = AdaptedTextEncoder(tiny_clip)
    tokens = encoder.tokenize(['a photo of a face', 'a frowning face'])
    reference = tiny_clip.encode_text(tokens, normalize=True)
    for stack in ('positive', 'negative', None):
        assert torch.allclose(encoder(tokens, stack=stack), reference,
                              atol=1e-5)


def test_positive_and_negative_stacks_are_separate(tiny_clip):
    encoder = AdaptedTextEncoder(tiny_clip)
    pos, neg = encoder.adapters['positive'], encoder.adapters['negative']
    assert len(pos) == len(tiny_clip.transformer.resblocks)
    assert not set(map(id, pos.parameters())) & set(map(id, neg.parameters()))
    torch.nn.init.normal_(pos[0].fc_up.weight)
    tokens = encoder.tokenize(['a face'])
    assert not torch.allclose(encoder(tokens, 'positive'),
                              encoder(tokens, 'negative'))


def test_encoding_embeddings_is_encoding_tokens(tiny_clip):
    """The prompt-learner entry point: embeddings in, the same features
    out, and a gradient reaches embeddings that ask for one."""
    encoder = AdaptedTextEncoder(tiny_clip, stacks=('positive', ))
    tokens = encoder.tokenize(['a happy face', 'a sad face'])
    embeddings = encoder.embed_tokens(tokens)
    assert not embeddings.requires_grad  # frozen table, no graph
    direct = encoder(tokens, stack='positive')
    via = encoder.encode_embeddings(embeddings, tokens, stack='positive')
    assert torch.allclose(direct, via)
    learned = embeddings.clone().requires_grad_(True)
    encoder.encode_embeddings(learned, tokens).sum().backward()
    assert learned.grad[:, 1].abs().sum() > 0
