"""The one house style of every line figure: matplotlib settings, journal sizes, the colour-blind-safe palette,
a fixed order of line styles and markers, axis labels from the quantity registry, and PNG + PDF + SVG output.

Every line plot of the product (the peak-stress curves of solver/render/curves.py, the sweep plot, the study
figures, the kinetic case's voltage plot) is drawn through this module, so they share fonts, sizes, ticks and
colours, and each series keeps its look from figure to figure.

- Palette: Okabe & Ito, "Color Universal Design (CUD): how to make figures and presentations that are friendly to
  colorblind people" (2008), https://jfly.uni-koeln.de/color/ ; also recommended by Wong, Nature Methods 8, 441
  (2011). Its eight colours stay distinct under protanopia, deuteranopia and tritanopia; yellow comes last (it is
  faint on white). Pass/fail coding uses its blue and vermillion (never red against green), always with a legend.
- Series: colour, line style and marker advance together in a fixed order, and markers are spaced (markevery) with
  an offset per series, so curves that coincide (the four or five peak stresses of a sphere) all stay visible.
- Sizes: one journal column is 3.5 in (89 mm) wide, a full page width 7.2 in (183 mm); text 8 pt.
- Ticks point inwards and the labels sit outside the axes, so a tick never cuts through a label; the layout is
  matplotlib's constrained layout, so labels and legends are never clipped.
- Output: `save` writes PNG (300 dpi) and, beside it with the same stem, PDF and SVG (text kept as text, so a
  journal's editor can restyle it); each file carries this tool's name, which solver/outputs.py reads to tell files
  it wrote from a user's.

matplotlib only (the Agg canvas, no pyplot state, no GUI): usable in the solver's process, the renderer's process
and a notebook alike. No VTK, no dolfinx.
"""
from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from solver.outputs import SIGNATURE

# Okabe-Ito (2008), in the order series take them; see the module docstring
OKABE_ITO = {
    "blue": "#0072B2", "vermillion": "#D55E00", "bluish_green": "#009E73", "reddish_purple": "#CC79A7",
    "orange": "#E69F00", "sky_blue": "#56B4E9", "black": "#000000", "yellow": "#F0E442",
}
PALETTE = tuple(OKABE_ITO.values())
LINE_STYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (8, 2)), (0, (3, 1, 3, 3)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
# pass/fail coding (e.g. within a tolerance band or not): blue and vermillion, distinct for every colour vision
PASS_COLOUR, FAIL_COLOUR = OKABE_ITO["blue"], OKABE_ITO["vermillion"]
NEUTRAL_COLOUR = "#7f7f7f"   # reference lines and bands (a grey, not a series colour)

COLUMN_WIDTH_IN = 3.5    # one journal column (89 mm)
PAGE_WIDTH_IN = 7.2      # a full page width (183 mm)
PNG_DPI = 300
VECTOR_FORMATS = ("pdf", "svg")
MARKERS_PER_CURVE = 8    # markers on a curve of many points (spaced, not one per point)

RC = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 8.0,
    "axes.titlesize": 8.0,
    "axes.labelsize": 8.0,
    "legend.fontsize": 7.0,
    "xtick.labelsize": 7.0,
    "ytick.labelsize": 7.0,
    "axes.linewidth": 0.6,
    "lines.linewidth": 1.2,
    "lines.markersize": 3.5,
    "xtick.direction": "in",
    "ytick.direction": "in",
    "xtick.top": True,
    "ytick.right": True,
    "xtick.major.size": 3.0,
    "ytick.major.size": 3.0,
    "xtick.minor.visible": True,
    "ytick.minor.visible": True,
    "xtick.minor.size": 1.5,
    "ytick.minor.size": 1.5,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "axes.grid": False,
    "axes.prop_cycle": None,   # set below: the palette
    "legend.frameon": False,
    "legend.handlelength": 2.6,   # long enough to show a dash-dot pattern and a marker
    "savefig.dpi": PNG_DPI,
    "pdf.fonttype": 42,         # TrueType fonts embedded: text stays text
    "svg.fonttype": "none",     # text as <text>, editable
    "svg.hashsalt": "particle-solver",   # stable ids: the same figure gives the same file
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}


def _rc() -> dict:
    from cycler import cycler

    return {**RC, "axes.prop_cycle": cycler(color=PALETTE)}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """The house rcParams for the duration (restored afterwards: a notebook's own settings are left alone)."""
    import matplotlib

    with matplotlib.rc_context(_rc()):
        yield


