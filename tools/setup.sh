#!/usr/bin/env bash
# Idempotent set-up on Debian 12 or 13: FEniCSx, the headless-rendering libraries, then a venv with
# this package and its PyPI wheels.
#
# Two sources of FEniCSx (FENICSX=...):
#   system (default)  Debian's python3-dolfinx-real: dolfinx 0.5.2 on Debian 12, 0.9 on Debian 13. The
#                     venv sees it through --system-site-packages, and numpy is held at the system's
#                     version (dolfinx is compiled against it; another numpy in the venv breaks it).
#   wheel             the PyPI binary wheel dolfinx-solver-real (dolfinx 0.11 with PETSc and MPICH inside),
#                     through this package's `fenicsx` extra; needs Python >= 3.12 (Debian 13's python3).
# VENV=... names the venv folder (default .venv), so several flavours can sit side by side.
set -euo pipefail
cd "$(dirname "$0")/.."

FENICSX=${FENICSX:-system}
VENV=${VENV:-.venv}
PYTHON=/usr/bin/python3

case "$FENICSX" in
    system|wheel) ;;
    *) echo "setup: FENICSX=$FENICSX: must be 'system' (Debian's dolfinx) or 'wheel' (PyPI dolfinx-solver-real)" >&2; exit 2 ;;
esac

release=unknown
if [ -r /etc/os-release ]; then
    release=$(. /etc/os-release && echo "${VERSION_CODENAME:-unknown}")
fi

# Headless rendering (OSMesa) and the X/GL libraries the gmsh and VTK wheels link to; make for the
# Makefile (absent from a minimal Debian 13).
APT_PACKAGES=(python3-venv python3-pip libosmesa6 libgl1 libglu1-mesa libxrender1 libxcursor1 libxft2
              libxinerama1 make)
if [ "$FENICSX" = system ]; then
    APT_PACKAGES+=(python3-dolfinx-real openmpi-bin)
else
    # The form compiler builds C extensions at run time: a C compiler and the Python headers.
    APT_PACKAGES+=(python3-dev gcc libc6-dev)
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "setup: installing Debian packages ($release): ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "setup: these Debian packages are missing and apt-get is not usable here (need root):" >&2
        echo "    sudo apt-get install -y ${missing[*]}" >&2
        echo "then run this set-up again." >&2
        exit 1
    fi
fi

if [ "$FENICSX" = system ]; then
    $PYTHON -c "import dolfinx" || { echo "setup: $PYTHON cannot import dolfinx" >&2; exit 1; }
    [ -x "$VENV/bin/python" ] || $PYTHON -m venv --system-site-packages "$VENV"
    numpy_version=$($PYTHON -c "import numpy; print(numpy.__version__)")
    echo "numpy==${numpy_version}" > "$VENV/constraints.txt"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -c "$VENV/constraints.txt" -e ".[test]"
    "$VENV/bin/python" -c "import numpy; assert numpy.__version__ == '${numpy_version}', numpy.__version__"
else
    if ! $PYTHON -c "import sys; sys.exit(sys.version_info < (3, 12))"; then
        echo "setup: FENICSX=wheel needs Python >= 3.12 (the dolfinx-solver-real wheel); $PYTHON is" \
             "$($PYTHON -c 'import platform; print(platform.python_version())'): use Debian 13, or FENICSX=system" >&2
        exit 1
    fi
    # No --system-site-packages: Debian's own dolfinx/petsc4py must not shadow the wheel's.
    [ -x "$VENV/bin/python" ] || $PYTHON -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[fenicsx,test]"
fi
"$VENV/bin/python" -c "import solver.compat, gmsh, meshio, pyvista"
echo "setup: ok ($FENICSX FEniCSx on $release: $("$VENV/bin/python" -c 'import solver.compat as c; print(c.describe())'))"
