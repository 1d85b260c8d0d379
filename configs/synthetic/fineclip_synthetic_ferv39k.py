# The embedded default in FERV39k's official layout (one train/test split,
# labels by name), generated under data/ on first use.
_base_ = ['./fineclip_synthetic.py']

data_root = 'data/synthetic_ferv39k'
embedded_default = dict(
    synthetic_data=dict(_delete_=True, layout='ferv39k', out_dir=data_root,
                        num_clips=350, seed=0))
train_dataloader = dict(
    dataset=dict(_delete_=True, type='FERV39kDataset', data_root=data_root,
                 split='train', pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(_delete_=True, type='FERV39kDataset', data_root=data_root,
                 split='test', pipeline={{_base_.test_pipeline}},
                 test_mode=True))
test_dataloader = val_dataloader
