#!/bin/sh
# errors.sh — the GIMP 3 twin of tests/gimp2/errors.sh: bad calls fail with a
# message that says what is wrong, and change nothing: no layer is added and
# the source is pixel-identical. One GIMP start; each bad call is its own
# batch command (a failing call ends its command), and the last command
# counts the layers.
NAME=errors
. "$(dirname "$0")/common.sh"

w=$work
"$RG_CLI" demo-scene --seed 3 --out "$w/in.png" >/dev/null
mkdir -p "$w/empty-model" "$w/headless-model"
# The demo model without its heads: a model of its own has none by default.
for f in "$READOUT_DATA_DIR"/demo/model/*; do ln -s "$f" "$w/headless-model/"; done

# Image 1 is in.png, image 2 a 4x4 picture with two layers; the calls find
# them by id. Each GIMP start below loads them again.
setup="$prelude
(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$w/in.png\")))
       (src (first-layer img))
       (tiny (car (gimp-image-new 4 4 RGB)))
       (t (car (gimp-layer-new tiny \"tiny\" 4 4 RGB-IMAGE 100 LAYER-MODE-NORMAL)))
       (t2 (car (gimp-layer-new tiny \"tiny 2\" 4 4 RGB-IMAGE 100 LAYER-MODE-NORMAL))))
  (gimp-image-insert-layer tiny t 0 0)
  (gimp-image-insert-layer tiny t2 0 0)
  (save-layer src \"$w/src-before.png\")
  (gimp-message (string-append \"ids \" (n->s img) \" \" (n->s tiny))))"
# Image ids count from 1 in a fresh GIMP; item ids depend on GIMP's internals.
img=1 tiny=2
src="(first-layer $img)"
drag() { # drag POINTS MODEL [STEPS]
    echo "$prelude (plug-in-readout-drag #:run-mode RUN-NONINTERACTIVE #:image $img #:drawables (vector $src)
      #:points #($1) #:prompt \"\" #:model \"$2\" #:steps ${3:-4} #:seed 1)"
}
identity() { # identity BOX-X1 BOX-Y1 PROMPT
    echo "$prelude (plug-in-readout-identity #:run-mode RUN-NONINTERACTIVE #:image $img #:drawables (vector $src)
      #:reference $src #:box-x0 0 #:box-y0 0 #:box-x1 $1 #:box-y1 $2 #:prompt \"$3\" #:model \"\" #:steps 4 #:seed 1)"
}
check="$prelude
(let* ((img $img) (src $src))
  (save-layer src \"$w/src-after.png\")
  (gimp-message (string-append \"after: layers=\" (n->s (vector-length (layers img)))
                               \" tiny-layers=\" (n->s (vector-length (layers $tiny))))))"

# Every bad call is caught in Script-Fu (a failing batch command would stop
# GIMP 3's batch run), and GIMP logs its message ("Calling error for
# procedure": GIMP's label for any error a procedure returns).
c() {
    echo "$prelude (catch #f $1)"
}
log="$w/gimp.log"
run_gimp "$log" -b "$setup" \
    -b "$(c "$(drag '21 23 80 23' '')")" \
    -b "$(c "$(drag '-1 23 30 23' '')")" \
    -b "$(c "$(drag '21 23 30' '')")" \
    -b "$(c "$(drag '' '')")" \
    -b "$(c "(plug-in-readout-drag #:run-mode RUN-NONINTERACTIVE #:image $img #:drawables (vector $src)
         #:num-points 8 #:points #(21 23 30 23) #:prompt \"\" #:model \"\" #:steps 4 #:seed 1)")" \
    -b "$(c "$(drag '21 23 30 23' /no/such/model)")" \
    -b "$(c "$(drag '21 23 30 23' "$w/empty-model")")" \
    -b "$(c "$(drag '21 23 30 23' "$w/headless-model")")" \
    -b "$(c "(plug-in-readout-drag #:run-mode RUN-NONINTERACTIVE #:image $tiny
         #:drawables (vector (first-layer $tiny)) #:points #(1 1 2 2) #:prompt \"\" #:model \"\"
         #:steps 4 #:seed 1)")" \
    -b "$(c "(plug-in-readout-drag #:run-mode RUN-NONINTERACTIVE #:image $tiny #:drawables (layers $tiny)
         #:points #(1 1 2 2) #:prompt \"\" #:model \"\" #:steps 4 #:seed 1)")" \
    -b "$(c "$(identity 0 0 '')")" \
    -b "$(c "$(identity 100 100 'a star')")" \
    -b "$(c "(plug-in-readout-pose-fill #:run-mode RUN-NONINTERACTIVE #:image $img #:drawables (vector $src)
         #:pose-map $src #:prompt \"\" #:model \"\" #:steps 4 #:seed 1)")" \
    -b "$(c "(plug-in-readout-pose-fill #:run-mode RUN-NONINTERACTIVE #:image $img #:drawables (vector $src)
         #:pose-map -1 #:prompt \"a star\" #:model \"\" #:steps 4 #:seed 1)")" \
    -b "$check"

expect_log "$log" "ids $img $tiny"
n=$(grep -c "Calling error for procedure 'plug-in-readout-" "$log" || true)
if [ "$n" = 14 ]; then ok "14 calls failed"; else fail "$n calls failed, not 14"; fi
if [ "$rc" != 0 ]; then fail "gimp-console-3.0 --quit exited with $rc"; fi
expect_log "$log" "The target of point 1 (80, 23) lies outside the 64×64 layer."
expect_log "$log" "The handle of point 1 (-1, 23) lies outside the 64×64 layer."
expect_log "$log" "points holds 3 numbers: give 4 (x0 y0 x1 y1) for each drag."
expect_log "$log" "points holds 0 numbers: give 4 (x0 y0 x1 y1) for each drag."
expect_log "$log" "num-points is 8 but points holds 4 numbers."
expect_log "$log" "The model folder /no/such/model does not exist."
expect_log "$log" "The model $w/empty-model cannot be used"
expect_log "$log" "drag: no appearance head"
expect_log "$log" "The layer is 4×4 pixels; Readout needs at least 8×8."
expect_log "$log" "Readout edits one layer at a time; select a single layer."
expect_log "$log" "Describe the picture to make in the prompt."
expect_log "$log" "The box 0,0 – 100,100 is empty or leaves the 64×64 reference layer."
expect_log "$log" "Draw a pose or pick a pose-map layer."
expect_log "$log" "after: layers=1 tiny-layers=2"
expect_same "$w/src-before.png" "$w/src-after.png"

# Uncaught, Script-Fu names the status: CALLING_ERROR ("invalid input
# arguments") for a bad argument, EXECUTION_ERROR for a model that is not
# there; GIMP 3 itself refuses an argument out of its declared range; and
# --quit makes a failed batch command GIMP's exit status.
log="$w/gimp-calling.log"
load="(gimp-file-load RUN-NONINTERACTIVE \"$w/in.png\")"
run_gimp "$log" -b "$load" -b "$(drag '21 23 80 23' '')"
expect_log "$log" "failed on invalid input arguments: The target of point 1 (80, 23) lies outside the 64×64 layer."
if [ "$rc" != 0 ]; then ok "GIMP exited with $rc"; else fail "GIMP exited with 0 after a failed command"; fi
log="$w/gimp-execution.log"
run_gimp "$log" -b "$load" -b "$(drag '21 23 30 23' /no/such/model)"
expect_log "$log" "Procedure execution of plug-in-readout-drag failed: The model folder /no/such/model does not exist."
log="$w/gimp-range.log"
run_gimp "$log" -b "$load" -b "$(drag '21 23 30 23' '' -3)"
expect_log "$log" "has value -3 out of range"

# The messages in French, from the build tree's catalogue (po/locale).
log="$w/gimp-fr.log"
LC_ALL=fr_FR.UTF-8 LANGUAGE=fr run_gimp "$log" -b "$load" -b "$(drag '21 23 80 23' '')"
expect_log "$log" "La cible du point 1 (80, 23) est hors du calque de 64×64."

finish
