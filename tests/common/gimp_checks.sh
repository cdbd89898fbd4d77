# gimp_checks.sh — sourced by the GIMP 2.10 and GIMP 3 tests: counting
# checks, and checks on the pictures and logs the batch runs leave (GIMP's
# exit status says little, so everything is checked on files and messages).
# The caller sets $log to the log that finish() prints when a check failed.

failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}
ok() {
    echo "ok: $*"
}

# expect_size FILE W H
expect_size() {
    if [ ! -f "$1" ]; then
        fail "$1 was not written"
        return
    fi
    size=$(identify -format '%wx%h' "$1")
    if [ "$size" = "$2x$3" ]; then ok "$(basename "$1") is $size"; else fail "$1 is $size, not $2x$3"; fi
}

# expect_menus PLUGINRC: GIMP registered the three procedures with their
# menu labels under Filters → Generative → Readout.
expect_menus() {
    for label in _Drag... _Identity... "_Pose Fill..."; do
        if grep -q "^ *\"$label\"$" "$1"; then ok "menu label $label"; else fail "no menu label $label in $1"; fi
    done
    n=$(grep -c '(menu-path "<Image>/Filters/Generative/Readout")' "$1" || true)
    if [ "$n" = 3 ]; then ok "3 procedures under Filters/Generative/Readout"; else fail "$n procedures in the menu, not 3"; fi
}

# expect_same A B: the two pictures have no differing pixel.
expect_same() {
    if [ ! -f "$1" ] || [ ! -f "$2" ]; then
        fail "$1 or $2 was not written"
        return
    fi
    ae=$(compare -metric AE "$1" "$2" null: 2>&1 || true)
    if [ "$ae" = "0" ]; then ok "$(basename "$1") = $(basename "$2")"; else fail "$1 and $2 differ in $ae pixels"; fi
}

# expect_differ A B: the two pictures are not the same (the job did something).
expect_differ() {
    [ -f "$1" ] && [ -f "$2" ] || return 0
    ae=$(compare -metric AE "$1" "$2" null: 2>&1 || true)
    if [ "$ae" != "0" ]; then ok "$(basename "$1") differs from $(basename "$2")"; else fail "$1 = $2"; fi
}

# expect_log LOG TEXT: TEXT (fixed string) is in LOG.
expect_log() {
    if grep -qF -- "$2" "$1"; then ok "log has: $2"; else fail "$1 lacks: $2"; fi
}

finish() {
    if [ "$failures" -gt 0 ]; then
        echo "--- $log"
        cat "$log"
        echo "$failures check(s) failed"
        exit 1
    fi
    echo "all checks passed"
}
