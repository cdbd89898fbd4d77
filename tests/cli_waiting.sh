#!/bin/sh
# `readout` restarts itself with sleeping OpenMP threads that spin briefly
# first, unless the user chose a policy (rg_prefer_passive_waiting).
# Usage: tests/cli_waiting.sh READOUT
set -eu
readout=$1
check() { # expected-line env-args...
    want=$1
    shift
    got=$(env "$@" "$readout" info | grep '^waiting threads:')
    [ "$got" = "waiting threads:   $want" ] || { echo "expected '$want', got '$got'" >&2; exit 1; }
}
check "passive, spin 300" -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT
check "passive, spin 5000" -u OMP_WAIT_POLICY GOMP_SPINCOUNT=5000
check "active" -u GOMP_SPINCOUNT OMP_WAIT_POLICY=active
echo ok
