#!/bin/sh
# The drag benchmark (issue 4): time and peak memory of ONE drag edit with the
# official settings (100 steps, 50 guided, parallel reference) and with the
# fast preset (25 steps, cached reference readouts), each in its own process
# (tests/bench/bench_drag.c), 2 threads, random heads of the official shape:
#   1. the tiny model tests/data/tiny-sd at its native 32 px;
#   2. SD1.5's architecture with generated weights (bench_drag --write-sd15,
#      ~1.7 GB F16) at a small size (SD15_SIDE, 128: a 16x16 latent), with the
#      CLIP tokenizer of ../shared/data/clip-tokenizer (skipped when absent).
# The official SD1.5 run first runs SD15_PROBE_STEPS (10) steps with the same
# guided share and extrapolates to 100 steps; when that estimate is within
# MAX_OFFICIAL_S (900 s) the full 100 steps run too, else the extrapolation
# is the number (said so in the output). SD15_STEPS=N runs N steps only.
# Other jobs on the machine slow everything, several times over once more
# processes want to run than there are cores: each number comes with
# /proc/loadavg and the job's CPU time.
# Usage: tests/bench/run_drag.sh [BUILD_DIR] [DATA_DIR]
# DATA_DIR keeps the generated SD1.5 folder between runs; without it, it goes
# to a temporary folder under /tmp, removed at the end. Needs ~6 GB of memory.
set -eu
here=$(dirname "$0")
root=$(cd "$here/../.." && pwd)
build=${1:-build}
side=${SD15_SIDE:-128}
probe=${SD15_PROBE_STEPS:-10}
max_official=${MAX_OFFICIAL_S:-900}
tokenizer=$root/../shared/data/clip-tokenizer
export OMP_NUM_THREADS=2
ninja -C "$build" tests/bench/bench_drag >/dev/null
bench=$build/tests/bench/bench_drag
log=$(mktemp /tmp/rg_bench_drag_log.XXXXXX)
if [ $# -ge 2 ]; then
    data=$2
    mkdir -p "$data"
    trap 'rm -f "$log"' EXIT
else
    data=$(mktemp -d /tmp/rg_bench_drag.XXXXXX)
    trap 'rm -rf "$data" "$log"' EXIT
fi

# run LABEL ARGS...: one configuration, its output shown and its result line kept
run() {
    label=$1
    shift
    echo "== $label"
    "$bench" "$@" 2>&1 | tee -a "$log.cur"
    sed -n "s/^result [a-z]* /result $label /p" "$log.cur" >>"$log"
    rm -f "$log.cur"
}

run "tiny-32 official" "$root/tests/data/tiny-sd" official
run "tiny-32 fast" "$root/tests/data/tiny-sd" fast

if [ ! -f "$tokenizer/vocab.json" ] || [ ! -f "$tokenizer/merges.txt" ]; then
    echo "== SD1.5: skipped, no CLIP tokenizer at $tokenizer"
else
    sd=$data/sd15
    if [ ! -f "$sd/.complete" ]; then
        rm -rf "$sd"
        status=0
        "$bench" --write-sd15 "$sd" || status=$?
        if [ $status -ne 0 ]; then
            echo "== SD1.5: skipped, the generated weights could not be written (exit $status)"
            sd=
        else
            touch "$sd/.complete"
        fi
    fi
    if [ -n "$sd" ]; then
        mkdir -p "$sd/tokenizer"
        cp "$tokenizer/vocab.json" "$tokenizer/merges.txt" "$sd/tokenizer/"
        run "sd15-$side fast" "$sd" fast "$side"
        if [ -n "${SD15_STEPS:-}" ]; then
            run "sd15-$side official ($SD15_STEPS steps)" "$sd" official "$side" "$SD15_STEPS"
        else
            run "sd15-$side official ($probe steps)" "$sd" official "$side" "$probe"
            est=$(tail -n 1 "$log" | sed -n 's/.* est_full_s=\([0-9.]*\).*/\1/p')
            if awk -v e="$est" -v m="$max_official" 'BEGIN { exit !(e <= m) }'; then
                run "sd15-$side official" "$sd" official "$side"
            else
                echo "== SD1.5 official at 100 steps: about $est s by extrapolation (over $max_official s: not run)"
            fi
        fi
    fi
fi

echo
echo "one drag edit, OMP_NUM_THREADS=2 (s = seconds, GB = 1e9 bytes; est = extrapolated to the setting's steps)"
awk '
{
    label = ""
    for (i = 2; i <= NF && $i !~ /=/; i++) label = label (label == "" ? "" : " ") $i
    delete v
    for (; i <= NF; i++) {
        split($i, kv, "=")
        if (kv[1] == "loadavg") { v["loadavg"] = kv[2] " " $(i + 1) " " $(i + 2); i += 2 } else v[kv[1]] = kv[2]
    }
    est = v["steps"] == v["full_steps"] ? "" : sprintf(" (est %d steps: %.0f s)", v["full_steps"], v["est_full_s"])
    printf "%-28s %4d steps %8.1f s (CPU %.1f s)%s\n", label, v["steps"], v["run_s"], v["cpu_s"], est
    printf "%-28s guided %.3f s/step, unguided %.3f s/step, inversion %.3f s/step", "",
           v["guided_s"], v["unguided_s"], v["invert_s"]
    if ("ref_record_s" in v)
        printf ", reference %.3f / %.3f s/step (guided range / rest)", v["ref_record_s"], v["ref_plain_s"]
    peak = v["rss_job_gb"] > v["rss_load_gb"] ? v["rss_job_gb"] : v["rss_load_gb"]
    printf "\n%-28s peak RSS %.3f GB (after loading %.3f GB, the job alone %.3f GB), engine tensors %.3f GB\n", "",
           peak, v["rss_load_gb"], v["rss_job_gb"], v["tensors_gb"]
    printf "%-28s loadavg after the job %s\n", "", v["loadavg"]
}' "$log"
