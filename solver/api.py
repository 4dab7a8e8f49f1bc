"""The Python API: build a case from a file or from code (same validation), run it, read the result.

    import solver

    case = solver.Case.from_toml("cases/verification_sphere.toml")
    case = case.with_overrides({"operation.c_rate": 2.0, "time.steps": 20})
    result = solver.run(case, out="results/sphere_2C")
    result.summary["peak"]["hoop"]["value_Pa"], result.timeseries["time_s"], result.fields["final"]

Building and checking a Case never imports dolfinx; `run` does (it solves in this process, under the
given MPI communicator). Pictures are drawn in a separate process, as by the command line.
"""
from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from solver.case import apply_overrides, read_case_file, validate_case
from solver.dotted import dotted_items, set_dotted
from solver.errors import CaseError
from solver.pictures import Picture, draw

Overrides = Mapping[str, Any] | Iterable[str]


def _overridden(raw: dict, overrides: Overrides) -> dict:
    """Apply {"section.key": value} (values as Python objects) or ["section.key=value"] (values as TOML)."""
    if isinstance(overrides, str):
        overrides = [overrides]
    if isinstance(overrides, Mapping):
        raw = copy.deepcopy(raw)
        for key, value in overrides.items():
            set_dotted(raw, str(key), value)
        return raw
    return apply_overrides(raw, list(overrides))


@dataclass(frozen=True)
class Case:
    """A validated case. `raw` holds the tables as written (bases merged, human units such as radius_um);
    `resolved` is the validated case in SI units that the solver runs."""

    raw: dict
    resolved: dict = field(repr=False)
    source: Path | None = None

    @classmethod
    def from_dict(cls, table: Mapping, base: str | Path | None = None) -> "Case":
        """A case written in code, checked like a file. `base` (or a "base" key) names a case file to
        start from; the dict's values are laid over it."""
        table = copy.deepcopy(dict(table))
        base = base if base is not None else table.pop("base", None)
        table.pop("base", None)
        if base is None:
            return cls._checked(table, None)
        raw = read_case_file(base)
        for key, value in dotted_items(table).items():
            set_dotted(raw, key, value)
        return cls._checked(raw, Path(base).resolve())

    @classmethod
    def from_toml(cls, path: str | Path, overrides: Overrides = ()) -> "Case":
        """A case file (and the bases it names), with optional overrides."""
        return cls._checked(_overridden(read_case_file(path), overrides), Path(path).resolve())

    @classmethod
    def _checked(cls, raw: dict, source: Path | None) -> "Case":
        return cls(raw=raw, resolved=validate_case(copy.deepcopy(raw)), source=source)

    def with_overrides(self, overrides: Overrides = (), **sections: Mapping) -> "Case":
        """A new case with some values changed, validated again.

        case.with_overrides({"material.young_modulus_GPa": 120, "time.steps": 20})
        case.with_overrides(["operation.c_rate=2"])           # TOML text, as after --set
        case.with_overrides(time={"steps": 20}, name="fast")  # section (or top-level) keywords
        """
        raw = _overridden(self.raw, overrides)
        for section, table in sections.items():
            values = dotted_items(table, section + ".") if isinstance(table, Mapping) else {section: table}
            for key, value in values.items():
                set_dotted(raw, key, value)
        return self._checked(raw, self.source)

    @property
    def name(self) -> str:
        return self.resolved["name"]

    def __getitem__(self, section: str):
        return self.resolved[section]

    def to_dict(self) -> dict:
        """The resolved case (SI units), as stored in summary.json["case"]."""
        return copy.deepcopy(self.resolved)


def read_timeseries(path: Path) -> np.ndarray:
    """timeseries.csv as a numpy structured array (one named float field per column)."""
    table = np.genfromtxt(path, delimiter=",", names=True, dtype=float, encoding="utf-8")
    return np.atleast_1d(table)


