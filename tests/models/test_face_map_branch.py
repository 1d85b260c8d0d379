"""FineCLIPER*: the face-map branch and its fusion with the frames."""
import pytest
import torch
import torch.nn.functional as F

from fineclip.models.fusions import AdaptiveFusion, FixedFusion
from fineclip.models.similarity import pn_similarity
from fineclip.registry import MODELS
from fineclip.structures import DFERDataSample
from tests.conftest import CLASSES, tiny_model_cfg

T = 4


def star_cfg(modalities=('parsing', 'landmarks'), **overrides):
    cfg = tiny_model_cfg(num_frames=T, **overrides)
    cfg['branches'] = dict(
        cfg['branches'],
        face_maps=dict(type='FaceMapBranch', modalities=modalities,
                       encoder=dict(type='AIMVideoEncoder', num_frames=T,
                                    s_adapter=False)))
    return cfg


def _batch(n=4, keys=('frames', 'parsing', 'landmarks')):
    torch.manual_seed(2)
    clips = [{k: torch.randint(0, 255, (T, 3, 32, 32), dtype=torch.uint8)
              for k in keys} for _ in range(n)]
    samples = [DFERDataSample().set_gt_label(i % len(CLASSES))
               for i in range(n)]
    return dict(inputs=clips, data_samples=samples)


def test_frozen_weights_are_shared_and_stored_once():
    model = MODELS.build(star_cfg())
    branch = model.branches['face_maps']
    assert branch.encoder.visual is model.clip.visual
    assert model.branches['video'].encoder.visual is model.clip.visual
    frozen = [k for k in model.state_dict() if 'resblocks.0.attn.in_proj_w'
              in k and 'visual' in k]
    assert frozen == ['clip.visual.transformer.resblocks.0.attn.'
                      'in_proj_weight']
    # adapters of its own: not the frames branch's
    own = {id(p) for p in branch.parameters()}
    video = {id(p) for p in model.branches['video'].parameters()}
    assert own and not own & video
    assert all(p.requires_grad for p in branch.parameters())


def test_each_modality_is_a_branch_of_the_fusion():
    model = MODELS.build(star_cfg())
    data = model.data_preprocessor(_batch(), training=True)
    feats = model.extract_feat(data['inputs'])
    assert list(feats) == ['video', 'parsing', 'landmarks']
    assert all(f.shape == (4, 32) for f in feats.values())
    assert torch.allclose(feats['parsing'].norm(dim=-1), torch.ones(4))
    losses = model(**data, mode='loss')
    for name in ('video', 'parsing', 'landmarks'):
        assert f'ce_{name}' in losses and f'w_{name}' in losses
    total_w = sum(losses[f'w_{n}'] for n in ('video', 'parsing',
                                              'landmarks'))
    assert torch.isclose(total_w, torch.tensor(1.))


def test_projections_start_as_identity_and_differ_by_modality():
    model = MODELS.build(star_cfg())
    branch = model.branches['face_maps']
    data = model.data_preprocessor(_batch())
    with torch.no_grad():
        encoded = branch.encoder(data['inputs']['parsing'])
        out = branch(data['inputs'])
    assert torch.allclose(out['parsing'], encoded, atol=1e-5)
    assert branch.projections['parsing'] is not branch.projections[
        'landmarks']


def test_training_moves_the_face_map_adapters_and_projections():
    model = MODELS.build(star_cfg())
    params = dict(model.branches['face_maps'].named_parameters())
    before = {n: p.detach().clone() for n, p in params.items()}
    optim = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.5)
    data = model.data_preprocessor(_batch(), training=True)
    model(**data, mode='loss')['loss'].backward()
    optim.step()
    moved = {n for n, p in params.items() if not torch.equal(p, before[n])}
    assert any(n.startswith('projections.parsing') for n in moved)
    assert any(n.startswith('projections.landmarks') for n in moved)
    assert any('fc_up' in n for n in moved)
    assert all(p.grad is None for p in model.clip.parameters())


