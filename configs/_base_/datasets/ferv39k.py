# FERV39k, official layout (4_setups/All_scenes + 2_ClipsforFaceCrop).
# One train/test split; no folds. Augmentation as DFER-CLIP: random resized
# crop, flip and rotation up to 4 degrees.
dataset_type = 'FERV39kDataset'
data_root = 'data/FERV39k'
num_frames = 16
input_size = 224

train_pipeline = [
    dict(type='SampleFrameIndices', num_frames=num_frames),
    dict(type='DecodeFrames'),
    dict(type='GroupRandomResizedCrop', size=input_size, scale=(0.08, 1.0)),
    dict(type='GroupFlip', flip_ratio=0.5),
    dict(type='GroupRotate', max_degrees=4),
    dict(type='PackDFERInputs'),
]
test_pipeline = [
    dict(type='SampleFrameIndices', num_frames=num_frames, test_mode=True),
    dict(type='DecodeFrames'),
    dict(type='GroupResize', size=input_size),
    dict(type='PackDFERInputs'),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=8,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    worker_init_fn=dict(type='fineclip.seed_worker_from_torch'),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=8,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test',
                 pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader

val_evaluator = dict(type='DFERMetric')
test_evaluator = val_evaluator
