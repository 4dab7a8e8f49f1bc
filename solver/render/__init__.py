"""Every picture the product makes, drawn with PyVista in a process that never imports dolfinx.

The PyPI VTK wheel and Debian's dolfinx clash inside one process (see
docs/DEVELOPING.md#environment), so this package only reads the files the solver
wrote into a result folder and is run as its own process::

    python -m solver.render DIR [--fields concentration_mol_m3 von_mises_Pa ...]
    python -m solver.render compare DIR1 DIR2 ... --labels A B ... --field F --out PNG

Pictures written into DIR by ``render_results``:

* ``cross_section_<field>.png``: the z = 0 section through the particle centre, face-on
  (octant and half models are mirrored to the full section), for the registry's drawn fields and every extension
  field the result holds (e.g. o2_mol_m3);
* ``cross_section_<field>_at_peak.png``: the same at the time of the field's peak (stresses: their own; other
  fields: the von Mises peak) when that came before the end (the field files at the peaks: solver/runs.py);
* ``peak_stress_vs_time.png`` (with .pdf and .svg): the peak stress curves from ``timeseries.csv``, drawn with
  matplotlib in the house style (solver/figure_style.py).

Inputs (written by solver/writers.py): ``fields_final.vtu`` / ``fields_<k>.vtu`` (metres,
point arrays in SI), ``snapshots.json``, ``timeseries.csv``, ``summary.json``.

Modules: backend.py (dolfinx guard, lazy pyvista), data.py (result folders, field names and units),
formatting.py (ticks and texts), sections.py (cutting z = 0), drawing.py (section panels),
cross_section.py, curves.py (matplotlib), results.py (everything for one folder), compare.py (side by side),
cli.py and __main__.py (the command line).
"""
from __future__ import annotations

import os
import sys

if "dolfinx" in sys.modules:  # pragma: no cover - exercised in a subprocess by the tests
    raise RuntimeError(
        "solver.render must not be imported in a process that has imported dolfinx: the PyPI VTK "
        "wheel and Debian's dolfinx clash in one process (std::bad_alloc at the first render). "
        "Run it as its own process: python -m solver.render RESULT_DIR"
    )

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkOSOpenGLRenderWindow")

from solver.render.cli import main  # noqa: E402  (only after the guard)
from solver.render.compare import render_comparison  # noqa: E402
from solver.render.cross_section import render_cross_section  # noqa: E402
from solver.render.curves import render_peak_curves  # noqa: E402
from solver.render.data import RenderError  # noqa: E402
from solver.render.results import render_results  # noqa: E402

__all__ = [
    "RenderError",
    "render_results",
    "render_comparison",
    "render_cross_section",
    "render_peak_curves",
    "main",
]
