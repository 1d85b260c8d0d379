#!/usr/bin/env bash
# GPU smoke test: 2 training steps of every variant at the real shapes,
# tools/test.py on one checkpoint, one benchmark step with peak memory, and
# 2-GPU torchrun when there are 2 GPUs; prints a table, exits 1 on any
# failure. Options are gpu_smoke.py's (--variants, --tiny, --device cpu,
# --work-dir, --data-root, --timeout).
# Usage: bash tools/analysis/gpu_smoke.sh [options]
set -euo pipefail
exec python "$(dirname "$0")/gpu_smoke.py" "$@"
