import pytest
import torch

from fineclip.registry import FUSIONS, MODELS
from fineclip.structures import DFERDataSample
from tests.conftest import CLASSES, tiny_model_cfg


def _batch(n=4, t=4):
    torch.manual_seed(1)
    inputs = {'frames': torch.randint(0, 255, (n, t, 3, 32, 32),
                                      dtype=torch.uint8)}
    samples = [DFERDataSample().set_gt_label(i % len(CLASSES))
               for i in range(n)]
    return dict(inputs=list(dict(frames=f) for f in inputs['frames']),
                data_samples=samples)


def test_frozen_clip_has_no_gradient_buffers():
    model = MODELS.build(tiny_model_cfg())
    assert not any(p.requires_grad for p in model.clip.parameters())
    tunable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert tunable and all(
        n.startswith(('text_encoder.adapters', 'branches.')) for n in tunable)


def test_one_training_step_changes_only_tunable_parameters():
    model = MODELS.build(tiny_model_cfg())
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optim = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.5,
        momentum=0.9)
    data = model.data_preprocessor(_batch(), training=True)
    losses = model(**data, mode='loss')
    losses['loss'].backward()
    optim.step()
    assert all(p.grad is None for p in model.clip.parameters())
    changed = {n for n, p in model.named_parameters()
               if not torch.equal(p, before[n])}
    tunable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert changed, 'no parameter moved'
    assert changed <= tunable
    # up-projections start at zero; they must be among what moved
    assert any('fc_up' in n for n in changed)


def test_predict_gives_probabilities_and_tensor_gives_logits():
    model = MODELS.build(tiny_model_cfg()).eval()
    data = model.data_preprocessor(_batch())
    with torch.no_grad():
        samples = model(**data, mode='predict')
        logits = model(data['inputs'], mode='tensor')
    scores = torch.stack([s.pred_score for s in samples])
    assert scores.shape == (4, len(CLASSES))
    assert torch.allclose(scores.sum(1), torch.ones(4), atol=1e-5)
    assert torch.allclose(scores, (logits).softmax(-1), atol=1e-5)
    assert [int(s.pred_label) for s in samples] == scores.argmax(1).tolist()


def test_class_prompt_features_are_computed_once_in_eval(monkeypatch):
    model = MODELS.build(tiny_model_cfg()).eval()
    calls = []
    original = model.text_encoder.encode_prompts
    monkeypatch.setattr(model.text_encoder, 'encode_prompts',
                        lambda p: calls.append(1) or original(p))
    data = model.data_preprocessor(_batch())
    with torch.no_grad():
        for _ in range(3):
            model(**data, mode='predict')
    assert len(calls) == 1
    model.train()
    model(**model.data_preprocessor(_batch(), True), mode='loss')
    model.eval()
    with torch.no_grad():
        model(**data, mode='predict')
    assert len(calls) == 3  # once in training, once for the new eval run
    model.set_class_names(CLASSES[:3])
    with torch.no_grad():
        out = model(**data, mode='predict')
    assert len(calls) == 4 and out[0].pred_score.shape == (3, )


def test_missing_class_names_is_a_clear_error():
    model = MODELS.build(tiny_model_cfg(class_names=None)).eval()
    with pytest.raises(RuntimeError, match='class names'):
        model(**model.data_preprocessor(_batch()), mode='predict')


def test_positive_only_model_builds_one_text_stack():
    model = MODELS.build(tiny_model_cfg(
        label_augmenter=dict(type='PositiveOnlyAugmenter')))
    assert list(model.text_encoder.adapters) == ['positive']
    positive, negative = model.text_features()
    assert negative is None and positive.shape[0] == len(CLASSES)


def test_model_without_any_adapter_trains_only_the_temporal_embedding():
    """Paper Tab 6, row 1: frozen text tower, no video adapters."""
    model = MODELS.build(tiny_model_cfg(
        label_augmenter=dict(type='PositiveOnlyAugmenter'),
        text_encoder=dict(type='AdaptedTextEncoder', stacks=()),
        branches=dict(video=dict(
            type='FramesBranch',
            encoder=dict(type='AIMVideoEncoder', num_frames=4,
                         t_adapter=False, s_adapter=False,
                         mlp_adapter=False)))))
    tunable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert tunable == ['branches.video.encoder.temporal_embedding']
    data = model.data_preprocessor(_batch(), training=True)
    model(**data, mode='loss')['loss'].backward()
    assert model.branches.video.encoder.temporal_embedding.grad is not None


def test_unregistered_part_names_the_fix():
    with pytest.raises(KeyError, match='custom_imports'):
        FUSIONS.build(dict(type='NoSuchFusion'))
