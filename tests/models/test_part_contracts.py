"""The contracts FineCLIPER calls: BaseBranch and BaseLabelAugmenter."""
import pytest
import torch
from torch import nn

from fineclip.models.branches import BaseBranch
from fineclip.models.label_augmenters import (BaseLabelAugmenter,
                                              ClassDescriptionAugmenter,
                                              PNAugmenter,
                                              PositiveOnlyAugmenter)
from fineclip.registry import MODELS
from tests.conftest import CLASSES, tiny_model_cfg


class RenamedPN(PNAugmenter):
    """PN prompts under other group names."""

    groups = ('pos', 'neg')
    positive_group = 'pos'
    negative_group = 'neg'

    def __call__(self, class_names):
        prompts = super().__call__(class_names)
        return {'pos': prompts['positive'], 'neg': prompts['negative']}


def _frames(n=2, t=4):
    torch.manual_seed(3)
    return {'frames': torch.randn(n, t, 3, 32, 32)}


def test_augmenter_groups_say_which_prompts_are_t_p_and_t_n():
    assert (PNAugmenter.positive_group, PNAugmenter.negative_group) == (
        'positive', 'negative')
    assert PositiveOnlyAugmenter.negative_group is None
    assert ClassDescriptionAugmenter().negative_group is None
    assert ClassDescriptionAugmenter(
        negative_template='A face without {desc}.').negative_group == \
        'negative'
    t_p, t_n = torch.ones(2, 3), torch.zeros(2, 3)
    assert PositiveOnlyAugmenter().pn_features({'positive': t_p}) == (
        t_p, None)
    with pytest.raises(KeyError, match='negative'):
        PNAugmenter().pn_features({'positive': t_p})
    assert RenamedPN().pn_features({'pos': t_p, 'neg': t_n})[1] is t_n


def test_group_names_come_from_the_augmenter_not_the_model():
    torch.manual_seed(0)
    reference = MODELS.build(tiny_model_cfg()).eval()
    torch.manual_seed(0)
    renamed = MODELS.build(tiny_model_cfg(
        label_augmenter=dict(type=RenamedPN))).eval()
    assert list(renamed.text_encoder.adapters) == ['pos', 'neg']
    with torch.no_grad():
        assert torch.equal(reference(_frames()), renamed(_frames()))


def test_default_bind_and_encode_encode_the_text_prompts():
    model = MODELS.build(tiny_model_cfg())
    augmenter = model.label_augmenter
    assert augmenter.bind(model.text_encoder) is None
    with torch.no_grad():
        feats = augmenter.encode(CLASSES, model.text_encoder)
        expected = model.text_encoder.encode_prompts(augmenter(CLASSES))
    assert set(feats) == {'positive', 'negative'}
    assert all(torch.equal(feats[k], expected[k]) for k in feats)


class NotABranch(nn.Module):

    def __init__(self, clip):
        super().__init__()

    def forward(self, inputs):
        return inputs['frames'].flatten(1)


def test_parts_must_subclass_their_base():
    with pytest.raises(TypeError, match='BaseBranch'):
        MODELS.build(tiny_model_cfg(branches=dict(video=dict(
            type=NotABranch))))

    class TextOnly:
        groups = ('positive', )

        def __call__(self, names):
            return {'positive': list(names)}

    with pytest.raises(TypeError, match='BaseLabelAugmenter'):
        MODELS.build(tiny_model_cfg(label_augmenter=dict(type=TextOnly)))


class ShiftBranch(BaseBranch):
    """A branch with only forward and input_keys: the defaults do the rest."""

    def __init__(self, clip, input_key='shift'):
        super().__init__()
        self.input_key = input_key
        self.proj = nn.Linear(3, clip.visual.output_dim)

    @property
    def input_keys(self):
        return (self.input_key, )

    def forward(self, inputs):
        return self.proj(inputs[self.input_key])


def test_branch_defaults_and_model_input_keys():
    model = MODELS.build(tiny_model_cfg(branches=dict(
        video=dict(type='FramesBranch',
                   encoder=dict(type='AIMVideoEncoder', num_frames=4)),
        shift=dict(type=ShiftBranch),
        again=dict(type=ShiftBranch))))
    assert model.input_keys() == ('frames', 'shift')
    branch = model.branches['shift']
    inputs = dict(_frames(), shift=torch.randn(2, 3))
    reps = branch.representations(inputs, 'shift')
    assert list(reps) == ['shift'] and reps['shift'].shape == (2, 32)
    assert branch.auxiliary_losses(reps, 'shift') == {}
    assert set(model.extract_feat(inputs)) == {'video', 'shift', 'again'}
    with pytest.raises(NotImplementedError, match='input_keys'):
        BaseBranch().input_keys
    with pytest.raises(NotImplementedError):
        BaseLabelAugmenter()(CLASSES)


def test_input_keys_of_the_face_map_and_description_branches():
    from tests.models.test_zero_shot import zero_shot_cfg
    model = MODELS.build(tiny_model_cfg(branches=dict(
        video=dict(type='FramesBranch',
                   encoder=dict(type='AIMVideoEncoder', num_frames=4)),
        maps=dict(type='FaceMapBranch', modalities=('landmarks', ),
                  encoder=dict(type='AIMVideoEncoder', num_frames=4)))))
    assert model.input_keys() == ('frames', 'landmarks')
    zero_shot = MODELS.build(zero_shot_cfg())
    assert zero_shot.input_keys('loss') == ('frames', 'description')
    assert zero_shot.input_keys() == ('frames', )


class UndeclaredGroups(PNAugmenter):
    """Writes 'pos'/'neg' prompts but keeps the inherited group names: the
    mistake a plugin written from the guide made."""

    def __call__(self, class_names):
        prompts = super().__call__(class_names)
        return {'pos': prompts['positive'], 'neg': prompts['negative']}


class UnknownPositiveGroup(RenamedPN):
    positive_group = 'positive'


class OnePromptShort(PositiveOnlyAugmenter):
    def __call__(self, class_names):
        return {'positive': super().__call__(class_names)['positive'][:-1]}


@pytest.mark.parametrize('augmenter, message', [
    (UndeclaredGroups, r"writes the prompt groups \['pos', 'neg'\] but "
     r"declares groups = \('positive', 'negative'\): set the class "
     r"attribute groups = \('pos', 'neg'\)"),
    (UnknownPositiveGroup, r"positive_group is 'positive', which is not one "
     r"of its groups \('pos', 'neg'\)"),
    (OnePromptShort, r"writes 6 prompt\(s\) in group 'positive' for 7 "
     'classes'),
])
def test_a_plugin_whose_groups_do_not_match_its_prompts_fails_at_build(
        augmenter, message):
    with pytest.raises(TypeError, match=message):
        MODELS.build(tiny_model_cfg(label_augmenter=dict(type=augmenter)))


def test_group_check_at_the_first_step_where_no_probe_was_possible():
    class NeedsItsClasses(UndeclaredGroups):
        """Cannot write prompts for placeholder classes (as a learner sized
        to the data): the build-time probe is skipped, the step checks."""

        probed = False

        def __call__(self, class_names):
            if not self.probed:
                self.probed = True
                raise ValueError('cannot write prompts yet')
            return super().__call__(class_names)

    model = MODELS.build(tiny_model_cfg(
        label_augmenter=dict(type=NeedsItsClasses)))
    model.set_class_names(CLASSES)
    with pytest.raises(TypeError, match=r'set the class attribute groups'):
        model.text_features()
