# The embedded default with a modality added by the example plugin
# plugins/frame_motion.py: frame differences ("motion"), packed as an image
# input, normalised like the frames and encoded by the plugin's
# MotionBranch as a third representation the fusion weighs. Nothing in the
# fineclip package names the modality.
_base_ = ['../synthetic/fineclip_synthetic.py']

custom_imports = dict(imports=['plugins.frame_motion'],
                      allow_failed_imports=False)

num_frames = 8
input_size = 64
image_fields = dict(frames='imgs', motion='motion_imgs')
model = dict(
    branches=dict(motion=dict(type='MotionBranch', input_key='motion')),
    data_preprocessor=dict(image_keys=('frames', 'motion')))

train_pipeline = [
    dict(type='SampleFrameIndices', num_frames=num_frames),
    dict(type='DecodeFrames'),
    dict(type='GroupRandomResizedCrop', size=input_size, scale=(0.6, 1.0)),
    dict(type='GroupFlip', flip_ratio=0.5),
    dict(type='GroupBrightness', brightness=0.3),
    # After the augmentations: the motion of the frames the model sees.
    dict(type='FrameDifferences', key='imgs', out_key='motion_imgs'),
    dict(type='PackDFERInputs', image_fields=image_fields),
]
test_pipeline = [
    dict(type='SampleFrameIndices', num_frames=num_frames, test_mode=True),
    dict(type='DecodeFrames'),
    dict(type='GroupResize', size=input_size),
    dict(type='FrameDifferences', key='imgs', out_key='motion_imgs'),
    dict(type='PackDFERInputs', image_fields=image_fields),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
