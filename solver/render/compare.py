"""Side-by-side z = 0 sections of several result folders (``python -m solver.render compare``)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from solver.outputs import check_output_file
from solver.render.backend import check_no_dolfinx
from solver.render.data import RenderError, ResultFolder, peak_of
from solver.render.drawing import Panel, draw_sections, peak_annotation, snapshot_text
from solver.render.formatting import format_range
from solver.render.sections import colour_range, section_for

PANEL_WIDTH = 560  # pixels per particle in a comparison picture
PANEL_HEIGHT = 720


def render_comparison(
    result_dirs: Sequence[str | Path],
    labels: Sequence[str] | None,
    field: str,
    out_png: str | Path,
    snapshot: str | int = "final",
    window_size: tuple[int, int] | None = None,
    mirror: bool = True,
) -> Path:
    """Side-by-side z = 0 sections of one field, one shared colour range and length scale."""
    check_no_dolfinx()
    out_png = check_output_file(out_png)   # never over a file this tool did not write (solver/outputs.py)
    result_dirs = [Path(d) for d in result_dirs]
    if not result_dirs:
        raise RenderError("render_comparison needs at least one result folder")
    folders = [ResultFolder.open(d) for d in result_dirs]
    if labels is None or len(labels) == 0:
        labels = [f.case_name for f in folders]
    if len(labels) != len(folders):
        raise RenderError(f"{len(labels)} labels given for {len(folders)} result folders")
    snaps = [f.snapshot(snapshot, field) for f in folders]
    built = [section_for(f, s, field, mirror=mirror) for f, s in zip(folders, snaps)]
    arrays = {a for a, _, _ in built}
    if len(arrays) > 1:
        raise RenderError(f"field {field!r} resolves to different arrays: {sorted(arrays)}")
    style = built[0][1]
    clim = colour_range(style, [sec.values_si * style.scale for _, _, sec in built])
    panels, notes = [], []
    for folder, snap, label, (array, _, sec) in zip(folders, snaps, labels, built):
        xy, mark, line = peak_annotation(folder, array, style, sec)
        lo = np.nanmin(sec.values_si) * style.scale
        hi = np.nanmax(sec.values_si) * style.scale
        notes.append(f"{label}: {snapshot_text(snap, peak_of(field)).replace(chr(10), ', ')}; section {format_range(lo, hi, style.unit)}"
                     + (f"; {line}" if line else "")
                     + (f"; symmetry model mirrored about {sec.mirrored}" if sec.mirrored else ""))
        panels.append(Panel(sec, label, xy, mark))
    if window_size is None:
        window_size = (max(900, PANEL_WIDTH * len(panels) + 260), PANEL_HEIGHT)
    title = f"{style.label}, z = 0 sections, shared colour range"
    return draw_sections(panels, style, clim, title, "\n".join(notes), Path(out_png), window_size)
