"""What the 2D models share (the axisymmetric meridian, solver/reduced/axisymmetric.py, and the plane section,
solver/reduced/section.py): stress sampling at the cell nodes, peaks, the concentration probe and the field VTU.

Both solve on triangles in the plane (x, y) with a 3x3 stress: at the point (x, y, 0) it is the Cartesian stress
of the 3D body (meridian: symmetry axis along y; section: the section plane z = 0 through the particle's centre),
so every stress measure of the 3D model (von Mises, principal, spherical radial and hoop about the centre,
hydrostatic) follows from quantities.stress_measures unchanged.
"""
from __future__ import annotations

import numpy as np
from mpi4py import MPI
import dolfinx.fem

from solver import compat, quantities
from solver.postprocess import ConcentrationProbe
from solver.quantities import local_peaks, stress_measures
from solver.reduced import meridian_vtu


class PlanarModel:
    """Stress sampling, concentration probe and field files of one serial 2D run: the interface the reduced
    runner (solver/reduced/runner.py) and solver.stepping drive."""

    comm = MPI.COMM_SELF

    def __init__(self, case: dict, particle, problem, radius_m: float, mesh_seconds: float):
        self.case, self.particle, self.problem = case, particle, problem
        self.mesh_seconds = mesh_seconds
        self.c_max, self.radius_m = problem.c_max, radius_m
        self.volume_m3, self.wetted_area_m2 = problem.volume_m3, problem.wetted_area_m2
        self.surface_flux_mol_m2_s = float(problem.surface_flux.value)
        self.probe = ConcentrationProbe(problem)
        # the interface solver.stepping.run_time_loop drives is the problem's own
        self.advance, self.accept_step, self.reject_step = problem.advance, problem.accept_step, problem.reject_step
        self.li_content_range = problem.li_content_range
        self.fields = problem.fields        # the runner collects their summaries and tables (e.g. [damage])
        self.c, self.c_old, self.c_older = problem.c, problem.c_old, problem.c_older
        mesh = particle.mesh
        # stresses are sampled at the nodes of the Lagrange space of their degree (vertices and edge points)
        degree = max(compat.element_degree(problem.V_u) - 1, compat.element_degree(problem.V_c))
        self.V_sample = compat.scalar_space(mesh, degree)
        self.cells = np.arange(compat.owned_cell_count(mesh), dtype=np.int32)
        self.cell_nodes = compat.cell_dofs(self.V_sample)[self.cells]           # (cells, nodes); vertices first
        coordinates = compat.dof_coordinates(self.V_sample)
        # sample points in the frame of the pictures: (x, y, 0)
        self.points = np.column_stack([coordinates[:, 0], coordinates[:, 1], np.zeros(len(coordinates))])
        self.stress_expression = compat.expression_at_points(problem.stress(),
                                                             compat.interpolation_points(self.V_sample))
        self.field_expressions = {"c": compat.expression(problem.c, self.V_sample),
                                  **{k: compat.expression(problem.u[k], self.V_sample) for k in range(2)}}

    def stress_at_nodes(self) -> tuple[np.ndarray, np.ndarray]:
        """The stress tensors (n, 3, 3) at every cell node (the exact stress per cell: discontinuous), and the
        points (n, 3)."""
        values = compat.evaluate_expression(self.stress_expression, self.particle.mesh, self.cells)
        return values.reshape(-1, 3, 3), self.points[self.cell_nodes.ravel()]

    def _measures(self) -> tuple[dict, np.ndarray]:
        """Stress measures at every cell node, with their points."""
        tensors, points = self.stress_at_nodes()
        return stress_measures(tensors, points, self.radius_m), points

    def solve_mechanics(self) -> None:
        self.problem.solve_mechanics()

    def peaks(self) -> dict:
        measures, points = self._measures()
        return local_peaks(measures, points)

    def concentration(self) -> dict:
        return self.probe.sample()

    def mesh_summary(self) -> dict:
        problem = self.problem
        return {"cells": compat.cell_count_global(self.particle.mesh),
                "dofs": {"concentration": compat.dof_count_global(problem.V_c),
                         "displacement": compat.dof_count_global(problem.V_u)},
                "cell_regions": self.particle.cell_regions, "facet_regions": self.particle.facet_regions,
                "description": dict(self.particle.description, kind=self.case["geometry"]["kind"])}

    def write_fields(self, path, extra_point_fields=()) -> None:
        """Node values (cell-node stresses averaged over the cells around each node) on the straight triangles of
        the vertices, as a slab VTU (solver/reduced/meridian_vtu.py); `extra_point_fields`: Functions written under
        their names (e.g. the surface current density of solver/fields/potential.py), besides every field's own point
        fields (e.g. damage)."""
        measures, _ = self._measures()
        nodes = self.cell_nodes.ravel()
        n = len(self.points)
        counts = np.maximum(np.bincount(nodes, minlength=n), 1)
        nodal = {name: np.bincount(nodes, weights=values, minlength=n) / counts for name, values in measures.items()}
        values = {}
        for key, expression in self.field_expressions.items():
            function = dolfinx.fem.Function(self.V_sample)
            function.interpolate(expression)
            values[key] = function.x.array[:n].copy()
        data = quantities.field_arrays(nodal, {"concentration_mol_m3": values["c"], "li_fraction": values["c"] / self.c_max,
                                               "displacement_m": np.column_stack([values[0], values[1]])})
        for source in [*extra_point_fields, *(f for field in self.fields.values() for f in field.point_fields())]:
            function = dolfinx.fem.Function(self.V_sample)
            function.interpolate(source)
            data[source.name] = function.x.array[:n].copy()
        regions = np.zeros(len(self.cells), dtype=np.int32)
        tags = self.particle.cell_tags
        regions[tags.indices] = tags.values
        meridian_vtu.write_meridian_vtu(path, self.points[:, :2], self.cell_nodes[:, :3], data, regions,
                                        self.radius_m)
