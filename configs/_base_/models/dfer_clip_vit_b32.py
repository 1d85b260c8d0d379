# DFER-CLIP (Zhao & Patras, BMVC 2023) from the plugin in plugins/dfer_clip:
# CLIP ViT-B/32, image tower fine-tuned, text tower frozen; per-frame
# features -> temporal transformer (1 layer, 8 heads, MLP 1024) -> class
# token; 8 class-specific learnable context vectors before each class's
# description (CoOp, class text at the end); logits cos / 0.01.
# FineCLIPER with one branch and positive prompts only is exactly that
# model, so the plugin adds only the branch and the prompt learner.
custom_imports = dict(imports=['plugins.dfer_clip'],
                      allow_failed_imports=False)

num_classes = 7
model = dict(
    type='FineCLIPER',
    clip=dict(type='OpenCLIP', arch='ViT-B-32', pretrained='openai',
              quick_gelu=True, trainable=('visual', )),
    label_augmenter=dict(type='LearnableContextAugmenter',
                         num_classes=num_classes, num_context=8,
                         class_specific=True, position='end'),
    # No adapters: the text tower is used as released.
    text_encoder=dict(type='AdaptedTextEncoder', stacks=()),
    branches=dict(
        video=dict(
            type='TemporalTransformerBranch',
            # tanh GELU and N(0, 1) class token and positions: the
            # official code's (docs/baselines_dfer_clip.md)
            temporal=dict(type='TemporalTransformer', num_frames=16, depth=1,
                          heads=8, head_width=64, mlp_width=1024,
                          activation='tanh', init_std=1.0))),
    # One branch: its weight is 1 and Eq 11 is plain cross-entropy.
    fusion=dict(type='AdaptiveFusion'),
    temperature=0.01,
    # The official model sees frames scaled to [0, 1], not normalised
    # (DFERDataPreprocessor's UNIT_RANGE).
    data_preprocessor=dict(type='DFERDataPreprocessor', mean=(0., 0., 0.),
                           std=(255., 255., 255.)),
)
