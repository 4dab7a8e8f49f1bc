"""Drawing sections: panels side by side at one length scale with one colour bar, scale bar, peak
markers and the texts that go with them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from solver import quantities
from solver.outputs import sign_png
from solver.render.backend import import_pyvista
from solver.render.data import FieldStyle, ResultFolder, Snapshot, optional_float
from solver.render.formatting import format_number, format_time, nice_number, nice_ticks
from solver.render.sections import Section


@dataclass
class Panel:
    section: Section
    label: str | None
    peak_xy_um: tuple[float, float] | None = None
    peak_text: str | None = None


def peak_titles(names) -> list[str]:
    """The titles of the peak quantities `names` (registry names; unknown ones as written)."""
    known = {q.name: q.title for q in quantities.all_quantities()}
    return [known.get(name, name.replace("_", " ")) for name in names]


def _circle_lines(pv, centre, radius, n=48):
    a = np.linspace(0, 2 * np.pi, n + 1)
    pts = np.c_[centre[0] + radius * np.cos(a), centre[1] + radius * np.sin(a), np.full(n + 1, centre[2])]
    return pv.lines_from_points(pts)


def _round_bar_labels(pl, clim) -> None:
    """Label the colour bar at round values (VTK's own labels split the range evenly)."""
    pv = import_pyvista()
    ticks, fmt = nice_ticks(*clim)
    for bar in list(pl.scalar_bars.values())[-1:]:
        if not hasattr(bar, "SetCustomLabels") or ticks.size < 2:
            return
        arr = pv.convert_array(np.ascontiguousarray(ticks, dtype=np.float64))
        bar.SetUseCustomLabels(True)
        bar.SetCustomLabels(arr)
        bar.SetLabelFormat(fmt)


def draw_sections(
    panels: list[Panel],
    style: FieldStyle,
    clim: tuple[float, float],
    title: str,
    footnote: str,
    out_png: Path,
    window_size: tuple[int, int],
) -> Path:
    """Sections side by side at one length scale, one colour range, one colour bar."""
    pv = import_pyvista()
    pl = pv.Plotter(off_screen=True, window_size=list(window_size))
    pl.set_background("white")
    rmax = max(p.section.radius_um for p in panels)
    gap = 0.45 * rmax
    z_lift = 1e-3 * rmax  # overlays drawn just above the section (camera looks down -z)
    label_room = 0.55 * rmax  # world width a peak label needs beside the particle

    # layout: panel i shifted along x so the panels sit side by side, bottoms aligned by centre
    shifts, boxes, x_cursor = [], [], 0.0
    for panel in panels:
        xmin, xmax, ymin, ymax = panel.section.poly.bounds[:4]
        shift = x_cursor - xmin
        shifts.append(shift)
        boxes.append((xmin + shift, xmax + shift, ymin, ymax))
        x_cursor += (xmax - xmin) + gap
    left = min(bx[0] for bx in boxes) - 0.05 * rmax
    right = max(bx[1] for bx in boxes) + 0.05 * rmax
    ymin = min(bx[2] for bx in boxes)
    ymax = max(bx[3] for bx in boxes)

    bar_args = dict(
        title=style.title + "\n",
        vertical=True,
        position_x=0.85,
        position_y=0.14,
        width=0.05,
        height=0.70,
        color="black",
        n_labels=2,
        title_font_size=18,
        label_font_size=16,
        bold=False,
    )
    for i, (panel, shift, box) in enumerate(zip(panels, shifts, boxes)):
        sec = panel.section
        poly = sec.poly.translate((shift, 0.0, 0.0), inplace=False)
        poly.point_data["_display"] = sec.values_si * style.scale
        pl.add_mesh(
            poly,
            scalars="_display",
            cmap=style.cmap,
            clim=clim,
            lighting=False,
            show_scalar_bar=(i == 0),
            scalar_bar_args=bar_args,
            nan_color="lightgrey",
        )
        if i == 0:
            _round_bar_labels(pl, clim)
        if sec.interfaces is not None:
            pl.add_mesh(sec.interfaces.translate((shift, 0.0, z_lift), inplace=False),
                        color="#404040", line_width=1.5, lighting=False)
        pl.add_mesh(sec.outline.translate((shift, 0.0, 2 * z_lift), inplace=False),
                    color="black", line_width=2.5, lighting=False)
        cx, cy = 0.5 * (box[0] + box[1]), 0.5 * (box[2] + box[3])
        if panel.peak_xy_um is not None:
            px, py = panel.peak_xy_um[0] + shift, panel.peak_xy_um[1]
            rr = 0.045 * rmax
            c = (px, py, 3 * z_lift)
            for colour, width in (("white", 6.0), ("black", 2.5)):
                pl.add_mesh(_circle_lines(pv, c, rr), color=colour, line_width=width, lighting=False)
                pl.add_mesh(pv.Line((px - 1.8 * rr, py, c[2]), (px + 1.8 * rr, py, c[2])),
                            color=colour, line_width=width, lighting=False)
                pl.add_mesh(pv.Line((px, py - 1.8 * rr, c[2]), (px, py + 1.8 * rr, c[2])),
                            color=colour, line_width=width, lighting=False)
            if panel.peak_text:
                # label on the side of the marker away from the particle centre
                east = px >= cx
                north = py >= cy
                lx = px + (2.0 if east else -2.0) * rr
                ly = py + (2.0 if north else -2.0) * rr
                pl.add_point_labels(
                    [[lx, ly, c[2]]], [panel.peak_text], font_size=15, text_color="black",
                    shape="rounded_rect", shape_color="white", shape_opacity=0.85,
                    show_points=False, always_visible=True, bold=False, margin=2,
                    justification_horizontal="left" if east else "right",
                    justification_vertical="bottom" if north else "top",
                )
                if east and i == len(panels) - 1:
                    right = max(right, px + 2.0 * rr + label_room)
                if not east and i == 0:
                    left = min(left, px - 2.0 * rr - label_room)
        if panel.label:
            pl.add_point_labels(
                [[cx, ymax + 0.12 * rmax, 0.0]], [panel.label], font_size=20, text_color="black",
                shape=None, show_points=False, always_visible=True, bold=True,
                justification_horizontal="center", justification_vertical="bottom",
            )

    # scale bar under the first particle
    bar_len = nice_number(0.45 * (boxes[0][1] - boxes[0][0]))
    y_bar = ymin - 0.14 * rmax
    x0 = boxes[0][0]
    pl.add_mesh(pv.Line((x0, y_bar, 0.0), (x0 + bar_len, y_bar, 0.0)), color="black", line_width=5)
    for xe in (x0, x0 + bar_len):
        pl.add_mesh(pv.Line((xe, y_bar - 0.03 * rmax, 0.0), (xe, y_bar + 0.03 * rmax, 0.0)),
                    color="black", line_width=3)
    pl.add_point_labels(
        [[x0 + 0.5 * bar_len, y_bar - 0.06 * rmax, 0.0]], [f"{bar_len:g} µm"], font_size=16,
        text_color="black", shape=None, show_points=False, always_visible=True, bold=False,
        justification_horizontal="center", justification_vertical="top",
    )

    # frame: content box into the screen area left of the colour bar, under the title
    top = ymax + (0.35 * rmax if any(p.label for p in panels) else 0.05 * rmax)
    bottom = y_bar - 0.25 * rmax
    W, H = window_size
    aspect = W / H
    sx0, sx1 = 0.03, 0.80  # usable screen fractions
    sy0, sy1 = 0.10, 0.85
    ps = max((top - bottom) / (2 * (sy1 - sy0)), (right - left) / (2 * aspect * (sx1 - sx0)))
    cx_world = 0.5 * (left + right) + (0.5 - 0.5 * (sx0 + sx1)) * 2 * ps * aspect
    cy_world = 0.5 * (top + bottom) + (0.5 - 0.5 * (sy0 + sy1)) * 2 * ps
    pl.camera_position = [(cx_world, cy_world, 50.0 * rmax), (cx_world, cy_world, 0.0), (0.0, 1.0, 0.0)]
    pl.camera.parallel_projection = True
    pl.camera.parallel_scale = ps
    pl.reset_camera_clipping_range()

    pl.add_text(title, position="upper_edge", font_size=15, color="black")
    if footnote:
        pl.add_text(footnote, position="lower_left", font_size=11, color="#202020")
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    pl.screenshot(str(out_png))
    pl.close()
    sign_png(out_png)   # the tool's own file: a later render may replace it (solver/outputs.py)
    return out_png


def peak_annotation(folder: ResultFolder, array: str, style: FieldStyle, sec: Section):
    """(xy in um, marker label, footnote line) for the run's peak of this field, if known."""
    entry = folder.peak(array)
    if entry is None:
        return None, None, ""
    try:
        pos = np.asarray(entry["position_m"], dtype=float).reshape(3) * 1e6
    except (TypeError, ValueError):
        return None, None, ""
    value = optional_float(entry.get("value_Pa"))
    rfrac = optional_float(entry.get("radius_fraction"))
    t = optional_float(entry.get("time_s"))
    vtxt = format_number(value * style.scale, style.unit) if value is not None else "?"
    where = f"r/R = {rfrac:.2f}" if rfrac is not None else ""
    near = abs(pos[2]) <= 0.05 * sec.radius_um
    parts = [f"run peak {style.label}: {vtxt}", where, format_time(t) if t is not None else ""]
    line = ", ".join(p for p in parts if p)
    if near:
        line += f"  (marked +, z = {pos[2]:.2f} µm)"
        return (float(pos[0]), float(pos[1])), f"peak {vtxt}", line
    line += f"  (off this section: z = {pos[2]:.2f} µm)"
    return None, None, line


def state_of_charge_text(soc: float) -> str:
    """The state of charge as a caption: "SOC = 0.52" within [0, 1]; outside it, what the number is (the fraction
    of the Li-fraction window the mean Li fraction has passed, e.g. 1.04 when the run went on past the window's
    end), never "SOC = 1.04"."""
    if -5e-3 <= soc <= 1 + 5e-3:   # the last step may overshoot the window's end by round-off
        return f"SOC = {min(max(soc, 0.0), 1.0):.2f}"
    where = "past its end" if soc > 1 else "before its start"
    return f"mean Li {where}: {soc:.2f} of the Li-fraction window"


def snapshot_text(snap: Snapshot, peak: str | None = None) -> str:
    """The caption of a snapshot: time, state of charge, which snapshot it is, and on a line of its own whether it
    is the time of the run's peak of quantity `peak` (or, without one, of any peak it holds)."""
    parts = [format_time(snap.time_s)]
    if snap.state_of_charge is not None:
        parts.append(state_of_charge_text(snap.state_of_charge))
    if snap.tag == "final":
        parts.append("final state")
    elif not snap.peaks:
        parts.append(f"snapshot {snap.tag}")
    text = ", ".join(parts)
    if peak is not None and peak in snap.peaks:
        text += f"\nat the time of the {peak_titles([peak])[0]} peak"
    elif peak is None and snap.peaks:
        text += "\nat the time of a stress peak"
    return text
