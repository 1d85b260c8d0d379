# EmoCLIP's recipe (paper and the official MAFW training script): SGD
# (momentum 0.9), lr 1e-3, weight decay 5e-4, 30 epochs. The official
# scheduler is MultiStepLR(milestones=[15, 35, 50], gamma=0.1) stepped per
# epoch; in 30 epochs only the x0.1 at epoch 15 takes effect.
max_epochs = 30
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='MultiStepLR', milestones=[15], gamma=0.1, by_epoch=True,
         begin=0, end=max_epochs),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs,
                 val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# The official run: 2 processes x 64 clips (the contrastive loss of each
# process over its own 64), so 128 is the global batch these rates are for.
# tools/dist_train.sh CONFIG 2 with batch_size=64 is that run; another
# global batch has the rates scaled by global / 128
# (fineclip/engine/train_setup.py); enable=False keeps them as written.
auto_scale_lr = dict(enable=True, base_batch_size=128)
