default_scope = 'fineclip'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # DFEW and MAFW have no validation split: the "val" loop evaluates the
    # fold's test split for monitoring only, so no checkpoint is selected on
    # it (no save_best) and reported numbers come from the last epoch.
    # fineclip_atomic: each checkpoint is written to a temporary file and
    # renamed, so a run killed during a save keeps the previous one
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                    backend_args=dict(backend='fineclip_atomic')),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
custom_hooks = [
    dict(type='ClassNamesHook'),
    dict(type='DFERResultsHook'),
    dict(type='RNGStateHook'),
    # a NaN/inf loss stops the run; NaN weights are never saved
    dict(type='FiniteTrainingHook'),
    # checkpoints hold the tunable weights and the frozen ones' fingerprint
    dict(type='AdapterCheckpointHook'),
    # checkpoints record their data root; a test of other data says so
    dict(type='DataRootHook'),
]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

# Training precision (fineclip/engine/precision.py): 'auto' is bf16 autocast
# on GPUs and CPUs with native bf16, fp16 with loss scaling on older GPUs,
# fp32 on other CPUs; PN logits and losses stay fp32. tools/train.py
# --no-amp sets 'fp32'; None keeps optim_wrapper as written.
precision = 'auto'
# TF32 for fp32 matmuls and convolutions on CUDA (Ampere and later: up to 8x
# the IEEE fp32 rate, fp16's 10-bit mantissa), in training and testing:
# the fp32 parts of mixed-precision runs and all of an fp32 one. False
# keeps IEEE fp32 (fineclip/engine/precision.py, set_tf32).
tf32 = True
# The memory one training step must fit (fineclip/engine/memory_plan.py):
# by default the GPU's memory (none on a CPU); the batch stays the
# effective one, computed as micro-batches of at least min_micro_batch
# clips with gradient accumulation, then with gradient checkpointing.
# tools/train.py --max-memory-gb sets max_memory_gb.
train_memory = dict(max_memory_gb=None, min_micro_batch=4)
# Train, test and cross-validation refuse descriptions written with the
# label of a clip they evaluate (label_given: true in the file). True lets
# them run for a study of label hints; the run then carries
# label_conditioned_eval = True in its logs, config and results
# (docs/evaluation_protocol.md).
allow_label_conditioned_eval = False

log_processor = dict(type='LogProcessor', window_size=20, by_epoch=True)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
