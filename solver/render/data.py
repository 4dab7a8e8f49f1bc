"""What the pictures are made from: a result folder's summary.json, snapshots.json, timeseries.csv and
fields_*.vtu list, and the field names, display units and colour maps of the point arrays.

No pyvista here (the .vtu files themselves are read in sections.py).
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field as dc_field
from pathlib import Path
from typing import Sequence

import numpy as np

from solver import extensions  # noqa: F401  (registers the extensions' quantities: their labels and colour maps)
from solver.fields import registry  # noqa: F401  (and those of the field sections, e.g. [oxygen])
from solver import quantities
from solver.figure_style import unit_text


class RenderError(RuntimeError):
    """A picture cannot be made from the result folder; the message says which file or array."""


def require_file(path: Path, what: str) -> Path:
    """`path` if it is a file, else a RenderError naming it and `what` it should hold."""
    if not path.is_file():
        raise RenderError(f"missing file {path} ({what})")
    return path


# field names, units, colour maps
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


def resolve_field(name: str, available: Sequence[str]) -> str:
    """The .vtu array name for a user-given field name (with or without its unit suffix)."""
    available = list(available)
    aliases = {alias: q.field_name for q in quantities.all_quantities() if q.field_name for alias in q.aliases}
    candidates = [name, aliases.get(name, name)]
    candidates += [name + suffix for suffix in ("_Pa", "_mol_m3", "_m")]
    for c in candidates:
        if c in available:
            return c
    raise RenderError(
        f"field {name!r} is not in the result file; available fields: {', '.join(sorted(available))}"
    )


def peak_of(field: str) -> str | None:
    """The peak quantity whose time a picture of `field` (an array name or an alias: "von_mises", "concentration")
    is drawn at: the field's own peak if it has one, else the first peak quantity drawn by default (von Mises: the
    headline peak of a run); None if the registry tracks no peak."""
    known = next((q for q in quantities.all_quantities()
                  if field in (q.field_name, q.name, *q.aliases) or q.field_name in (
                      field + suffix for suffix in ("_Pa", "_mol_m3", "_m"))), None)
    if known is not None and known.peak:
        return known.name
    drawn = [q.name for q in quantities.peak_quantities() if q.drawn]
    return drawn[0] if drawn else None


def field_style(array: str, values_si: np.ndarray | None = None) -> FieldStyle:
    known = quantities.by_field_name(array)
    if known is not None and known.unit != "m":  # lengths: nm or µm by their size, below
        return FieldStyle(array, known.title, unit_text(known.display_unit), known.display_scale, known.cmap,
                          known.signed)
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
        label = known.title if known else base.replace("_", " ")
        return FieldStyle(array, label, unit, scale, known.cmap if known else "plasma", False)
    return FieldStyle(array, array.replace("_", " "), "", 1.0, "viridis", False)


def scalar_values(mesh, array: str) -> np.ndarray:
    """The point values of `array` on a mesh as a flat array (vectors as their magnitude)."""
    v = np.asarray(mesh.point_data[array], dtype=float)
    if v.ndim == 2 and v.shape[1] > 1:  # vector -> magnitude
        v = np.linalg.norm(v, axis=1)
    return v.reshape(-1)


def style_for(array: str, values_si: np.ndarray, is_vector: bool) -> FieldStyle:
    """The FieldStyle of an array; a vector array is drawn as its magnitude."""
    st = field_style(array, values_si)
    if is_vector:
        st.label = st.label + " magnitude"
        st.signed = False
        st.cmap = "plasma"
    return st


# result folder reading
def _read_json(path: Path) -> dict:
    require_file(path, "written by the solver at the end of a run")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise RenderError(f"{path} is not valid JSON: {exc}") from None


def read_timeseries(path: Path) -> dict[str, np.ndarray]:
    """Columns of timeseries.csv as float arrays (extra columns kept; blanks become NaN)."""
    require_file(path, "time series written by the solver")
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
    tag: str  # "final", the snapshot number as text, or "peak_<quantity>"
    peaks: tuple[str, ...] = ()  # the quantities whose run peak is at this snapshot's time (snapshots.json)


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
            peaks = e.get("peaks") if isinstance(e.get("peaks"), list) else []
            snaps.append(Snapshot(p, optional_float(e.get("time_s")), optional_float(e.get("state_of_charge")), tag,
                                  tuple(str(name) for name in peaks)))

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

    def snapshot(self, which: str | int = "final", field: str | None = None) -> Snapshot:
        """A snapshot by tag ("final", "001", "peak_von_mises"), or "peak": the one at the time of `field`'s peak
        (`peak_of`), the final one when the run kept none."""
        if str(which) == "peak":
            name = peak_of(field) if field else None
            found = self.peak_snapshot(name) if name else None
            return found if found is not None else self.snapshot("final")
        tag = str(which)
        if tag.endswith(".vtu"):
            tag = Path(tag).stem[len("fields_"):] if Path(tag).stem.startswith("fields_") else tag
        for s in self.snapshots:
            if s.tag == tag:
                return s
        want = self.root / f"fields_{tag}.vtu"
        have = ", ".join(s.path.name for s in self.snapshots) or "none"
        raise RenderError(f"missing file {want} (snapshot {which!r}; field files here: {have})")

    def peak_snapshot(self, name: str) -> Snapshot | None:
        """The snapshot at the time of quantity `name`'s run peak: the one snapshots.json says holds it (the solver
        writes one there, solver/runs.py PeakSnapshots), else the one nearest the peak's time; None without either."""
        marked = [s for s in self.snapshots if name in s.peaks]
        if marked:
            return marked[0]
        entry = (self.summary.get("peak") or {}).get(name)
        t = optional_float(entry.get("time_s")) if isinstance(entry, dict) else None
        timed = [s for s in self.snapshots if s.time_s is not None]
        if t is None or not timed:
            return None
        return min(timed, key=lambda s: (abs(s.time_s - t), s.tag != "final"))

    def peak(self, array: str) -> dict | None:
        known = quantities.by_field_name(array)
        key = known.name if known is not None and known.peak else None
        peaks = self.summary.get("peak") or {}
        entry = peaks.get(key) if key else None
        if not isinstance(entry, dict) or entry.get("position_m") is None:
            return None
        return entry


def optional_float(v) -> float | None:
    """`v` as a finite float, or None."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None
