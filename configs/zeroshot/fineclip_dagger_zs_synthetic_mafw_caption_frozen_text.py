# The synthetic zero-shot source with the caption tower frozen: only the
# video adapters learn to meet the captions, so the class prompts (encoded
# by that tower) stay where the pretrained text tower puts them. On the
# embedded default this transfers better than training both sides (README,
# "Zero-shot"). Test with fineclip_dagger_zs_synthetic_mafw_caption_to_dfew.py.
_base_ = ['./fineclip_dagger_zs_synthetic_mafw_caption.py']

optim_wrapper = dict(paramwise_cfg=dict(custom_keys={
    'branches.description': dict(lr_mult=0.0, decay_mult=0.0)}))

# its row in tools/analysis/zero_shot.py's table
zero_shot_row = 'FineCLIPER†, MAFW (video caption), frozen text tower'
