# Zero-shot target: the synthetic-MAFW-caption model tested on the embedded
# default's DFEW-layout set (fold 1 test split, 7 classes) with that set's
# class prompts only:
#   python tools/test.py THIS_CONFIG work_dirs/<source run>/epoch_10.pth
_base_ = ['./fineclip_dagger_zs_synthetic_mafw_caption.py']

embedded_default = dict(
    synthetic_data=dict(_delete_=True, layout='dfew',
                        out_dir='data/synthetic_dfew', num_clips=350, seed=0))
test_dataloader = dict(
    dataset=dict(_delete_=True, type='DFEWDataset',
                 data_root='data/synthetic_dfew',
                 fold=1, split='test', test_mode=True,
                 pipeline=_base_.test_pipeline))

# a checkpoint of the source set is tested on this set's classes on
# purpose: its classes differ (tools/test.py refuses that otherwise)
allow_class_mismatch = True
