#!/bin/sh
# Fuzzes the parsers of untrusted files for SECONDS (default 60) per target
# with libFuzzer + AddressSanitizer, each from its committed seed corpus
# tests/fuzz/corpus/NAME/. The targets are the fuzz_NAME executables that
# tests/fuzz/meson.build declares, e.g.
#   fuzz_safetensors  the safetensors reader (header JSON, offsets, dtypes)
#   fuzz_model        model detection: layouts, name maps, config and index JSON
#   fuzz_png          the PNG loader (libpng with our error handling and limits)
# Usage: tests/fuzz/run.sh [SECONDS]   (from the repository root; needs clang)
# FUZZ_BUILD names the build folder (default build-fuzz); FUZZ_TARGETS
# ("safetensors model") picks targets.
set -eu
seconds=${1:-60}
build=${FUZZ_BUILD:-build-fuzz}
targets=${FUZZ_TARGETS:-$(sed -n 's/^fuzz_\([a-z0-9_]*\) *= *executable.*/\1/p' tests/fuzz/meson.build)}
if [ ! -f "$build/build.ninja" ]; then
    CC=clang meson setup "$build" -Dfuzzing=true -Dbuildtype=debugoptimized \
        -Dc_args=-fsanitize=fuzzer-no-link,address -Dc_link_args=-fsanitize=address >/dev/null
fi
for target in $targets; do
    ninja -C "$build" "tests/fuzz/fuzz_$target" >/dev/null
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for target in $targets; do
    mkdir -p "$work/$target"
    if [ -d "tests/fuzz/corpus/$target" ]; then
        cp "tests/fuzz/corpus/$target"/* "$work/$target/"
    fi
    echo "== fuzz_$target ($seconds s)"
    ASAN_OPTIONS=detect_leaks=1 "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" \
        -max_len=8192 -print_final_stats=1 "$work/$target"
done
