"""A chosen metric of the results table against the swept parameter(s), drawn with pyvista.Chart2D.

x is a swept key (default: the first); with a second swept key of a few values, one line per value.
Only cases with a result (status completed or cutoff) and a finite metric are drawn. Runs in the
sweep driver (solver.render's import guard refuses a process that has loaded dolfinx).
"""
from __future__ import annotations

import math
import re
from pathlib import Path

from solver.sweep.spec import Sweep
from solver.sweep.store import GOOD_STATUSES

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f")
MAX_SERIES = len(PALETTE)
WINDOW = (1000, 650)


def is_number(value) -> bool:
    """A finite int or float (not a bool): a value that can be drawn on a numeric axis."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _display(metric: str) -> tuple[float, str]:
    """Scale and axis label of a metric column: stresses in MPa, the rest as stored."""
    if metric.endswith("_Pa"):
        return 1e-6, f"{metric.removesuffix('_Pa')} (MPa)"
    return 1.0, metric


def default_axes(sweep: Sweep, x: str | None, series: str | None) -> tuple[str | None, str | None]:
    swept = list(sweep.swept_keys)
    x = x or (swept[0] if swept else None)
    if series is None:
        others = [k for k in swept if k != x]
        series = others[0] if others else None
    return x, series


def _positions(values: list) -> tuple[list[float], list[str] | None]:
    """Numbers stay numbers; anything else becomes categories 0, 1, ... with its text as tick labels."""
    if all(is_number(v) for v in values):
        return [float(v) for v in values], None
    labels = list(dict.fromkeys(str(v) for v in values))
    return [float(labels.index(str(v))) for v in values], labels


def _padded(low: float, high: float, fraction: float = 0.06) -> list[float]:
    span = high - low or abs(high) or 1.0
    return [low - fraction * span, high + fraction * span]


def plot_metric(sweep: Sweep, rows: list[dict], out_dir: Path, metric: str, x: str | None = None,
                series: str | None = None) -> tuple[Path | None, str]:
    """Write out_dir/results_<metric>.png; returns (path or None, a note saying what was or was not drawn)."""
    x, series = default_axes(sweep, x, series)
    if x is None:
        return None, "nothing is swept: no plot"
    if not any(metric in row for row in rows):
        known = sorted({k for row in rows for k, v in row.items() if is_number(v)})
        return None, f"metric {metric!r} is not a column of the table (numeric columns: {', '.join(known)})"
    points = [row for row in rows if row["status"] in GOOD_STATUSES and is_number(row.get(metric))]
    if not points:
        return None, f"no finished case has a value of {metric!r}: no plot"
    groups: dict[str, list[dict]] = {}
    series_values = {str(row.get(series)) for row in points} if series else set()
    if series and len(series_values) > MAX_SERIES:
        series = None  # too many lines to tell apart: one cloud of points
    for row in points:
        groups.setdefault(f"{series} = {row.get(series)}" if series else metric, []).append(row)
    scale, ylabel = _display(metric)
    xs, labels = _positions([row[x] for row in points])
    position = {id(row): value for row, value in zip(points, xs)}

    from solver.render.backend import import_pyvista

    pv = import_pyvista()
    chart = pv.Chart2D(x_label=x, y_label=ylabel)
    chart.title = f"{sweep.name}: {len(points)} of {len(rows)} cases"
    for colour, (label, members) in zip(PALETTE * 4, groups.items()):
        members.sort(key=lambda row: position[id(row)])
        gx = [position[id(row)] for row in members]
        gy = [row[metric] * scale for row in members]
        if len(members) > 1:
            chart.line(gx, gy, color=colour, width=2.5, label=label)
        chart.scatter(gx, gy, color=colour, size=9, style="o", label="" if len(members) > 1 else label)
    ys = [row[metric] * scale for row in points]
    chart.x_range = _padded(min(xs), max(xs))
    chart.y_range = _padded(min(ys), max(ys))
    if labels is not None:
        chart.x_axis.tick_locations = list(range(len(labels)))
        chart.x_axis.tick_labels = labels
    chart.legend_visible = len(groups) > 1
    out_png = Path(out_dir) / f"results_{re.sub(r'[^A-Za-z0-9_.-]', '_', metric)}.png"
    plotter = pv.Plotter(off_screen=True, window_size=list(WINDOW))
    plotter.set_background("white")
    plotter.add_chart(chart)
    plotter.screenshot(str(out_png))
    plotter.close()
    return out_png, f"{metric} against {x}" + (f", one line per {series}" if series else "")
