"""Every picture of one result folder (``python -m solver.render DIR``)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from solver import quantities
from solver.render.backend import check_no_dolfinx
from solver.render.cross_section import SECTION_WINDOW, render_cross_section
from solver.render.curves import render_peak_curves
from solver.render.data import RenderError, ResultFolder, Snapshot, peak_of, require_file
from solver.render.sections import colour_range, point_arrays, section_for

# the quantities drawn by default (solver/quantities.py: `drawn`), in registry order; extension fields a result
# holds (e.g. o2_mol_m3) are added to them (default_fields)
DEFAULT_FIELDS = tuple(q.field_name for q in quantities.all_quantities() if q.drawn)


def default_fields(snap: Snapshot) -> list[str]:
    """The registry's drawn quantities and every extension quantity whose field the snapshot's file holds."""
    present = set(point_arrays(snap))
    extension = [q.field_name for q in quantities.all_quantities()
                 if q.sampled == "extension" and q.field_name in present]
    return [*DEFAULT_FIELDS, *extension]


def render_results(
    result_dir: str | Path,
    fields: Sequence[str] | None = None,
    snapshot: str | int = "final",
    curves: bool = True,
    curve_x: str = "time",
    window_size: tuple[int, int] = SECTION_WINDOW,
    at_peak: bool = True,
) -> list[Path]:
    """All pictures of one result folder; returns the files written.

    fields: the point arrays to draw (default: `default_fields`). snapshot: "final" (fields_final.vtu), a snapshot
    tag (fields_<tag>.vtu), "peak" (each field at the time of its peak) or "all" (every fields_*.vtu; one shared
    colour range per field so the frames compare).
    at_peak: with snapshot "final", also each field at the time of its peak (`peak_of`) as
    cross_section_<field>_at_peak.png, unless that time is the final one (the final picture then says so).
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
        for f in (default_fields(folder.snapshots[-1]) if fields is None else fields):
            secs = [(s, *section_for(folder, s, f)) for s in folder.snapshots]
            style = secs[0][2]
            clim = colour_range(style, [sec.values_si * style.scale for _, _, _, sec in secs])
            for s, _, _, _ in secs:
                written.append(render_cross_section(
                    root, f, snapshot=s.tag, clim=clim, window_size=window_size, peak=peak_of(f),
                    clim_note="colour range shared by all snapshots"))
    else:
        shown = folder.snapshot(snapshot)  # names the missing file early
        for f in (default_fields(shown) if fields is None else fields):
            peak = peak_of(f)
            written.append(render_cross_section(root, f, snapshot=snapshot, window_size=window_size, peak=peak))
            at = folder.peak_snapshot(peak) if peak and at_peak and str(snapshot) == "final" else None
            if at is not None and at.tag != shown.tag:
                picture = written[-1]
                written.append(render_cross_section(root, f, snapshot=at.tag, window_size=window_size, peak=peak,
                                                    out_png=picture.with_name(picture.stem + "_at_peak.png")))
    if curves:
        written += render_peak_curves(root, x=curve_x)
    return written
