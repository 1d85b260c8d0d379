# DFER-CLIP on the embedded default with the embedded default's optimiser
# (AdamW 1e-3, one warm-up epoch, cosine), keeping the recipe's ratios
# between the parts (image tower x1e-3, prompts x1e-1). FineCLIPER's
# synthetic config left the paper's SGD for AdamW because SGD underfits in
# 10 epochs here; this gives DFER-CLIP the same treatment.
_base_ = ['./dfer_clip_synthetic.py']

optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    # the base's 10 epochs
    dict(type='CosineAnnealingLR', T_max=9, eta_min=0, by_epoch=True,
         begin=1, end=10),
]
