"""The dolfinx guard and the lazy, off-screen PyVista import every drawing module goes through."""
from __future__ import annotations

import sys


def check_no_dolfinx() -> None:
    """Refuse to draw in a process that has imported dolfinx (VTK and Debian's dolfinx must not share one)."""
    if "dolfinx" in sys.modules:
        raise RuntimeError(
            "dolfinx was imported into this process after solver.render: rendering here would "
            "abort (PyPI VTK vs Debian dolfinx). Run `python -m solver.render` as a subprocess."
        )


def import_pyvista():
    """Import pyvista lazily (keeps `import solver.render` and error paths fast)."""
    check_no_dolfinx()
    import pyvista as pv

    pv.OFF_SCREEN = True
    return pv
