"""Peak stresses against time or state of charge from timeseries.csv (peak_stress_vs_time.png): the VTK
2D chart, and a fallback that draws the curves as 3D primitives."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from solver.render.backend import import_pyvista
from solver import quantities
from solver.render.data import RenderError, ResultFolder, read_timeseries
from solver.render.formatting import nice_number, nice_step

CURVES_WINDOW = (1100, 700)

_SPARE_COLOURS = ("#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def _peak_columns(cols: dict[str, np.ndarray]) -> list[tuple[str, str]]:
    """[(column, short key)] for peak_*_Pa columns, known ones first in a fixed order."""
    order = [q.name for q in quantities.peak_quantities()]
    found = []
    for name in cols:
        if name.startswith("peak_") and name.endswith("_Pa"):
            found.append((name, name[len("peak_"): -len("_Pa")]))
    found.sort(key=lambda nk: (order.index(nk[1]) if nk[1] in order else len(order), nk[1]))
    return found


def _curve_series(cols, x: str):
    if x == "soc":
        if "state_of_charge" not in cols:
            raise RenderError("timeseries.csv has no 'state_of_charge' column")
        xv, xlabel = cols["state_of_charge"], "state of charge (-)"
    else:
        t = cols["time_s"]
        long_run = t.size > 0 and np.nanmax(np.abs(t)) > 1000 * 60
        if long_run:
            xv, xlabel = t / 3600.0, "time (h)"
        else:
            xv, xlabel = t / 60.0, "time (min)"
    series = []
    spare = iter(_SPARE_COLOURS * 4)
    for name, key in _peak_columns(cols):
        y = cols[name] * 1e-6
        ok = np.isfinite(xv) & np.isfinite(y)
        if not ok.any():
            continue
        known = quantities.by_field_name(key + "_Pa")
        label = known.title if known else key.replace("_", " ")
        series.append((label, (known.colour if known else None) or next(spare), xv[ok], y[ok]))
    return xlabel, series


def _image_is_blank(img: np.ndarray) -> bool:
    return img is None or float(np.asarray(img, dtype=float).std()) < 2.0


def _curves_chart2d(pv, title, xlabel, series, window_size, out_png) -> bool:
    chart = pv.Chart2D(size=(0.79, 0.93), loc=(0.0, 0.0), x_label=xlabel, y_label="peak stress (MPa)")
    chart.border_style = ""  # no frame around the chart area
    for ax in (chart.x_axis, chart.y_axis):
        ax.label_size = 18
        ax.tick_label_size = 15
    ymin = min(float(s[3].min()) for s in series)
    ymax = max(float(s[3].max()) for s in series)
    xmin = min(float(s[2].min()) for s in series)
    xmax = max(float(s[2].max()) for s in series)
    if ymax > ymin:  # round y range and ticks (VTK's automatic ticks come out crowded)
        step = nice_step((max(ymax, 0.0) - min(ymin, 0.0)) / 8)
        y0 = math.floor(min(ymin, 0.0) / step) * step
        y1 = math.ceil(max(ymax, 0.0) / step) * step
        ticks = np.arange(y0, y1 + 0.5 * step, step)
        chart.y_range = [y0, y1]
        chart.y_axis.tick_locations = ticks
        chart.y_axis.tick_labels = [f"{t:g}" for t in ticks]
    if xmax > xmin:
        chart.x_range = [xmin, xmax]
    if ymin < 0 < ymax and xmax > xmin:
        chart.line([xmin, xmax], [0.0, 0.0], color="#a0a0a0", width=1.0, style="--")
    for label, colour, xv, yv in series:
        if xv.size > 1:
            chart.line(xv, yv, color=colour, width=3.0)
        else:
            chart.scatter(xv, yv, color=colour, size=10)
    chart.legend_visible = False
    pl = pv.Plotter(off_screen=True, window_size=list(window_size))
    pl.set_background("white")
    pl.add_chart(chart)
    _curve_legend_and_title(pl, title, series)
    img = pl.screenshot(str(out_png), return_img=True)
    pl.close()
    return not _image_is_blank(img)


def _curve_legend_and_title(pl, title, series) -> None:
    pl.add_text(title, position="upper_edge", font_size=15, color="black")
    height = min(0.6, 0.06 * len(series))
    legend = pl.add_legend(
        labels=[[label, colour] for label, colour, _, _ in series],
        bcolor="white", border=False, size=(0.18, height), loc="center right", face="rectangle",
    )
    if legend is not None and hasattr(legend, "SetPosition2"):  # right of the plot, not on it
        legend.SetPosition(0.805, 0.5 - height / 2)
        legend.SetPosition2(0.18, height)


def _curves_primitives(pv, title, xlabel, series, window_size, out_png) -> bool:
    """Fallback without the VTK 2D chart: lines, axes and ticks drawn as 3D primitives."""
    xs = np.concatenate([s[2] for s in series])
    ys = np.concatenate([s[3] for s in series] + [np.array([0.0])])
    x0, x1 = float(xs.min()), float(xs.max())
    y0, y1 = float(ys.min()), float(ys.max())
    if x1 <= x0:
        x1 = x0 + 1.0
    if y1 <= y0:
        y1 = y0 + 1.0
    ty = nice_number((y1 - y0) / 5)
    tx = nice_number((x1 - x0) / 6)
    y0, y1 = math.floor(y0 / ty) * ty, math.ceil(y1 / ty) * ty
    W, H = window_size
    aspect = W / H
    aw = 0.72 * aspect  # plot box [0, aw] x [0, 1] in world units
    X = lambda v: (np.asarray(v) - x0) / (x1 - x0) * aw  # noqa: E731
    Y = lambda v: (np.asarray(v) - y0) / (y1 - y0)  # noqa: E731
    pl = pv.Plotter(off_screen=True, window_size=list(window_size))
    pl.set_background("white")
    box = np.array([[0, 0, 0], [aw, 0, 0], [aw, 1, 0], [0, 1, 0], [0, 0, 0]], dtype=float)
    pl.add_mesh(pv.lines_from_points(box), color="black", line_width=1.5, lighting=False)
    tick_pts, tick_lab = [], []
    for v in np.arange(y0, y1 + 0.5 * ty, ty):
        yy = float(Y(v))
        pl.add_mesh(pv.Line((0, yy, -0.01), (aw, yy, -0.01)), color="#e8e8e8", line_width=1)
        tick_pts.append((-0.015, yy, 0.0))
        tick_lab.append(f"{v:g}")
    pl.add_point_labels(tick_pts, tick_lab, font_size=14, text_color="black", shape=None,
                        show_points=False, always_visible=True, bold=False,
                        justification_horizontal="right", justification_vertical="center")
    tick_pts, tick_lab = [], []
    for v in np.arange(math.ceil(x0 / tx) * tx, x1 + 1e-9 * (x1 - x0), tx):
        xx = float(X(v))
        pl.add_mesh(pv.Line((xx, 0, -0.01), (xx, 1, -0.01)), color="#e8e8e8", line_width=1)
        tick_pts.append((xx, -0.02, 0.0))
        tick_lab.append(f"{v:g}")
    pl.add_point_labels(tick_pts, tick_lab, font_size=14, text_color="black", shape=None,
                        show_points=False, always_visible=True, bold=False,
                        justification_horizontal="center", justification_vertical="top")
    if y0 < 0 < y1:
        pl.add_mesh(pv.Line((0, float(Y(0.0)), 0), (aw, float(Y(0.0)), 0)), color="#a0a0a0", line_width=1)
    for label, colour, xv, yv in series:
        pts = np.c_[X(xv), Y(yv), np.full(xv.size, 0.01)]
        if xv.size > 1:
            pl.add_mesh(pv.lines_from_points(pts), color=colour, line_width=3, lighting=False)
        else:
            pl.add_points(pts, color=colour, point_size=10)
    pl.add_point_labels([(aw / 2, -0.085, 0)], [xlabel], font_size=16, text_color="black", shape=None,
                        show_points=False, always_visible=True, justification_horizontal="center",
                        justification_vertical="top")
    pl.add_point_labels([(0.0, 1.02, 0)], ["peak stress (MPa)"], font_size=16, text_color="black",
                        shape=None, show_points=False, always_visible=True,
                        justification_horizontal="center", justification_vertical="bottom")
    _curve_legend_and_title(pl, title, series)
    # box [0, aw] x [0, 1] into screen fractions x [0.10, 0.78], y [0.13, 0.86]
    ps = 1.0 / (2 * (0.86 - 0.13))
    cx = aw / 2 + (0.5 - 0.44) * 2 * ps * aspect
    cy = 0.5 + (0.5 - 0.495) * 2 * ps
    scale_x = aw / ((0.78 - 0.10) * 2 * ps * aspect)
    if scale_x > 1:  # box too wide for the screen share: zoom out
        ps *= scale_x
    pl.camera_position = [(cx, cy, 10.0), (cx, cy, 0.0), (0, 1, 0)]
    pl.camera.parallel_projection = True
    pl.camera.parallel_scale = ps
    pl.reset_camera_clipping_range()
    img = pl.screenshot(str(out_png), return_img=True)
    pl.close()
    return not _image_is_blank(img)


def render_peak_curves(
    result_dir: str | Path,
    out_png: str | Path | None = None,
    x: str = "time",
    backend: str = "auto",
    window_size: tuple[int, int] = CURVES_WINDOW,
) -> Path:
    """Peak stresses (MPa) against time (min) or state of charge from timeseries.csv.

    backend: "chart2d" (VTK 2D chart), "primitives" (lines drawn as 3D primitives) or "auto"
    (chart2d, falling back to primitives if the chart raises or renders blank).
    """
    if x not in ("time", "soc"):
        raise RenderError(f"x = {x!r}: must be 'time' or 'soc'")
    if backend not in ("auto", "chart2d", "primitives"):
        raise RenderError(f"backend = {backend!r}: must be 'auto', 'chart2d' or 'primitives'")
    root = Path(result_dir)
    cols = read_timeseries(root / "timeseries.csv")
    folder = ResultFolder.open(root)
    xlabel, series = _curve_series(cols, x)
    if not series:
        raise RenderError(f"{root / 'timeseries.csv'} has no finite peak_*_Pa values to plot")
    out_png = Path(out_png) if out_png is not None else root / (
        "peak_stress_vs_time.png" if x == "time" else "peak_stress_vs_soc.png")
    title = f"{folder.case_name}: peak stresses"
    pv = import_pyvista()
    if backend in ("auto", "chart2d"):
        try:
            if _curves_chart2d(pv, title, xlabel, series, window_size, out_png):
                return out_png
            problem = "rendered a blank image"
        except Exception as exc:  # noqa: BLE001 - VTK context errors vary by build
            problem = f"raised {type(exc).__name__}: {exc}"
        if backend == "chart2d":
            raise RenderError(f"pyvista.Chart2D {problem}")
        print(f"render: Chart2D {problem}; drawing curves with primitives", file=sys.stderr)
    if not _curves_primitives(pv, title, xlabel, series, window_size, out_png):
        raise RenderError(f"curve picture {out_png} came out blank")
    return out_png
