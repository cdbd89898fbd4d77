#!/bin/sh
# errors.sh — bad calls fail with a message that says what is wrong, and
# change nothing: no layer is added and the source is pixel-identical.
# One GIMP start; each bad call is its own batch command (a failing call
# ends its command), and the last command counts the layers.
NAME=errors
. "$(dirname "$0")/common.sh"

w=$work
"$RG_CLI" demo-scene --seed 3 --out "$w/in.png" >/dev/null
mkdir -p "$w/empty-model" "$w/headless-model"
# The demo model without its heads: a model of its own has none by default.
for f in "$READOUT_DATA_DIR"/demo/model/*; do ln -s "$f" "$w/headless-model/"; done

# Image 1 is in.png, image 2 a 4x4 picture; the calls find them by id.
setup="(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$w/in.png\" \"in.png\")))
              (src (car (gimp-image-get-active-drawable img)))
              (tiny (car (gimp-image-new 4 4 RGB)))
              (t (car (gimp-layer-new tiny 4 4 RGB-IMAGE \"tiny\" 100 LAYER-MODE-NORMAL))))
  (gimp-image-insert-layer tiny t 0 0)
  (file-png-save RUN-NONINTERACTIVE img src \"$w/src-before.png\" \"x\" 0 9 0 0 0 0 0)
  (gimp-message (string-append \"ids \" (number->string img) \" \" (number->string src) \" \"
                               (number->string tiny) \" \" (number->string t))))"
# Image ids count from 1 in a fresh GIMP; item ids depend on GIMP's internals.
img=1 tiny=2
src="(car (gimp-image-get-active-layer $img))" t="(car (gimp-image-get-active-layer $tiny))"
drag() { # drag POINTS-VECTOR N-FLOATS MODEL
    echo "(plug-in-readout-drag RUN-NONINTERACTIVE $img $src $2 #($1) \"\" \"$3\" 4 1)"
}
check="(let* ((img $img) (src $src) (t $t))
  (file-png-save RUN-NONINTERACTIVE img src \"$w/src-after.png\" \"x\" 0 9 0 0 0 0 0)
  (gimp-message (string-append \"after: layers=\" (number->string (car (gimp-image-get-layers img)))
                               \" tiny-layers=\" (number->string (car (gimp-image-get-layers $tiny))))))"

log="$w/gimp.log"
run_gimp "$log" -b "$setup" \
    -b "$(drag '21 23 80 23' 4 '')" \
    -b "$(drag '-1 23 30 23' 4 '')" \
    -b "$(drag '21 23 30' 3 '')" \
    -b "$(drag '21 23 30 23' 4 /no/such/model)" \
    -b "$(drag '21 23 30 23' 4 "$w/empty-model")" \
    -b "$(drag '21 23 30 23' 4 "$w/headless-model")" \
    -b "(plug-in-readout-drag RUN-NONINTERACTIVE $tiny $t 4 #(1 1 2 2) \"\" \"\" 4 1)" \
    -b "(plug-in-readout-identity RUN-NONINTERACTIVE $img $src $src 0 0 0 0 \"\" \"\" 4 1)" \
    -b "(plug-in-readout-identity RUN-NONINTERACTIVE $img $src $src 0 0 100 100 \"a star\" \"\" 4 1)" \
    -b "(plug-in-readout-pose-fill RUN-NONINTERACTIVE $img $src $src \"\" \"\" 4 1)" \
    -b "(plug-in-readout-drag RUN-NONINTERACTIVE $img $src 4 #(21 23 30 23) \"\" \"\" -3 1)" \
    -b "$check"

expect_log "$log" "ids $img "
n=$(grep -c "batch command experienced an execution error" "$log" || true)
if [ "$n" = 11 ]; then ok "11 calls failed"; else fail "$n calls failed, not 11"; fi
expect_log "$log" "The target of point 1 (80, 23) lies outside the 64×64 layer."
expect_log "$log" "The handle of point 1 (-1, 23) lies outside the 64×64 layer."
expect_log "$log" "num-points is 3: give 4 numbers (x0 y0 x1 y1) for each drag."
expect_log "$log" "The model folder /no/such/model does not exist."
expect_log "$log" "The model $w/empty-model cannot be used"
expect_log "$log" "drag: no appearance head"
expect_log "$log" "The layer is 4×4 pixels; Readout needs at least 8×8."
expect_log "$log" "Describe the picture to make in the prompt."
expect_log "$log" "The box 0,0 – 100,100 is empty or leaves the 64×64 reference layer."
expect_log "$log" "steps is -3"
expect_log "$log" "after: layers=1 tiny-layers=1"
expect_same "$w/src-before.png" "$w/src-after.png"

# The messages in French, from the build tree's catalogue (po/locale).
log="$w/gimp-fr.log"
LANGUAGE=fr run_gimp "$log" -b "(gimp-file-load RUN-NONINTERACTIVE \"$w/in.png\" \"in.png\")" \
    -b "$(drag '21 23 80 23' 4 '')"
expect_log "$log" "La cible du point 1 (80, 23) est hors du calque de 64×64."

finish