def test_single_modality_ablation_and_missing_inputs():
    model = MODELS.build(star_cfg(modalities=('landmarks', )))
    data = model.data_preprocessor(_batch(keys=('frames', 'landmarks')))
    assert list(model.extract_feat(data['inputs'])) == ['video', 'landmarks']
    full = MODELS.build(star_cfg())
    with pytest.raises(KeyError, match='RenderFaceMaps'):
        full.extract_feat(data['inputs'])
    with pytest.raises(ValueError, match='subset'):
        MODELS.build(star_cfg(modalities=('depth', )))


def test_fixed_fusion_in_a_star_model():
    model = MODELS.build(star_cfg(fusion=dict(type='FixedFusion',
                                              alpha=0.4)))
    data = model.data_preprocessor(_batch(), training=True)
    losses = model(**data, mode='loss')
    assert torch.isclose(losses['w_video'], torch.tensor(0.4))
    assert torch.isclose(losses['w_parsing'], torch.tensor(0.3))
    assert torch.isclose(losses['w_landmarks'], torch.tensor(0.3))


# --- Eq 9-11 with three branches, on hand-made numbers --------------------
def test_eq9_to_11_on_three_hand_made_branches():
    t_p = torch.eye(3)
    t_n = -torch.eye(3)

    def similarity(f):
        return pn_similarity(f, t_p, t_n)

    feats = {'video': torch.tensor([[1., 0., 0.], [0., 1., 0.]]),
             'parsing': torch.tensor([[0., 1., 1.], [1., 1., 1.]]),
             'landmarks': torch.tensor([[0., 0., 2.], [1., 0., 0.]])}
    fused, w, sims = AdaptiveFusion()(feats, similarity)
    # s_c(f) = cos(f, e_c) - cos(f, -e_c) = 2 cos(f, e_c)
    r = 2 ** -0.5
    assert torch.allclose(sims['parsing'],
                          torch.tensor([[0., 2 * r, 2 * r],
                                        [2 / 3 ** .5] * 3]), atol=1e-6)
    # Eq 9: r_m = max_c s_c(f_m), w = softmax over the three branches
    conf = torch.tensor([[2., 2 * r, 2.], [2., 2 / 3 ** .5, 2.]])
    assert torch.allclose(w, conf.softmax(dim=1), atol=1e-6)
    assert torch.allclose(w.sum(1), torch.ones(2))
    # Eq 10: fused = sum_m w_m f_m (unit-norm features)
    expected = sum(w[:, m:m + 1] * F.normalize(f, dim=-1)
                   for m, f in enumerate(feats.values()))
    assert torch.allclose(fused, expected, atol=1e-6)
    # Eq 11: mean over the batch of sum_m w_m CE(s(f_m) / tau, y)
    y = torch.tensor([0, 2])
    out = AdaptiveFusion.loss(sims, w, y, temperature=0.5)
    per_sample = sum(
        w[:, m] * F.cross_entropy(s / 0.5, y, reduction='none')
        for m, s in enumerate(sims.values()))
    assert torch.allclose(out['loss'], per_sample.mean())


@pytest.mark.parametrize('branches', [3, 4])
def test_fixed_weights_sum_to_one_for_the_whole_sweep(branches):
    names = ['video', 'parsing', 'landmarks', 'description'][:branches]
    sims = {n: torch.zeros(2, 5) for n in names}
    for tenth in range(1, 10):
        alpha = tenth / 10
        w = FixedFusion(alpha=alpha).branch_weights(sims)
        assert torch.allclose(w.sum(1), torch.ones(2))
        assert torch.allclose(w[:, 0], torch.full((2, ), alpha))
        rest = torch.full((2, branches - 1), (1 - alpha) / (branches - 1))
        assert torch.allclose(w[:, 1:], rest)


def test_predictions_carry_each_branch_own_label_and_weight():
    model = MODELS.build(star_cfg()).eval()
    data = model.data_preprocessor(_batch())
    with torch.no_grad():
        samples = model(**data, mode='predict')
        feats = model.extract_feat(data['inputs'])
        positive, negative = model.text_features()
    for i, sample in enumerate(samples):
        assert set(sample.branch_pred_labels) == {'video', 'parsing',
                                                  'landmarks'}
        own = pn_similarity(feats['parsing'][i:i + 1], positive, negative)
        assert sample.branch_pred_labels['parsing'] == int(own.argmax())
        assert torch.isclose(sample.branch_weights.sum(), torch.tensor(1.))
