#!/usr/bin/env bash
# Idempotent set-up on Debian 12: system FEniCSx + headless rendering libraries, then a venv that
# sees the system dolfinx and gets the PyPI wheels with numpy held at the system's version
# (dolfinx 0.5.2 is compiled against it; numpy 2.x in the venv breaks it).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(python3-dolfinx-real python3-venv python3-pip libosmesa6 libglu1-mesa libxrender1
              libxcursor1 libxft2 libxinerama1 openmpi-bin)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "setup: installing Debian packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "setup: these Debian 12 packages are missing and apt-get is not usable here (need root):" >&2
        echo "    sudo apt-get install -y ${missing[*]}" >&2
        echo "then run this set-up again." >&2
        exit 1
    fi
fi

/usr/bin/python3 -c "import dolfinx" || { echo "setup: /usr/bin/python3 cannot import dolfinx" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
    /usr/bin/python3 -m venv --system-site-packages .venv
fi
numpy_version=$(/usr/bin/python3 -c "import numpy; print(numpy.__version__)")
echo "numpy==${numpy_version}" > .venv/constraints.txt
.venv/bin/python -m pip install -q --disable-pip-version-check -c .venv/constraints.txt -e ".[test]"
.venv/bin/python -c "import dolfinx, gmsh, meshio, pyvista, numpy; assert numpy.__version__ == '${numpy_version}'"
echo "setup: ok (dolfinx $(.venv/bin/python -c 'import dolfinx; print(dolfinx.__version__)'), numpy ${numpy_version})"
