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

# A: RGBA-IMAGE is type 1, GRAYA-IMAGE 3.
expect_log "$log" "A layers=2 position=0 size=64x64 offsets=0,0 type=1 name=Readout drag (seed 7);"
expect_size "$w/a-out.png" 64 64
expect_same "$w/a-src-before.png" "$w/a-src-after.png"
expect_differ "$w/a-out.png" "$w/a-src-before.png"
expect_same "$w/a-out.png" "$w/a-cli.png"

expect_log "$log" "B layers=3 position=1 size=64x64 offsets=0,0 type=1 name=Readout identity (seed 11);"
expect_size "$w/b-out.png" 64 64
expect_same "$w/b-src-before.png" "$w/b-src-after.png"
expect_same "$w/b-ref-before.png" "$w/b-ref-after.png"

expect_log "$log" "C layers=3 position=1 size=64x64 offsets=0,0 type=1 name=Readout pose fill (seed 5);"
expect_size "$w/c-out.png" 64 64
expect_same "$w/c-src-before.png" "$w/c-src-after.png"
# Outside the selection the fill keeps the source's pixels; inside it paints.
convert "$w/c-out.png" -alpha off -crop 64x16+0+0 +repage "$w/c-out-top.png"
convert "$w/c-src-before.png" -alpha off -crop 64x16+0+0 +repage "$w/c-src-top.png"
expect_same "$w/c-out-top.png" "$w/c-src-top.png"
expect_differ "$w/c-out.png" "$w/c-src-before.png"

expect_log "$log" "D layers=3 position=0 size=64x64 offsets=50,40 type=1 name=Readout drag (seed 3);"
expect_log "$log" "D2 layers=4 position=1 size=64x64 offsets=50,40 type=1 name=Readout pose fill (seed 4);"
expect_size "$w/d-out.png" 64 64
expect_size "$w/d-fill.png" 64 64
expect_same "$w/d-src-before.png" "$w/d-src-after.png"
# The selection sat at layer pixels 16..35: the fill changed them and kept the rest.
convert "$w/d-fill.png" -crop 20x20+16+16 +repage "$w/d-fill-in.png"
convert "$w/d-src-before.png" -crop 20x20+16+16 +repage "$w/d-src-in.png"
expect_differ "$w/d-fill-in.png" "$w/d-src-in.png"
convert "$w/d-fill.png" -alpha off -crop 64x16+0+48 +repage "$w/d-fill-bottom.png"
convert "$w/d-src-before.png" -alpha off -crop 64x16+0+48 +repage "$w/d-src-bottom.png"
expect_same "$w/d-fill-bottom.png" "$w/d-src-bottom.png"

expect_log "$log" "E layers=2 position=0 size=64x64 offsets=0,0 type=3 name=Readout drag (seed 2);"
expect_size "$w/e-out.png" 64 64
expect_same "$w/e-src-before.png" "$w/e-src-after.png"

expect_log "$log" "F layers=2 position=0 size=64x64 offsets=0,0 type=1 name=Readout drag (seed 2);"
expect_size "$w/f-out.png" 64 64
expect_same "$w/f-src-before.png" "$w/f-src-after.png"
ae=$(compare -metric AE -fuzz 2% "$w/f-out.png" "$w/f-cli.png" null: 2>&1 || true)
if [ "$ae" = 0 ]; then ok "f-out.png = f-cli.png to 2%"; else fail "f-out.png and f-cli.png differ in $ae pixels"; fi
expect_menus "$GIMP3_DIRECTORY/pluginrc"

finish
