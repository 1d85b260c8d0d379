# Zero-shot target (paper Tab 3): the model of
# fineclip_dagger_zs_mafw_finegrained.py tested on the DFEW fold 1 test split
# with that dataset's PN class prompts only:
#   python tools/test.py THIS_CONFIG work_dirs/<source run>/epoch_30.pth
_base_ = ['./fineclip_dagger_zs_mafw_finegrained.py']

test_dataloader = dict(
    dataset=dict(
        _delete_=True, type='DFEWDataset', data_root='data/DFEW', fold=1,
        split='test', test_mode=True,
        pipeline=_base_.test_pipeline))

# a checkpoint of the source set is tested on this set's classes on
# purpose: its classes differ (tools/test.py refuses that otherwise)
allow_class_mismatch = True
