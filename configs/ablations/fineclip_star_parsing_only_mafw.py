# Paper Tab 5: FineCLIPER* on MAFW with parsing images only.
_base_ = ['../fineclip_star_mafw.py']

from fineclip.datasets.transforms import with_face_maps

modalities = ('parsing', )
model = dict(branches=dict(face_maps=dict(modalities=modalities)))
train_dataloader = dict(dataset=dict(
    pipeline=with_face_maps(_base_.train_pipeline, modalities)))
val_dataloader = dict(dataset=dict(
    pipeline=with_face_maps(_base_.test_pipeline, modalities)))
test_dataloader = val_dataloader
