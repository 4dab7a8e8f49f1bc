"""Peak stresses against time or state of charge from timeseries.csv (peak_stress_vs_time.png, .pdf and .svg),
drawn with matplotlib in the house style (solver/figure_style.py).

Each peak quantity of the registry (solver/quantities.py) is one series with its own colour, line style and
marker, in registry order, so the curves that coincide on a sphere (von Mises, max. principal and hoop at the
surface; radial and hydrostatic at the centre) all stay visible and the legend shows what is drawn. A quantity
whose peak is "the largest magnitude, with its sign" (radial, hydrostatic) is labelled so, and its curve is broken
where the sign flips: the peak then moved from tension at one place to compression at another, and a line through
zero would suggest values that never occurred.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from solver import figure_style, quantities
from solver.render.data import RenderError, ResultFolder, read_timeseries

SIGNED_PEAK_NOTE = "largest magnitude, sign kept"


@dataclass
class Series:
    """One curve: its legend label, the registry quantity (None: a column the registry does not know), x and y."""

    label: str
    quantity: object | None
    x: np.ndarray
    y: np.ndarray

    @property
    def signed_peak(self) -> bool:
        return self.quantity is not None and self.quantity.peak == "max_magnitude_signed"


def peak_columns(cols: dict[str, np.ndarray]) -> list[tuple[str, str]]:
    """[(column, quantity name)] for the peak_*_Pa columns, the registry's in registry order first."""
    order = [q.name for q in quantities.peak_quantities()]
    found = [(name, name[len("peak_"): -len("_Pa")]) for name in cols
             if name.startswith("peak_") and name.endswith("_Pa")]
    found.sort(key=lambda nk: (order.index(nk[1]) if nk[1] in order else len(order), nk[1]))
    return found


def x_axis(cols: dict[str, np.ndarray], x: str) -> tuple[np.ndarray, str]:
    """The x values and their axis label: time in min (h for runs over 1000 min), or the state of charge."""
    if x == "soc":
        if "state_of_charge" not in cols:
            raise RenderError("timeseries.csv has no 'state_of_charge' column")
        return cols["state_of_charge"], "state of charge (fraction of the Li window)"
    t = cols["time_s"]
    if t.size and np.nanmax(np.abs(t)) > 1000 * 60:
        return t / 3600.0, "time (h)"
    return t / 60.0, "time (min)"


def curve_series(cols: dict[str, np.ndarray], x: str) -> tuple[str, list[Series]]:
    """(x label, the curves in MPa) of the finite peak columns."""
    xv, xlabel = x_axis(cols, x)
    series = []
    for column, name in peak_columns(cols):
        known = quantities.by_field_name(name + "_Pa")
        scale = known.display_scale if known else 1e-6
        y = cols[column] * scale
        ok = np.isfinite(xv) & np.isfinite(y)
        if not ok.any():
            continue
        if known is None:
            text = figure_style.name_text(name.replace("_", " "))
        elif known.peak == "max_magnitude_signed":
            text = f"{figure_style.name_text(known.title)} ({SIGNED_PEAK_NOTE})"
        else:
            text = figure_style.name_text(known.title)
        series.append(Series(text, known, xv[ok], y[ok]))
    return xlabel, series


def curves_figure(title: str, xlabel: str, series: list[Series]):
    """The matplotlib Figure of `series` (MPa) in the house style; call inside figure_style.style()."""
    fig, ax = figure_style.figure("column", height_in=3.6)
    ys = np.concatenate([s.y for s in series])
    if ys.min() < 0 < ys.max():
        ax.axhline(0.0, color=figure_style.NEUTRAL_COLOUR, lw=0.6, zorder=0)
    for i, s in enumerate(series):
        x, y = figure_style.break_at_sign_changes(s.x, s.y) if s.signed_peak else (s.x, s.y)
        style = figure_style.series_style(i, len(series), s.x.size)
        if s.quantity is not None and s.quantity.colour:   # a quantity may fix its own colour
            style["color"] = s.quantity.colour
        ax.plot(x, y, label=s.label, **style)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"peak stress ({figure_style.unit_text('MPa')}), tension > 0")
    ax.set_title(title)
    xs = np.concatenate([s.x for s in series])
    if xs.max() > xs.min():
        ax.set_xlim(xs.min(), xs.max())
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1)
    return fig


def render_peak_curves(result_dir: str | Path, out_png: str | Path | None = None, x: str = "time") -> list[Path]:
    """Peak stresses (MPa) against time or state of charge from timeseries.csv; returns the files written (PNG,
    PDF, SVG)."""
    if x not in ("time", "soc"):
        raise RenderError(f"x = {x!r}: must be 'time' or 'soc'")
    root = Path(result_dir)
    cols = read_timeseries(root / "timeseries.csv")
    folder = ResultFolder.open(root)
    xlabel, series = curve_series(cols, x)
    if not series:
        raise RenderError(f"{root / 'timeseries.csv'} has no finite peak_*_Pa values to plot")
    out_png = Path(out_png) if out_png is not None else root / (
        "peak_stress_vs_time.png" if x == "time" else "peak_stress_vs_soc.png")
    with figure_style.style():
        return figure_style.save(curves_figure(f"{folder.case_name}: peak stresses", xlabel, series), out_png)
