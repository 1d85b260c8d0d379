# FineCLIPER-dagger on FERV39k: FineCLIPER plus each clip's fine-grained
# description (high semantic level), fused adaptively (Eq 9-11).
# Needs descriptions: tools/data/generate_descriptions.py, then
# tools/data/refine_descriptions.py (see README, "Descriptions").
_base_ = ['./fineclip_ferv39k.py', '_base_/models/description_branch.py']

from fineclip.datasets.transforms import with_description

model = dict(branches=dict(description=_base_.description_branch))
train_dataloader = dict(
    dataset=dict(description_file=_base_.description_file,
                 pipeline=with_description(_base_.train_pipeline,
                                           _base_.description_context)))
val_dataloader = dict(
    dataset=dict(description_file=_base_.description_file,
                 pipeline=with_description(_base_.test_pipeline,
                                           _base_.description_context)))
test_dataloader = val_dataloader
