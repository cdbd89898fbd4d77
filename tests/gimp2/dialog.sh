#!/bin/sh
# dialog.sh — the Drag dialog inside GIMP, driven like a user would (run
# under xvfb-run): Script-Fu opens it with RUN-INTERACTIVE, xdotool drags the
# purple star to the right on the canvas and presses Ctrl+Return; the dialog
# saves a screenshot (READOUT_DIALOG_SCREENSHOT) and closes after the run
# (READOUT_DIALOG_CLOSE_AFTER_RUN); the procedure returns the new layer and
# the preview layer is gone. The screenshot stays in the build folder:
# build/tests/gimp2/dialog-screenshot.png.
NAME=dialog
. "$(dirname "$0")/common.sh"

w=$work
shot="$RG_WORK/dialog-screenshot.png"
rm -f "$shot"
export READOUT_DIALOG_SCREENSHOT="$shot" READOUT_DIALOG_CLOSE_AFTER_RUN=1
export GDK_BACKEND=x11
"$RG_CLI" demo-scene --seed 3 --out "$w/in.png" >/dev/null

# Parameters after the drawable are ignored in interactive mode, but Script-Fu
# wants them all.
script="(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$w/in.png\" \"in.png\")))
       (src (car (gimp-image-get-active-drawable img)))
       (lay (car (plug-in-readout-drag RUN-INTERACTIVE img src 0 #() \"\" \"\" 0 0))))
  (file-png-save RUN-NONINTERACTIVE img lay \"$w/out.png\" \"out.png\" 0 9 0 0 0 0 0)
  (gimp-message (string-append \"dialog layers=\" (number->string (car (gimp-image-get-layers img)))
                               \" name=\" (car (gimp-item-get-name lay)) \";\")))"
log="$w/gimp.log"
run_gimp "$log" -b "$script" &
gimp_job=$!

# The title is the dialog's (ui/dialog.c); --sync waits for the window to map.
wid=$(timeout 60 xdotool search --sync --name 'Readout — Drag' | head -1 || true)
if [ -z "$wid" ]; then
    fail "the dialog did not open within 60 s"
    import -window root "$w/root.png" 2>/dev/null || true
    kill "$gimp_job" 2>/dev/null || true
    wait "$gimp_job" || true
    finish
fi
ok "dialog window $wid"
sleep 1 # let the canvas get its first draw

# The canvas fills the left of the 960x640 window, the 64x64 layer scaled to
# about 9 px a pixel from (17, 50): the star's centre (21, 23) is near
# (214, 263); drag it 8 layer pixels to the right. XTEST events (not
# XSendEvent), so GTK sees a real button drag.
xdotool mousemove --window "$wid" 214 263 mousedown 1 \
    mousemove --window "$wid" 240 263 mousemove --window "$wid" 265 263 mousemove --window "$wid" 290 263 \
    mouseup 1
sleep 0.5
import -window "$wid" "$w/after-drag.png" 2>/dev/null || true
# With no window manager the keyboard goes to the window under the pointer.
xdotool key ctrl+Return

# The run takes a few seconds on the demo model; then the dialog closes and
# the batch command goes on.
wait "$gimp_job" || true

expect_log "$log" "dialog layers=2 name=Readout drag (seed "
expect_size "$w/out.png" 64 64
if [ -s "$shot" ]; then
    ok "screenshot $shot ($(identify -format '%wx%h' "$shot"))"
else
    fail "no screenshot at $shot"
fi
if grep -q "execution error" "$log"; then fail "the batch command failed"; fi
finish
