# FineCLIPER-dagger on the embedded default: the synthetic generator's
# per-clip movement descriptions (descriptions.jsonl, written without
# emotion words) through the tiny CLIP's text tower stretched to Long-CLIP's
# layout (32 positions -> 68; no Long-CLIP checkpoint exists at this size).
_base_ = [
    './fineclip_synthetic.py', '../_base_/models/description_branch.py'
]

from fineclip.datasets.transforms import with_description

description_context = 68  # 4 * 32 - 3 * 20, see REFERENCE.md "Long-CLIP"
model = dict(branches=dict(description=dict(
    _base_.description_branch,
    encoder=dict(_base_.description_branch.encoder, checkpoint=None,
                 context_length=68))))
train_dataloader = dict(
    dataset=dict(description_file='descriptions.jsonl',
                 pipeline=with_description(_base_.train_pipeline, 68)))
val_dataloader = dict(
    dataset=dict(description_file='descriptions.jsonl',
                 pipeline=with_description(_base_.test_pipeline, 68)))
test_dataloader = val_dataloader
