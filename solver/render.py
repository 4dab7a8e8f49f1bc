"""Every picture the product makes, drawn with PyVista in a process that never imports dolfinx.

The PyPI VTK wheel and Debian's dolfinx clash inside one process (see
../shared/docs/environment.md, "CRASH TRAP"), so this module only reads the files the solver
wrote into a result folder and is run as its own process::

    python -m solver.render DIR [--fields concentration_mol_m3 von_mises_Pa ...]
    python -m solver.render compare DIR1 DIR2 ... --labels A B ... --field F --out PNG

Pictures written into DIR by ``render_results``:

* ``cross_section_<field>.png``: the z = 0 section through the particle centre, face-on
  (octant and half models are mirrored to the full section);
* ``peak_stress_vs_time.png``: the peak stress curves from ``timeseries.csv``.

Inputs (written by solver/writers.py): ``fields_final.vtu`` / ``fields_<k>.vtu`` (metres,
point arrays in SI), ``snapshots.json``, ``timeseries.csv``, ``summary.json``.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
from dataclasses import dataclass, field as dc_field
from pathlib import Path
from typing import Sequence

if "dolfinx" in sys.modules:  # pragma: no cover - exercised in a subprocess by the tests
    raise RuntimeError(
        "solver.render must not be imported in a process that has imported dolfinx: the PyPI VTK "
        "wheel and Debian's dolfinx clash in one process (std::bad_alloc at the first render). "
        "Run it as its own process: python -m solver.render RESULT_DIR"
    )

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkOSOpenGLRenderWindow")

import numpy as np  # noqa: E402  (numpy is safe; pyvista is imported lazily, see _pv())

__all__ = [
    "RenderError",
    "render_results",
    "render_comparison",
    "render_cross_section",
    "render_peak_curves",
    "main",
]

DEFAULT_FIELDS = ("concentration_mol_m3", "von_mises_Pa")
SECTION_WINDOW = (1100, 900)
CURVES_WINDOW = (1100, 700)
PANEL_WIDTH = 560  # pixels per particle in a comparison picture
PANEL_HEIGHT = 720

# summary.json "peak" keys for the stress arrays
_PEAK_KEY = {
    "von_mises_Pa": "von_mises",
    "max_principal_Pa": "max_principal",
    "hoop_Pa": "hoop",
    "radial_Pa": "radial",
    "hydrostatic_Pa": "hydrostatic",
}

_CURVE_COLOURS = {
    "von_mises": "#1f77b4",
    "max_principal": "#d62728",
    "hoop": "#2ca02c",
    "radial": "#9467bd",
    "hydrostatic": "#ff7f0e",
}
_SPARE_COLOURS = ("#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


class RenderError(RuntimeError):
    """A picture cannot be made from the result folder; the message says which file or array."""


# --------------------------------------------------------------------------------------------
# guards and small helpers
# --------------------------------------------------------------------------------------------
def _check_no_dolfinx() -> None:
    if "dolfinx" in sys.modules:
        raise RuntimeError(
            "dolfinx was imported into this process after solver.render: rendering here would "
            "abort (PyPI VTK vs Debian dolfinx). Run `python -m solver.render` as a subprocess."
        )


def _pv():
    """Import pyvista lazily (keeps `import solver.render` and error paths fast)."""
    _check_no_dolfinx()
    import pyvista as pv

    pv.OFF_SCREEN = True
    return pv


def _require(path: Path, what: str) -> Path:
    if not path.is_file():
        raise RenderError(f"missing file {path} ({what})")
    return path


def _nice_number(x: float) -> float:
    """Largest of 1, 2, 5 x 10^k not above x."""
    if x <= 0 or not math.isfinite(x):
        return 1.0
    k = math.floor(math.log10(x))
    for m in (5.0, 2.0, 1.0):
        if m * 10**k <= x:
            return m * 10**k
    return 10**k


def _nice_step(x: float) -> float:
    """Smallest of 1, 2, 5 x 10^k not below x."""
    if x <= 0 or not math.isfinite(x):
        return 1.0
    k = math.floor(math.log10(x))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * 10**k >= x * (1 - 1e-12):
            return m * 10**k
    return 10 ** (k + 1)


def nice_ticks(lo: float, hi: float, target: int = 8) -> tuple[np.ndarray, str]:
    """Round tick values inside [lo, hi] and a printf format that shows them exactly."""
    step = _nice_step((hi - lo) / target)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = np.arange(first, hi + 1e-9 * step, step)
    ticks[np.abs(ticks) < 1e-9 * step] = 0.0
    decimals = max(0, -int(math.floor(math.log10(step) + 1e-9)))
    return ticks, f"%.{decimals}f"


def _fmt_range(lo: float, hi: float, unit: str) -> str:
    """'lo to hi unit' with as many decimals as the span needs."""
    span = abs(hi - lo) or max(abs(lo), abs(hi))
    if span == 0 or not math.isfinite(span):
        return f"{lo:g} to {hi:g} {unit}".strip()
    decimals = max(0, 1 - int(math.floor(math.log10(span / 10))))
    decimals = min(decimals, 6)
    return f"{lo:.{decimals}f} to {hi:.{decimals}f} {unit}".strip()


def _fmt_number(v: float, unit: str = "") -> str:
    a = abs(v)
    if a == 0 or not math.isfinite(v):
        s = f"{v:g}"
    elif a >= 100:
        s = f"{v:.0f}"
    elif a >= 10:
        s = f"{v:.1f}"
    elif a >= 0.01:
        s = f"{v:.3g}"
    else:
        s = f"{v:.2e}"
    return f"{s} {unit}".strip()


def _fmt_time(t_s: float | None) -> str:
    if t_s is None or not math.isfinite(t_s):
        return "t = ?"
    if abs(t_s) < 120:
        return f"t = {t_s:.3g} s"
    if abs(t_s) < 600 * 60:
        return f"t = {t_s / 60:.1f} min"
    return f"t = {t_s / 3600:.2f} h"


# --------------------------------------------------------------------------------------------
# field names, units, colour maps
# --------------------------------------------------------------------------------------------
@dataclass
class FieldStyle:
    array: str  # name of the point array in the .vtu
    label: str  # human name
    unit: str  # display unit
    scale: float  # SI value * scale = display value
    cmap: str
    signed: bool  # diverging colour map, range symmetric about zero

    @property
    def title(self) -> str:
        if self.signed and self.unit == "MPa":
            return f"{self.label} ({self.unit})\ntension > 0"
        if not self.unit:
            return self.label
        sep = "\n" if len(self.label) + len(self.unit) > 22 else " "
        return f"{self.label}{sep}({self.unit})"


_KNOWN = {
    "concentration_mol_m3": ("Li concentration", "mol/m³", 1.0, "viridis", False),
    "li_fraction": ("Li fraction", "", 1.0, "viridis", False),
    "von_mises_Pa": ("von Mises stress", "MPa", 1e-6, "inferno", False),
    "max_principal_Pa": ("max. principal stress", "MPa", 1e-6, "coolwarm", True),
    "hydrostatic_Pa": ("hydrostatic stress", "MPa", 1e-6, "coolwarm", True),
    "hoop_Pa": ("hoop stress", "MPa", 1e-6, "coolwarm", True),
    "radial_Pa": ("radial stress", "MPa", 1e-6, "coolwarm", True),
}
_ALIASES = {
    "concentration": "concentration_mol_m3",
    "c": "concentration_mol_m3",
    "displacement": "displacement_m",
    "von_mises": "von_mises_Pa",
    "vm": "von_mises_Pa",
    "max_principal": "max_principal_Pa",
    "hydrostatic": "hydrostatic_Pa",
    "hoop": "hoop_Pa",
    "radial": "radial_Pa",
}


def resolve_field(name: str, available: Sequence[str]) -> str:
    """The .vtu array name for a user-given field name (with or without its unit suffix)."""
    available = list(available)
    candidates = [name, _ALIASES.get(name, name)]
    candidates += [name + suffix for suffix in ("_Pa", "_mol_m3", "_m")]
    for c in candidates:
        if c in available:
            return c
    raise RenderError(
        f"field {name!r} is not in the result file; available fields: {', '.join(sorted(available))}"
    )


def field_style(array: str, values_si: np.ndarray | None = None) -> FieldStyle:
    if array in _KNOWN:
        label, unit, scale, cmap, signed = _KNOWN[array]
        return FieldStyle(array, label, unit, scale, cmap, signed)
    base = array
    if array.endswith("_Pa"):
        base = array[: -len("_Pa")]
        signed = values_si is not None and np.nanmin(values_si) < 0 < np.nanmax(values_si)
        return FieldStyle(array, base.replace("_", " ") + " stress", "MPa", 1e-6,
                          "coolwarm" if signed else "inferno", bool(signed))
    if array.endswith("_mol_m3"):
        base = array[: -len("_mol_m3")]
        return FieldStyle(array, base.replace("_", " "), "mol/m³", 1.0, "viridis", False)
    if array.endswith("_m"):
        base = array[: -len("_m")]
        vmax = float(np.nanmax(np.abs(values_si))) if values_si is not None and values_si.size else 0.0
        unit, scale = ("nm", 1e9) if vmax < 1e-6 else ("µm", 1e6)
        label = base.replace("_", " ")
        return FieldStyle(array, label, unit, scale, "plasma", False)
    return FieldStyle(array, array.replace("_", " "), "", 1.0, "viridis", False)


def _scalar_values(mesh, array: str) -> np.ndarray:
    v = np.asarray(mesh.point_data[array], dtype=float)
    if v.ndim == 2 and v.shape[1] > 1:  # vector -> magnitude
        v = np.linalg.norm(v, axis=1)
    return v.reshape(-1)


def _style_for(array: str, values_si: np.ndarray, is_vector: bool) -> FieldStyle:
    st = field_style(array, values_si)
    if is_vector:
        st.label = st.label + " magnitude"
        st.signed = False
        st.cmap = "plasma"
    return st


# --------------------------------------------------------------------------------------------
# result folder reading (no pyvista needed except for the .vtu itself)
# --------------------------------------------------------------------------------------------
def _read_json(path: Path) -> dict:
    _require(path, "written by the solver at the end of a run")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise RenderError(f"{path} is not valid JSON: {exc}") from None


def read_timeseries(path: Path) -> dict[str, np.ndarray]:
    """Columns of timeseries.csv as float arrays (extra columns kept; blanks become NaN)."""
    _require(path, "time series written by the solver")
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames:
            raise RenderError(f"{path} has no header line")
        names = [n.strip() for n in reader.fieldnames]
        cols: dict[str, list[float]] = {n: [] for n in names}
        for row in reader:
            for raw_name, n in zip(reader.fieldnames, names):
                txt = (row.get(raw_name) or "").strip()
                try:
                    cols[n].append(float(txt))
                except ValueError:
                    cols[n].append(float("nan"))
    if "time_s" not in cols:
        raise RenderError(f"{path} has no 'time_s' column (columns: {', '.join(names)})")
    return {n: np.asarray(v, dtype=float) for n, v in cols.items()}


@dataclass
class Snapshot:
    path: Path
    time_s: float | None
    state_of_charge: float | None
    tag: str  # "final" or the snapshot number as text


@dataclass
class ResultFolder:
    root: Path
    summary: dict
    case_name: str
    snapshots: list[Snapshot] = dc_field(default_factory=list)

    @classmethod
    def open(cls, root: str | Path) -> "ResultFolder":
        root = Path(root)
        if not root.is_dir():
            raise RenderError(f"result folder {root} does not exist")
        summary = _read_json(root / "summary.json")
        case = summary.get("case")
        name = (case.get("name") if isinstance(case, dict) else None) or summary.get("case_name")
        name = str(name or root.name)
        rf = cls(root=root, summary=summary, case_name=name)
        rf.snapshots = rf._list_snapshots()
        return rf

    def _list_snapshots(self) -> list[Snapshot]:
        meta = {}
        sj = self.root / "snapshots.json"
        if sj.is_file():
            try:
                entries = json.loads(sj.read_text())
            except json.JSONDecodeError as exc:
                raise RenderError(f"{sj} is not valid JSON: {exc}") from None
            if isinstance(entries, dict):  # tolerate {"snapshots": [...]}
                entries = entries.get("snapshots", [])
            for e in entries:
                if isinstance(e, dict) and "file" in e:
                    meta[Path(str(e["file"])).name] = e
        snaps = []
        for p in self.root.glob("fields_*.vtu"):
            tag = p.stem[len("fields_"):]
            e = meta.get(p.name, {})
            snaps.append(Snapshot(p, _opt_float(e.get("time_s")), _opt_float(e.get("state_of_charge")), tag))

        def order(s: Snapshot):
            if s.tag == "final":
                return (2, math.inf, 0)
            t = s.time_s if s.time_s is not None else math.inf
            return (1, t, int(s.tag) if s.tag.isdigit() else 0)

        snaps.sort(key=order)
        final = [s for s in snaps if s.tag == "final"]
        if final and final[0].time_s is None:  # final time from the last time-series row
            ts = self.root / "timeseries.csv"
            if ts.is_file():
                try:
                    cols = read_timeseries(ts)
                    if cols["time_s"].size:
                        final[0].time_s = float(cols["time_s"][-1])
                        soc = cols.get("state_of_charge")
                        if soc is not None and soc.size:
                            final[0].state_of_charge = float(soc[-1])
                except RenderError:
                    pass
        return snaps

    def snapshot(self, which: str | int = "final") -> Snapshot:
        tag = str(which)
        if tag.endswith(".vtu"):
            tag = Path(tag).stem[len("fields_"):] if Path(tag).stem.startswith("fields_") else tag
        for s in self.snapshots:
            if s.tag == tag:
                return s
        want = self.root / f"fields_{tag}.vtu"
        have = ", ".join(s.path.name for s in self.snapshots) or "none"
        raise RenderError(f"missing file {want} (snapshot {which!r}; field files here: {have})")

    def peak(self, array: str) -> dict | None:
        key = _PEAK_KEY.get(array)
        peaks = self.summary.get("peak") or {}
        entry = peaks.get(key) if key else None
        if not isinstance(entry, dict) or entry.get("position_m") is None:
            return None
        return entry


def _opt_float(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


# --------------------------------------------------------------------------------------------
# sections
# --------------------------------------------------------------------------------------------
@dataclass
class Section:
    """The z = 0 section of one particle, in micrometres, centred where the particle is."""

    poly: object  # pyvista.PolyData, coordinates in um, point array "_display" set later
    outline: object  # boundary lines (outer surface and pore rims)
    interfaces: object | None  # region interfaces (shells, grains) or None
    radius_um: float
    mirrored: str  # "" or e.g. "x, y" when a symmetry model was mirrored
    values_si: np.ndarray  # the scalar on poly's points, SI


def _read_mesh(path: Path):
    pv = _pv()
    _require(path, "field file written by the solver")
    try:
        mesh = pv.read(str(path))
    except Exception as exc:  # noqa: BLE001 - VTK raises many kinds
        raise RenderError(f"cannot read {path}: {exc}") from None
    if mesh.n_points == 0 or mesh.n_cells == 0:
        raise RenderError(f"{path} holds an empty mesh")
    return mesh


def _to_polydata(ds):
    """vtkGeometryFilter directly: pyvista renamed its wrappers of it across versions."""
    pv = _pv()
    from vtkmodules.vtkFiltersGeometry import vtkGeometryFilter

    f = vtkGeometryFilter()
    f.SetInputData(ds)
    f.Update()
    return pv.wrap(f.GetOutput())


def _volume_cells(mesh):
    """Only the 3D cells (a .vtu may also carry facet triangles, which would cut into lines)."""
    try:  # VTK >= 9.4; vtkCellTypes.GetDimension is deprecated since 9.6
        from vtkmodules.vtkCommonDataModel import vtkCellTypeUtilities as _types
    except ImportError:  # pragma: no cover - older VTK
        from vtkmodules.vtkCommonDataModel import vtkCellTypes as _types

    types = np.asarray(mesh.celltypes)
    dims = {int(t): _types.GetDimension(int(t)) for t in np.unique(types)}
    if all(d == 3 for d in dims.values()):
        return mesh
    keep = np.flatnonzero(np.isin(types, [t for t, d in dims.items() if d == 3]))
    if keep.size == 0:
        raise RenderError("the field file has no 3D (volume) cells to cut")
    return mesh.extract_cells(keep)


def _make_section(mesh, array: str, mirror: bool = True) -> Section:
    pv = _pv()
    pts = np.asarray(mesh.points, dtype=float)
    radius_m = float(np.max(np.linalg.norm(pts, axis=1)))
    if not radius_m > 0:
        raise RenderError("mesh has zero extent")
    lo = pts.min(axis=0)
    tol = 1e-3 * radius_m
    # symmetry models (octant: x, y, z >= 0) are detected from the bounds
    half = [bool(lo[i] > -tol) for i in range(3)]
    # cut a hair above z = 0: for octant models z = 0 is the boundary face, and for full models
    # mesh nodes lying exactly on z = 0 would give degenerate cuts
    z_cut = 1e-5 * radius_m
    volume = _volume_cells(mesh)
    work = volume.copy(deep=False)
    work.clear_cell_data()
    if "region" in volume.cell_data:
        work.cell_data["region"] = np.asarray(volume.cell_data["region"]).astype(np.int32)
    work.point_data.clear()
    work.point_data["_si"] = _scalar_values(volume, array)
    sec = work.slice(normal=(0.0, 0.0, 1.0), origin=(0.0, 0.0, z_cut))
    if sec.n_cells == 0:
        raise RenderError(
            f"the plane z = 0 does not cut the mesh (z from {lo[2]:.3g} m to {pts[:, 2].max():.3g} m)"
        )
    sec = sec.triangulate()
    sec.points = np.asarray(sec.points) * 1e6
    sec.points[:, 2] = 0.0

    mirrored = []
    if mirror:
        # snap round-off (gmsh um -> m scaling leaves ~1e-22) onto the symmetry planes so that
        # the mirrored halves share their points and no seam is drawn
        pts_um = np.array(sec.points)
        for axis in (0, 1):
            if half[axis]:
                pts_um[np.abs(pts_um[:, axis]) < 1e-6 * radius_m * 1e6, axis] = 0.0
        sec.points = pts_um
        for axis, normal in ((0, (1.0, 0.0, 0.0)), (1, (0.0, 1.0, 0.0))):
            if half[axis]:
                sec = sec.merge(sec.reflect(normal, point=(0.0, 0.0, 0.0)), merge_points=True)
                mirrored.append("xyz"[axis] + " = 0")
        if not isinstance(sec, pv.PolyData):
            sec = _to_polydata(sec)

    outline = sec.extract_feature_edges(
        boundary_edges=True, feature_edges=False, manifold_edges=False, non_manifold_edges=False
    )
    interfaces = None
    if "region" in sec.cell_data:
        ids = np.unique(np.asarray(sec.cell_data["region"]))
        if ids.size > 1:
            parts = []
            for rid in ids:
                sub = sec.extract_cells(np.flatnonzero(np.asarray(sec.cell_data["region"]) == rid))
                sub = _to_polydata(sub)
                e = sub.extract_feature_edges(
                    boundary_edges=True, feature_edges=False, manifold_edges=False,
                    non_manifold_edges=False,
                )
                if e.n_points:
                    parts.append(e)
            if parts:
                interfaces = pv.merge(parts)
    values = np.asarray(sec.point_data["_si"], dtype=float)
    return Section(sec, outline, interfaces, radius_m * 1e6, " and ".join(mirrored), values)


def _section_for(folder: ResultFolder, snap: Snapshot, field: str, mirror: bool = True):
    mesh = _read_mesh(snap.path)
    array = resolve_field(field, mesh.point_data.keys())
    raw = np.asarray(mesh.point_data[array])
    is_vector = raw.ndim == 2 and raw.shape[1] > 1
    sec = _make_section(mesh, array, mirror=mirror)
    style = _style_for(array, _scalar_values(mesh, array), is_vector)
    return array, style, sec


def _colour_range(style: FieldStyle, values_display: Sequence[np.ndarray]) -> tuple[float, float]:
    finite = [v[np.isfinite(v)] for v in values_display if v.size]
    finite = [v for v in finite if v.size]
    if not finite:
        raise RenderError(f"{style.array}: no finite values on the section")
    lo = min(float(v.min()) for v in finite)
    hi = max(float(v.max()) for v in finite)
    if style.signed:
        m = max(abs(lo), abs(hi))
        if m == 0:
            m = 1.0
        step = _nice_step(2 * m / 8)  # symmetric range rounded out to a tick: -400..400
        m = math.ceil(m / step - 1e-9) * step
        return -m, m
    if hi - lo <= 1e-12 * max(abs(hi), abs(lo), 1e-300):
        pad = 0.01 * abs(hi) if hi != 0 else 1.0
        return lo - pad, hi + pad
    return lo, hi


# --------------------------------------------------------------------------------------------
# drawing sections
# --------------------------------------------------------------------------------------------
@dataclass
class Panel:
    section: Section
    label: str | None
    peak_xy_um: tuple[float, float] | None = None
    peak_text: str | None = None


def _circle_lines(pv, centre, radius, n=48):
    a = np.linspace(0, 2 * np.pi, n + 1)
    pts = np.c_[centre[0] + radius * np.cos(a), centre[1] + radius * np.sin(a), np.full(n + 1, centre[2])]
    return pv.lines_from_points(pts)


def _round_bar_labels(pl, clim) -> None:
    """Label the colour bar at round values (VTK's own labels split the range evenly)."""
    pv = _pv()
    ticks, fmt = nice_ticks(*clim)
    for bar in list(pl.scalar_bars.values())[-1:]:
        if not hasattr(bar, "SetCustomLabels") or ticks.size < 2:
            return
        arr = pv.convert_array(np.ascontiguousarray(ticks, dtype=np.float64))
        bar.SetUseCustomLabels(True)
        bar.SetCustomLabels(arr)
        bar.SetLabelFormat(fmt)


def _draw_sections(
    panels: list[Panel],
    style: FieldStyle,
    clim: tuple[float, float],
    title: str,
    footnote: str,
    out_png: Path,
    window_size: tuple[int, int],
) -> Path:
    """Sections side by side at one length scale, one colour range, one colour bar."""
    pv = _pv()
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
    bar_len = _nice_number(0.45 * (boxes[0][1] - boxes[0][0]))
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
    return out_png


def _peak_annotation(folder: ResultFolder, array: str, style: FieldStyle, sec: Section):
    """(xy in um, marker label, footnote line) for the run's peak of this field, if known."""
    entry = folder.peak(array)
    if entry is None:
        return None, None, ""
    try:
        pos = np.asarray(entry["position_m"], dtype=float).reshape(3) * 1e6
    except (TypeError, ValueError):
        return None, None, ""
    value = _opt_float(entry.get("value_Pa"))
    rfrac = _opt_float(entry.get("radius_fraction"))
    t = _opt_float(entry.get("time_s"))
    vtxt = _fmt_number(value * style.scale, style.unit) if value is not None else "?"
    where = f"r/R = {rfrac:.2f}" if rfrac is not None else ""
    near = abs(pos[2]) <= 0.05 * sec.radius_um
    parts = [f"run peak {style.label}: {vtxt}", where, _fmt_time(t) if t is not None else ""]
    line = ", ".join(p for p in parts if p)
    if near:
        line += f"  (marked +, z = {pos[2]:.2f} µm)"
        return (float(pos[0]), float(pos[1])), f"peak {vtxt}", line
    line += f"  (off this section: z = {pos[2]:.2f} µm)"
    return None, None, line


def _snapshot_text(snap: Snapshot) -> str:
    parts = [_fmt_time(snap.time_s)]
    if snap.state_of_charge is not None:
        parts.append(f"SOC = {snap.state_of_charge:.2f}")
    if snap.tag == "final":
        parts.append("final state")
    else:
        parts.append(f"snapshot {snap.tag}")
    return ", ".join(parts)


def render_cross_section(
    result_dir: str | Path,
    field: str,
    out_png: str | Path | None = None,
    snapshot: str | int = "final",
    window_size: tuple[int, int] = SECTION_WINDOW,
    clim: tuple[float, float] | None = None,
    mirror: bool = True,
    clim_note: str = "",
) -> Path:
    """One face-on z = 0 section of one field; returns the PNG path.

    clim: colour range in display units (MPa, mol/m³, ...); default: this section's range.
    """
    folder = ResultFolder.open(result_dir)
    snap = folder.snapshot(snapshot)
    array, style, sec = _section_for(folder, snap, field, mirror=mirror)
    if clim is None:
        clim = _colour_range(style, [sec.values_si * style.scale])
    xy, mark, peak_line = _peak_annotation(folder, array, style, sec)
    lo, hi = np.nanmin(sec.values_si) * style.scale, np.nanmax(sec.values_si) * style.scale
    notes = [f"section z = 0 through the particle centre, R = {sec.radius_um:.3g} µm;"
             f" values on this section {_fmt_range(lo, hi, style.unit)}"]
    if sec.mirrored:
        notes.append(f"symmetry model, mirrored about {sec.mirrored} for display")
    if clim_note:
        notes[0] += f"; {clim_note}"
    if peak_line:
        notes.append(peak_line)
    title = f"{folder.case_name}: {style.label}\n{_snapshot_text(snap)}"
    if out_png is None:
        suffix = "" if snap.tag == "final" else f"_{snap.tag}"
        out_png = folder.root / f"cross_section_{array}{suffix}.png"
    return _draw_sections([Panel(sec, None, xy, mark)], style, clim, title, "\n".join(notes),
                          Path(out_png), window_size)


# --------------------------------------------------------------------------------------------
# curves
# --------------------------------------------------------------------------------------------
def _peak_columns(cols: dict[str, np.ndarray]) -> list[tuple[str, str]]:
    """[(column, short key)] for peak_*_Pa columns, known ones first in a fixed order."""
    order = list(_PEAK_KEY.values())
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
        label = _KNOWN.get(key + "_Pa", (key.replace("_", " "),))[0]
        series.append((label, _CURVE_COLOURS.get(key) or next(spare), xv[ok], y[ok]))
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
        step = _nice_step((max(ymax, 0.0) - min(ymin, 0.0)) / 8)
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
    ty = _nice_number((y1 - y0) / 5)
    tx = _nice_number((x1 - x0) / 6)
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
    pv = _pv()
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


# --------------------------------------------------------------------------------------------
# public entry points
# --------------------------------------------------------------------------------------------
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
    _check_no_dolfinx()
    root = Path(result_dir)
    if not root.is_dir():
        raise RenderError(f"result folder {root} does not exist")
    folder = ResultFolder.open(root)
    if curves:
        _require(root / "timeseries.csv", "time series written by the solver")
    written: list[Path] = []
    if str(snapshot) == "all":
        if not folder.snapshots:
            raise RenderError(f"missing file {root / 'fields_final.vtu'} (no fields_*.vtu in {root})")
        for f in fields:
            secs = [(s, *_section_for(folder, s, f)) for s in folder.snapshots]
            style = secs[0][2]
            clim = _colour_range(style, [sec.values_si * style.scale for _, _, _, sec in secs])
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
    _check_no_dolfinx()
    result_dirs = [Path(d) for d in result_dirs]
    if not result_dirs:
        raise RenderError("render_comparison needs at least one result folder")
    folders = [ResultFolder.open(d) for d in result_dirs]
    if labels is None or len(labels) == 0:
        labels = [f.case_name for f in folders]
    if len(labels) != len(folders):
        raise RenderError(f"{len(labels)} labels given for {len(folders)} result folders")
    snaps = [f.snapshot(snapshot) for f in folders]
    built = [_section_for(f, s, field, mirror=mirror) for f, s in zip(folders, snaps)]
    arrays = {a for a, _, _ in built}
    if len(arrays) > 1:
        raise RenderError(f"field {field!r} resolves to different arrays: {sorted(arrays)}")
    style = built[0][1]
    clim = _colour_range(style, [sec.values_si * style.scale for _, _, sec in built])
    panels, notes = [], []
    for folder, snap, label, (array, _, sec) in zip(folders, snaps, labels, built):
        xy, mark, line = _peak_annotation(folder, array, style, sec)
        lo = np.nanmin(sec.values_si) * style.scale
        hi = np.nanmax(sec.values_si) * style.scale
        notes.append(f"{label}: {_snapshot_text(snap)}; section {_fmt_range(lo, hi, style.unit)}"
                     + (f"; {line}" if line else "")
                     + (f"; symmetry model mirrored about {sec.mirrored}" if sec.mirrored else ""))
        panels.append(Panel(sec, label, xy, mark))
    if window_size is None:
        window_size = (max(900, PANEL_WIDTH * len(panels) + 260), PANEL_HEIGHT)
    title = f"{style.label}, z = 0 sections, shared colour range"
    return _draw_sections(panels, style, clim, title, "\n".join(notes), Path(out_png), window_size)


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------
def _parser_results() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m solver.render",
        description="Pictures of a result folder (cross sections, peak stress curves). "
        "For side-by-side pictures: python -m solver.render compare --help",
    )
    p.add_argument("result_dir", help="result folder written by the solver")
    p.add_argument("--fields", nargs="+", default=list(DEFAULT_FIELDS),
                   help="point arrays to draw (default: %(default)s); unit suffix may be left off")
    p.add_argument("--snapshot", default="final", help="'final' (default), a snapshot number, or 'all'")
    p.add_argument("--no-curves", action="store_true", help="skip peak_stress_vs_time.png")
    p.add_argument("--curve-x", choices=("time", "soc"), default="time")
    p.add_argument("--curve-backend", choices=("auto", "chart2d", "primitives"), default="auto")
    p.add_argument("--traceback", action="store_true", help="show the full traceback on errors")
    return p


