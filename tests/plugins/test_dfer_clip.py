"""The DFER-CLIP plugin: temporal transformer, learnable prompts, configs."""
import math
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from fineclip.apis import enable_local_imports
from fineclip.registry import MODELS
from tests.conftest import CLASSES, TINY_ARCH

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SYNTHETIC = osp.join(ROOT, 'configs/plugins/dfer_clip_synthetic.py')


@pytest.fixture(autouse=True)
def plugin(monkeypatch):
    """Imports the plugin as custom_imports would, from the repo root."""
    monkeypatch.chdir(ROOT)
    enable_local_imports()
    import plugins.dfer_clip
    return plugins.dfer_clip


def tiny_dfer_clip(num_frames=4, **augmenter):
    cfg = dict(
        type='FineCLIPER',
        clip=dict(type='OpenCLIP', arch=TINY_ARCH, trainable=('visual', )),
        label_augmenter=dict(type='LearnableContextAugmenter',
                             num_classes=len(CLASSES), **augmenter),
        text_encoder=dict(type='AdaptedTextEncoder', stacks=()),
        branches=dict(video=dict(
            type='TemporalTransformerBranch',
            temporal=dict(type='TemporalTransformer', num_frames=num_frames,
                          heads=8, head_width=8, mlp_width=128))),
        class_names=CLASSES,
        data_preprocessor=dict(type='DFERDataPreprocessor'))
    torch.manual_seed(0)
    return MODELS.build(cfg)


# --- temporal transformer ----------------------------------------------------
def test_temporal_transformer_sees_frame_order_through_position(plugin):
    torch.manual_seed(0)
    model = plugin.TemporalTransformer(width=32, num_frames=5, heads=4,
                                       head_width=8, mlp_width=64).eval()
    frames = torch.randn(2, 5, 32)
    reversed_order = frames.flip(1)
    assert not torch.allclose(model(frames), model(reversed_order),
                              atol=1e-5)
    # Without the position embedding, attention pools the frames as a set:
    # the order no longer matters, so the embedding is what carries it.
    with torch.no_grad():
        model.position_embedding.zero_()
    assert torch.allclose(model(frames), model(reversed_order), atol=1e-5)


def test_temporal_transformer_outputs_its_class_token(plugin):
    torch.manual_seed(0)
    model = plugin.TemporalTransformer(width=32, num_frames=3, heads=4,
                                       head_width=8, mlp_width=64).eval()
    frames = torch.randn(2, 3, 32)
    # The output is row 0 of the last layer's tokens: recompute it by hand.
    x = torch.cat([model.class_token.expand(2, -1, -1), frames], 1)
    x = x + model.position_embedding
    for layer in model.layers:
        x = layer(x)
    assert torch.allclose(model(frames), x[:, 0])
    before = model(frames)
    with torch.no_grad():
        model.class_token.add_(1.)
    assert not torch.allclose(model(frames), before, atol=1e-5)


def test_temporal_transformer_shape_is_configurable(plugin):
    model = plugin.TemporalTransformer(width=32, num_frames=6, depth=2,
                                       heads=2, head_width=4, mlp_width=16)
    assert model.position_embedding.shape == (1, 7, 32)
    assert len(model.layers) == 2
    assert model.layers[0].qkv.out_features == 3 * 2 * 4
    assert model.layers[0].mlp[0].out_features == 16
    with pytest.raises(ValueError, match='at most 6 frames'):
        model(torch.randn(1, 7, 32))


