#!/usr/bin/env bash
# Train the v2 demo encoders (three seeds of IntereStyle and of the baseline) and the ablations on a 2-core
# machine: two queues, one thread each. Needs the exported v2 generator (recipes/README.md, step 1 of v2).
# Every run resumes from its newest checkpoint when this script is started again.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
queue() {
  for name in "$@"; do
    interestyle train "recipes/v2/$name.json" --resume --no-progress > "recipes/runs/v2-$name.stdout.log" 2>&1
  done
}
queue interestyle-seed0 interestyle-seed1 interestyle-seed2 no-ind unf-whole &
queue baseline-seed0 baseline-seed1 baseline-seed2 no-unf &
wait
