"""Physical sanity checks of a run: a result that is not physical is flagged, never reported silently.

After every accepted step: the Li concentration within [0, c_max] and the state of charge within its
window [0, 1]. At the end: each reported peak is looked up on the mesh, and a peak that sits on a poorly
shaped cell (mean-ratio quality below POOR_CELL_QUALITY) is flagged as a likely artefact of that cell.
Findings go to the log (once per kind) and to summary.json["sanity"]; with `output.sanity = "fatal"` the
first finding ends the run as failed (summary status "failed", reason "sanity").

The judging is plain numbers (no dolfinx); `cell_quality` reads the mesh through solver/compat.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from solver.errors import SolveError

# A converged solve keeps round-off far below these (relative to c_max, and to the window).
LI_TOLERANCE = 1e-6
STATE_OF_CHARGE_TOLERANCE = 1e-6
# Mean-ratio quality (1 for a regular tetrahedron, 0 for a flat one). The meshes' quality gate keeps whole
# meshes well above this; a peak on a cell below it was seen at 8.3 GPa in a 12-grain polycrystal (quality 0.001).
POOR_CELL_QUALITY = 0.1


class SanityError(SolveError):
    """A physical sanity check failed and the case asked for `output.sanity = "fatal"`."""

    def __init__(self, message: str):
        super().__init__(message, reason="sanity")


@dataclass
class Finding:
    what: str
    first_time_s: float
    worst: float
    steps: int = 1
    message: str = ""


@dataclass
class SanityMonitor:
    """Collects findings over a run; `fatal` raises SanityError at the first one."""

    c_max_mol_m3: float
    fatal: bool = False
    log: callable = print
    findings: dict = field(default_factory=dict)
    li_fraction_range: list = field(default_factory=lambda: [np.inf, -np.inf])
    state_of_charge_range: list = field(default_factory=lambda: [np.inf, -np.inf])

    def _found(self, what: str, time_s: float, value: float, worse, message: str) -> None:
        known = self.findings.get(what)
        if known is None:
            self.findings[what] = Finding(what, time_s, value, message=message)
            self.log(message)
            if self.fatal:
                raise SanityError(f"{message} (output.sanity = 'fatal')")
        else:
            known.steps += 1
            known.worst = worse(known.worst, value)

    def check_state(self, time_s: float, min_mol_m3: float, max_mol_m3: float, state_of_charge: float) -> None:
        low, high = min_mol_m3 / self.c_max_mol_m3, max_mol_m3 / self.c_max_mol_m3
        self.li_fraction_range = [min(self.li_fraction_range[0], low), max(self.li_fraction_range[1], high)]
        self.state_of_charge_range = [min(self.state_of_charge_range[0], state_of_charge),
                                      max(self.state_of_charge_range[1], state_of_charge)]
        if low < -LI_TOLERANCE:
            self._found("li_below_zero", time_s, low, min,
                        f"Li concentration below 0 at t = {time_s:.4g} s ({min_mol_m3:.4g} mol/m^3, Li fraction "
                        f"{low:.4g}): the rate empties the particle faster than it can feed its surface")
        if high > 1 + LI_TOLERANCE:
            self._found("li_above_c_max", time_s, high, max,
                        f"Li concentration above c_max at t = {time_s:.4g} s ({max_mol_m3:.4g} mol/m^3, Li fraction "
                        f"{high:.4g})")
        if not -STATE_OF_CHARGE_TOLERANCE <= state_of_charge <= 1 + STATE_OF_CHARGE_TOLERANCE:
            self._found("state_of_charge_outside_window", time_s, state_of_charge,
                        lambda a, b: a if abs(a - 0.5) >= abs(b - 0.5) else b,
                        f"state of charge {state_of_charge:.4g} at t = {time_s:.4g} s is outside its window [0, 1]")

    def check_peaks(self, peaks: dict, quality_at) -> None:
        """`quality_at(position_m)`: the worst quality of the cells at that point (None when not on the mesh)."""
        for kind, peak in peaks.items():
            quality = quality_at(peak["position_m"])
            peak["cell_quality"] = quality
            if quality is not None and quality < POOR_CELL_QUALITY:
                self._found(f"peak_{kind}_at_poor_cell", peak["time_s"], quality, min,
                            f"peak {kind} ({peak['value_Pa'] / 1e6:.4g} MPa) sits on a cell of quality {quality:.3g} "
                            f"(< {POOR_CELL_QUALITY}): likely an artefact of that cell; refine or improve the mesh there")

    def summary(self) -> dict:
        def finite_or_none(values):
            return [float(v) if np.isfinite(v) else None for v in values]

        return {
            "ok": not self.findings,
            "findings": [{"what": f.what, "first_time_s": f.first_time_s, "worst": f.worst, "steps": f.steps,
                          "message": f.message} for f in self.findings.values()],
            "li_fraction_range": finite_or_none(self.li_fraction_range),
            "state_of_charge_range": finite_or_none(self.state_of_charge_range),
            "thresholds": {"li_tolerance": LI_TOLERANCE, "state_of_charge_tolerance": STATE_OF_CHARGE_TOLERANCE,
                           "poor_cell_quality": POOR_CELL_QUALITY},
        }


def mean_ratio_quality(vertices: np.ndarray) -> np.ndarray:
    """Mean-ratio quality of tetrahedra (n, 4, 3): 12 (3 |V|)^(2/3) / sum of squared edge lengths."""
    edges = [vertices[:, j] - vertices[:, i] for i, j in ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))]
    volume = np.abs(np.einsum("ij,ij->i", edges[0], np.cross(edges[1], edges[2]))) / 6.0
    squared = sum(np.einsum("ij,ij->i", e, e) for e in edges)
    return 12.0 * (3.0 * volume) ** (2.0 / 3.0) / squared


class CellQualityLookup:
    """Worst mean-ratio quality of the (owned) cells that have a vertex at a given point, over all ranks."""

    def __init__(self, mesh, comm, radius_m: float):
        from solver import compat

        nodes = compat.geometry_nodes(mesh)[: compat.owned_cell_count(mesh), :4]   # corners of curved cells too
        self.corners = mesh.geometry.x[nodes]                                        # (cells, 4, 3)
        self.quality = mean_ratio_quality(self.corners)
        self.comm = comm
        self.tolerance_m = 1e-9 * radius_m

    def __call__(self, position_m) -> float | None:
        from mpi4py import MPI

        distance = np.linalg.norm(self.corners - np.asarray(position_m), axis=2).min(axis=1)
        touching = distance <= self.tolerance_m
        local = float(self.quality[touching].min()) if touching.any() else np.inf
        worst = self.comm.allreduce(local, op=MPI.MIN)
        return None if not np.isfinite(worst) else worst