def test_temporal_mlp_uses_the_tanh_gelu_of_the_official_code(plugin):
    x = torch.linspace(-4, 4, 81)
    tanh_gelu = 0.5 * x * (1 + torch.tanh(
        math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    layer = plugin.TemporalTransformerLayer(8, 2, 4, 16)
    assert torch.allclose(layer.mlp[1](x), tanh_gelu, atol=1e-6)
    # the exact GELU is a documented option, and measurably another one
    exact = plugin.TemporalTransformerLayer(8, 2, 4, 16, activation='exact')
    assert torch.allclose(exact.mlp[1](x), F.gelu(x), atol=1e-7)
    assert (exact.mlp[1](x) - tanh_gelu).abs().max() > 1e-4
    with pytest.raises(ValueError, match='temporal.activation'):
        plugin.TemporalTransformerLayer(8, 2, 4, 16, activation='relu')


def test_temporal_transformer_starts_from_a_standard_normal(plugin):
    torch.manual_seed(0)
    model = plugin.TemporalTransformer(width=512)
    assert 0.95 < model.position_embedding.std() < 1.05
    assert 0.9 < model.class_token.std() < 1.1


def test_short_clip_uses_the_first_position_rows(plugin):
    torch.manual_seed(0)
    model = plugin.TemporalTransformer(width=32, num_frames=6, heads=4,
                                       head_width=8, mlp_width=64).eval()
    frames = torch.randn(2, 4, 32)
    x = torch.cat([model.class_token.expand(2, -1, -1), frames], 1)
    x = x + model.position_embedding[:, :5]
    for layer in model.layers:
        x = layer(x)
    assert torch.allclose(model(frames), x[:, 0], atol=1e-6)


# --- learnable prompts -------------------------------------------------------
@pytest.mark.parametrize('position, expected', [
    ('end', [1, 2, 3, 4]),  # context, then the 3 description tokens
    ('front', [4, 5, 6, 7]),  # description, then context
    ('middle', [1, 2, 6, 7]),  # two, description, two
])
def test_prompt_layout_puts_context_where_it_says(plugin, position,
                                                  expected):
    tokens, slots = plugin.assemble_prompt(
        [10, 11, 12], [269], num_context=4, position=position,
        placeholder=343, sot=49406, eot=49407, length=12)
    assert slots.tolist() == expected
    assert tokens[slots].tolist() == [343] * 4
    # [SOT] 7 body tokens [.] [EOT] and two pads
    body = [i for i in range(1, 8) if i not in expected]
    assert tokens[body].tolist() == [10, 11, 12]
    assert tokens[[0, 8, 9]].tolist() == [49406, 269, 49407]
    assert tokens[10:].tolist() == [0, 0]


def test_prompt_too_long_for_the_context_is_refused(plugin):
    with pytest.raises(ValueError, match='does not fit'):
        plugin.assemble_prompt([1] * 10, [269], 4, 'end', 343, 49406,
                               49407, length=12)
    with pytest.raises(ValueError, match="'side'"):
        plugin.assemble_prompt([1], [269], 4, 'side', 343, 49406, 49407, 12)


@pytest.mark.parametrize('position', ['end', 'middle', 'front'])
def test_context_vectors_are_inserted_at_their_slots(position):
    model = tiny_dfer_clip(position=position, num_context=4)
    augmenter = model.label_augmenter
    embeddings, tokens = augmenter.embed(CLASSES, model.text_encoder)
    _, slots = augmenter._layout(CLASSES, model.text_encoder)
    frozen = model.text_encoder.embed_tokens(tokens)
    for c in range(len(CLASSES)):
        assert torch.equal(embeddings[c, slots[c]], augmenter.context[c])
        others = torch.ones(tokens.shape[1], dtype=torch.bool)
        others[slots[c]] = False
        assert torch.equal(embeddings[c, others], frozen[c, others])
    text = augmenter(CLASSES)['positive'][0]
    words = text.split()
    marks = [i for i, w in enumerate(words) if w == 'x']
    if position == 'end':
        assert words[:4] == ['x'] * 4 and text.startswith('x x x x happy')
    elif position == 'front':
        assert words[0] == 'happy' and text.endswith('x x x x .')
    else:
        assert words[:2] == ['x', 'x'] and text.endswith('x x .')
    assert len(marks) == 4


def test_shared_context_is_one_set_for_every_class():
    model = tiny_dfer_clip(class_specific=False, num_context=3)
    augmenter = model.label_augmenter
    assert augmenter.context.shape == (1, 3, 64)
    embeddings, _ = augmenter.embed(CLASSES, model.text_encoder)
    _, slots = augmenter._layout(CLASSES, model.text_encoder)
    for c in range(len(CLASSES)):
        assert torch.equal(embeddings[c, slots[c]], augmenter.context[0])


def test_descriptions_fit_the_tiny_context_whole(plugin):
    model = tiny_dfer_clip()
    tokens, _ = model.label_augmenter._layout(CLASSES, model.text_encoder)
    eot = model.text_encoder.tokenizer.eot_token_id
    assert (tokens == eot).sum(1).tolist() == [1] * len(CLASSES)
    for text in model.label_augmenter(CLASSES)['positive']:
        # whole features only: the text ends at a feature's last word
        feature_ends = {f.split()[-1] for fs in plugin.FACIAL_FEATURES.values()
                        for f in fs}
        assert text.split()[-2] in feature_ends, text


def test_descriptions_are_used_as_given():
    # what a converted official checkpoint's config sets: the class text
    # verbatim, then '.', nothing composed around it
    model = tiny_dfer_clip(num_context=2,
                           descriptions={CLASSES[0]: 'tight lips'})
    texts = model.label_augmenter(CLASSES)['positive']
    assert texts[0] == 'x x tight lips .'
    assert texts[1].startswith('x x ' + CLASSES[1].lower() + ' , with')
    tokenizer = model.text_encoder.tokenizer
    tokens, slots = model.label_augmenter._layout(CLASSES, model.text_encoder)
    assert slots[0].tolist() == [1, 2]
    body = tokenizer.encode('tight lips') + tokenizer.encode('.')
    assert tokens[0, 3:3 + len(body)].tolist() == body
    assert tokens[0, 3 + len(body)] == tokenizer.eot_token_id


def test_every_dataset_class_has_features(plugin):
    from fineclip.registry import DATASETS
    for name in ('DFEWDataset', 'FERV39kDataset', 'MAFWDataset'):
        for cls in DATASETS.get(name).METAINFO['classes']:
            assert len(plugin.class_descriptors.facial_features(cls)) >= 5
    with pytest.raises(KeyError, match='boredom'):
        plugin.class_descriptors.facial_features('boredom')


def test_class_count_mismatch_is_a_clear_error():
    model = tiny_dfer_clip()
    model.set_class_names(CLASSES[:5])
    with pytest.raises(ValueError, match='num_classes'):
        model.text_features()


# --- the model ---------------------------------------------------------------
def test_training_reaches_image_tower_temporal_model_and_prompts():
    from fineclip.structures import DFERDataSample
    model = tiny_dfer_clip().train()
    frames = torch.randn(2, 4, 3, 32, 32)
    samples = [DFERDataSample().set_gt_label(i) for i in range(2)]
    losses = model({'frames': frames}, samples, mode='loss')
    losses['loss'].backward()
    assert model.label_augmenter.context.grad.abs().sum() > 0
    assert model.clip.visual.conv1.weight.grad.abs().sum() > 0
    temporal = model.branches.video.temporal
    assert temporal.position_embedding.grad.abs().sum() > 0
    # the text tower stays frozen and gets no gradient
    assert model.clip.token_embedding.weight.grad is None
    assert all(p.grad is None for p in model.clip.transformer.parameters())


def test_logits_are_cosines_over_temperature():
    model = tiny_dfer_clip().eval()
    frames = torch.randn(3, 4, 3, 32, 32)
    logits = model({'frames': frames}, mode='tensor')
    video = model.branches.video({'frames': frames})
    text = model.text_features()[0]
    assert torch.allclose(logits, video @ text.t() / 0.01, atol=1e-4)


@pytest.mark.parametrize('dataset', ['dfew', 'ferv39k', 'mafw'])
def test_official_recipe_configs_use_the_official_choices(dataset):
    from fineclip.models.data_preprocessors.dfer_data_preprocessor import \
        UNIT_RANGE
    cfg = Config.fromfile(
        osp.join(ROOT, f'configs/plugins/dfer_clip_{dataset}.py'))
    preprocessor = cfg.model.data_preprocessor
    assert tuple(preprocessor.mean) == UNIT_RANGE['mean']
    assert tuple(preprocessor.std) == UNIT_RANGE['std']
    temporal = cfg.model.branches.video.temporal
    assert temporal.activation == 'tanh' and temporal.init_std == 1.0
    for loader, test_mode in (('train_dataloader', False),
                              ('val_dataloader', True),
                              ('test_dataloader', True)):
        sample = cfg[loader].dataset.pipeline[0]
        assert sample.type == 'SampleFrameIndices'
        assert sample.rule == 'dfer_clip'
        assert sample.get('test_mode', False) == test_mode
    steps = [t.type for t in cfg.train_dataloader.dataset.pipeline]
    extra = dict(dfew=['GroupBrightness'], ferv39k=['GroupRotate'],
                 mafw=[])[dataset]
    assert steps == ['SampleFrameIndices', 'DecodeFrames', *extra,
                     'GroupRandomResizedCrop', 'GroupFlip', 'PackDFERInputs']
    crop = cfg.train_dataloader.dataset.pipeline[steps.index(
        'GroupRandomResizedCrop')]
    assert crop.rule == 'dfer_clip' and tuple(crop.scale) == (0.08, 1.0)


class _Scripted:
    """An rng that answers with scripted values, in the order the
    official crop draws them."""

    def __init__(self, *values):
        self.values = list(values)
        self.calls = []

    def _next(self, name, *args):
        self.calls.append((name, args))
        return self.values.pop(0)

    def uniform(self, low, high):
        return self._next('uniform', low, high)

    def rand(self):
        return self._next('rand')

    def randint(self, low, high):
        return self._next('randint', low, high)


def test_official_crop_box_rule():
    from fineclip.datasets.transforms.augment import dfer_clip_box
    # area 0.5 of 200 x 100, ratio 2 (uniform, not log-uniform): w 141,
    # h 71, then swapped (rand < 0.5) to w 71, h 141: does not fit; the
    # second draw (area 0.25, ratio 2: 100 x 50) fits unswapped, and x, y
    # come from randint with the official inclusive bounds
    rng = _Scripted(0.5, 2.0, 0.1, 0.25, 2.0, 0.9, 7, 3)
    box = dfer_clip_box(100, 200, (0.08, 1.0), (0.5, 2.0), size=64,
                        rng=rng)
    assert box == (7, 3, 100, 50)
    assert rng.calls[1] == ('uniform', (0.5, 2.0))
    assert rng.calls[-2:] == [('randint', (0, 101)), ('randint', (0, 51))]
    # ten draws that never fit: shorter side to 64, a random 64 square of
    # the 128 x 64 scaled frame, i.e. a 100-pixel square of the frame
    never = []
    for _ in range(10):
        never += [1.0, 4.0, 0.9]  # 283 x 71: too wide
    rng = _Scripted(*never, 32, 0)
    assert dfer_clip_box(100, 200, (0.08, 1.0), (0.5, 4.0), size=64,
                         rng=rng) == (50, 0, 100, 100)
    assert rng.calls[-2:] == [('randint', (0, 65)), ('randint', (0, 1))]


def test_official_crop_keeps_one_box_for_every_frame():
    from fineclip.datasets.transforms.augment import GroupRandomResizedCrop
    crop = GroupRandomResizedCrop(size=32, rule='dfer_clip')
    frames = [np.full((40, 60, 3), i, np.uint8) for i in range(3)]
    np.random.seed(0)
    out = crop.transform(dict(imgs=frames, img_shape=(40, 60)))
    assert [img.shape for img in out['imgs']] == [(32, 32, 3)] * 3
    assert [int(img[0, 0, 0]) for img in out['imgs']] == [0, 1, 2]
    with pytest.raises(ValueError, match='crops squares'):
        GroupRandomResizedCrop(size=(32, 48), rule='dfer_clip')
    with pytest.raises(ValueError, match='rule must be one of'):
        GroupRandomResizedCrop(rule='tsn')


def test_count_params_lists_the_tunable_parts_at_vit_b32():
    from tools.analysis.count_params import count_by_part
    cfg = Config.fromfile(osp.join(ROOT, 'configs/plugins/dfer_clip_dfew.py'))
    cfg.model.clip.pretrained = None
    model = MODELS.build(cfg.model)
    parts = count_by_part(model, depth=3)
    tunable = {k for k, (_, t) in parts.items() if t}
    assert {'clip.visual.transformer', 'branches.video.temporal',
            'label_augmenter.context'} <= tunable
    assert 'clip.transformer.resblocks' not in tunable  # text tower frozen
    total = sum(t for _, t in parts.values())
    assert abs(total - 90e6) <= 0.05 * 90e6, total  # paper: 90M


@pytest.mark.slow(5)
def test_without_custom_imports_the_error_names_the_plugin(tmp_path):
    """A fresh interpreter (the plugin is not imported yet) builds the
    synthetic config with custom_imports removed."""
    script = (
        'from mmengine.config import Config\n'
        'from mmengine.registry import init_default_scope\n'
        'import fineclip\n'
        'from fineclip.registry import MODELS\n'
        'init_default_scope("fineclip")\n'
        f'cfg = Config.fromfile({SYNTHETIC!r}, import_custom_modules=False)\n'
        'cfg.pop("custom_imports")\n'
        'cfg.model.clip.pretrained = None\n'
        'MODELS.build(cfg.model)\n')
    env = dict(os.environ, HF_HUB_OFFLINE='1')
    env.pop('PYTHONPATH', None)
    proc = subprocess.run([sys.executable, '-c', script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert 'is not registered' in proc.stderr
    assert "plugins.dfer_clip" in proc.stderr
    assert 'custom_imports' in proc.stderr
