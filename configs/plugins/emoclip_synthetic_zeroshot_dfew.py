# Zero-shot target on the embedded default: the model of
# emoclip_synthetic.py (trained on synthetic MAFW captions) tested on the
# synthetic DFEW-layout set (fold 1 test split, 7 classes) against
# EmoCLIP's class sentences, x4 down-sampling as on DFEW:
#   python tools/test.py THIS_CONFIG work_dirs/emoclip_synthetic/epoch_10.pth
_base_ = ['./emoclip_synthetic.py']

embedded_default = dict(
    synthetic_data=dict(_delete_=True, layout='dfew',
                        out_dir='data/synthetic_dfew', num_clips=350, seed=0))
test_pipeline = [
    dict(type='EmoCLIPSampleFrames', clip_len=_base_.clip_len,
         downsample=4, test_mode=True),
    dict(type='DecodeFrames'),
    dict(type='GroupResize', size=_base_.input_size),
    dict(type='PackDFERInputs'),
]
test_dataloader = dict(
    dataset=dict(_delete_=True, type='DFEWDataset',
                 data_root='data/synthetic_dfew', fold=1, split='test',
                 test_mode=True, pipeline=test_pipeline))

# the caption-trained checkpoint is tested on this set's classes on
# purpose: its classes differ (tools/test.py refuses that otherwise)
allow_class_mismatch = True
