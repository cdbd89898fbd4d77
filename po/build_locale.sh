#!/bin/sh
# build_locale.sh MSGFMT OUTDIR STAMP LANG.po... — compiles each catalogue to
# OUTDIR/LANG/LC_MESSAGES/readout.mo (the layout bindtextdomain wants), then
# touches STAMP for meson.
set -eu
msgfmt=$1 outdir=$2 stamp=$3
shift 3
for po in "$@"; do
    lang=$(basename "$po" .po)
    mkdir -p "$outdir/$lang/LC_MESSAGES"
    "$msgfmt" --check -o "$outdir/$lang/LC_MESSAGES/readout.mo" "$po"
done
touch "$stamp"
