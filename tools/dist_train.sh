#!/usr/bin/env bash
# Distributed training with torchrun and MMEngine's launcher.
# Usage: bash tools/dist_train.sh CONFIG NUM_GPUS [train.py options]
# batch_size is per process: NUM_GPUS x batch_size clips per step, and the
# learning rates scaled to that global batch (auto_scale_lr in the configs).
set -euo pipefail
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
# One node: a port free now, so two jobs on one machine do not collide;
# several nodes must agree on one: PORT, else 29500.
if [ -z "${PORT:-}" ] && [ "$NNODES" = 1 ]; then
    PORT=$(python -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')
fi
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}

PYTHONPATH="$(dirname "$0")/..":${PYTHONPATH:-} \
torchrun --nnodes="$NNODES" --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$(dirname "$0")/train.py" "$CONFIG" --launcher pytorch "${@:3}"
