"""Stress sampling and peaks in space and time of the quantities in solver/quantities.py (which holds the
stress measures and each one's peak rule).

The stress is interpolated into a discontinuous Lagrange tensor space of the degree that holds it
exactly (P2 displacement and P1 concentration give a DG1 stress), so peaks are taken over values
the solution really has, cell by cell ("cellwise", the default of output.peak_stress).

Where the stress falls steeply across a few cells (a thin shell at its Li limit, solver/shell.py) the
cellwise values jump between neighbouring cells by ~ |grad sigma| h and the maximum over cells picks the
largest overshoot. output.peak_stress = "recovered" takes the peaks of the nodal average instead: at each
vertex, the volume-weighted mean of the values the cells of one region have there. Smooth within a region,
still discontinuous across region interfaces (where the stress itself jumps), and equal to the cellwise
value wherever the stress is continuous.
"""
from __future__ import annotations

from dataclasses import dataclass, asdict

import numpy as np
from mpi4py import MPI
import dolfinx.fem

from solver import compat, quantities
from solver.errors import CaseError
# the stress measures of the quantity registry (re-exported: the FE modules and the reduced models take them from here)
from solver.quantities import stress_measures, symmetric_eigenvalues  # noqa: F401

@dataclass
class Peak:
    value_Pa: float
    position_m: list
    radius_fraction: float
    time_s: float


def exact_stress_degree(problem) -> int:
    """The DG degree that holds the stress of a P(k) displacement and P(m) concentration: max(k - 1, m)."""
    return max(compat.element_degree(problem.V_u) - 1, compat.element_degree(problem.V_c))


class DGStress:
    """The stress of a problem interpolated into a DG tensor space of `degree`, sampled at the owned dofs."""

    def __init__(self, problem, degree: int):
        self.space = compat.tensor_space(problem.mesh, degree, "Discontinuous Lagrange")
        self.function = dolfinx.fem.Function(self.space)
        self._expression = compat.expression(problem.stress(), self.space)
        self.n_owned = self.space.dofmap.index_map.size_local
        self.points = compat.dof_coordinates(self.space)[: self.n_owned]

    def sample(self) -> tuple[np.ndarray, np.ndarray]:
        """(tensors (n, 3, 3), points (n, 3)) at this rank's owned dofs."""
        self.function.interpolate(self._expression)
        return self.function.x.array.reshape(-1, 3, 3)[: self.n_owned], self.points


# Region-wise recovery assembles once per region per evaluation; beyond this many regions (e.g. the grains
# of a polycrystal) that is no longer cheap, and the cellwise peaks are the ones to use.
MAX_RECOVERED_REGIONS = 8


class VertexAverage:
    """At each vertex, the volume-weighted mean of the values that the stress of the selected cells has there.

    Assembled with the vertex quadrature rule (weights |cell|/4 at the corners): integrating sigma v_i gives
    the volume-weighted sum of the cells' own values at vertex i, and dividing by the integral of v_i averages
    them. Exact for any continuous piecewise-linear stress, boundaries included (a lumped L2 projection pulls
    boundary values towards the interior). Every cell counts once, so rank boundaries see all their cells.
    Arrays cover this rank's vertices, ghosts included, in the order of `scalar_space` (a P1 space).
    """

    def __init__(self, problem, scalar_space=None):
        import ufl

        mesh = problem.mesh
        at_vertices = ufl.Measure("dx", domain=mesh, metadata={"quadrature_rule": "vertex", "quadrature_degree": 1})
        scalar_space = scalar_space or compat.scalar_space(mesh, 1)
        self.n_owned = scalar_space.dofmap.index_map.size_local
        self.points = compat.dof_coordinates(scalar_space)
        self._selected = dolfinx.fem.Function(compat.scalar_space(mesh, 0, "Discontinuous Lagrange"))
        self._selected.x.array[:] = 1.0
        test = ufl.TestFunction(compat.tensor_space(mesh, 1))
        self._stress_form = dolfinx.fem.form(self._selected * ufl.inner(problem.stress(), test) * at_vertices)
        self._weight_form = dolfinx.fem.form(self._selected * ufl.TestFunction(scalar_space) * at_vertices)

    def select(self, cells) -> None:
        """Average over these local cells only (all cells until called)."""
        self._selected.x.array[:] = 0.0
        self._selected.x.array[cells] = 1.0

    def weights(self) -> np.ndarray:
        """Per vertex, the volume the selected cells give it (zero where none touches it)."""
        return compat.assemble_accumulated(self._weight_form).copy()

    def sums(self) -> np.ndarray:
        """(n, 3, 3) per vertex: the selected cells' stress values there, weighted by those volumes."""
        return compat.assemble_accumulated(self._stress_form).reshape(-1, 3, 3)


class RecoveredStress:
    """The nodal stress of each cell region: the VertexAverage over the region's cells at each of its vertices,
    so it stays discontinuous across region interfaces, where the stress itself jumps. sample() returns
    (tensors (n, 3, 3), points (n, 3)) over the owned vertices of all regions; `region_slices` says which rows
    belong to which region."""

    def __init__(self, problem):
        particle = problem.particle
        regions = particle.cell_regions
        if len(regions) > MAX_RECOVERED_REGIONS:
            raise CaseError(f"output.peak_stress = 'recovered': supports up to {MAX_RECOVERED_REGIONS} cell "
                            f"regions; this particle has {len(regions)} (e.g. polycrystal grains): use 'cellwise'")
        self.average = VertexAverage(problem)
        n_owned = self.average.n_owned
        self.regions, self.region_slices, points = [], {}, []
        start = 0
        for name, tag in sorted(regions.items()):
            cells = compat.entities_with_tag(particle.cell_tags, tag)
            self.average.select(cells)
            weights = self.average.weights()[:n_owned]
            nodes = np.flatnonzero(weights > 0.0)
            self.regions.append((cells, nodes, weights[nodes]))
            self.region_slices[name] = slice(start, start + nodes.size)
            start += nodes.size
            points.append(self.average.points[nodes])
        self.points = np.concatenate(points) if points else np.zeros((0, 3))

    def sample(self) -> tuple[np.ndarray, np.ndarray]:
        blocks = []
        for cells, nodes, weights in self.regions:
            self.average.select(cells)
            blocks.append(self.average.sums()[nodes] / weights[:, None, None])
        return (np.concatenate(blocks) if blocks else np.zeros((0, 3, 3))), self.points


