# Paper Tab 6, row 2: positive prompts with text adapters, no video adapters.
_base_ = ['../fineclip_dfew.py']

model = dict(
    label_augmenter=dict(_delete_=True, type='PositiveOnlyAugmenter'),
    branches=dict(video=dict(encoder=dict(
        t_adapter=False, s_adapter=False, mlp_adapter=False))))
