#!/bin/sh
# batch.sh — the three procedures called from Script-Fu in gimp-console-2.10,
# on the demo model, in one GIMP start: each returns a new layer of the
# source's size, type and offsets, placed above it, named after the job and
# the seed; the source (and the reference) are pixel-identical afterwards.
# Covers an RGB image, an RGBA layer with offsets sticking out of the canvas
# with a selection, a grayscale image and a 32-bit float linear image.
NAME=batch
. "$(dirname "$0")/common.sh"

w=$work
"$RG_CLI" demo-scene --seed 3 --out "$w/in.png" --meta "$w/in.json" >/dev/null
"$RG_CLI" demo-scene --seed 5 --out "$w/ref.png" >/dev/null
"$RG_CLI" demo-scene --seed 8 --out "$w/pose.png" >/dev/null
caption=$(sed -n 's/.*"caption":"\([^"]*\)".*/\1/p' "$w/in.json")

# A relocated install keeps the demo model beside the plug-in; the plug-in
# finds it there when READOUT_DATA_DIR is not set.
ln -s "$READOUT_DATA_DIR" "$GIMP2_DIRECTORY/plug-ins/readout/data"
unset READOUT_DATA_DIR

prelude='(define (save img d f) (file-png-save RUN-NONINTERACTIVE img d f f 0 9 0 0 0 0 0))
(define (n->s n) (number->string n))
(define (report tag img lay)
  (gimp-message (string-append tag " layers=" (n->s (car (gimp-image-get-layers img)))
    " position=" (n->s (car (gimp-image-get-item-position img lay)))
    " size=" (n->s (car (gimp-drawable-width lay))) "x" (n->s (car (gimp-drawable-height lay)))
    " offsets=" (n->s (car (gimp-drawable-offsets lay))) "," (n->s (cadr (gimp-drawable-offsets lay)))
    " type=" (n->s (car (gimp-drawable-type lay)))
    " name=" (car (gimp-item-get-name lay)) ";")))'

# A: RGB, one drag, steps 0 (the default: the fast preset, 25 steps).
a="$prelude
(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$w/in.png\" \"in.png\")))
       (src (car (gimp-image-get-active-drawable img))))
  (save img src \"$w/a-src-before.png\")
  (let ((lay (car (plug-in-readout-drag RUN-NONINTERACTIVE img src 4 #(21 23 30 23) \"\" \"\" 0 7))))
    (save img lay \"$w/a-out.png\")
    (save img src \"$w/a-src-after.png\")
    (report \"A\" img lay)))"

# B: identity with a reference layer and a box, the source at the bottom.
b="$prelude
(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$w/in.png\" \"in.png\")))
       (src (car (gimp-image-get-active-drawable img)))
       (ref (car (gimp-file-load-layer RUN-NONINTERACTIVE img \"$w/ref.png\"))))
  (gimp-image-insert-layer img ref 0 0)
  (save img ref \"$w/b-ref-before.png\")
  (save img src \"$w/b-src-before.png\")
  (let ((lay (car (plug-in-readout-identity RUN-NONINTERACTIVE img src ref 6 10 35 39 \"$caption\" \"\" 4 11))))
    (save img lay \"$w/b-out.png\")
    (save img src \"$w/b-src-after.png\")
    (save img ref \"$w/b-ref-after.png\")
    (report \"B\" img lay)))"

# C: pose fill of a selection, with a pose map of another size.
c="$prelude
(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$w/in.png\" \"in.png\")))
       (src (car (gimp-image-get-active-drawable img)))
       (pose (car (gimp-file-load-layer RUN-NONINTERACTIVE img \"$w/pose.png\"))))
  (gimp-image-insert-layer img pose 0 0)
  (gimp-layer-scale pose 48 40 FALSE)
  (gimp-item-set-visible pose FALSE)
  (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 16 16 32 32)
  (save img src \"$w/c-src-before.png\")
  (let ((lay (car (plug-in-readout-pose-fill RUN-NONINTERACTIVE img src pose \"$caption\" \"\" 4 5))))
    (save img lay \"$w/c-out.png\")
    (save img src \"$w/c-src-after.png\")
    (report \"C\" img lay)))"

# D: an RGBA layer with a transparent corner, offset so that it sticks out of
# a larger canvas; a drag, then a pose fill of a selection given in image
# coordinates (layer pixels 16..35 x 16..35).
d="$prelude
(let* ((img (car (gimp-image-new 100 90 RGB)))
       (src (car (gimp-file-load-layer RUN-NONINTERACTIVE img \"$w/in.png\")))
       (pose (car (gimp-file-load-layer RUN-NONINTERACTIVE img \"$w/pose.png\"))))
  (gimp-image-insert-layer img src 0 0)
  (gimp-image-insert-layer img pose 0 1)
  (gimp-layer-add-alpha src)
  (gimp-layer-set-offsets src 50 40)
  (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 50 40 10 10)
  (gimp-drawable-edit-clear src)
  (gimp-selection-none img)
  (save img src \"$w/d-src-before.png\")
  (let ((lay (car (plug-in-readout-drag RUN-NONINTERACTIVE img src 8 #(21 23 30 23 47 20 47 30) \"\" \"\" 4 3))))
    (save img lay \"$w/d-out.png\")
    (report \"D\" img lay))
  (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 66 56 20 20)
  (let ((lay (car (plug-in-readout-pose-fill RUN-NONINTERACTIVE img src pose \"$caption\" \"\" 4 4))))
    (save img lay \"$w/d-fill.png\")
    (save img src \"$w/d-src-after.png\")
    (report \"D2\" img lay)))"

# E: grayscale; F: 32-bit float linear light.
e="$prelude
(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$w/in.png\" \"in.png\")))
       (src (car (gimp-image-get-active-drawable img))))
  (gimp-image-convert-grayscale img)
  (save img src \"$w/e-src-before.png\")
  (let ((lay (car (plug-in-readout-drag RUN-NONINTERACTIVE img src 4 #(21 23 30 23) \"\" \"\" 4 2))))
    (save img lay \"$w/e-out.png\")
    (save img src \"$w/e-src-after.png\")
    (report \"E\" img lay)))"
f="$prelude
(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$w/in.png\" \"in.png\")))
       (src (car (gimp-image-get-active-drawable img))))
  (gimp-image-convert-precision img PRECISION-FLOAT-LINEAR)
  (save img src \"$w/f-src-before.png\")
  (let ((lay (car (plug-in-readout-drag RUN-NONINTERACTIVE img src 4 #(21 23 30 23) \"\" \"\" 4 2))))
    (save img src \"$w/f-src-after.png\")
    (report \"F\" img lay)
    (gimp-image-convert-precision img PRECISION-U8-GAMMA)
    (save img lay \"$w/f-out.png\")))"

# The same jobs from the command line, meanwhile: the plug-in must give the
# same pixels (exactly for 8-bit RGB, to rounding through 32-bit float).
"$RG_CLI" drag -i "$w/in.png" --point 21,23:30,23 --fast --seed 7 -t 1 -o "$w/a-cli.png" >"$w/a-cli.log" 2>&1 &
"$RG_CLI" drag -i "$w/in.png" --point 21,23:30,23 --fast --steps 4 --seed 2 -t 1 -o "$w/f-cli.png" >"$w/f-cli.log" 2>&1 &

log="$w/gimp.log"
run_gimp "$log" -b "$a" -b "$b" -b "$c" -b "$d" -b "$e" -b "$f"

wait
if grep -q "execution error" "$log"; then fail "a batch command failed"; fi

expect_batch_results "$GIMP2_DIRECTORY"

finish
