# Zero-shot source, paper Tab 3 row "MAFW (video caption)": FineCLIPER-dagger
# trained on MAFW's English captions only (the with_caption split files,
# fold 1 train split) with a video-caption contrastive loss; labels are
# never read. Validation: MAFW's fold 1 test split through its PN class
# prompts. Test on other datasets with the *_to_*.py configs beside this.
_base_ = ['../fineclip_mafw.py', '../_base_/models/description_branch.py']

from fineclip.datasets.transforms import with_description

model = dict(
    type='ZeroShotFineCLIPER',
    caption_branch='description',
    # Class prompts go through the caption branch's text tower (the one the
    # captions trained): the label text adapters would stay untrained.
    text_encoder=dict(stacks=()),
    branches=dict(description=dict(_base_.description_branch,
                                   alignment_weight=1.0)))
train_dataloader = dict(
    dataset=dict(captions=True,
                 pipeline=with_description(_base_.train_pipeline,
                                           _base_.description_context,
                                           key='caption')))

# its row in tools/analysis/zero_shot.py's table (paper Tab 3)
zero_shot_row = 'FineCLIPER†, MAFW (video caption)'
