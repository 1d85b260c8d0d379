# DFEW, official layout (EmoLabel_DataSplit + Clip/clip_224x224), fold 1.
# Point elsewhere with --data-root DIR (every tool that reads the data).
dataset_type = 'DFEWDataset'
data_root = 'data/DFEW'
fold = 1
num_frames = 16
input_size = 224

train_pipeline = [
    dict(type='SampleFrameIndices', num_frames=num_frames),
    dict(type='DecodeFrames'),
    dict(type='GroupRandomResizedCrop', size=input_size, scale=(0.08, 1.0)),
    dict(type='GroupFlip', flip_ratio=0.5),
    dict(type='GroupBrightness', brightness=0.5),
    dict(type='PackDFERInputs'),
]
test_pipeline = [
    dict(type='SampleFrameIndices', num_frames=num_frames, test_mode=True),
    dict(type='DecodeFrames'),
    dict(type='GroupResize', size=input_size),
    dict(type='PackDFERInputs'),
]

# GPU loading (see README, "Running on GPUs"): default_collate stacks each
# modality in the workers, pin_memory pins the stacked batch and the data
# preprocessor copies it with one non-blocking copy per modality. Where an
# option cannot apply (no GPU; num_workers=0 for persistent workers) the
# tools turn it off (fineclip/datasets/loader_options.py).
train_dataloader = dict(
    batch_size=16,
    num_workers=8,
    collate_fn=dict(type='default_collate'),
    pin_memory=True,
    # Workers are forked again each epoch: they are seeded per epoch from
    # the torch state that checkpoints restore, which keeps a resumed run's
    # augmentation the uninterrupted run's (persistent workers would keep
    # the first epoch's streams, and a resumed run would start new ones).
    persistent_workers=False,
    # Each rank, worker and epoch augments from its own random stream:
    # the sampler seeds the main process (num_workers=0) per rank and
    # epoch, the worker_init_fn each worker (see worker_seeding.py).
    sampler=dict(type='RankSeededSampler', shuffle=True),
    worker_init_fn=dict(type='fineclip.seed_worker_from_torch'),
    dataset=dict(type=dataset_type, data_root=data_root, fold=fold,
                 split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=8,
    collate_fn=dict(type='default_collate'),
    pin_memory=True,
    # the test pipeline draws no random numbers: its workers can stay
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, fold=fold,
                 split='test', pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader

val_evaluator = dict(type='DFERMetric')
test_evaluator = val_evaluator
