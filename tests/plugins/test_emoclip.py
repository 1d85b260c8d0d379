"""The EmoCLIP plugin: loss, logit scale, frozen towers, temporal model,
class sentences, frame sampling and parameter count."""
import math
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import build_optim_wrapper

from fineclip.apis import enable_local_imports
from fineclip.registry import MODELS
from fineclip.structures import DFERDataSample
from tests.conftest import CLASSES, TINY_ARCH
from tests.helpers import ROOT, run_tool_main

MAFW_CONFIG = osp.join(ROOT, 'configs/plugins/emoclip_mafw_captions.py')


@pytest.fixture(autouse=True)
def plugin(monkeypatch):
    """Imports the plugin as custom_imports would, from the repo root."""
    monkeypatch.chdir(ROOT)
    enable_local_imports()
    import plugins.emoclip
    return plugins.emoclip


def tiny_emoclip(**overrides):
    torch.manual_seed(0)
    cfg = dict(
        type='EmoCLIP',
        clip=dict(type='OpenCLIP', arch=TINY_ARCH),
        branches=dict(
            video=dict(type='EmoCLIPVideoBranch',
                       temporal=dict(type='EmoCLIPTemporalTransformer',
                                     heads=4, head_width=16,
                                     mlp_width=32)),
            caption=dict(type='EmoCLIPCaptionBranch')),
        class_names=CLASSES,
        data_preprocessor=dict(type='DFERDataPreprocessor'))
    cfg.update(overrides)
    return MODELS.build(cfg)


def caption_batch(model, clips=4, frames=4):
    """Random frames and a different caption per clip, as packed."""
    encoder = model.branches.caption.encoder
    captions = [f'the face number {i} smiles {"widely " * i}'
                for i in range(clips)]
    return dict(inputs=dict(
        frames=torch.randint(0, 256, (clips, frames, 3, 32, 32),
                             dtype=torch.uint8),
        description=encoder.tokenize(captions)),
        data_samples=[DFERDataSample() for _ in range(clips)])


def test_loss_is_the_symmetric_clip_loss_by_hand(plugin):
    video = torch.tensor([[1., 0.], [0.6, 0.8], [0., 2.]])
    text = torch.tensor([[0.8, 0.6], [0., 1.], [-1., 0.]])
    scale = torch.tensor(math.log(10.))
    # cosines by hand (rows of video against rows of text)
    v = [[1., 0.], [0.6, 0.8], [0., 1.]]
    t = [[0.8, 0.6], [0., 1.], [-1., 0.]]
    logits = [[10 * (a[0] * b[0] + a[1] * b[1]) for b in t] for a in v]

    def ce_rows(rows):
        return sum(math.log(sum(math.exp(x) for x in row)) - row[i]
                   for i, row in enumerate(rows)) / len(rows)

    columns = [list(col) for col in zip(*logits)]
    expected = (ce_rows(logits) + ce_rows(columns)) / 2
    loss = plugin.clip_contrastive_loss(video, text, scale)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    # symmetric: swapping the roles gives the same loss
    assert plugin.clip_contrastive_loss(text, video, scale).item() == \
        pytest.approx(expected, rel=1e-5)


def test_logit_scale_starts_at_clips_and_learns_alone():
    model = tiny_emoclip()
    scale = model.logit_scale
    assert scale is model.branches.caption.logit_scale
    assert scale.requires_grad and not model.clip.logit_scale.requires_grad
    assert scale.item() == model.clip.logit_scale.item()
    assert model.temperature.item() == pytest.approx(
        math.exp(-scale.item()))
    wrapper = build_optim_wrapper(model, dict(
        optimizer=dict(type='SGD', lr=1e-1, momentum=0.9)))
    clip_before = {n: p.clone() for n, p in model.clip.named_parameters()}
    start = scale.item()
    model.train()
    for _ in range(2):
        losses = model.train_step(caption_batch(model), wrapper)
        assert set(losses) == {'loss', 'loss_contrastive'}
    assert model.logit_scale.item() != start
    for name, param in model.clip.named_parameters():
        assert torch.equal(param, clip_before[name]), name
    tunable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert tunable == {n for n, _ in model.named_parameters()
                       if n.startswith(('branches.video.temporal.',
                                        'branches.caption.logit_scale'))}


