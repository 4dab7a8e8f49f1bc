"""The axisymmetric formulation: the 3D problem's forms on the meridian quarter disc in cylindrical coordinates.

Fields depend on (rho, z) only. Transport keeps its form with the volume element 2 pi rho d(rho) dz;
elasticity has u = (u_rho, u_z) and the strain of an axisymmetric body,

    eps = [[du_rho/drho, (du_rho/dz + du_z/drho)/2, 0], [., du_z/dz, 0], [0, 0, u_rho/rho]]

ordered (rho, z, theta), so that at the point (rho, z, 0) it is the Cartesian strain of the body with its
symmetry axis along y: every stress measure of the 3D model (von Mises, principal, spherical radial and
hoop about the centre, hydrostatic) follows from postprocess.stress_measures unchanged.

AxisymmetricProblem is ChemoMechanicalProblem with the Axisymmetric kinematics (solver/fields/kinematics.py):
measures that multiply every integrand by the weight 4 pi rho (2 pi of revolution, x 2 for the mirror half
z < 0), so the same transport forms, stress-assisted split, surface fluxes, volume and wetted area are those of
the whole particle, and the cylindrical strain above (solver/physics/mechanics.py: cylindrical_strain).
Boundary conditions: u_rho = 0 on the axis (symmetry_x), u_z = 0 on the equator (symmetry_y); no rigid modes
remain, so both operators are SPD and small: direct solvers
(factorised once while the operator is unchanged) beat multigrid here.
"""
from __future__ import annotations

import time

import numpy as np
from mpi4py import MPI
import dolfinx.fem

from solver import compat, quantities
from solver.fields import kinematics
from solver.postprocess import ConcentrationProbe
from solver.quantities import local_peaks, stress_measures
from solver.problem import ChemoMechanicalProblem
from solver.reduced import meridian_vtu
from solver.reduced.meridian_mesh import build_meridian_mesh
from solver.reduced.symmetry import RadialLayout

# One polynomial degree above the case's 3D degrees (P2 c, P3 u by default) on curved (quadratic) triangles:
# in 2D it costs little, and on the same [mesh] sizes the peaks then agree with the 1D reference to ~0.1 %
# where P1/P2 on straight triangles erred by 1-5 % (polygonal surfaces put stress spikes at their corners).
DEGREE_RAISE = 1


class AxisymmetricProblem(ChemoMechanicalProblem):
    """ChemoMechanicalProblem on the meridian quarter disc: the Axisymmetric kinematics (cylindrical strain,
    measures weighted by 4 pi rho; solver/fields/kinematics.py), degrees raised by DEGREE_RAISE, direct solvers."""

    def __init__(self, case: dict, particle, comm=MPI.COMM_SELF):
        solver_opts = case["solver"]
        degrees = {"concentration_degree": solver_opts["concentration_degree"] + DEGREE_RAISE,
                   "displacement_degree": solver_opts["displacement_degree"] + DEGREE_RAISE}
        # both operators are small and SPD: factorise them (the transport one again only when dt changes)
        solvers = {"transport": ("axisymmetric_transport_", "lu"), "mechanics": ("axisymmetric_mechanics_", "lu")}
        super().__init__(dict(case, solver=dict(solver_opts, **degrees)), particle, comm,
                         kinematics=kinematics.Axisymmetric, solvers=solvers)


class AxisymmetricModel:
    """Mesh, problem, stress sampling, concentration probe and field pictures of one axisymmetric run (serial)."""

    comm = MPI.COMM_SELF

    def __init__(self, case: dict, layout: RadialLayout):
        self.case, self.layout = case, layout
        started = time.perf_counter()
        self.particle = build_meridian_mesh(layout, case["mesh"], self.comm)
        self.mesh_seconds = time.perf_counter() - started
        self.problem = AxisymmetricProblem(case, self.particle, self.comm)
        problem = self.problem
        self.c_max, self.radius_m = problem.c_max, layout.radius_m
        self.volume_m3, self.wetted_area_m2 = problem.volume_m3, problem.wetted_area_m2
        self.surface_flux_mol_m2_s = float(problem.surface_flux.value)
        self.probe = ConcentrationProbe(problem)
        # the interface solver.stepping.run_time_loop drives is the problem's own
        self.advance, self.accept_step, self.reject_step = problem.advance, problem.accept_step, problem.reject_step
        self.li_content_range = problem.li_content_range
        self.c, self.c_old, self.c_older = problem.c, problem.c_old, problem.c_older
        self.fields = problem.fields        # the runner collects their summaries and tables (e.g. [damage])
        mesh = self.particle.mesh
        # stresses are sampled at the nodes of the Lagrange space of their degree (vertices and edge points)
        degree = max(compat.element_degree(problem.V_u) - 1, compat.element_degree(problem.V_c))
        self.V_sample = compat.scalar_space(mesh, degree)
        self.cells = np.arange(compat.owned_cell_count(mesh), dtype=np.int32)
        self.cell_nodes = compat.cell_dofs(self.V_sample)[self.cells]           # (cells, nodes); vertices first
        coordinates = compat.dof_coordinates(self.V_sample)
        # sample points in the frame of the pictures: (rho, z, 0), symmetry axis along y
        self.points = np.column_stack([coordinates[:, 0], coordinates[:, 1], np.zeros(len(coordinates))])
        self.stress_expression = compat.expression_at_points(problem.stress(),
                                                             compat.interpolation_points(self.V_sample))
        self.field_expressions = {"c": compat.expression(problem.c, self.V_sample),
                                  **{k: compat.expression(problem.u[k], self.V_sample) for k in range(2)}}

    def _measures(self) -> tuple[dict, np.ndarray]:
        """Stress measures at every cell vertex (the exact stress per cell: discontinuous), with their points."""
        values = compat.evaluate_expression(self.stress_expression, self.particle.mesh, self.cells)
        tensors = values.reshape(-1, 3, 3)
        points = self.points[self.cell_nodes.ravel()]
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

    def write_fields(self, path) -> None:
        """Node values (cell-node stresses averaged over the cells around each node) on the straight triangles of
        the vertices, as a meridian VTU, with the fields' point fields (e.g. damage) under their names."""
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
        regions = np.zeros(len(self.cells), dtype=np.int32)
        tags = self.particle.cell_tags
        regions[tags.indices] = tags.values
        data = quantities.field_arrays(nodal, {"concentration_mol_m3": values["c"], "li_fraction": values["c"] / self.c_max,
                                               "displacement_m": np.column_stack([values[0], values[1]])})
        for function in (f for field in self.fields.values() for f in field.point_fields()):   # e.g. damage
            sampled = dolfinx.fem.Function(self.V_sample)
            sampled.interpolate(function)
            data[function.name] = sampled.x.array[:n].copy()
        meridian_vtu.write_meridian_vtu(path, self.points[:, :2], self.cell_nodes[:, :3], data, regions,
                                        self.radius_m)
