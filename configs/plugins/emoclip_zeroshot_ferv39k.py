# EmoCLIP zero-shot on FERV39k (paper Tab 3; official
# experiments/FERV39K_zeroshot_hpc.sh): the MAFW-caption model of
# emoclip_mafw_captions.py on FERV39k's test split (7 classes), one
# sentence per class, x4 down-sampling, 32 frames:
#   python tools/test.py configs/plugins/emoclip_zeroshot_ferv39k.py \
#       work_dirs/emoclip_mafw_captions/epoch_30.pth
_base_ = ['./emoclip_mafw_captions.py']

test_pipeline = [
    dict(type='EmoCLIPSampleFrames', clip_len=_base_.clip_len,
         downsample=4, test_mode=True),
    dict(type='DecodeFrames'),
    dict(type='GroupResize', size=_base_.input_size),
    dict(type='PackDFERInputs'),
]
test_dataloader = dict(
    batch_size=64,
    dataset=dict(_delete_=True, type='FERV39kDataset',
                 data_root='data/FERV39k', split='test', test_mode=True,
                 pipeline=test_pipeline))

# the caption-trained checkpoint is tested on this set's classes on
# purpose: its classes differ (tools/test.py refuses that otherwise)
allow_class_mismatch = True
