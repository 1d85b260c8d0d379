# Paper Tab 6, row 1: no text adapters, no video adapters. The frozen text
# tower encodes positive prompts only; the video encoder keeps only its
# (zero-initialised) temporal embedding trainable.
_base_ = ['../fineclip_dfew.py']

model = dict(
    label_augmenter=dict(_delete_=True, type='PositiveOnlyAugmenter'),
    text_encoder=dict(stacks=()),
    branches=dict(video=dict(encoder=dict(
        t_adapter=False, s_adapter=False, mlp_adapter=False))))
