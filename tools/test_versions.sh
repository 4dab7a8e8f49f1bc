#!/usr/bin/env bash
# The default test suite on the dolfinx generations this machine does not run natively, then the demo and the
# verification sphere on all three, with their peaks compared (tools/compare_versions.py, 1e-4 relative).
#
#   Debian 12 host: native 0.5.2 (.venv); 0.9 = Debian 13 root, Debian's dolfinx; 0.11 = Debian 13 root, PyPI wheel
#   Debian 13 host: native 0.9 (.venv);   0.5.2 = Debian 12 root;               0.11 = PyPI wheel natively
#
# The native suite is `make test` (run by .ci/run before this). Roots live in a cache folder outside the repository
# (tools/release_root.sh; built when missing, ~3 min, reused after). SKIP_SUITES=1 runs only the comparison.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=results/versions
host=$(. /etc/os-release && echo "${VERSION_CODENAME:-unknown}")
case "$host" in
    bookworm) other=trixie ;;
    trixie) other=bookworm ;;
    *) echo "test_versions: host release '$host': only Debian 12 (bookworm) and 13 (trixie) are supported" >&2; exit 2 ;;
esac

banner() { printf '\n===== %s =====\n' "$*"; }

# One flavour: its default suite ($3 = suite) or not ($3 = nosuite, or SKIP_SUITES=1), then the demo and the
# verification sphere into $OUT/<label>/ through make (set-up included). $1 label, $2 "native" or a release
# root, the rest: make variables.
check_flavour() {
    local label=$1 where=$2 suite=$3; shift 3
    local targets=(demo sphere)
    [ "$suite" = suite ] && [ "${SKIP_SUITES:-0}" != 1 ] && targets=(test demo sphere)
    local command=(make "${targets[@]}" DEMO_OUT="$OUT/$label/demo" SPHERE_OUT="$OUT/$label/sphere" "$@")
    banner "$label: ${command[*]}"
    if [ "$where" = native ]; then
        "${command[@]}"
    else
        tools/release_root.sh run "$where" "${command[@]}"
        rm -rf "$OUT/$label"
        mkdir -p "$OUT/$label"
        cp -r "$(tools/release_root.sh path "$where")/work/particle-solver/$OUT/$label/." "$OUT/$label/"
    fi
}

mkdir -p "$OUT"
check_flavour "native-$host" native nosuite VENV=.venv
if [ "$host" = bookworm ]; then
    check_flavour trixie-system trixie suite VENV=.venv FENICSX=system
    check_flavour trixie-wheel trixie suite VENV=.venv-wheel FENICSX=wheel
else
    check_flavour bookworm-system bookworm suite VENV=.venv FENICSX=system
    check_flavour trixie-wheel native suite VENV=.venv-wheel FENICSX=wheel
fi

banner "the same answers on every dolfinx"
.venv/bin/python tools/compare_versions.py "$OUT"/*/
