"""One face-on z = 0 section of one field of one result folder (cross_section_<field>.png)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from solver.render.data import ResultFolder, peak_of
from solver.render.drawing import Panel, draw_sections, peak_annotation, snapshot_text
from solver.render.formatting import format_range
from solver.render.sections import colour_range, section_for

SECTION_WINDOW = (1100, 900)


def render_cross_section(
    result_dir: str | Path,
    field: str,
    out_png: str | Path | None = None,
    snapshot: str | int = "final",
    window_size: tuple[int, int] = SECTION_WINDOW,
    clim: tuple[float, float] | None = None,
    mirror: bool = True,
    clim_note: str = "",
    peak: str | None = None,
) -> Path:
    """One face-on z = 0 section of one field; returns the PNG path.

    snapshot: a snapshot tag, or "peak": the one at the time of the field's peak (solver/render/data.py peak_of).
    clim: colour range in display units (MPa, mol/m³, ...); default: this section's range. peak: the peak
    quantity the picture is about (its title then says when the snapshot is at that peak's time).
    """
    folder = ResultFolder.open(result_dir)
    snap = folder.snapshot(snapshot, field)
    if peak is None and str(snapshot) == "peak":
        peak = peak_of(field)
    array, style, sec = section_for(folder, snap, field, mirror=mirror)
    if clim is None:
        clim = colour_range(style, [sec.values_si * style.scale])
    xy, mark, peak_line = peak_annotation(folder, array, style, sec)
    lo, hi = np.nanmin(sec.values_si) * style.scale, np.nanmax(sec.values_si) * style.scale
    notes = [f"section z = 0 through the particle centre, R = {sec.radius_um:.3g} µm;"
             f" values on this section {format_range(lo, hi, style.unit)}"]
    if sec.mirrored:
        notes.append(f"symmetry model, mirrored about {sec.mirrored} for display")
    if clim_note:
        notes[0] += f"; {clim_note}"
    if peak_line:
        notes.append(peak_line)
    title = f"{folder.case_name}: {style.label}\n{snapshot_text(snap, peak)}"
    if out_png is None:
        suffix = "_at_peak" if str(snapshot) == "peak" else "" if snap.tag == "final" else f"_{snap.tag}"
        out_png = folder.root / f"cross_section_{array}{suffix}.png"
    return draw_sections([Panel(sec, None, xy, mark)], style, clim, title, "\n".join(notes),
                          Path(out_png), window_size)
