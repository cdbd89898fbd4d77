# common.sh — sourced by the GIMP 3 tests inside the Debian 13 chroot (run.sh
# starts them there): a throw-away GIMP 3 profile with the built plug-in
# installed, isolated Readout settings, and helpers.
#
# The caller sets NAME; run.sh sets RG_PLUGIN (the plug-in built in the
# chroot), RG_CLI (its core/readout), RG_WORK (where the tests write) and
# READOUT_DATA_DIR (the copied source tree's data/).
set -eu

work="$RG_WORK/$NAME"
rm -rf "$work"
mkdir -p "$work"

export GIMP3_DIRECTORY="$work/profile" HOME="$work/home"
# Folders GIMP otherwise complains about in a fresh profile. GIMP 3 wants a
# plug-in in plug-ins/NAME/NAME.
for d in brushes dynamics fonts gradients palettes patterns tool-presets mypaint-brushes plug-ins/readout; do
    mkdir -p "$GIMP3_DIRECTORY/$d"
done
mkdir -p "$HOME"
cp "$RG_PLUGIN" "$GIMP3_DIRECTORY/plug-ins/readout/readout"
export READOUT_CONFIG_DIR="$work/config"
mkdir -p "$READOUT_CONFIG_DIR"
# English messages whatever the machine's locale, so that the checks can read
# them; no display: everything here is batch.
export LANG=C.UTF-8 LC_ALL=C.UTF-8 LANGUAGE=
export NO_AT_BRIDGE=1
unset DISPLAY WAYLAND_DISPLAY

. "$(dirname "$0")/../common/gimp_checks.sh"
. "$(dirname "$0")/../common/gimp_batch_results.sh"

# Script-Fu helpers for GIMP 3 (its batch interpreter speaks the v2 dialect:
# every call returns a list). save-layer writes one layer as a PNG through an
# image of its own, as GIMP 3 exports whole images only.
prelude='(define (n->s n) (number->string n))
(define (layers img) (car (gimp-image-get-layers img)))
(define (first-layer img) (vector-ref (layers img) 0))
(define (save-layer lay f)
  (let* ((img (car (gimp-item-get-image lay)))
         (out (car (gimp-image-new-with-precision (car (gimp-drawable-get-width lay))
                     (car (gimp-drawable-get-height lay)) (car (gimp-image-get-base-type img))
                     (car (gimp-image-get-precision img)))))
         (copy (car (gimp-layer-new-from-drawable lay out))))
    (gimp-image-insert-layer out copy 0 0)
    (gimp-layer-set-offsets copy 0 0)
    (gimp-file-save RUN-NONINTERACTIVE out f -1)
    (gimp-image-delete out)))
(define (report tag img lay)
  (gimp-message (string-append tag " layers=" (n->s (vector-length (layers img)))
    " position=" (n->s (car (gimp-image-get-item-position img lay)))
    " size=" (n->s (car (gimp-drawable-get-width lay))) "x" (n->s (car (gimp-drawable-get-height lay)))
    " offsets=" (n->s (car (gimp-drawable-get-offsets lay))) "," (n->s (cadr (gimp-drawable-get-offsets lay)))
    " type=" (n->s (car (gimp-drawable-type lay)))
    " name=" (car (gimp-item-get-name lay)) ";")))'

# run_gimp LOG -b CMD -b CMD ...: one GIMP start running the batch commands in
# order, then quitting (--quit); its stdout and stderr go to LOG.
run_gimp() {
    log=$1
    shift
    start=$(date +%s)
    rc=0
    timeout 600 gimp-console-3.0 -i -d -f --no-shm --console-messages --stack-trace-mode=never \
        --batch-interpreter plug-in-script-fu-eval "$@" --quit >"$log" 2>&1 || rc=$?
    echo "GIMP ran $(($(date +%s) - start)) s, exit status $rc (124: timed out), log: $log"
}
