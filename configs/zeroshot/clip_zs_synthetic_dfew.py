# The plain-CLIP zero-shot row on the embedded default: the frozen tiny CLIP
# with no adapter and no training (frame embeddings averaged over the clip),
# tested on the DFEW-layout set with the same class-description prompts as
# the caption-trained model. No checkpoint:
#   python tools/test.py THIS_CONFIG
_base_ = ['../synthetic/fineclip_synthetic.py']

model = dict(
    label_augmenter=dict(_delete_=True, type='ClassDescriptionAugmenter'),
    text_encoder=dict(stacks=()),
    branches=dict(video=dict(encoder=dict(
        t_adapter=False, s_adapter=False, mlp_adapter=False))))
# tools/test.py may run this config without a checkpoint: nothing in it is
# trained.
test_without_checkpoint = True
