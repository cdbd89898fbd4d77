#!/bin/sh
# run.sh — the gimp3 suite: GIMP 3 for real on a Debian 12 machine. Makes (or
# reuses) the Debian 13 chroot of chroot.sh, copies the source tree into it,
# builds the GIMP 3 plug-in there (-Dgimp=3, warnings as errors, only the
# targets the tests need: the plug-in, core/readout for the inputs, the
# catalogues), then runs batch.sh, errors.sh and dialog.sh (under Xvfb)
# inside it with gimp-console-3.0. Their logs and pictures are copied back to RG_WORK.
#
# Never skips: where the chroot cannot be made (no root, no debootstrap, no
# network) the suite fails and says why. Runs hold a lock on the chroot, so
# that two build folders take turns.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/chroot.sh"

chroot_check_host
exec 9>"$RG_CHROOT.lock"
flock 9
trap chroot_umount EXIT
trap 'exit 143' INT TERM

start=$(date +%s)
chroot_ensure
chroot_mount
echo "gimp3: chroot ready after $(($(date +%s) - start)) s"

# The source as git knows it (tracked and not ignored), else all but build
# folders and dot folders. Files keep their times, so the build folder kept
# in the chroot rebuilds only what changed.
rm -rf "$RG_CHROOT/readout/src"
mkdir -p "$RG_CHROOT/readout/src"
if command -v git >/dev/null && git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$src" && git ls-files -z --cached --others --exclude-standard | tar --null -T - --ignore-failed-read -cf -) |
        tar -C "$RG_CHROOT/readout/src" -xf -
else
    (cd "$src" && tar --exclude='./build*' --exclude='./.*' -cf - .) | tar -C "$RG_CHROOT/readout/src" -xf -
fi

step=$(date +%s)
targets="plugin/gimp3/readout core/readout po/locale.stamp"
in_chroot "cd /readout && if [ ! -f build/build.ninja ]; then rm -rf build &&
    meson setup build src -Dgimp=3 -Dcuda=disabled --werror >setup.log 2>&1 || { cat setup.log; exit 1; }; fi &&
    nice ninja -C build -j${RG_JOBS:-2} $targets" >"$RG_WORK/build.log" 2>&1 || {
    tail -n 40 "$RG_WORK/build.log"
    echo "gimp3: building in the chroot failed (log: $RG_WORK/build.log)"
    exit 1
}
echo "gimp3: built in the chroot in $(($(date +%s) - step)) s ($(grep -c '^\[' "$RG_WORK/build.log") steps)"

status=0
for t in batch errors dialog; do
    step=$(date +%s)
    # The dialog test under a virtual X server of its own (xvfb-run -a).
    run="sh /readout/src/tests/gimp3/$t.sh"
    [ "$t" != dialog ] ||
        run="xvfb-run -a -s '-screen 0 1280x1024x24' sh -c 'RG_DISPLAY=\$DISPLAY sh /readout/src/tests/gimp3/$t.sh'"
    in_chroot "RG_PLUGIN=/readout/build/plugin/gimp3/readout RG_CLI=/readout/build/core/readout RG_WORK=/readout/work \
        READOUT_DATA_DIR=/readout/src/data OMP_NUM_THREADS=2 $run" || status=1
    echo "gimp3: $t took $(($(date +%s) - step)) s"
    rm -rf "${RG_WORK:?}/$t"
    cp -R "$RG_CHROOT/readout/work/$t" "$RG_WORK/$t" 2>/dev/null || true
done
echo "gimp3: $(($(date +%s) - start)) s in all"
exit $status
