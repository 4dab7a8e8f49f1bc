"""A chosen metric of the results table against the swept parameter(s), drawn with matplotlib in the house style
(solver/figure_style.py): results_<metric>.png with its PDF and SVG.

x is a swept key (default: the first); with a second swept key of a few values, one line per value, each with its
own colour, line style and marker. Axis labels come from the quantity registry (peak stresses) and the schema's
help (swept keys), never the raw dotted keys. Only cases with a result (status completed or cutoff) and a finite
metric are drawn. Runs in the sweep driver.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

from solver import figure_style, quantities
from solver.keyref import key_label
from solver.sweep.spec import Sweep
from solver.sweep.store import GOOD_STATUSES

MAX_SERIES = 8   # more values of the series key than this: one cloud of points (lines would not tell apart)


def is_number(value) -> bool:
    """A finite int or float (not a bool): a value that can be drawn on a numeric axis."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def metric_axis(metric: str) -> tuple[float, str]:
    """Scale and axis label of a results-table column: a peak from the quantity registry ("peak von Mises stress
    (MPa)", "r/R of the peak ...", "time of the peak ... (min)"), else the column's words with its unit."""
    parts = metric.split(".")
    if len(parts) == 3 and parts[0] == "peak" and parts[1] in {q.name for q in quantities.all_quantities()}:
        known = quantities.get(parts[1])
        if parts[2] == "value_Pa":
            return known.display_scale, figure_style.quantity_label(known, "peak ")
        if parts[2] == "radius_fraction":
            return 1.0, f"r/R of the peak {figure_style.name_text(known.title)}"
        if parts[2] == "time_s":
            return 1 / 60, figure_style.label(f"time of the peak {known.title}", "min")
    title, unit = key_label(metric)
    if unit == "Pa":
        return 1e-6, figure_style.label(title, "MPa")
    return 1.0, figure_style.label(title, unit)


def key_axis(key: str) -> str:
    """The axis or legend label of a swept case key, from the schema's help (solver/keyref.py)."""
    return figure_style.label(*key_label(key))


def key_value_label(key: str, value) -> str:
    """A legend entry of one value of a swept key: "particle radius = 5.0 µm", words from the schema's help."""
    title, unit = key_label(key)
    unit = f" {figure_style.unit_text(unit)}" if unit else ""
    return f"{figure_style.name_text(title)} = {value}{unit}"


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
        groups.setdefault(str(row.get(series)) if series else metric, []).append(row)
    scale, ylabel = metric_axis(metric)
    xs, labels = _positions([row[x] for row in points])
    position = {id(row): value for row, value in zip(points, xs)}
    with figure_style.style():
        fig, ax = figure_style.figure("column", height_in=2.9 + 0.14 * max(len(groups) - 1, 0))
        for i, (group, members) in enumerate(groups.items()):
            members.sort(key=lambda row: position[id(row)])
            style = figure_style.series_style(i, len(groups))
            if len(members) < 2:
                style["linestyle"] = "none"
            ax.plot([position[id(row)] for row in members], [row[metric] * scale for row in members],
                    label=key_value_label(series, group) if series else None, **style)
        if labels is not None:
            ax.set_xticks(range(len(labels)), labels)
            ax.tick_params(axis="x", which="minor", bottom=False, top=False)
        ax.set_xlabel(key_axis(x))
        ax.set_ylabel(ylabel)
        ax.set_title(f"{sweep.name}: {len(points)} of {len(rows)} cases")
        ax.margins(x=0.06, y=0.08)
        if series:   # below the axes: a legend inside could hide a point
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=1)
        out_png = Path(out_dir) / f"results_{re.sub(r'[^A-Za-z0-9_.-]', '_', metric)}.png"
        figure_style.save(fig, out_png)
    return out_png, f"{metric} against {x}" + (f", one line per {series}" if series else "")
