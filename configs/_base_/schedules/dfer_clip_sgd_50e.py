# DFER-CLIP's published recipe (REFERENCE.md): SGD, momentum 0.9, weight
# decay 1e-4, 50 epochs, learning rate x0.1 at epochs 30 and 40; image
# encoder 1e-5, temporal model 1e-2, prompts 1e-3. The base rate is the
# temporal model's; the others are multiples of it, by parameter name.
max_epochs = 50
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs,
                 val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=1e-2, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={
        'clip.visual': dict(lr_mult=1e-3),  # 1e-5
        'label_augmenter': dict(lr_mult=1e-1),  # 1e-3
    }))
# DFER-CLIP's batch, 48 clips, is the global batch these rates are for;
# another global batch scales them linearly (see sgd_30e.py).
auto_scale_lr = dict(enable=True, base_batch_size=48)
param_scheduler = [
    dict(type='MultiStepLR', milestones=[30, 40], gamma=0.1, by_epoch=True,
         begin=0, end=max_epochs),
]
