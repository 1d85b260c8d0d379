# MAFW single-label, official layout (Train & Test Set/single + data/faces),
# fold 1, 11 classes. REFERENCE.md gives no MAFW-specific augmentation: crop
# and flip as on DFEW, without the brightness jitter.
_base_ = ['./dfew.py']

data_root = 'data/MAFW'
train_pipeline = [
    dict(type='SampleFrameIndices', num_frames=16),
    dict(type='DecodeFrames'),
    dict(type='GroupRandomResizedCrop', size=224, scale=(0.08, 1.0)),
    dict(type='GroupFlip', flip_ratio=0.5),
    dict(type='PackDFERInputs'),
]
train_dataloader = dict(
    dataset=dict(type='MAFWDataset', data_root=data_root,
                 pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type='MAFWDataset', data_root=data_root))
test_dataloader = val_dataloader
