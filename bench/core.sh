#!/usr/bin/env bash
# Scheduling-core throughput: one pass over a generated cluster (issue #2's workload).
#   10,000 nodes x 8 GPUs in leaves of 32 nodes (16 leaves per spine), 50% of GPUs busy at start,
#   64 projects with weights 1-4, 20,000 pending pods in gangs of 1-64 pods of 1/2/4/8 GPUs,
#   gangs prefer one leaf. The same generator at 1,000 nodes (2,000 pending pods) gives the
#   per-pod cost ratio. Each size runs REPEAT passes; medians are reported.
# Usage: bench/core.sh [REPEAT]     (Release build; pinned to one core when taskset exists)
#        KUMO_BIN_DIR=DIR bench/core.sh   uses DIR/core_bench as built (no make): bench/ab.sh
# Last line: one JSON object.
set -euo pipefail
cd "$(dirname "$0")/.."
REPEAT="${1:-7}"
if [ -z "${KUMO_BIN_DIR:-}" ]; then make -s build >/dev/null; fi
BIN=${KUMO_BIN_DIR:-build/bin}/core_bench
PIN=()
if command -v taskset >/dev/null; then PIN=(taskset -c 0); fi

small=$("${PIN[@]}" "$BIN" --nodes 1000 --pending-pods 2000 --repeat "$REPEAT")
large=$("${PIN[@]}" "$BIN" --nodes 10000 --pending-pods 20000 --repeat "$REPEAT")
echo "1k:  $small"
echo "10k: $large"

field() { sed -E "s/.*\"$2\":([0-9.e+-]+).*/\1/" <<<"$1"; }
per_small=$(field "$small" seconds_per_placed_pod)
per_large=$(field "$large" seconds_per_placed_pod)
ratio=$(awk -v a="$per_large" -v b="$per_small" 'BEGIN { printf "%.3f", a / b }')
printf '{"bench":"core","nodes":%s,"pending_pods":%s,"placed_pods":%s,"pods_per_second":%s,"pass_seconds_median":%s,"nodes_small":1000,"pods_per_second_small":%s,"per_pod_cost_ratio_10k_vs_1k":%s,"repeats":%s,"command":"bench/core.sh %s"}\n' \
  "$(field "$large" nodes)" "$(field "$large" pending_pods)" "$(field "$large" placed_pods)" \
  "$(field "$large" pods_per_second)" "$(field "$large" pass_seconds_median)" \
  "$(field "$small" pods_per_second)" "$ratio" "$REPEAT" "$REPEAT"
