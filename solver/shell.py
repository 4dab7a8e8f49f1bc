"""[region_peaks]: the peak stress of each cell region (the Li-deficient shell's companion output).

The Li-deficient shell's content model (case keys [initial] shell_*, [material.regions.<region>]
li_fraction_min/max) is solver/fields/shell_content.py; its dolfinx-free checks and the 1D reference are in
solver/shell_section.py.
"""
from __future__ import annotations

import numpy as np
from mpi4py import MPI

from solver import compat
from solver.errors import CaseError
from solver.postprocess import DGStress, RecoveredStress, stress_measures
from solver.shell_section import REGION_PEAK_KINDS


# --------------------------------------------------------------------------------------------
# [region_peaks]: where the peak stress sits, region by region, pointwise and cell-averaged
# --------------------------------------------------------------------------------------------

class RegionPeaks:
    """Extension [region_peaks]: the peak of each stress measure in each cell region, over time.

        [region_peaks]
        regions = []          # cell regions to report; empty: all of them

    Three evaluations per step: "pointwise" (the exact DG1 stress at the vertices of every cell, the main peak
    tracker's "cellwise"), "cell_mean" (the stress at cell midpoints, i.e. the cell average of the DG1 stress)
    and "recovered" (the region-wise nodal average, solver/postprocess.py RecoveredStress). Where the stress
    falls steeply across a thin shell, pointwise values scatter by ~ |grad sigma| h between neighbouring cells
    and their maximum overshoots; the recovered and cell-mean values are the mesh-robust measures there.
    Each peak carries r/R and time; summary["region_peaks"][region][evaluation][kind].
    """

    section = "region_peaks"

    def __init__(self, case: dict, problem, folder):
        particle = problem.particle
        names = case["region_peaks"]["regions"] or sorted(particle.cell_regions)
        unknown = [n for n in names if n not in particle.cell_regions]
        if unknown:
            raise CaseError(f"region_peaks.regions: {unknown[0]!r} is not a cell region; "
                            f"available: {', '.join(sorted(particle.cell_regions))}")
        self.problem, self.radius_m = problem, particle.radius_m
        n_cells = compat.owned_cell_count(problem.mesh)
        # label -> (a callable giving (tensors, points), {region: rows of those arrays})
        self.evaluations = {}
        for label, degree in (("pointwise", 1), ("cell_mean", 0)):
            stress = DGStress(problem, degree)
            dofs = compat.cell_dofs(stress.space)[:n_cells]
            region_rows = {}
            for name in names:
                cells = compat.entities_with_tag(particle.cell_tags, particle.cell_regions[name])
                chosen = np.unique(dofs[cells[cells < n_cells]].ravel())
                region_rows[name] = chosen[chosen < stress.n_owned]
            self.evaluations[label] = (stress.sample, region_rows)
        recovered = RecoveredStress(problem)
        self.evaluations["recovered"] = (recovered.sample, {
            name: np.arange(recovered.region_slices[name].start, recovered.region_slices[name].stop)
            for name in names})
        self.peaks = {name: {label: {} for label in self.evaluations} for name in names}

    def after_step(self, step: int, t_s: float, dt_s: float) -> None:
        comm = self.problem.comm
        for label, (sample, region_rows) in self.evaluations.items():
            tensors, points = sample()
            for name, rows in region_rows.items():
                measures = stress_measures(tensors[rows], points[rows], self.radius_m)
                for kind in REGION_PEAK_KINDS:
                    values = measures[kind]
                    local = (float(values.max()), comm.rank) if values.size else (-np.inf, comm.rank)
                    value, rank = comm.allreduce(local, op=MPI.MAXLOC)
                    point = points[rows][int(np.argmax(values))] if comm.rank == rank and values.size else None
                    point = comm.bcast(point, root=rank)
                    best = self.peaks[name][label].get(kind)
                    if point is not None and (best is None or value > best["value_Pa"]):
                        self.peaks[name][label][kind] = {
                            "value_Pa": value, "radius_fraction": float(np.linalg.norm(point) / self.radius_m),
                            "time_s": t_s}

    def summary(self) -> dict:
        return self.peaks
