#!/bin/sh
# The SD1.5 UNet benchmark (issue 3): 64x64 latent, batch 1, 2 CPU threads,
# the engine (bench_unet.c) and PyTorch CPU (bench_unet.py, the plain-PyTorch
# UNet of tests/reference/unet.py) on the same random weights and inputs, one
# after the other. Prints per case the median seconds of N runs and the ratio
# ours/PyTorch (below 1.0: we are faster), the peak memory of each process, and
# the max abs differences of eps and grad.sample between the two.
# Usage: tests/bench/run_unet.sh [BUILD_DIR] [N] [DATA_DIR]   (needs python3-torch)
# DATA_DIR keeps the generated weights (1.7 GB, F16) between runs; without it
# they go to a temporary folder under /tmp, removed at the end.
set -eu
here=$(dirname "$0")
build=${1:-build}
reps=${2:-3}
py=/usr/bin/python3
if [ $# -ge 3 ]; then
    data=$3
    mkdir -p "$data"
else
    data=$(mktemp -d /tmp/rg_bench_unet.XXXXXX)
    trap 'rm -rf "$data"' EXIT
fi
ninja -C "$build" tests/bench/bench_unet >/dev/null
if [ ! -f "$data/unet.safetensors" ] || [ ! -f "$data/inputs.safetensors" ]; then
    "$py" "$here/bench_unet.py" gen "$data" >/dev/null
fi
rm -f "$data/ours.safetensors"
ours=$data/ours.txt
theirs=$data/theirs.txt
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
OMP_NUM_THREADS=2 "$build/tests/bench/bench_unet" "$data" "$reps" >"$ours"
echo "load between: $(cut -d' ' -f1-3 /proc/loadavg)"
OMP_NUM_THREADS=2 "$py" "$here/bench_unet.py" bench "$data" "$reps" >"$theirs"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v reps="$reps" '
FNR == 1 { side++ }
$1 == "time" { t[side, $2] = $3; runs[side, $2] = ""; for (i = 4; i <= NF; i++) runs[side, $2] = runs[side, $2] " " $i }
$1 == "mem" { rss[side, $2] = $3; tensors[side, $2] = $4 }
$1 == "info" && $2 == "rss_after_load_gb" { base[side] = $3 }
$1 == "info" && $2 == "threads" { for (i = 2; i < NF; i++) if ($i == "weights_f32_gb") w = $(i + 1) }
$1 == "diff" { diff[$2] = $3; ref[$2] = $4 }
END {
    printf "SD1.5 UNet, 64x64 latent, batch 1, 2 threads, median of %d runs (seconds)\n", reps
    printf "%-14s %10s %10s %6s\n", "case", "readout s", "pytorch s", "ratio"
    split("forward forward_grad", cases, " ")
    for (i = 1; i <= 2; i++) {
        c = cases[i]
        printf "%-14s %10.3f %10.3f %6.2f\n", c, t[1, c], t[2, c], t[1, c] / t[2, c]
    }
    for (i = 1; i <= 2; i++) {
        c = cases[i]
        printf "runs %-13s readout%s | pytorch%s\n", c, runs[1, c], runs[2, c]
    }
    printf "peak memory, GB = 1e9 bytes (f32 weights %.3f, target for the forward <= %.3f)\n", w, w + 1.5
    printf "  rss after loading: readout %.3f, pytorch %.3f\n", base[1], base[2]
    for (i = 1; i <= 2; i++) {
        c = cases[i]
        printf "  %-13s readout peak rss %.3f (engine tensors %.3f), pytorch peak rss %.3f\n",
               c, rss[1, c], tensors[1, c], rss[2, c]
    }
    split("eps grad.sample", names, " ")
    for (i = 1; i <= 2; i++)
        if ((d = names[i]) in diff)
            printf "sanity: %s max abs diff readout vs pytorch %s (max |pytorch| %s)\n", d, diff[d], ref[d]
}' "$ours" "$theirs"
grep "^info" "$ours" "$theirs" | sed "s|$data/||"
