# FineCLIPER* on FERV39k: FineCLIPER plus face parsing and landmark images
# (middle semantic level), fused adaptively with the frames (Eq 9-11).
# Needs face maps: python tools/data/extract_face_maps.py CONFIG.
_base_ = ['./fineclip_ferv39k.py', '_base_/models/face_map_branch.py']

from fineclip.datasets.transforms import with_face_maps

model = dict(branches=dict(face_maps=_base_.face_map_branch))
train_dataloader = dict(
    dataset=dict(face_map_dir=_base_.face_map_dir,
                 pipeline=with_face_maps(_base_.train_pipeline)))
val_dataloader = dict(
    dataset=dict(face_map_dir=_base_.face_map_dir,
                 pipeline=with_face_maps(_base_.test_pipeline)))
test_dataloader = val_dataloader
