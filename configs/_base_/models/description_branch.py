# The high semantic level of FineCLIPER-dagger: each clip's refined MLLM
# description, encoded by Long-CLIP's text tower (248 tokens) with one
# adapter per layer and a projector, fused with the other branches.
# Long-CLIP weights: longclip-B.pt from the Hugging Face repository
# BeichenZhang/LongCLIP-B, placed at the path below (or set
# model.branches.description.encoder.checkpoint); checkpoint=None instead
# stretches the model's own CLIP text tower to 248 positions.
description_branch = dict(
    type='DescriptionBranch',
    encoder=dict(type='LongCLIPTextEncoder',
                 checkpoint='checkpoints/longclip/longclip-B.pt',
                 context_length=248,
                 adapter=dict(type='Adapter', ratio=0.25)),
    # > 0 adds a video-description InfoNCE loss (not used in the paper's
    # supervised setting).
    alignment_weight=0.0)
# {data_root}/descriptions_refined.jsonl, written by
# tools/data/generate_descriptions.py then tools/data/refine_descriptions.py.
description_file = 'descriptions_refined.jsonl'
description_context = 248
