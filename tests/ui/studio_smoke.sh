#!/bin/sh
# studio_smoke.sh READOUT READOUT_STUDIO WORK — readout-studio driven like a
# person would, under Xvfb (run by xvfb-run): a real pointer drag (XTEST,
# xdotool) on the canvas, Ctrl+Return, and the result written beside the
# picture without touching it; the dialog's screenshot lands in WORK.
set -eu
readout=$1 studio=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
cd "$work"
"$readout" demo-scene --seed 3 --out scene.png --meta scene.json >/dev/null
cp scene.png scene-readout.png # an earlier result: must survive
cp scene.png before.png
export READOUT_CONFIG_DIR="$work/config" READOUT_DIALOG_SCREENSHOT="$work/studio-dialog.png" \
    READOUT_DIALOG_CLOSE_AFTER_RUN=1 GDK_BACKEND=x11 NO_AT_BRIDGE=1
mkdir -p config && printf '[dialog]\nsteps=4\nseed=7\n' >config/settings.ini
"$studio" scene.png >out.txt 2>err.txt &
pid=$!
wid=$(timeout 30 xdotool search --sync --name "Readout — Drag" | head -1)
sleep 1
xdotool mousemove --window "$wid" 200 250 mousedown 1 mousemove --window "$wid" 230 250 \
    mousemove --window "$wid" 260 250 mouseup 1
sleep 0.5
xdotool windowfocus --sync "$wid" key ctrl+Return
# the dialog closes itself after the run
for _ in $(seq 120); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    echo "readout-studio did not finish the run"; cat err.txt; exit 1
fi
wait "$pid" || { echo "readout-studio failed"; cat err.txt; exit 1; }
fail() { echo "$1"; cat out.txt err.txt; exit 1; }
[ "$(cat out.txt)" = "$work/scene-readout-2.png" ] || [ "$(cat out.txt)" = "scene-readout-2.png" ] ||
    fail "expected the result in scene-readout-2.png, got: $(cat out.txt)"
cmp -s scene.png before.png || fail "the source picture changed"
cmp -s scene-readout.png before.png || fail "an existing file was overwritten"
size=$(identify -format '%wx%h' scene-readout-2.png)
[ "$size" = 64x64 ] || fail "the result is $size, not 64x64"
[ "$(compare -metric AE scene.png scene-readout-2.png null: 2>&1 || true)" != 0 ] || fail "the result equals the source"
[ -s studio-dialog.png ] || fail "no screenshot of the dialog"
echo "ok: $(cat out.txt) ($size), screenshot $work/studio-dialog.png"
