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

from mpi4py import MPI

from solver.fields import kinematics
from solver.problem import ChemoMechanicalProblem
from solver.reduced.meridian_mesh import build_meridian_mesh
from solver.reduced.planar import PlanarModel
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


class AxisymmetricModel(PlanarModel):
    """Mesh, problem, stress sampling, concentration probe and field pictures of one axisymmetric run (serial)."""

    def __init__(self, case: dict, layout: RadialLayout):
        self.layout = layout
        started = time.perf_counter()
        particle = build_meridian_mesh(layout, case["mesh"], self.comm)
        mesh_seconds = time.perf_counter() - started
        super().__init__(case, particle, AxisymmetricProblem(case, particle, self.comm), layout.radius_m, mesh_seconds)
