# FERV39k, official layout (4_setups/All_scenes + 2_ClipsforFaceCrop).
# One train/test split; no folds. Augmentation as DFER-CLIP: random resized
# crop, flip and rotation up to 4 degrees.
_base_ = ['./dfew.py']

data_root = 'data/FERV39k'
train_pipeline = [
    dict(type='SampleFrameIndices', num_frames=16),
    dict(type='DecodeFrames'),
    dict(type='GroupRandomResizedCrop', size=224, scale=(0.08, 1.0)),
    dict(type='GroupFlip', flip_ratio=0.5),
    dict(type='GroupRotate', max_degrees=4),
    dict(type='PackDFERInputs'),
]
# _delete_: FERV39k's dataset takes no 'fold'.
train_dataloader = dict(
    dataset=dict(_delete_=True, type='FERV39kDataset', data_root=data_root,
                 split='train', pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(_delete_=True, type='FERV39kDataset', data_root=data_root,
                 split='test', pipeline={{_base_.test_pipeline}},
                 test_mode=True))
test_dataloader = val_dataloader
