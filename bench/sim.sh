#!/usr/bin/env bash
# Simulator speed: wall time of full trace replays (Release build), each policy on its own.
#   Philly multi-GPU subset (3,034 jobs, 231 nodes) and openb (8,151 pods, 197 of its 1,523 nodes,
#   see docs/evaluation.md) at offered load 1.2.
# Usage: bench/sim.sh [TRACE_DIR]     Last line: one JSON object.
set -euo pipefail
cd "$(dirname "$0")/.."
TRACES="${1:-../shared/traces}"
make -s build >/dev/null
BIN=build/bin/kumo
json='{"bench":"sim"'
for trace in philly openb; do
  total=0
  for policy in fifo fifo-backfill drf kumo; do
    start=$(date +%s.%N)
    "$BIN" sim --trace "$trace" --policy "$policy" --load 1.2 --trace-dir "$TRACES" --quiet >/dev/null
    end=$(date +%s.%N)
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
    echo "$trace $policy: ${secs} s"
    total=$(awk -v a="$total" -v b="$secs" 'BEGIN { printf "%.2f", a + b }')
    json="$json,\"${trace}_${policy//-/_}_s\":$secs"
  done
  echo "$trace all four: ${total} s"
  json="$json,\"${trace}_all_policies_s\":$total"
done
echo "$json,\"command\":\"bench/sim.sh\"}"
