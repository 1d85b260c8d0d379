# Paper Tab 6, row 4: video adapters, no text adapters (positive prompts
# through the frozen text tower). Row 5 is configs/fineclip_dfew.py.
_base_ = ['../fineclip_dfew.py']

model = dict(
    label_augmenter=dict(_delete_=True, type='PositiveOnlyAugmenter'),
    text_encoder=dict(stacks=()))
