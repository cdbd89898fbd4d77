#!/bin/sh
# demo_chain.sh READOUT BENCH_QUALITY — the whole demo chain on a barely
# trained model: train-diffusion (2 steps), train-head for the three roles
# the demo uses (2 steps each), `readout demo` and one bench_quality case.
# Checks that every stage writes what the next one reads; the pictures are
# noise at this training length.
set -eu
readout=$1
quality=$2
tmp=$(mktemp -d /tmp/rg_demo_chain.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$readout" train-diffusion --out "$tmp/run" --steps 2 --batch 2 --log-every 1 >/dev/null
for role in correspondence appearance pose; do
    "$readout" train-head --model "$tmp/run/model" --role "$role" --data demo --out "$tmp/heads/$role.safetensors" \
        --steps 2 --batch 1 --projection-dim 128 --corrected-timestep >/dev/null
done
"$readout" demo --model "$tmp/run/model" --heads "$tmp/heads" --steps 4 --out "$tmp/demo" 2>/dev/null
for f in before.png after.png side_by_side.png readouts/predicted_003.png readouts/correspondence_003.png; do
    test -s "$tmp/demo/$f" || { echo "missing $f"; exit 1; }
done
"$quality" --model "$tmp/run/model" --heads "$tmp/heads" --n 1 --steps 4 | tail -2
echo "demo chain OK"
