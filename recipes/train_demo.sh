#!/usr/bin/env bash
# Train the demo encoders and the ablations on a 2-core machine: two queues, one thread each.
# Every run resumes from its newest checkpoint when this script is started again.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
queue() {
  for name in "$@"; do
    interestyle train "recipes/$name.json" --resume --no-progress > "recipes/runs/$name.stdout.log" 2>&1
  done
}
queue demo-interestyle ablation-no-ind &
queue demo-baseline ablation-no-unf ablation-unf-whole &
wait
