# DFER-CLIP on MAFW with its published recipe (ViT-B/32, batch 48, 50
# epochs), on FineCLIP's data pipeline and metric. Paper Tab 6's first row
# (59.61/71.25 UAR/WAR on DFEW) is this baseline.
_base_ = [
    '../_base_/models/dfer_clip_vit_b32.py', '../_base_/datasets/mafw.py',
    '../_base_/schedules/dfer_clip_sgd_50e.py', '../_base_/default_runtime.py'
]

model = dict(label_augmenter=dict(num_classes=11))

train_dataloader = dict(batch_size=48)
