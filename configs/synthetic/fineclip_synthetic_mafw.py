# The embedded default in MAFW's official layout: 11 classes, 5 folds, and
# the clips read from their .mp4 files (source='video'), generated under
# data/ on first use.
_base_ = ['./fineclip_synthetic.py']

data_root = 'data/synthetic_mafw'
embedded_default = dict(
    synthetic_data=dict(_delete_=True, layout='mafw', out_dir=data_root,
                        num_clips=440, seed=0, video=True))
train_dataloader = dict(
    dataset=dict(type='MAFWDataset', data_root=data_root, source='video'))
val_dataloader = dict(
    dataset=dict(type='MAFWDataset', data_root=data_root, source='video'))
test_dataloader = val_dataloader
