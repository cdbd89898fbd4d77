#!/bin/sh
# shipped_model.sh READOUT — the demo model and heads shipped in data/demo:
# within the 40 MB budget, found when --model is left out (inspect,
# tokenize), and `readout demo` (the README's main job) writes every picture
# it promises, with an after.png that differs from before.png.
set -eu
readout=$1
data=$(cd "$(dirname "$0")/../../data/demo" && pwd)
tmp=$(mktemp -d /tmp/rg_shipped.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

kb=$(du -sk "$data/model" "$data/heads" | awk '{s += $1} END {print s}')
[ "$kb" -le 40960 ] || { echo "data/demo model + heads take $kb KiB, over 40 MB"; exit 1; }

"$readout" inspect | grep -q "Readout demo-style model" || { echo "inspect without PATH did not describe the demo model"; exit 1; }
"$readout" inspect demo >/dev/null
"$readout" tokenize "a red star" | grep -q '^[0-9]' || { echo "tokenize without --model gave no ids"; exit 1; }

"$readout" demo --out "$tmp/demo" --seed 7 2>"$tmp/log" || { cat "$tmp/log"; exit 1; }
for f in before.png after.png side_by_side.png readouts/predicted_000.png readouts/correspondence_000.png \
         readouts/appearance_000.png; do
    test -s "$tmp/demo/$f" || { echo "readout demo did not write $f"; ls -R "$tmp/demo"; exit 1; }
done
if cmp -s "$tmp/demo/before.png" "$tmp/demo/after.png"; then
    echo "after.png equals before.png"; exit 1
fi
echo "shipped demo model OK ($kb KiB)"
