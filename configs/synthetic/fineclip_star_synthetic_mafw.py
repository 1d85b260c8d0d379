# FineCLIPER* on the embedded default (MAFW layout): the synthetic
# generator's ground-truth face maps (face_maps/, written with the clips)
# stand in for extracted ones.
_base_ = [
    './fineclip_synthetic_mafw.py', '../_base_/models/face_map_branch.py'
]

from fineclip.datasets.transforms import with_face_maps

model = dict(branches=dict(face_maps=dict(
    _base_.face_map_branch,
    encoder=dict(_base_.face_map_branch.encoder,
                 num_frames=_base_.num_frames))))
train_dataloader = dict(
    dataset=dict(face_map_dir=_base_.face_map_dir,
                 pipeline=with_face_maps(_base_.train_pipeline)))
val_dataloader = dict(
    dataset=dict(face_map_dir=_base_.face_map_dir,
                 pipeline=with_face_maps(_base_.test_pipeline)))
test_dataloader = val_dataloader
