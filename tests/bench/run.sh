#!/bin/sh
# Runs the op benchmarks of the engine and of PyTorch CPU (2 threads each) in
# one go and prints ours/PyTorch per case (below 1.0: we are faster).
# Usage: tests/bench/run.sh [BUILD_DIR] [REPS]   (needs python3-torch)
set -eu
build=${1:-build}
reps=${2:-5}
ninja -C "$build" tests/bench/bench_ops >/dev/null
ours=$(mktemp)
theirs=$(mktemp)
trap 'rm -f "$ours" "$theirs"' EXIT
OMP_NUM_THREADS=2 "$build/tests/bench/bench_ops" "$reps" >"$ours"
/usr/bin/python3 "$(dirname "$0")/bench_torch.py" "$reps" >"$theirs"
echo "case                               readout ms  pytorch ms  ratio"
paste -d" " "$ours" "$theirs" | awk '$1 != $3 { print "case mismatch: " $1 " / " $3; exit 1 } { printf "%-34s %10.2f %11.2f %6.2f\n", $1, $2, $4, $2 / $4 }'
