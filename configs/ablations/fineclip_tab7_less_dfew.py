# Paper Tab 7: the negative descriptor says "less {cls}" instead of
# "no {cls}".
_base_ = ['../fineclip_dfew.py']

model = dict(label_augmenter=dict(_delete_=True, type='PNLessAugmenter'))
