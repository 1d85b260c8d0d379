# EmoCLIP on the embedded default (runs on CPU): trained on the synthetic
# MAFW-layout set's English captions only (CLIP's contrastive loss; labels
# are never read), validated zero-shot on its fold 1 test split against
# EmoCLIP's class sentences. The model is the plugin's (see
# configs/_base_/models/emoclip_vit_b32.py) at the tiny CLIP's width, with
# the recipe's SGD, lr and weight decay at the embedded default's budget:
#   python tools/train.py configs/plugins/emoclip_synthetic.py
#   python tools/test.py configs/plugins/emoclip_synthetic_zeroshot_dfew.py \
#       work_dirs/emoclip_synthetic/epoch_10.pth
_base_ = ['../synthetic/fineclip_synthetic_mafw.py']

custom_imports = dict(imports=['plugins.emoclip'],
                      allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='EmoCLIP',
    clip=dict(type='OpenCLIP', arch={{_base_.tiny_clip_arch}},
              pretrained={{_base_.tiny_clip_file}}, quick_gelu=False),
    caption_branch='caption',
    branches=dict(
        video=dict(
            type='EmoCLIPVideoBranch',
            # The official shape scaled to the 128-wide tiny CLIP: heads
            # 4x the width each, MLP as wide as the tokens.
            temporal=dict(type='EmoCLIPTemporalTransformer', depth=2,
                          heads=8, head_width=512, mlp_width=128)),
        caption=dict(type='EmoCLIPCaptionBranch', align_with='video')),
    label_augmenter=dict(type='EmoCLIPClassSentences'),
    text_encoder=dict(type='AdaptedTextEncoder', stacks=()),
    data_preprocessor=dict(type='DFERDataPreprocessor'),
)

# x2 down-sampling as on MAFW, 8 frames (the embedded default's; the
# synthetic clips hold 10-48 frames), rotation and flips.
clip_len = _base_.num_frames
input_size = _base_.input_size
caption_context = 32  # the tiny CLIP's text context
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
train_dataloader = dict(
    drop_last=True,
    dataset=dict(captions=True, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# The recipe's optimiser; its one milestone at half the run.
max_epochs = _base_.max_epochs
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='MultiStepLR', milestones=[max_epochs // 2], gamma=0.1,
         by_epoch=True, begin=0, end=max_epochs),
]

# its row in tools/analysis/zero_shot.py's table (paper Tab 3)
zero_shot_row = 'EmoCLIP, MAFW (video caption)'