@dataclass
class Result:
    """A finished run's folder: summary (dict), timeseries (structured array), fields (paths)."""

    out: Path
    summary: dict
    _timeseries: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def open(cls, out: str | Path) -> "Result":
        """An existing result folder (written by `solver.run`, `python -m solver run` or a sweep case)."""
        out = Path(out)
        try:
            summary = json.loads((out / "summary.json").read_text())
        except FileNotFoundError:
            raise CaseError(f"{out}: not a result folder (no summary.json)") from None
        return cls(out=out, summary=summary)

    @property
    def status(self) -> str:
        return self.summary["status"]

    @property
    def peaks(self) -> dict:
        """{"von_mises": {"value_Pa", "position_m", "radius_fraction", "time_s"}, "hoop": ..., ...}"""
        return self.summary["peak"]

    @property
    def timeseries(self) -> np.ndarray:
        """One row per accepted step (and t = 0): result.timeseries["peak_hoop_Pa"], ["time_s"], ..."""
        if self._timeseries is None:
            self._timeseries = read_timeseries(self.out / "timeseries.csv")
        return self._timeseries

    def timeseries_frame(self):
        """The time series as a pandas DataFrame, one row per accepted step (and t = 0)."""
        import pandas

        return pandas.read_csv(self.out / "timeseries.csv")

    def peaks_frame(self):
        """The peaks as a pandas DataFrame: one row per measure with value (MPa), r/R, time (s) and position."""
        import pandas

        rows = [{"measure": kind, "value_MPa": peak["value_Pa"] / 1e6, "radius_fraction": peak["radius_fraction"],
                 "time_s": peak["time_s"], "x_m": peak["position_m"][0], "y_m": peak["position_m"][1],
                 "z_m": peak["position_m"][2]} for kind, peak in self.peaks.items()]
        return pandas.DataFrame(rows).set_index("measure")

    def plot(self, what: str = "peaks", snapshot: str | int = "final") -> Picture:
        """Draw one view of this result and return it (shown inline in Jupyter; `.path` is the PNG file).

        what: "peaks" (the peak stresses over time) or a field of the snapshots, e.g. "von_mises",
        "concentration", "hoop" (a central cross-section at `snapshot`: "final", a snapshot number, or "peak": the
        time of the field's peak, of the von Mises peak for fields without their own).
        Drawn by the renderer in its own process (solver/pictures.py), so it is safe after `solver.run` in
        the same notebook, where importing pyvista would abort the process."""
        if what == "peaks":
            written = draw(self.out, "--fields")
        else:
            written = draw(self.out, "--fields", what, "--snapshot", str(snapshot), "--no-curves", "--no-at-peak")
        return Picture(written[0])   # the PNG (the curves' PDF and SVG follow it)

    @property
    def fields(self) -> dict[str, Any]:
        """Paths of the written fields (README "Output files"): "xdmf" (every field at every snapshot: ParaView,
        meshio's TimeSeriesReader), "pvd" (the VTU collection: ParaView), "mesh" (mesh.xdmf with cell and facet
        tags: dolfinx), "final" and "snapshots" (VTU in time order: meshio, pyvista), "peaks" ({stress quantity: the
        VTU at the time of its peak}, e.g. "von_mises"); those a run did not write are left out."""
        snapshots_file = self.out / "snapshots.json"
        snapshots = json.loads(snapshots_file.read_text()) if snapshots_file.exists() else []
        found = {"xdmf": self.out / "fields.xdmf", "pvd": self.out / "fields.pvd", "mesh": self.out / "mesh.xdmf",
                 "final": self.out / "fields_final.vtu",
                 "snapshots": [self.out / s["file"] for s in snapshots if s["file"] != "fields_final.vtu"],
                 "peaks": {name: self.out / s["file"] for s in snapshots for name in s.get("peaks", [])}}
        return {k: v for k, v in found.items() if isinstance(v, (list, dict)) or v.exists()}


def run(case: Case, out: str | Path, comm=None, pictures: bool = False, mesh_cache: str | Path | None = "default") -> Result:
    """Solve `case` into the folder `out` (written atomically) and return the Result.

    comm: an mpi4py communicator (default MPI.COMM_WORLD, so a script under `mpirun -n K` runs in
    parallel). pictures: draw the PNGs (in a separate process). mesh_cache: "default" (the project's
    mesh cache), a folder, or None to always remesh. A failed solve still returns a Result, with
    result.status == "failed" and result.summary["message"] saying why.
    """
    if not isinstance(case, Case):
        raise TypeError(f"solver.run needs a solver.Case, got {type(case).__name__}; use Case.from_toml or Case.from_dict")
    from mpi4py import MPI

    from solver.logs import show_progress
    from solver.pipeline import DEFAULT_MESH_CACHE, run_case

    show_progress()   # progress on stderr, unless the caller configured logging.getLogger("solver") already
    comm = comm if comm is not None else MPI.COMM_WORLD
    cache = DEFAULT_MESH_CACHE if mesh_cache == "default" else (Path(mesh_cache) if mesh_cache else None)
    summary = run_case(case.to_dict(), out, comm, mesh_cache=cache, render=pictures)
    return Result(out=Path(out).resolve(), summary=summary)
