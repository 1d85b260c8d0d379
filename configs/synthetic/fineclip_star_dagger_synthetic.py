# FineCLIPER*-dagger on the embedded default: frames, the generator's
# ground-truth face maps and its movement descriptions (see
# fineclip_dagger_synthetic.py for the description encoder at this size).
_base_ = [
    './fineclip_star_synthetic.py', '../_base_/models/description_branch.py'
]

from fineclip.datasets.transforms import with_description, with_face_maps

description_context = 68  # 4 * 32 - 3 * 20, see REFERENCE.md "Long-CLIP"
model = dict(branches=dict(description=dict(
    _base_.description_branch,
    encoder=dict(_base_.description_branch.encoder, checkpoint=None,
                 context_length=68))))
train_dataloader = dict(
    dataset=dict(description_file='descriptions.jsonl',
                 pipeline=with_description(
                     with_face_maps(_base_.train_pipeline), 68)))
val_dataloader = dict(
    dataset=dict(description_file='descriptions.jsonl',
                 pipeline=with_description(
                     with_face_maps(_base_.test_pipeline), 68)))
test_dataloader = val_dataloader
