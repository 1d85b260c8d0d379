# Zero-shot source, paper Tab 3 row "FERV39K (fine-grained caption)":
# FineCLIPER-dagger trained on the generated, refined fine-grained
# descriptions of FERV39K's training clips only (tools/data/
# generate_descriptions.py, then refine_descriptions.py) with a
# video-description contrastive loss; labels are never read.
_base_ = ['../fineclip_ferv39k.py', '../_base_/models/description_branch.py']

from fineclip.datasets.transforms import with_description

model = dict(
    type='ZeroShotFineCLIPER',
    caption_branch='description',
    text_encoder=dict(stacks=()),  # prompts use the description tower
    branches=dict(description=dict(_base_.description_branch,
                                   alignment_weight=1.0)))
train_dataloader = dict(
    dataset=dict(description_file=_base_.description_file,
                 pipeline=with_description(_base_.train_pipeline,
                                           _base_.description_context)))

# its row in tools/analysis/zero_shot.py's table (paper Tab 3)
zero_shot_row = 'FineCLIPER†, FERV39k (fine-grained)'
