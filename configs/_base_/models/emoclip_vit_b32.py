# EmoCLIP (Foteinopoulou and Patras, FG 2024) from the plugin in
# plugins/emoclip: frozen CLIP ViT-B/32 (both towers); per-frame image
# features -> temporal transformer (2 layers, 8 heads of width 2048, MLP
# 512, as the official code builds it) -> class token = clip feature;
# trained by CLIP's symmetric contrastive loss between clips and their own
# captions with a learnable logit scale (from CLIP's); classified zero-shot
# by one descriptive sentence per class. Only the temporal model and the
# logit scale train.
custom_imports = dict(imports=['plugins.emoclip'],
                      allow_failed_imports=False)

model = dict(
    type='EmoCLIP',
    clip=dict(type='OpenCLIP', arch='ViT-B-32', pretrained='openai',
              quick_gelu=True),
    caption_branch='caption',
    branches=dict(
        video=dict(
            type='EmoCLIPVideoBranch',
            temporal=dict(type='EmoCLIPTemporalTransformer', depth=2,
                          heads=8, head_width=2048, mlp_width=512)),
        # the frozen text tower on each clip's caption, and the loss
        caption=dict(type='EmoCLIPCaptionBranch', align_with='video')),
    # Class sentences go through the caption branch's frozen text tower.
    label_augmenter=dict(type='EmoCLIPClassSentences'),
    text_encoder=dict(type='AdaptedTextEncoder', stacks=()),
    # CLIP's mean and std: the official pipeline normalises so too.
    data_preprocessor=dict(type='DFERDataPreprocessor'),
)
