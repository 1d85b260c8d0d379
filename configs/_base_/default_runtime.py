default_scope = 'fineclip'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # DFEW and MAFW have no validation split: the "val" loop evaluates the
    # fold's test split for monitoring only, so no checkpoint is selected on
    # it (no save_best) and reported numbers come from the last epoch.
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
custom_hooks = [
    dict(type='ClassNamesHook'),
    dict(type='DFERResultsHook'),
    dict(type='RNGStateHook'),
    # checkpoints hold the tunable weights and the frozen ones' fingerprint
    dict(type='AdapterCheckpointHook'),
]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

log_processor = dict(type='LogProcessor', window_size=20, by_epoch=True)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