def test_clip_towers_are_frozen_and_run_without_autograd():
    model = tiny_emoclip()
    assert not any(p.requires_grad for p in model.clip.parameters())
    grad_enabled = []
    model.clip.visual.register_forward_hook(
        lambda *_: grad_enabled.append(torch.is_grad_enabled()))
    model.train()
    batch = model.data_preprocessor(caption_batch(model), True)
    losses = model(**batch, mode='loss')
    assert grad_enabled == [False]
    losses['loss_contrastive'].backward()
    assert model.logit_scale.grad is not None
    assert model.branches.video.temporal.class_token.grad is not None


def test_clip_feature_is_the_class_token_output(plugin):
    torch.manual_seed(0)
    temporal = plugin.EmoCLIPTemporalTransformer(
        width=16, depth=2, heads=2, head_width=8, mlp_width=16)
    frames = torch.randn(3, 5, 16)
    x = torch.cat([temporal.class_token.expand(3, -1, -1), frames], dim=1)
    x = x + temporal.position_embedding[:, :6]
    for layer in temporal.layers:
        x = layer(x)
    assert torch.allclose(temporal(frames), x[:, 0], atol=1e-6)
    # the branch normalises that token of the per-frame image features
    model = tiny_emoclip()
    clips = torch.randn(2, 4, 3, 32, 32)
    per_frame = model.clip.visual(clips.flatten(0, 1)).view(2, 4, -1)
    expected = F.normalize(model.branches.video.temporal(per_frame), dim=-1)
    assert torch.allclose(model.branches.video({'frames': clips}), expected,
                          atol=1e-5)


def test_temporal_layer_is_the_official_prenorm_tanh_gelu_block(plugin):
    """One layer against the block written from the official formulas:
    pre-norm attention (1/sqrt(head width), no qkv bias) and a pre-norm MLP
    with GELU's tanh form, each added to its input."""
    torch.manual_seed(1)
    layer = plugin.EmoCLIPTemporalLayer(width=8, heads=2, head_width=6,
                                        mlp_width=12)
    x = torch.randn(2, 5, 8)
    q, k, v = layer.qkv(layer.norm_attn(x)).chunk(3, dim=-1)
    q, k, v = (t.view(2, 5, 2, 6).transpose(1, 2) for t in (q, k, v))
    attn = (q @ k.transpose(-1, -2) / math.sqrt(6)).softmax(-1) @ v
    y = x + layer.out(attn.transpose(1, 2).reshape(2, 5, 12))
    h = layer.mlp[0](layer.norm_mlp(y))
    gelu = 0.5 * h * (1 + torch.tanh(math.sqrt(2 / math.pi) *
                                     (h + 0.044715 * h ** 3)))
    expected = y + layer.mlp[2](gelu)
    assert torch.allclose(layer(x), expected, atol=1e-6)


def test_any_clip_length_up_to_the_position_table(plugin):
    temporal = plugin.EmoCLIPTemporalTransformer(
        width=8, depth=1, heads=1, head_width=4, mlp_width=8,
        max_positions=6)
    for t in (1, 3, 5):
        assert temporal(torch.randn(2, t, 8)).shape == (2, 8)
    with pytest.raises(ValueError, match='max_positions'):
        temporal(torch.randn(2, 6, 8))


