# FineCLIPER on MAFW: frames + PN descriptors + adapters, ViT-B/16.
_base_ = [
    '_base_/models/fineclip_vit_b16.py', '_base_/datasets/mafw.py',
    '_base_/schedules/sgd_30e.py', '_base_/default_runtime.py'
]
