# FineCLIPER*-dagger on FERV39k: frames, face parsing + landmarks and
# fine-grained descriptions, fused adaptively (Eq 9-11). The full model.
# Needs face maps (tools/data/extract_face_maps.py) and descriptions
# (tools/data/generate_descriptions.py, refine_descriptions.py).
_base_ = ['./fineclip_star_ferv39k.py', '_base_/models/description_branch.py']

from fineclip.datasets.transforms import with_description, with_face_maps

model = dict(branches=dict(description=_base_.description_branch))
train_dataloader = dict(
    dataset=dict(description_file=_base_.description_file,
                 pipeline=with_description(
                     with_face_maps(_base_.train_pipeline),
                     _base_.description_context)))
val_dataloader = dict(
    dataset=dict(description_file=_base_.description_file,
                 pipeline=with_description(
                     with_face_maps(_base_.test_pipeline),
                     _base_.description_context)))
test_dataloader = val_dataloader