class StressSampler:
    """Evaluates the stress of a ChemoMechanicalProblem and reduces peaks over ranks: on its exact DG space
    ("cellwise": values at the vertices of every cell) or region-wise nodal averages ("recovered")."""

    def __init__(self, problem, evaluation: str = "cellwise"):
        self.problem = problem
        self.evaluation = evaluation
        self.radius_m = problem.particle.radius_m
        self.source = (RecoveredStress(problem) if evaluation == "recovered"
                       else DGStress(problem, exact_stress_degree(problem)))
        self.points = self.source.points

    def evaluate(self) -> dict[str, np.ndarray]:
        self.tensors, _ = self.source.sample()
        return stress_measures(self.tensors, self.points, self.radius_m)

    def local_peaks(self, measures) -> dict[str, tuple[float, np.ndarray]]:
        return quantities.local_peaks(measures, self.points)

    def global_peaks(self, measures) -> dict[str, tuple[float, np.ndarray]]:
        """The peaks over all ranks; ties go to the lowest rank so every rank agrees."""
        gathered = self.problem.comm.allgather(self.local_peaks(measures))
        out = {}
        for quantity in quantities.peak_quantities():
            best = None
            for peaks in gathered:
                value, position = peaks[quantity.name]
                if np.isnan(value):
                    continue
                if best is None or quantity.beats(value, best[0]):
                    best = (value, position)
            out[quantity.name] = best
        return out


class PeakTracker:
    """Keeps the extreme of each measure over time, with where and when it happened."""

    def __init__(self, radius_m: float):
        self.radius_m = radius_m
        self.peaks: dict[str, Peak] = {}

    def update(self, step_peaks: dict[str, tuple[float, np.ndarray]], time_s: float) -> None:
        for kind, (value, position) in step_peaks.items():
            incumbent = self.peaks.get(kind)
            if incumbent is None or quantities.get(kind).beats(value, incumbent.value_Pa):
                self.peaks[kind] = Peak(float(value), [float(p) for p in position],
                                        float(np.linalg.norm(position) / self.radius_m), float(time_s))

    def as_dict(self) -> dict:
        return {kind: asdict(peak) for kind, peak in self.peaks.items()}


class ConcentrationProbe:
    """Mean, surface-mean, centre, min and max of the concentration; forms compiled once."""

    def __init__(self, problem):
        self.problem = problem
        # the Li content (differs from c in a Li-deficient shell, solver/shell.py)
        self.mean_form = dolfinx.fem.form(problem.li_amount())
        self.surface_form = dolfinx.fem.form(problem.li_concentration() * problem.ds_wetted)
        n_owned = problem.V_c.dofmap.index_map.size_local
        self.n_owned = n_owned
        distances = np.linalg.norm(compat.dof_coordinates(problem.V_c)[:n_owned], axis=1)
        local_best = (float(distances.min()) if n_owned else np.inf, problem.comm.rank)
        best = problem.comm.allreduce(local_best, op=MPI.MIN)
        self.centre_rank = best[1]
        self.centre_dof = int(np.argmin(distances)) if problem.comm.rank == self.centre_rank else -1

    def _sum(self, form) -> float:
        return self.problem.comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM)

    def sample(self) -> dict[str, float]:
        comm = self.problem.comm
        owned = self.problem.c.x.array[: self.n_owned]
        centre = owned[self.centre_dof] if comm.rank == self.centre_rank else 0.0
        low, high = global_range(comm, owned)
        return {
            "mean_mol_m3": self._sum(self.mean_form) / self.problem.volume_m3,
            "surface_mol_m3": self._sum(self.surface_form) / self.problem.wetted_area_m2,
            "centre_mol_m3": comm.bcast(centre, root=self.centre_rank),
            "min_mol_m3": low,
            "max_mol_m3": high,
        }


def global_range(comm, owned: np.ndarray) -> tuple[float, float]:
    """(min, max) of this rank's owned values over all ranks (a rank may own none)."""
    low = comm.allreduce(float(owned.min()) if owned.size else np.inf, op=MPI.MIN)
    high = comm.allreduce(float(owned.max()) if owned.size else -np.inf, op=MPI.MAX)
    return low, high


def surface_and_centre_values(values: np.ndarray, points: np.ndarray, radius_m: float, comm,
                              relative_tolerance: float = 1e-6) -> dict[str, float]:
    """Mean of a nodal measure over points on the outer sphere and at the centre (verification helper)."""
    r = np.linalg.norm(points, axis=1)
    on_surface = np.abs(r - radius_m) < relative_tolerance * radius_m
    at_centre = r < relative_tolerance * radius_m

    def mean_over(mask):
        total = comm.allreduce(float(values[mask].sum()), op=MPI.SUM)
        count = comm.allreduce(int(mask.sum()), op=MPI.SUM)
        return total / count if count else float("nan")

    return {"surface": mean_over(on_surface), "centre": mean_over(at_centre)}