def _parser_compare() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m solver.render compare",
        description="Side-by-side z = 0 sections of one field with one shared colour range.",
    )
    p.add_argument("result_dirs", nargs="+", help="result folders")
    p.add_argument("--labels", nargs="+", default=None, help="one label per folder (default: case names)")
    p.add_argument("--field", default="von_mises_Pa")
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument("--snapshot", default="final")
    p.add_argument("--traceback", action="store_true", help="show the full traceback on errors")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    compare = bool(argv) and argv[0] == "compare" and not Path("compare").is_dir()
    args = (_parser_compare() if compare else _parser_results()).parse_args(argv[1:] if compare else argv)
    try:
        if compare:
            out = render_comparison(args.result_dirs, args.labels, args.field, args.out, snapshot=args.snapshot)
            written = [out]
        else:
            written = render_results(
                args.result_dir, fields=args.fields, snapshot=args.snapshot,
                curves=not args.no_curves, curve_x=args.curve_x, curve_backend=args.curve_backend,
            )
    except (RenderError, OSError) as exc:
        if args.traceback:
            raise
        print(f"render: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - one clear line for the calling CLI
        if args.traceback:
            raise
        print(f"render: error: {type(exc).__name__}: {exc} (rerun with --traceback for details)",
              file=sys.stderr)
        return 1
    for p in written:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
