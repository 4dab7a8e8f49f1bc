"""[grain_boundaries]: normal traction across grain boundaries and tensile stress by zone (core / outer).

Case section [grain_boundaries] (an extension, solver/extensions.py): its keys, checks and defaults are
solver/grain_boundary_section.py.

What is computed after every accepted step
------------------------------------------
- Normal traction t_n = n . sigma . n on every grain-boundary facet (interior facets tagged
  `grain_boundary`; pore surfaces are free surfaces, not grain boundaries). sigma is the FE stress
  C : (eps(u) - eps*(c)) of each of the two cells sharing the facet, evaluated with a compiled
  Expression at the reference coordinates of that facet's centroid in that cell. With P2 displacement
  and a piecewise-linear eigenstrain the stress is (close to) linear on a cell, so the centroid value is
  the facet mean. The FE traction is continuous only weakly, so the two sides differ by a
  discretisation error: t_n is their mean, and the RMS side mismatch is reported as an accuracy
  indicator (it falls with mesh refinement). Facet normal and area come from the vertex coordinates.
- Its peak (largest tension) with where (position, r/R, zone) and when (time, state of charge), the
  area-weighted mean, and the fraction of grain-boundary area with t_n > critical, overall and by zone.
- The max principal stress by zone: peak (with position), the volume-weighted 99th percentile and the
  volume-weighted mean tension (mean of max(sigma_1, 0)). Peaks at triple lines and where grain
  boundaries meet the free surface are elastic singularities of the sharp-interface model and grow with
  mesh refinement; the percentile and the mean are the mesh-robust measures.
- The 2D section study's measures on the whole particle (solver/section_statistics.py, the same functions): per
  zone (core r/R < core_radius_fraction, rim) the volume fraction with max principal and hoop stress above each of
  report_thresholds, their volume-mean tension, and the grain-boundary AREA fraction with t_n above each threshold;
  kept at the step of the largest core mean max-principal tension ("peak") and at the last step ("end"), in the
  layout of a section run's step (solver/studies/section_study.py reads both).

Outputs: summary.json["grain_boundaries"], grain_boundaries.csv (one row per step) and, with
point_field, a P1 field gb_normal_traction_Pa (area-weighted facet traction at grain-boundary
vertices, zero elsewhere) in the snapshots, for `python -m solver.render ... --field gb_normal_traction`.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field

import numpy as np
import ufl
from mpi4py import MPI
import dolfinx.fem

from solver import compat
from solver import section_statistics
from solver.errors import CaseError
from solver.grain_boundary_section import SECTION, ZONES, weighted_quantile, zone_of
from solver.postprocess import StressSampler
from solver.runs import state_of_charge

# reference tetrahedron: vertex j, and the centroid of facet j (the facet opposite vertex j)
REFERENCE_VERTICES = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
FACET_CENTROIDS = np.array([np.delete(REFERENCE_VERTICES, j, axis=0).mean(axis=0) for j in range(4)])
CSV_COLUMNS = (
    "time_s", "state_of_charge", "mean_li_fraction",
    "gb_peak_normal_traction_Pa", "gb_peak_radius_fraction", "gb_mean_normal_traction_Pa",
    "gb_area_fraction_above_critical", "gb_area_fraction_above_critical_core",
    "gb_area_fraction_above_critical_outer", "gb_side_mismatch_rms_Pa",
    "max_principal_peak_core_Pa", "max_principal_peak_outer_Pa",
    "max_principal_p99_core_Pa", "max_principal_p99_outer_Pa",
    "max_principal_mean_tension_core_Pa", "max_principal_mean_tension_outer_Pa",
)



@dataclass
class Extreme:
    """The largest value seen so far, with when (time, state of charge) and any details of where."""

    value: float = -math.inf
    time_s: float = float("nan")
    state_of_charge: float = float("nan")
    where: dict = field(default_factory=dict)

    def update(self, value: float, time_s: float, soc: float, **where) -> None:
        if np.isfinite(value) and value > self.value:
            self.value, self.time_s, self.state_of_charge, self.where = float(value), time_s, soc, where

    def as_dict(self, key: str) -> dict:
        value = self.value if np.isfinite(self.value) else None
        return {key: value, "time_s": self.time_s, "state_of_charge": self.state_of_charge, **self.where}


@dataclass
class GrainBoundaryFacets:
    """This rank's owned grain-boundary facets (triangles of a 3D mesh, edges of a 2D section): the cells on their
    two sides, their local facet numbers, the P1 dofs of their vertices and their geometry from the vertex
    coordinates."""

    cells: np.ndarray          # (n, 2) local cell indices (side 0, side 1); -1: that side's cell is not on this rank
    local_facet: np.ndarray    # (n, 2) facet number within each cell (facet j is opposite vertex j); -1 likewise
    vertex_dofs: np.ndarray    # (n, tdim) P1 dofs of the facet's vertices
    centroid: np.ndarray       # (n, 3) m
    normal: np.ndarray         # (n, 3) unit (2D: in the section's plane)
    measure: np.ndarray        # (n,) areas (m^2) of a 3D mesh's triangles, lengths (m) of a 2D section's edges

    @property
    def measure_name(self) -> str:
        return "area" if self.vertex_dofs.shape[1] == 3 else "length"


def grain_boundary_facets(mesh, facet_tags, tag: int, p1_space) -> GrainBoundaryFacets:
    """The owned facets tagged `tag` of a 3D or 2D simplex mesh (the grain boundaries), with the cells on their
    sides as this rank has them (under MPI a mesh without ghosted facets may hold one side only)."""
    tdim = mesh.topology.dim
    for a, b in ((tdim - 1, tdim), (tdim - 1, 0), (tdim, 0)):
        mesh.topology.create_connectivity(a, b)
    f2c, f2v, c2v = (mesh.topology.connectivity(*p) for p in ((tdim - 1, tdim), (tdim - 1, 0), (tdim, 0)))
    facets = compat.entities_with_tag(facet_tags, tag)
    facets = facets[facets < mesh.topology.index_map(tdim - 1).size_local]
    cells = np.full((len(facets), 2), -1, dtype=np.int32)
    local = np.full((len(facets), 2), -1, dtype=np.int32)
    for k, f in enumerate(facets):
        vertices = set(f2v.links(f))
        for side, cell in enumerate(f2c.links(f)):
            cells[k, side] = cell
            local[k, side] = next(j for j, v in enumerate(c2v.links(cell)) if v not in vertices)
    # P1 on simplices: dof j of a cell sits at its vertex j; the facet's are all but the one opposite it
    keep = np.array([[i for i in range(tdim + 1) if i != j] for j in range(tdim + 1)])[local[:, 0]]   # (n, tdim)
    vertex_dofs = np.take_along_axis(compat.cell_dofs(p1_space)[cells[:, 0]], keep, axis=1)
    corners = compat.dof_coordinates(p1_space)[vertex_dofs]                  # (n, tdim, 3)
    edges = corners[:, 1:] - corners[:, :1]                                  # (n, tdim - 1, 3)
    # the (tdim - 1)-volume of the simplex the edges span: sqrt(det Gram) / (tdim - 1)!
    gram = np.einsum("nij,nkj->nik", edges, edges)
    measure = np.sqrt(np.maximum(np.linalg.det(gram), 0.0)) / math.factorial(tdim - 1)
    # the normal: across the triangle (3D), or the edge turned within the section's plane (2D)
    normal = np.cross(edges[:, 0], edges[:, 1] if tdim == 3 else np.array([0.0, 0.0, 1.0]))
    length = np.linalg.norm(normal, axis=1)
    return GrainBoundaryFacets(cells, local, vertex_dofs, corners.mean(axis=1),
                               normal / np.where(length > 0, length, 1.0)[:, None], measure)


class GrainBoundaryTraction:
    section = SECTION

    def __init__(self, case: dict, problem, folder):
        self.options = case[SECTION]
        self.case = case
        self.problem = problem
        self.comm = problem.comm
        self._sum = lambda value: self.comm.allreduce(value, op=MPI.SUM)
        particle = problem.particle
        if "grain_boundary" not in particle.facet_regions:
            raise CaseError(f"[{SECTION}]: this geometry has no grain_boundary facets "
                            f"(geometry.kind = {case['geometry']['kind']!r}; use 'polycrystal')")
        self.radius_m = particle.radius_m
        self.critical_Pa = self.options["critical_traction_Pa"]
        self.core_fraction = self.options["core_radius_fraction"]
        mesh = problem.mesh
        self.p1 = compat.scalar_space(mesh, 1)
        self.facets = grain_boundary_facets(mesh, particle.facet_tags, particle.facet_regions["grain_boundary"],
                                            self.p1)
        if self.facets.cells.size and self.facets.cells[:, 1].min() < 0:
            raise CaseError(f"[{SECTION}]: a grain_boundary facet has one cell on this rank: grain boundaries must be "
                            "interior facets (and the mesh must ghost shared facets under MPI)")
        self.facet_core = self.core_mask(self.facets.centroid)
        self.area_total = self._sum(float(self.facets.measure.sum()))
        self.area_by_zone = {zone: self._sum(float(self.facets.measure[mask].sum()))
                             for zone, mask in self._zones(self.facet_core).items()}
        self._cells, self._cell_row = np.unique(self.facets.cells, return_inverse=True)
        self._cell_row = self._cell_row.reshape(-1, 2)
        self.stress_at_facets = compat.expression_at_points(problem.stress(), FACET_CENTROIDS)
        self.traction = np.zeros(len(self.facets.measure))

        self.sampler = StressSampler(problem)
        self._sample_weights = self._dof_volumes(self.sampler.source.space, self.sampler.source.n_owned)
        self.sample_core = self.core_mask(self.sampler.points)
        self._radius_fractions = {"samples": np.linalg.norm(self.sampler.points, axis=1) / self.radius_m,
                                  "facets": np.linalg.norm(self.facets.centroid, axis=1) / self.radius_m}
        self.mean_c_form = dolfinx.fem.form(problem.c * problem.dx)

        self.nodal = dolfinx.fem.Function(self.p1, name="gb_normal_traction_Pa")
        self._weight = dolfinx.fem.Function(self.p1)
        self._weight.x.array[:] = 0.0
        np.add.at(self._weight.x.array, self.facets.vertex_dofs.ravel(), np.repeat(self.facets.measure, 3))
        compat.accumulate_ghosts(self._weight.x)

        self.peak = Extreme()
        self.area_fraction = Extreme()
        self.mismatch = Extreme()
        self.threshold_extremes = {t: Extreme() for t in self.options["report_thresholds_Pa"]}
        self.zone_statistics: dict[str, dict] = {}      # "peak", "end": the section study's measures (module doc)
        self.zone_extremes = {zone: {name: Extreme() for name in (
            "gb_peak_normal_traction_Pa", "gb_area_fraction_above_critical", "max_principal_peak_Pa",
            "max_principal_p99_Pa", "max_principal_mean_tension_Pa")} for zone in ZONES}
        self.last_row: dict = {}
        self._file = open(folder.path("grain_boundaries.csv"), "w", newline="") if self.comm.rank == 0 else None
        if self._file:
            self._writer = csv.DictWriter(self._file, fieldnames=CSV_COLUMNS)
            self._writer.writeheader()

    # ------------------------------------------------------------------ helpers
    def core_mask(self, points_m: np.ndarray) -> np.ndarray:
        """Which points (metres) are in the zone "core": r / R < core_radius_fraction (a sub-volume redefines it)."""
        return zone_of(np.linalg.norm(points_m, axis=1) / self.radius_m, self.core_fraction)

    @staticmethod
    def _zones(core_mask: np.ndarray) -> dict[str, np.ndarray]:
        return {"core": core_mask, "outer": ~core_mask}

    def _dof_volumes(self, space, n_owned: int) -> np.ndarray:
        """Volume weight of every owned (block) dof of a DG space: its cell's volume / dofs per cell."""
        dg0 = compat.scalar_space(self.problem.mesh, 0, "Discontinuous Lagrange")
        volumes = compat.assemble_accumulated(dolfinx.fem.form(ufl.TestFunction(dg0) * ufl.dx(self.problem.mesh)))
        n_cells = compat.owned_cell_count(self.problem.mesh)
        cell_volume = volumes[compat.cell_dofs(dg0)[:n_cells, 0]]
        dofs = compat.cell_dofs(space)[:n_cells]
        weights = np.zeros(n_owned)
        weights[dofs.ravel()] = np.repeat(cell_volume / dofs.shape[1], dofs.shape[1])
        return weights

    def _global_peak(self, values: np.ndarray, positions: np.ndarray) -> tuple[float, np.ndarray]:
        """Largest value over all ranks and where it is (nan, zeros when there are no values)."""
        local = (float(values.max()), positions[int(values.argmax())]) if values.size else (-math.inf, np.zeros(3))
        best = max(self.comm.allgather(local), key=lambda item: item[0])
        return (best[0], np.asarray(best[1])) if np.isfinite(best[0]) else (float("nan"), np.zeros(3))

    def _global_quantile(self, values: np.ndarray, weights: np.ndarray, q: float) -> float:
        gathered = self.comm.gather((values, weights), root=0)
        result = None
        if self.comm.rank == 0:
            result = weighted_quantile(np.concatenate([g[0] for g in gathered]),
                                       np.concatenate([g[1] for g in gathered]), q)
        return self.comm.bcast(result, root=0)

    # ------------------------------------------------------------------ evaluation
    def facet_tractions(self) -> np.ndarray:
        """(n, 2) normal traction on both sides of every owned grain-boundary facet (Pa)."""
        values = compat.evaluate_expression(self.stress_at_facets, self.problem.mesh, self._cells)
        values = values.reshape(len(self._cells), len(FACET_CENTROIDS), 3, 3)
        sigma = values[self._cell_row, self.facets.local_facet]                   # (n, 2, 3, 3)
        return np.einsum("ni,nsij,nj->ns", self.facets.normal, sigma, self.facets.normal)

    def _update_nodal(self) -> None:
        self.nodal.x.array[:] = 0.0
        np.add.at(self.nodal.x.array, self.facets.vertex_dofs.ravel(), np.repeat(self.facets.measure * self.traction, 3))
        compat.accumulate_ghosts(self.nodal.x)
        weight = self._weight.x.array
        self.nodal.x.array[:] = np.where(weight > 0, self.nodal.x.array / np.where(weight > 0, weight, 1.0), 0.0)

    def evaluate(self) -> dict:
        """Statistics of the current state (collective)."""
        sides = self.facet_tractions()
        self.traction = sides.mean(axis=1)
        area = self.facets.measure
        above = self.traction > self.critical_Pa
        peak, position = self._global_peak(self.traction, self.facets.centroid)
        stats = {
            "gb_peak_normal_traction_Pa": peak, "gb_peak_position_m": position,
            "gb_peak_radius_fraction": float(np.linalg.norm(position) / self.radius_m),
            "gb_mean_normal_traction_Pa": self._sum(float(area @ self.traction)) / self.area_total,
            "gb_area_fraction_above_critical": self._sum(float(area[above].sum())) / self.area_total,
            "gb_area_fraction_above_thresholds": [
                self._sum(float(area[self.traction > t].sum())) / self.area_total for t in self.threshold_extremes],
            "gb_side_mismatch_rms_Pa": math.sqrt(self._sum(float(area @ (sides[:, 0] - sides[:, 1]) ** 2))
                                                 / self.area_total),
        }
        measures = self.sampler.evaluate()
        principal = measures["max_principal"]
        weights = self._sample_weights
        for zone, mask in self._zones(self.facet_core).items():
            zone_area = self.area_by_zone[zone]
            stats[f"gb_area_fraction_above_critical_{zone}"] = (
                self._sum(float(area[above & mask].sum())) / zone_area if zone_area > 0 else float("nan"))
            stats[f"gb_peak_normal_traction_{zone}"] = self._global_peak(self.traction[mask],
                                                                         self.facets.centroid[mask])
        for zone, mask in self._zones(self.sample_core).items():
            stats[f"max_principal_peak_{zone}"] = self._global_peak(principal[mask], self.sampler.points[mask])
            stats[f"max_principal_p99_{zone}_Pa"] = self._global_quantile(principal[mask], weights[mask], 0.99)
            volume = self._sum(float(weights[mask].sum()))
            stats[f"max_principal_mean_tension_{zone}_Pa"] = (
                self._sum(float(weights[mask] @ np.maximum(principal[mask], 0.0))) / volume if volume > 0
                else float("nan"))
        mean_c = self._sum(dolfinx.fem.assemble_scalar(self.mean_c_form)) / self.problem.volume_m3
        stats["mean_li_fraction"] = mean_c / self.problem.c_max
        stats["zone_statistics"] = self._zone_statistics(measures, stats["gb_side_mismatch_rms_Pa"])
        self.last_stats = stats
        return stats

    def _zone_statistics(self, measures: dict, mismatch_rms_Pa: float) -> dict:
        """The section study's zone measures over all ranks (collective; gathered on rank 0, which has the few
        values per cell that the fractions and means need, then broadcast)."""
        samples, facets = self._radius_fractions["samples"], self._radius_fractions["facets"]
        local = {"max_principal": (measures["max_principal"], self._sample_weights, samples),
                 "hoop": (measures["hoop"], self._sample_weights, samples),
                 "gb_normal_traction": (self.traction, self.facets.measure, facets)}
        gathered = self.comm.gather(local, root=0)
        result = None
        if self.comm.rank == 0:
            thresholds = list(self.threshold_extremes)
            result = {name: section_statistics.zone_statistics(
                *(np.concatenate([part[name][k] for part in gathered]) for k in range(3)),
                thresholds, self.core_fraction) for name in local}
            result["gb_side_mismatch_rms_Pa"] = mismatch_rms_Pa
        return self.comm.bcast(result, root=0)

    # ------------------------------------------------------------------ extension interface
    def after_step(self, step: int, t_s: float, dt_s: float) -> None:
        stats = self.evaluate()
        soc = state_of_charge(self.case, stats["mean_li_fraction"])
        position = stats["gb_peak_position_m"]
        self.peak.update(stats["gb_peak_normal_traction_Pa"], t_s, soc, position_m=position.tolist(),
                         radius_fraction=stats["gb_peak_radius_fraction"],
                         zone="core" if stats["gb_peak_radius_fraction"] < self.core_fraction else "outer")
        self.area_fraction.update(stats["gb_area_fraction_above_critical"], t_s, soc,
                                  core=stats["gb_area_fraction_above_critical_core"],
                                  outer=stats["gb_area_fraction_above_critical_outer"])
        self.mismatch.update(stats["gb_side_mismatch_rms_Pa"], t_s, soc)
        for extreme, value in zip(self.threshold_extremes.values(), stats["gb_area_fraction_above_thresholds"]):
            extreme.update(value, t_s, soc)
        for zone in ZONES:
            extremes = self.zone_extremes[zone]
            gb_value, gb_position = stats[f"gb_peak_normal_traction_{zone}"]
            extremes["gb_peak_normal_traction_Pa"].update(
                gb_value, t_s, soc, radius_fraction=float(np.linalg.norm(gb_position) / self.radius_m))
            extremes["gb_area_fraction_above_critical"].update(stats[f"gb_area_fraction_above_critical_{zone}"],
                                                               t_s, soc)
            value, position = stats[f"max_principal_peak_{zone}"]
            extremes["max_principal_peak_Pa"].update(value, t_s, soc, position_m=position.tolist(),
                                                     radius_fraction=float(np.linalg.norm(position) / self.radius_m))
            extremes["max_principal_p99_Pa"].update(stats[f"max_principal_p99_{zone}_Pa"], t_s, soc)
            extremes["max_principal_mean_tension_Pa"].update(stats[f"max_principal_mean_tension_{zone}_Pa"], t_s, soc)
        zones = dict(stats["zone_statistics"], time_s=t_s, state_of_charge=soc,
                     li_fraction=stats["mean_li_fraction"])
        self.zone_statistics["end"] = zones
        peak = self.zone_statistics.get("peak")
        core_tension = zones["max_principal"]["core"]["mean_tension_Pa"]
        if peak is None or core_tension > peak["max_principal"]["core"]["mean_tension_Pa"]:
            self.zone_statistics["peak"] = zones
        row = {key: stats.get(key) for key in CSV_COLUMNS}
        row.update(time_s=t_s, state_of_charge=soc)
        for zone in ZONES:
            row[f"max_principal_peak_{zone}_Pa"] = stats[f"max_principal_peak_{zone}"][0]
        self.last_row = row
        if self.options["point_field"]:
            self._update_nodal()
        if self._file:
            self._writer.writerow(row)
            self._file.flush()

    def point_fields(self) -> list:
        return [self.nodal] if self.options["point_field"] else []

    def summary(self) -> dict:
        if self._file:
            self._file.close()
            self._file = None
        return {
            "critical_traction_Pa": self.critical_Pa,
            "core_radius_fraction": self.core_fraction,
            "grain_boundary_area_m2": self.area_total,
            "grain_boundary_area_by_zone_m2": self.area_by_zone,
            "facets": self._sum(len(self.facets.measure)),
            "peak_normal_traction": self.peak.as_dict("value_Pa"),
            "max_area_fraction_above_critical": self.area_fraction.as_dict("value"),
            "max_side_mismatch_rms": self.mismatch.as_dict("value_Pa"),
            "max_area_fraction_above_thresholds": [dict(threshold_Pa=t, **e.as_dict("value"))
                                                   for t, e in self.threshold_extremes.items()],
            "by_zone": {zone: {name: extreme.as_dict("value") for name, extreme in extremes.items()}
                        for zone, extremes in self.zone_extremes.items()},
            "final": {k: v for k, v in self.last_row.items()},
            "zone_statistics": self.zone_statistics,
        }