def test_zero_shot_logits_use_one_sentence_per_class(plugin):
    model = tiny_emoclip().eval()
    prompts = model.label_augmenter(CLASSES)['positive']
    assert prompts == [plugin.emoclip_sentence(c) for c in CLASSES]
    assert prompts[0].startswith('An expression of contentment')  # Happy
    encoder = model.branches.caption.encoder
    classes = encoder(encoder.tokenize(prompts))
    frames = torch.randn(3, 4, 3, 32, 32)
    video = model.branches.video({'frames': frames})
    logits = model({'frames': frames}, mode='tensor')
    assert logits.shape == (3, len(CLASSES))
    expected = model.logit_scale.exp() * video @ classes.t()
    assert torch.allclose(logits, expected, atol=1e-4)
    scores = model.predict({'frames': frames})
    assert torch.allclose(scores[0].pred_score, expected[0].softmax(-1),
                          atol=1e-5)


def test_class_sentences_cover_every_dataset_spelling(plugin):
    augmenter = plugin.EmoCLIPClassSentences()
    mafw = augmenter(['happiness', 'anger', 'helplessness'])['positive']
    dfew = augmenter(['Happy', 'Angry'])['positive']
    assert mafw[:2] == dfew
    assert len(set(plugin.EMOCLIP_CLASS_SENTENCES.values())) == 11
    with pytest.raises(KeyError, match='label_augmenter.sentences'):
        augmenter(['Boredom'])
    own = plugin.EmoCLIPClassSentences(sentences={'Boredom': 'A blank face'})
    assert own(['Boredom'])['positive'] == ['A blank face']


def test_a_fixed_temperature_is_refused():
    with pytest.raises(ValueError, match='model.temperature'):
        tiny_emoclip(temperature=0.01)


@pytest.mark.parametrize('total, start, expected', [
    (20, 3, [6, 8, 10, 12]),  # x2 down-sampled, a window inside
    (20, 8, [16, 18, 0, 2]),  # the window wraps around
    (9, 3, [6, 8, 0, 2]),  # an odd length keeps its last frame
])
def test_sampling_downsamples_then_takes_a_window(plugin, total, start,
                                                  expected):
    got = plugin.emoclip_indices(total, clip_len=4, downsample=2,
                                 start=start)
    assert got.tolist() == expected


def test_sampling_mirrors_a_short_clip(plugin):
    # kept frames 0, 2, 4; from the second: 2, 4, then all once more
    # (0, 2, 4), then mirrored without repeating the last (2, 0, 4)
    got = plugin.emoclip_indices(5, clip_len=8, downsample=2, start=1)
    assert got.tolist() == [2, 4, 0, 2, 4, 2, 0, 4]
    assert plugin.emoclip_indices(1, 5, 4).tolist() == [0] * 5


def test_sampling_transform_test_mode_starts_at_the_first_frame(plugin):
    step = plugin.EmoCLIPSampleFrames(clip_len=3, downsample=4,
                                      test_mode=True)
    out = step(dict(total_frames=40))
    assert out['frame_inds'].tolist() == [0, 4, 8]
    assert out['num_frames'] == 3
    np.random.seed(0)
    train = plugin.EmoCLIPSampleFrames(clip_len=3, downsample=4)
    starts = {int(train(dict(total_frames=40))['frame_inds'][0])
              for _ in range(50)}
    assert len(starts) > 3 and starts <= set(range(0, 40, 4))


def test_count_params_reports_the_temporal_model_and_scale():
    log = run_tool_main('tools/analysis/count_params.py', [MAFW_CONFIG])
    rows = {line.split()[0]: line.split()[1:] for line in log.splitlines()
            if line.startswith(('branches.', 'clip.'))}
    assert rows['branches.video.temporal'][1] != '0'
    assert rows['branches.caption.logit_scale'][:2] == ['1', '1']
    assert 'clip.visual.transformer' in rows
    assert rows['clip.visual.transformer'][-1] == '(frozen)'
    # 2 layers of 8 x 2048-wide heads at width 512, MLP 512; the class
    # token, 1024 positions and the logit scale: the official VClip's
    # trainable parameters
    assert 'tunable: 68.69M of' in log
