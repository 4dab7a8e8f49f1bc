#!/usr/bin/env bash
# A Debian root of another release (bookworm = Debian 12, trixie = Debian 13) kept in a cache folder
# outside the repository, so that one machine can test this project on the dolfinx of both releases.
#
#   tools/release_root.sh build RELEASE           make the root if it is missing (~3 min, ~2.6 GB)
#   tools/release_root.sh run RELEASE COMMAND...  copy this working tree into the root and run COMMAND there
#   tools/release_root.sh path RELEASE            print where the root lives
#
# Cache folder: $PARTICLE_SOLVER_ROOTS (default /var/cache/particle-solver/roots). Needs root and
# debootstrap (installed with apt when missing). The Debian mirror is the host's own (from its apt
# sources), so the root reaches the same archive the host does.
#
# Traps handled (measured): the host's environment (pip find-links, pyenv variables) leaks into the
# root unless commands run under `env -i` with an explicit PATH; pip inside needs the host's
# resolv.conf and CA certificates; MPI needs /proc, /sys and a tmpfs on /dev/shm, which are unmounted
# on every exit path; a minimal root lacks `make`.
set -euo pipefail

ROOTS=${PARTICLE_SOLVER_ROOTS:-/var/cache/particle-solver/roots}
REPO=$(cd "$(dirname "$0")/.." && pwd)
# Where the working tree is copied inside the root; its venvs stay there between runs.
ROOT_WORKDIR=/work/particle-solver
ROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# What a root needs before the project's own set-up runs (tools/setup.sh installs the rest).
BASE_PACKAGES="ca-certificates make"

die() { echo "release_root: $*" >&2; exit 1; }

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

check_release() {
    case "$1" in
        bookworm|trixie) ;;
        *) die "release '$1': must be bookworm (Debian 12) or trixie (Debian 13)" ;;
    esac
}

host_mirror() {
    # The first Debian archive URI of the host's apt sources (deb822 or one-line format).
    local uri
    uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null \
          | awk '{print $2}' | grep -v -- '-security' | head -n1 || true)
    if [ -z "$uri" ]; then
        uri=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
              | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) {print $i; exit}}' \
              | grep -v -- '-security' | head -n1 || true)
    fi
    [ -n "$uri" ] || die "no Debian archive found in the host's apt sources"
    echo "$uri"
}

copy_network_config() {
    # DNS and the host's extra CA certificates (pip and apt over https inside the root).
    local root=$1
    cp -L /etc/resolv.conf "$root/etc/resolv.conf"
    if [ -d /usr/local/share/ca-certificates ]; then
        mkdir -p "$root/usr/local/share/ca-certificates"
        cp -rL /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
    fi
}

MOUNTED=()
unmount_all() {
    local i
    for (( i = ${#MOUNTED[@]} - 1; i >= 0; i-- )); do
        umount -l "${MOUNTED[$i]}" 2>/dev/null || true
    done
    MOUNTED=()
}

mount_kernel_filesystems() {
    local root=$1
    trap unmount_all EXIT INT TERM
    mkdir -p "$root/proc" "$root/sys" "$root/dev/shm" "$root/dev/pts"
    mount -t proc proc "$root/proc" && MOUNTED+=("$root/proc")
    mount -t devpts devpts "$root/dev/pts" && MOUNTED+=("$root/dev/pts")
    mount -t sysfs sysfs "$root/sys" && MOUNTED+=("$root/sys")
    mount -t tmpfs -o size=2g tmpfs "$root/dev/shm" && MOUNTED+=("$root/dev/shm")
}

in_root() {
    # Run a command in the root with a clean environment (nothing of the host's leaks in).
    local root=$1; shift
    chroot "$root" env -i HOME=/root PATH="$ROOT_PATH" LANG=C.UTF-8 TERM=dumb \
        DEBIAN_FRONTEND=noninteractive CI="${CI:-}" "$@"
}

build_root() {
    local release=$1 root="$ROOTS/$1"
    if [ -f "$root/.particle-solver-root-ready" ]; then
        return 0
    fi
    [ "$(id -u)" = 0 ] || die "building a root needs root (debootstrap, chroot, mount)"
    if ! command -v debootstrap >/dev/null; then
        echo "release_root: installing debootstrap"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null \
            || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
    fi
    local staging="$root.partial"
    # A staging root left by an interrupted build is ours (it lives under our cache folder).
    rm -rf "$staging"
    mkdir -p "$ROOTS"
    local mirror
    mirror=$(host_mirror)
    echo "release_root: debootstrap $release into $root (mirror from the host's apt sources)"
    debootstrap --variant=minbase "$release" "$staging" "$mirror" >"$ROOTS/$release.debootstrap.log" 2>&1 \
        || die "debootstrap $release failed; see $ROOTS/$release.debootstrap.log"
    copy_network_config "$staging"
    (
        mount_kernel_filesystems "$staging"
        in_root "$staging" apt-get update -qq
        in_root "$staging" apt-get install -y -qq --no-install-recommends $BASE_PACKAGES >/dev/null
        in_root "$staging" update-ca-certificates >/dev/null
    )
    touch "$staging/.particle-solver-root-ready"
    mv "$staging" "$root"
    echo "release_root: $release ready ($(du -sh "$root" 2>/dev/null | cut -f1))"
}

copy_tree() {
    # The working tree as git sees it (ignored files left out), stale files removed; what is ignored
    # in the root's copy (its venvs, mesh cache, results) is kept between runs.
    local root=$1 dest="$1$ROOT_WORKDIR"
    mkdir -p "$dest"
    rsync -a --delete --exclude=/.git --filter=':- .gitignore' "$REPO/" "$dest/"
}

run_in_root() {
    local release=$1; shift
    local root="$ROOTS/$release"
    [ -f "$root/.particle-solver-root-ready" ] || build_root "$release"
    command -v rsync >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rsync >/dev/null
    copy_network_config "$root"
    copy_tree "$root"
    mount_kernel_filesystems "$root"
    local status=0
    in_root "$root" bash -c 'cd "$0" && exec "$@"' "$ROOT_WORKDIR" "$@" || status=$?
    unmount_all
    trap - EXIT INT TERM
    return $status
}

[ $# -ge 2 ] || usage
command=$1 release=$2
shift 2
check_release "$release"
case "$command" in
    build) build_root "$release" ;;
    run) [ $# -ge 1 ] || usage; run_in_root "$release" "$@" ;;
    path) echo "$ROOTS/$release" ;;
    *) usage ;;
esac
