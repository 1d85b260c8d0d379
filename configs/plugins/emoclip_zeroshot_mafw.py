# EmoCLIP zero-shot on MAFW (paper Tab 3's MAFW column; official: the
# evaluation inside train.py): the model of emoclip_mafw_captions.py on
# MAFW's fold 1 test split (no-caption files, 11 classes), one sentence per
# class, x2 down-sampling, 32 frames:
#   python tools/test.py configs/plugins/emoclip_zeroshot_mafw.py \
#       work_dirs/emoclip_mafw_captions/epoch_30.pth
# Other folds: --cfg-options test_dataloader.dataset.fold=K (train the
# source on the same fold: its captions must not include the test clips).
_base_ = ['./emoclip_mafw_captions.py']

test_dataloader = dict(
    batch_size=64,
    dataset=dict(_delete_=True, type='MAFWDataset', data_root='data/MAFW',
                 fold=1, split='test', test_mode=True,
                 pipeline=_base_.test_pipeline))
