# EmoCLIP trained on MAFW's sample-level captions (paper Sec 4; official
# experiments/MAFW_train_hpc.sh): the with-caption split files of fold 1,
# English column, CLIP's contrastive loss between clips and captions;
# labels are never read. Validation each epoch: zero-shot on MAFW's fold 1
# test split (no-caption files) against one sentence per class.
#   python tools/train.py configs/plugins/emoclip_mafw_captions.py
# Then test zero-shot with configs/plugins/emoclip_zeroshot_{dfew,
# ferv39k,mafw}.py and the last checkpoint.
_base_ = [
    '../_base_/models/emoclip_vit_b32.py', '../_base_/datasets/mafw.py',
    '../_base_/schedules/emoclip_sgd_30e.py', '../_base_/default_runtime.py'
]

# Temporal down-sampling then clip_len consecutive frames (official: x2 on
# MAFW, 32 frames); 224 px; rotation up to 6 degrees and flips in training.
clip_len = 32
input_size = 224
caption_context = 77  # ViT-B/32's text context; longer captions are cut
train_pipeline = [
    dict(type='EmoCLIPSampleFrames', clip_len=clip_len, downsample=2),
    dict(type='DecodeFrames'),
    dict(type='GroupResize', size=input_size),
    dict(type='GroupRotate', max_degrees=6),
    dict(type='GroupFlip', flip_ratio=0.5),
    dict(type='TokenizeDescription', context_length=caption_context,
         key='caption'),
    dict(type='PackDFERInputs'),
]
test_pipeline = [
    dict(type='EmoCLIPSampleFrames', clip_len=clip_len, downsample=2,
         test_mode=True),
    dict(type='DecodeFrames'),
    dict(type='GroupResize', size=input_size),
    dict(type='PackDFERInputs'),
]
# 64 clips per process, as the official run (see the schedule); the last
# incomplete batch is dropped, as there (a batch of one has no negatives).
train_dataloader = dict(
    batch_size=64, drop_last=True,
    dataset=dict(captions=True, pipeline=train_pipeline))
val_dataloader = dict(batch_size=64, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# its row in tools/analysis/zero_shot.py's table (paper Tab 3)
zero_shot_row = 'EmoCLIP, MAFW (video caption)'
