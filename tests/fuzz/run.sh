#!/bin/sh
# Fuzzes the parsers of untrusted files for SECONDS (default 60) each with
# libFuzzer + AddressSanitizer, starting from the committed seed corpus.
# Usage: tests/fuzz/run.sh [SECONDS]   (from the repository root; needs clang)
set -eu
seconds=${1:-60}
build=build-fuzz
if [ ! -f "$build/build.ninja" ]; then
    CC=clang meson setup "$build" -Dfuzzing=true -Dbuildtype=debugoptimized \
        -Dc_args=-fsanitize=fuzzer-no-link,address -Dc_link_args=-fsanitize=address >/dev/null
fi
ninja -C "$build" tests/fuzz/fuzz_safetensors >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp tests/fuzz/corpus/safetensors/* "$work/"
ASAN_OPTIONS=detect_leaks=1 "$build/tests/fuzz/fuzz_safetensors" -max_total_time="$seconds" \
    -max_len=4096 -print_final_stats=1 "$work"
