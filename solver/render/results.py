"""Every picture of one result folder (``python -m solver.render DIR``)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from solver import quantities
from solver.render.backend import check_no_dolfinx
from solver.render.cross_section import SECTION_WINDOW, render_cross_section
from solver.render.curves import render_peak_curves
from solver.render.data import RenderError, ResultFolder, require_file
from solver.render.sections import colour_range, section_for

# the quantities drawn by default (solver/quantities.py: `drawn`), in registry order
DEFAULT_FIELDS = tuple(q.field_name for q in quantities.all_quantities() if q.drawn)


def render_results(
    result_dir: str | Path,
    fields: Sequence[str] = DEFAULT_FIELDS,
    snapshot: str | int = "final",
    curves: bool = True,
    curve_x: str = "time",
    curve_backend: str = "auto",
    window_size: tuple[int, int] = SECTION_WINDOW,
) -> list[Path]:
    """All pictures of one result folder; returns the PNG paths written.

    snapshot: "final" (fields_final.vtu), a snapshot number k (fields_<k>.vtu) or "all" (every
    fields_*.vtu; one shared colour range per field so the frames compare).
    """
    check_no_dolfinx()
    root = Path(result_dir)
    if not root.is_dir():
        raise RenderError(f"result folder {root} does not exist")
    folder = ResultFolder.open(root)
    if curves:
        require_file(root / "timeseries.csv", "time series written by the solver")
    written: list[Path] = []
    if str(snapshot) == "all":
        if not folder.snapshots:
            raise RenderError(f"missing file {root / 'fields_final.vtu'} (no fields_*.vtu in {root})")
        for f in fields:
            secs = [(s, *section_for(folder, s, f)) for s in folder.snapshots]
            style = secs[0][2]
            clim = colour_range(style, [sec.values_si * style.scale for _, _, _, sec in secs])
            for s, _, _, _ in secs:
                written.append(render_cross_section(
                    root, f, snapshot=s.tag, clim=clim, window_size=window_size,
                    clim_note="colour range shared by all snapshots"))
    else:
        folder.snapshot(snapshot)  # names the missing file early
        for f in fields:
            written.append(render_cross_section(root, f, snapshot=snapshot, window_size=window_size))
    if curves:
        written.append(render_peak_curves(root, x=curve_x, backend=curve_backend))
    return written
