"""Caption-supervised zero-shot recognizer and class-description prompts."""
import pytest
import torch
from mmengine.registry import MODELS

from fineclip.models.class_descriptions import (CLASS_DESCRIPTIONS,
                                                describe_class)
from fineclip.models.label_augmenters import ClassDescriptionAugmenter
from fineclip.models.encoders.long_clip_text_encoder import stretched_length
from fineclip.structures import DFERDataSample
from tests.conftest import CLASSES, TINY_ARCH, tiny_model_cfg

CONTEXT = stretched_length(TINY_ARCH['text_cfg']['context_length'])


def zero_shot_cfg(alignment_weight=1.0):
    return tiny_model_cfg(
        type='ZeroShotFineCLIPER',
        label_augmenter=dict(type='ClassDescriptionAugmenter'),
        text_encoder=dict(type='AdaptedTextEncoder', stacks=()),
        branches=dict(
            video=dict(type='FramesBranch',
                       encoder=dict(type='AIMVideoEncoder', num_frames=4)),
            description=dict(
                type='DescriptionBranch',
                encoder=dict(type='LongCLIPTextEncoder',
                             context_length=CONTEXT),
                alignment_weight=alignment_weight)))


def batch(model, n=3):
    torch.manual_seed(1)
    encoder = model.branches['description'].encoder
    size = TINY_ARCH['vision_cfg']['image_size']
    return {
        'frames': torch.randn(n, 4, 3, size, size),
        'description': encoder.tokenize(
            ['the brows rise', 'the lips part', 'the nose wrinkles'][:n]),
    }


def test_every_dataset_class_has_a_description():
    from fineclip.datasets.dfew import DFEW_CLASSES
    from fineclip.datasets.ferv39k import FERV39K_CLASSES
    from fineclip.datasets.mafw import MAFW_CLASSES
    for name in DFEW_CLASSES + FERV39K_CLASSES + MAFW_CLASSES:
        assert describe_class(name) in CLASS_DESCRIPTIONS.values()
    with pytest.raises(KeyError, match='No facial-action description'):
        describe_class('boredom')


def test_class_description_augmenter_fills_name_and_description():
    aug = ClassDescriptionAugmenter(
        negative_template='Not {cls}: {desc}.',
        descriptions={'Happy': 'the mouth smiles'})
    prompts = aug(['Happy', 'anger'])
    assert prompts['positive'] == [
        'A face where the mouth smiles.',
        f"A face where {CLASS_DESCRIPTIONS['angry']}."]
    assert prompts['negative'][0] == 'Not happy: the mouth smiles.'
    assert aug.groups == ('positive', 'negative')
    assert ClassDescriptionAugmenter().groups == ('positive', )
    with pytest.raises(ValueError, match='slot'):
        ClassDescriptionAugmenter(template='no slot here')


def test_loss_is_the_caption_loss_and_reads_no_label():
    model = MODELS.build(zero_shot_cfg()).train()
    inputs = batch(model)
    losses = model.loss(inputs, data_samples=None)
    assert set(losses) == {'loss_align'}
    losses['loss_align'].backward()
    video_adapters = model.branches['video'].encoder.blocks[0]
    caption_adapters = model.branches['description'].encoder.adapters[0]
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in video_adapters.parameters() if p.requires_grad)
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in caption_adapters.parameters())
    # no parameter was made for the unused class-prompt text adapters
    assert not any(p.requires_grad for p in model.text_encoder.parameters())


def test_predict_needs_no_caption_and_uses_the_caption_text_tower():
    model = MODELS.build(zero_shot_cfg()).eval()
    inputs = batch(model)
    frames_only = {'frames': inputs['frames']}
    samples = model.predict(frames_only,
                            [DFERDataSample() for _ in range(3)])
    scores = torch.stack([s.pred_score for s in samples])
    assert scores.shape == (3, len(CLASSES))
    assert torch.allclose(scores.sum(-1), torch.ones(3))
    # the prompts are encoded by the caption encoder: by hand
    encoder = model.prompt_encoder
    texts = model.label_augmenter(CLASSES)['positive']
    with torch.no_grad():
        prompts = encoder(encoder.tokenize(texts))
        video = model.branches['video'](frames_only)
    expected = (video @ prompts.t() / model.temperature).softmax(-1)
    assert torch.allclose(scores, expected, atol=1e-5)


def test_caption_branch_must_give_a_caption_loss():
    with pytest.raises(ValueError, match='alignment_weight'):
        MODELS.build(zero_shot_cfg(alignment_weight=0.0))
    cfg = zero_shot_cfg()
    cfg['caption_branch'] = 'captions'
    with pytest.raises(KeyError, match="caption_branch 'captions'"):
        MODELS.build(cfg)
