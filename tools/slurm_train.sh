#!/usr/bin/env bash
# Multi-GPU / multi-node training under Slurm with MMEngine's slurm launcher:
# one task per GPU; each task reads its rank, the world size and the master
# address from the SLURM_* variables srun sets.
# Usage: [GPUS=16] [GPUS_PER_NODE=8] bash tools/slurm_train.sh PARTITION JOB CONFIG [train.py options]
#
# Inside an allocation (sbatch/salloc) the sizes default to the job's own:
# GPUS_PER_NODE to SLURM_GPUS_ON_NODE (or SLURM_NTASKS_PER_NODE), GPUS to
# SLURM_NTASKS (or one node's worth); outside one, to 8 GPUs on one node.
# The rendezvous port is MASTER_PORT if set, else derived from the job id
# by each task (fineclip/engine/distributed.py, slurm_master_port), so two
# jobs sharing a node do not both take 29500.
# batch_size is per task: the global batch is GPUS x batch_size, and the
# learning rates follow it (auto_scale_lr in the schedule configs).
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
GPUS_PER_NODE=${GPUS_PER_NODE:-${SLURM_GPUS_ON_NODE:-${SLURM_NTASKS_PER_NODE:-8}}}
GPUS=${GPUS:-${SLURM_NTASKS:-$GPUS_PER_NODE}}
CPUS_PER_TASK=${CPUS_PER_TASK:-${SLURM_CPUS_PER_TASK:-8}}
SRUN_ARGS=${SRUN_ARGS:-""}
if [ "$GPUS" -lt "$GPUS_PER_NODE" ]; then
    GPUS_PER_NODE=$GPUS  # a job smaller than one node
fi

PYTHONPATH="$(dirname "$0")/..":${PYTHONPATH:-} \
srun -p "$PARTITION" --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 $SRUN_ARGS \
    python -u "$(dirname "$0")/train.py" "$CONFIG" --launcher slurm "${@:4}"
