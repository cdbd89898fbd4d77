#!/bin/sh
# dialog.sh — the GIMP 3 twin of tests/gimp2/dialog.sh, run by run.sh inside
# the chroot under xvfb-run: Script-Fu opens the Drag dialog with
# RUN-INTERACTIVE (gimp_ui_init, the transient parent, the aux arguments),
# xdotool drags the purple star to the right on the canvas and presses
# Ctrl+Return; the dialog saves a screenshot and closes after the run; the
# procedure returns the new layer, the preview layer is gone, the settings
# file was made from GIMP's remembered values and GIMP saved them back.
NAME=dialog
. "$(dirname "$0")/common.sh"

w=$work
shot="$w/dialog-screenshot.png"
export READOUT_DIALOG_SCREENSHOT="$shot" READOUT_DIALOG_CLOSE_AFTER_RUN=1
export GDK_BACKEND=x11 DISPLAY="$RG_DISPLAY"
"$RG_CLI" demo-scene --seed 3 --out "$w/in.png" >/dev/null

script="$prelude
(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$w/in.png\")))
       (src (first-layer img))
       (lay (car (plug-in-readout-drag #:run-mode RUN-INTERACTIVE #:image img #:drawables (vector src)))))
  (save-layer lay \"$w/out.png\")
  (gimp-message (string-append \"dialog layers=\" (n->s (vector-length (layers img)))
                               \" name=\" (car (gimp-item-get-name lay)) \";\")))"
log="$w/gimp.log"
run_gimp "$log" -b "$script" &
gimp_job=$!

# The title is the dialog's (ui/dialog.c); --sync waits for the window to map.
wid=$(timeout 90 xdotool search --sync --name 'Readout — Drag' | head -1 || true)
if [ -z "$wid" ]; then
    fail "the dialog did not open within 90 s"
    kill "$gimp_job" 2>/dev/null || true
    wait "$gimp_job" || true
    finish
fi
ok "dialog window $wid"
sleep 1 # let the canvas get its first draw

# As in tests/gimp2/dialog.sh: the star's centre (21, 23) is near (214, 263)
# on the canvas; drag it 8 layer pixels to the right with XTEST events.
xdotool mousemove --window "$wid" 214 263 mousedown 1 \
    mousemove --window "$wid" 240 263 mousemove --window "$wid" 265 263 mousemove --window "$wid" 290 263 \
    mouseup 1
sleep 0.5
xdotool key ctrl+Return
wait "$gimp_job" || true

expect_log "$log" "dialog layers=2 name=Readout drag (seed "
expect_size "$w/out.png" 64 64
if [ -s "$shot" ]; then ok "screenshot $shot"; else fail "no screenshot at $shot"; fi
if grep -q "execution error" "$log"; then fail "the batch command failed"; fi
expect_log "$READOUT_CONFIG_DIR/settings.ini" "device=cpu"
# GIMP 3 keeps the last values of an interactive run that succeeded, the aux
# arguments (the settings file's keys) among them.
if grep -rqs "settings-device" "$GIMP3_DIRECTORY/plug-in-settings" "$GIMP3_DIRECTORY"/*rc; then
    ok "GIMP saved the settings-* aux arguments"
else
    fail "no settings-* values in GIMP's saved procedure configs"
fi
finish