def figure(width: str | float = "column", height_in: float | None = None, nrows: int = 1, ncols: int = 1,
           **subplot_kw):
    """(Figure, axes) on the Agg canvas at a journal size: width "column" (3.5 in), "page" (7.2 in) or inches.
    Call inside `style()`. No pyplot: nothing global is touched and nothing needs closing."""
    from matplotlib.figure import Figure

    width_in = {"column": COLUMN_WIDTH_IN, "page": PAGE_WIDTH_IN}.get(width, width)
    if not isinstance(width_in, (int, float)):
        raise ValueError(f"figure width {width!r}: 'column', 'page' or inches")
    fig = Figure(figsize=(float(width_in), height_in or 0.75 * float(width_in) / max(ncols, 1) * nrows),
                 layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True, **subplot_kw)
    return fig, axes


def series_style(index: int, count: int = 1, points: int = 0) -> dict:
    """Keyword arguments of `Axes.plot` for series `index` of `count`: its colour, line style and marker in the fixed
    order, and for a curve of more than MARKERS_PER_CURVE points markers every few points, shifted per series so
    that coinciding curves show all their markers side by side."""
    kw = {"color": PALETTE[index % len(PALETTE)], "linestyle": LINE_STYLES[index % len(LINE_STYLES)],
          "marker": MARKERS[index % len(MARKERS)]}
    step = points // MARKERS_PER_CURVE
    if step >= max(count, 2):   # room to shift: each series marks other points than the others
        kw["markevery"] = (index * step // count, step)
    elif count > 1:   # every point marked: earlier series get larger markers, so stacked ones show as rings
        kw["markersize"] = RC["lines.markersize"] * (1 + 0.3 * (min(count, 5) - 1 - min(index, 4)))
    return kw


def unit_text(unit: str) -> str:
    """A unit as printed on a figure: 'mol/m^3' -> 'mol/m³', 'm^2' -> 'm²', 'um' -> 'µm'."""
    unit = re.sub(r"\bum\b", "µm", unit)
    return unit.replace("^3", "³").replace("^2", "²").replace("^-1", "⁻¹")


def name_text(text: str) -> str:
    """Chemical formulas in a label with subscripts: 'O2 concentration' -> 'O₂ concentration'."""
    return text.replace("O2", "O₂")


def label(title: str, unit: str = "") -> str:
    """'title (unit)' as printed: units with superscripts, formulas with subscripts, no raw keys."""
    unit = unit_text(unit)
    return f"{name_text(title)} ({unit})" if unit else name_text(title)


def quantity_label(quantity, prefix: str = "") -> str:
    """The axis or legend label of a registered quantity (solver/quantities.py): its title and display unit."""
    title = f"{prefix}{quantity.title}" if prefix else quantity.title
    return label(title, quantity.display_unit)


def break_at_sign_changes(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x, y with a NaN between consecutive points of opposite sign, so that a "largest magnitude, with its sign"
    series jumping from tension at one place to compression at another is drawn as two branches, not as a steep
    line through zero that would read as a value that was never there."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    # a flip between values near zero (the unloaded start) is no jump: both sides must be 1 % of the largest
    sign = np.where(np.abs(y) > 1e-2 * np.max(np.abs(y), initial=0.0), np.sign(y), 0.0)
    flips = np.flatnonzero(sign[1:] * sign[:-1] < 0) + 1
    if flips.size == 0:
        return x, y
    return np.insert(x, flips, np.nan), np.insert(y, flips, np.nan)


def save(fig, png: str | Path, formats: Sequence[str] = VECTOR_FORMATS) -> list[Path]:
    """Write `png` (PNG_DPI) and the same figure as PDF and SVG beside it (same stem); the paths written, PNG first.
    Each file's metadata names this tool (solver/outputs.py: a file the tool wrote may be replaced by it)."""
    png = Path(png)
    if png.suffix.lower() != ".png":
        raise ValueError(f"{png}: the figure's file name must end in .png (PDF and SVG are written beside it)")
    written = []
    for suffix in ("png", *formats):
        path = png.with_suffix(f".{suffix}")
        metadata = {"png": {"Software": SIGNATURE}, "pdf": {"Creator": SIGNATURE, "CreationDate": None},
                    "svg": {"Creator": SIGNATURE, "Date": None}}[suffix]
        fig.savefig(path, format=suffix, metadata=metadata, bbox_inches="tight", pad_inches=0.03)
        written.append(path)
    return written
