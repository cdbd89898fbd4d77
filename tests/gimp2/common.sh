# common.sh — sourced by the GIMP 2.10 tests: a throw-away GIMP profile with
# the built plug-in installed, isolated Readout settings, and helpers.
#
# The caller sets NAME; meson sets RG_PLUGIN (the built plug-in), RG_CLI
# (build/core/readout), RG_WORK (this folder in the build tree) and
# READOUT_DATA_DIR (the repository's data/). GIMP 2.10 exits 0 whatever
# happens in batch mode, so everything is checked on files and messages.
set -eu

work="$RG_WORK/$NAME"
rm -rf "$work"
mkdir -p "$work"

export GIMP2_DIRECTORY="$work/profile"
# Folders GIMP otherwise complains about in a fresh profile.
for d in brushes dynamics fonts gradients palettes patterns tool-presets mypaint-brushes plug-ins/readout; do
    mkdir -p "$GIMP2_DIRECTORY/$d"
done
cp "$RG_PLUGIN" "$GIMP2_DIRECTORY/plug-ins/readout/readout"
export READOUT_CONFIG_DIR="$work/config"
mkdir -p "$READOUT_CONFIG_DIR"
# English messages whatever the machine's locale, so that the checks can read them.
export LANG=C.UTF-8 LC_ALL=C.UTF-8 LANGUAGE=
export NO_AT_BRIDGE=1
# The plug-in restarts itself with sleeping OpenMP threads unless a policy is
# set (rg_prefer_passive_waiting); the tests' default setup sets one, so drop
# it here and let the plug-in do that as it does inside a user's GIMP.
unset OMP_WAIT_POLICY

. "$(dirname "$0")/../common/gimp_checks.sh"
. "$(dirname "$0")/../common/gimp_batch_results.sh"

# run_gimp LOG -b CMD -b CMD ...: one GIMP start running the batch commands in
# order; its stdout and stderr go to LOG.
run_gimp() {
    log=$1
    shift
    start=$(date +%s)
    timeout 240 gimp-console-2.10 -i -d -f --no-shm --console-messages --stack-trace-mode=never "$@" \
        -b '(gimp-quit 0)' >"$log" 2>&1 || echo "gimp-console-2.10 exited with $? (124: timed out)"
    echo "GIMP ran $(($(date +%s) - start)) s, log: $log"
}
