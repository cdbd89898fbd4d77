# chroot.sh — sourced by the GIMP 3 tests: a Debian 13 (trixie) chroot with
# GIMP 3 and the build tools, since Debian 12 has no GIMP 3.
#
#   RG_CHROOT  the chroot's folder (default: $READOUT_GIMP3_CHROOT, else
#              /var/tmp/readout-gimp3-trixie)
#   chroot_ensure   makes it, or reuses a complete one (idempotent)
#   chroot_mount    mounts /proc (and a /dev/shm) in it; chroot_umount undoes that
#   in_chroot CMD   runs CMD with /bin/sh inside, with a clean environment
#
# Made in two steps, each with a stamp inside the chroot, so that a run killed
# half-way is detected and repaired instead of used: debootstrap (the base
# system; without its stamp the folder is removed and made again), then
# apt-get install of $chroot_packages (its stamp holds the package list, so a
# changed list installs again on top). The recipe is the one verified in
# docs/gimp_plugin_notes.md, section 6: big packages given to debootstrap's
# --include are left unconfigured, so they go through apt-get afterwards.

RG_CHROOT=${READOUT_GIMP3_CHROOT:-/var/tmp/readout-gimp3-trixie}
chroot_mirror=${READOUT_GIMP3_MIRROR:-http://deb.debian.org/debian}
# GIMP 3 and its development files, what this project's build and the tests'
# checks (ImageMagick's compare and identify, Xvfb and xdotool for the
# dialog) need, and a French locale:
# gettext ignores LANGUAGE under C.UTF-8 here, so the French check runs in
# fr_FR.UTF-8.
chroot_packages="gimp libgimp-3.0-dev libgegl-dev libgtk-3-dev meson ninja-build gcc pkg-config
libglib2.0-dev libjson-glib-dev libpng-dev libopenblas-openmp-dev gettext imagemagick locales xvfb xauth xdotool"
chroot_locales="fr_FR.UTF-8"
chroot_env="PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8"
chroot_env="$chroot_env DEBIAN_FRONTEND=noninteractive"

chroot_die() {
    echo "gimp3: $*" >&2
    exit 1
}

# Fails (never skips: CI must see it) when the chroot cannot be made here.
chroot_check_host() {
    [ "$(uname -s)" = Linux ] || chroot_die "a Debian chroot needs Linux"
    [ "$(id -u)" = 0 ] || chroot_die "making and entering the Debian 13 chroot needs root (run the suite as root)"
    command -v chroot >/dev/null || chroot_die "chroot (coreutils) not found"
    command -v flock >/dev/null || chroot_die "flock (util-linux) not found"
    case $RG_CHROOT in
    /?*) ;;
    *) chroot_die "READOUT_GIMP3_CHROOT must be an absolute path, not '$RG_CHROOT'" ;;
    esac
}

chroot_umount() {
    for m in "$RG_CHROOT/dev/shm" "$RG_CHROOT/proc"; do
        if mountpoint -q "$m" 2>/dev/null; then
            # A process still inside (a GIMP killed by the timeout) keeps it
            # busy; a lazy unmount detaches it all the same.
            umount "$m" 2>/dev/null || umount -l "$m" || echo "gimp3: cannot unmount $m" >&2
        fi
    done
}

chroot_mount() {
    mountpoint -q "$RG_CHROOT/proc" || mount -t proc proc "$RG_CHROOT/proc"
    mkdir -p "$RG_CHROOT/dev/shm"
    mountpoint -q "$RG_CHROOT/dev/shm" || mount -t tmpfs -o size=256m,mode=1777 shm "$RG_CHROOT/dev/shm"
}

in_chroot() {
    # shellcheck disable=SC2086 # chroot_env is a list of words
    env -i $chroot_env chroot "$RG_CHROOT" /bin/sh -c "$1"
}

chroot_remove() {
    chroot_umount
    # --one-file-system: never follow a mount that is still there.
    rm -rf --one-file-system "$RG_CHROOT"
    [ ! -e "$RG_CHROOT" ] || chroot_die "cannot remove the half-made chroot $RG_CHROOT"
}

chroot_ensure() {
    base_stamp="$RG_CHROOT/.readout-base-complete"
    packages_stamp="$RG_CHROOT/.readout-packages"
    if [ ! -f "$base_stamp" ]; then
        command -v debootstrap >/dev/null ||
            chroot_die "debootstrap not found: 'apt-get install debootstrap' to make the Debian 13 chroot"
        if [ -e "$RG_CHROOT" ]; then
            echo "gimp3: $RG_CHROOT is incomplete; making it again"
            chroot_remove
        fi
        echo "gimp3: making the Debian 13 chroot $RG_CHROOT (debootstrap, a few minutes)"
        mkdir -p "$(dirname "$RG_CHROOT")"
        t0=$(date +%s)
        debootstrap --variant=minbase trixie "$RG_CHROOT" "$chroot_mirror" >"$RG_CHROOT.debootstrap.log" 2>&1 || {
            tail -n 30 "$RG_CHROOT.debootstrap.log" >&2
            chroot_remove
            chroot_die "debootstrap trixie failed (log above; is $chroot_mirror reachable?)"
        }
        # No service may start inside; the host's name servers for apt.
        printf '#!/bin/sh\nexit 101\n' >"$RG_CHROOT/usr/sbin/policy-rc.d"
        chmod 755 "$RG_CHROOT/usr/sbin/policy-rc.d"
        touch "$base_stamp"
        echo "gimp3: debootstrap took $(($(date +%s) - t0)) s"
    fi
    want=$(echo $chroot_packages)
    # The stamp holds what was installed; anything else installs again on top.
    stamp="$want; locales: $chroot_locales"
    if [ "$(cat "$packages_stamp" 2>/dev/null)" != "$stamp" ]; then
        echo "gimp3: installing GIMP 3 and the build tools in the chroot (apt-get)"
        t0=$(date +%s)
        cp -L /etc/resolv.conf "$RG_CHROOT/etc/resolv.conf"
        chroot_mount
        in_chroot "apt-get update -qq && apt-get install -y -qq --no-install-recommends $want" \
            >"$RG_CHROOT.apt.log" 2>&1 || {
            tail -n 30 "$RG_CHROOT.apt.log" >&2
            chroot_die "apt-get install in the chroot failed (log above)"
        }
        for l in $chroot_locales; do
            grep -qx "$l UTF-8" "$RG_CHROOT/etc/locale.gen" || echo "$l UTF-8" >>"$RG_CHROOT/etc/locale.gen"
        done
        in_chroot "locale-gen >/dev/null && apt-get clean" || chroot_die "locale-gen in the chroot failed"
        echo "$stamp" >"$packages_stamp"
        echo "gimp3: apt-get took $(($(date +%s) - t0)) s"
    fi
}
