# FineCLIPER (frames + PN label descriptors + adapters) on a frozen CLIP
# ViT-B/16 with OpenAI weights. Architecture and weights are separate keys:
# model.clip.arch and model.clip.pretrained (a tag or a local file).
# Every encoder builds its adapters from ADAPTERS with its `adapter` key; a
# plugin adapter replaces one with adapter=dict(_delete_=True, type=...)
# (configs/plugins/fineclip_lora_adapter_synthetic.py).
model = dict(
    type='FineCLIPER',
    clip=dict(type='OpenCLIP', arch='ViT-B-16', pretrained='openai',
              quick_gelu=True),
    label_augmenter=dict(type='PNAugmenter'),
    text_encoder=dict(type='AdaptedTextEncoder',
                      adapter=dict(type='Adapter', ratio=0.25)),
    branches=dict(
        video=dict(
            type='FramesBranch',
            encoder=dict(type='AIMVideoEncoder', num_frames=16,
                         t_adapter=True, s_adapter=True, mlp_adapter=True,
                         mlp_scale=0.5,
                         adapter=dict(type='Adapter', ratio=0.25)))),
    fusion=dict(type='AdaptiveFusion'),
    temperature=0.01,
    data_preprocessor=dict(type='DFERDataPreprocessor'),
)
