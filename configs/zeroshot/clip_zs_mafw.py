# Paper Tab 3, plain CLIP row: the frozen CLIP ViT-B/16 (OpenAI weights)
# with no adapter and no training, frame embeddings averaged over the clip,
# tested on the MAFW fold 1 test split with its PN class prompts through
# the frozen text tower. No checkpoint:  python tools/test.py THIS_CONFIG
_base_ = ['../fineclip_mafw.py']

model = dict(
    text_encoder=dict(stacks=()),
    branches=dict(video=dict(encoder=dict(
        t_adapter=False, s_adapter=False, mlp_adapter=False))))
test_without_checkpoint = True
