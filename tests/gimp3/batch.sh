#!/bin/sh
# batch.sh — the GIMP 3 twin of tests/gimp2/batch.sh, run by run.sh inside the
# Debian 13 chroot: the three procedures called from Script-Fu in
# gimp-console-3.0, on the demo model, in one GIMP start. Each returns a new
# layer of the source's size, type and offsets, placed above it, named after
# the job and the seed; the source (and the reference) are pixel-identical
# afterwards. Covers an RGB image, an RGBA layer with offsets sticking out of
# the canvas with a selection, a grayscale image and a 32-bit float linear
# image. GIMP 3 takes the arguments by name; drawables come as a vector.
NAME=batch
. "$(dirname "$0")/common.sh"

w=$work
"$RG_CLI" demo-scene --seed 3 --out "$w/in.png" --meta "$w/in.json" >/dev/null
"$RG_CLI" demo-scene --seed 5 --out "$w/ref.png" >/dev/null
"$RG_CLI" demo-scene --seed 8 --out "$w/pose.png" >/dev/null
caption=$(sed -n 's/.*"caption":"\([^"]*\)".*/\1/p' "$w/in.json")

# A relocated install keeps the demo model beside the plug-in; the plug-in
# finds it there when READOUT_DATA_DIR is not set.
ln -s "$READOUT_DATA_DIR" "$GIMP3_DIRECTORY/plug-ins/readout/data"
unset READOUT_DATA_DIR

# drag IMG SRC POINTS STEPS SEED / identity .. / pose ..: the calls.
drag() {
    echo "(car (plug-in-readout-drag #:run-mode RUN-NONINTERACTIVE #:image $1 #:drawables (vector $2)
      #:points #($3) #:prompt \"\" #:model \"\" #:steps $4 #:seed $5))"
}

# A: RGB, one drag, steps 0 (the default: the fast preset, 25 steps); with
# num-points given as on 2.10 (the other drags leave it out).
a="$prelude
(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$w/in.png\")))
       (src (first-layer img)))
  (save-layer src \"$w/a-src-before.png\")
  (let ((lay (car (plug-in-readout-drag #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector src)
                    #:num-points 4 #:points #(21 23 30 23) #:prompt \"\" #:model \"\" #:steps 0 #:seed 7))))
    (save-layer lay \"$w/a-out.png\")
    (save-layer src \"$w/a-src-after.png\")
    (report \"A\" img lay)))"

# B: identity with a reference layer and a box, the source at the bottom.
b="$prelude
(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$w/in.png\")))
       (src (first-layer img))
       (ref (car (gimp-file-load-layer RUN-NONINTERACTIVE img \"$w/ref.png\"))))
  (gimp-image-insert-layer img ref 0 0)
  (save-layer ref \"$w/b-ref-before.png\")
  (save-layer src \"$w/b-src-before.png\")
  (let ((lay (car (plug-in-readout-identity #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector src)
                    #:reference ref #:box-x0 6 #:box-y0 10 #:box-x1 35 #:box-y1 39 #:prompt \"$caption\"
                    #:model \"\" #:steps 4 #:seed 11))))
    (save-layer lay \"$w/b-out.png\")
    (save-layer src \"$w/b-src-after.png\")
    (save-layer ref \"$w/b-ref-after.png\")
    (report \"B\" img lay)))"

pose() { # pose IMG SRC POSE SEED
    echo "(car (plug-in-readout-pose-fill #:run-mode RUN-NONINTERACTIVE #:image $1 #:drawables (vector $2)
      #:pose-map $3 #:prompt \"$caption\" #:model \"\" #:steps 4 #:seed $4))"
}

# C: pose fill of a selection, with a pose map of another size.
c="$prelude
(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$w/in.png\")))
       (src (first-layer img))
       (pose (car (gimp-file-load-layer RUN-NONINTERACTIVE img \"$w/pose.png\"))))
  (gimp-image-insert-layer img pose 0 0)
  (gimp-layer-scale pose 48 40 FALSE)
  (gimp-item-set-visible pose FALSE)
  (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 16 16 32 32)
  (save-layer src \"$w/c-src-before.png\")
  (let ((lay $(pose img src pose 5)))
    (save-layer lay \"$w/c-out.png\")
    (save-layer src \"$w/c-src-after.png\")
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
  (save-layer src \"$w/d-src-before.png\")
  (let ((lay $(drag img src '21 23 30 23 47 20 47 30' 4 3)))
    (save-layer lay \"$w/d-out.png\")
    (report \"D\" img lay))
  (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 66 56 20 20)
  (let ((lay $(pose img src pose 4)))
    (save-layer lay \"$w/d-fill.png\")
    (save-layer src \"$w/d-src-after.png\")
    (report \"D2\" img lay)))"

# E: grayscale; F: 32-bit float linear light.
e="$prelude
(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$w/in.png\")))
       (src (first-layer img)))
  (gimp-image-convert-grayscale img)
  (save-layer src \"$w/e-src-before.png\")
  (let ((lay $(drag img src '21 23 30 23' 4 2)))
    (save-layer lay \"$w/e-out.png\")
    (save-layer src \"$w/e-src-after.png\")
    (report \"E\" img lay)))"
f="$prelude
(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$w/in.png\")))
       (src (first-layer img)))
  (gimp-image-convert-precision img PRECISION-FLOAT-LINEAR)
  (save-layer src \"$w/f-src-before.png\")
  (let ((lay $(drag img src '21 23 30 23' 4 2)))
    (save-layer src \"$w/f-src-after.png\")
    (report \"F\" img lay)
    (gimp-image-convert-precision img PRECISION-U8-NON-LINEAR)
    (save-layer lay \"$w/f-out.png\")))"

# The same jobs from the command line, meanwhile: the plug-in must give the
# same pixels (exactly for 8-bit RGB, to rounding through 32-bit float).
"$RG_CLI" drag -i "$w/in.png" --point 21,23:30,23 --fast --seed 7 -t 1 -o "$w/a-cli.png" >"$w/a-cli.log" 2>&1 &
"$RG_CLI" drag -i "$w/in.png" --point 21,23:30,23 --fast --steps 4 --seed 2 -t 1 -o "$w/f-cli.png" \
    >"$w/f-cli.log" 2>&1 &

log="$w/gimp.log"
run_gimp "$log" -b "$a" -b "$b" -b "$c" -b "$d" -b "$e" -b "$f"

wait
if grep -q "execution error" "$log"; then fail "a batch command failed"; fi
if [ "$rc" != 0 ]; then fail "gimp-console-3.0 --quit exited with $rc"; fi

expect_batch_results "$GIMP3_DIRECTORY"

finish
