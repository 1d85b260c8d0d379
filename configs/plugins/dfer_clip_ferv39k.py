# DFER-CLIP on FERV39k with its published recipe (ViT-B/32, batch 48, 50
# epochs), on FineCLIP's metric. Paper Tab 1 compares with it.
_base_ = [
    '../_base_/models/dfer_clip_vit_b32.py', '../_base_/datasets/ferv39k.py',
    '../_base_/schedules/dfer_clip_sgd_50e.py', '../_base_/default_runtime.py'
]

# The official data loader's pipeline: its frame sampling (rule='dfer_clip',
# see fineclip/datasets/transforms/sampling.py) and its augmentation, in its
# order, its crop included (rule='dfer_clip': uniform aspect ratio, swapped
# sides, its fallback); pixels are resized with OpenCV where the official
# code uses PIL (docs/notes/baselines_dfer_clip.md lists what differs).
train_pipeline = [
    dict(type='SampleFrameIndices', num_frames=16, rule='dfer_clip'),
    dict(type='DecodeFrames'),
    dict(type='GroupRotate', max_degrees=4),
    dict(type='GroupRandomResizedCrop', size=224, scale=(0.08, 1.0),
         rule='dfer_clip'),
    dict(type='GroupFlip', flip_ratio=0.5),
    dict(type='PackDFERInputs'),
]
test_pipeline = [
    dict(type='SampleFrameIndices', num_frames=16, test_mode=True,
         rule='dfer_clip'),
    dict(type='DecodeFrames'),
    dict(type='GroupResize', size=224),
    dict(type='PackDFERInputs'),
]
train_dataloader = dict(batch_size=48, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
