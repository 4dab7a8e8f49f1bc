"""A sub-volume run (geometry.kind = "subvolume", solver/geometry/subvolume.py): the Li transport and mechanics
fields with the particle-scale field (solver/particle_scale.py) imposed on the cube's faces.

Boundary conditions ("mixed" in the sense of Li and mechanics each taking the particle's kinematic quantity):
- Li: c = c_particle(r, t) on `cube_face` (Dirichlet). The cube's Li then follows the particle's at its radii,
  whatever the microstructure does inside; pore surfaces inside the cube are closed (no flux), as in the
  particle cases (operation.wetted_surfaces = ["outer_surface"]).
- Mechanics: u = u_particle(x, t) on `cube_face` (kinematic, "affine" to the particle's strain field, which is not
  uniform over the cube: the homogenised sphere's displacement itself is imposed). The grains' misfit about that
  strain fluctuates inside. Periodic or minimal-kinematic conditions would need multi-point constraints
  (dolfinx_mpc), which this tool does not depend on.
Limits: a Dirichlet window stiffens a boundary layer about one grain deep: the statistics read only the centred
window of geometry.interior_fraction x the edge (solver/subvolume_statistics.py). The particle-scale field is
the dense homogenised sphere (solver/particle_scale.py), so the cube does not feed back into the particle.

The fields are the core ones with these BCs (ChemoMechanicalProblem(..., fields=SUBVOLUME_FIELDS)); the time of
the boundary values is the start of the run plus the accepted steps plus the step being solved.
"""
from __future__ import annotations

import numpy as np
import dolfinx.fem

from solver import compat
from solver.fields.mechanics import MechanicsField
from solver.fields.transport import TransportField
from solver.geometry.subvolume import FACE
from solver.particle_scale import HomogenisedParticle


class SubvolumeTransport(TransportField):
    """Li transport with c = the particle's c(r, t) on the cube's faces; no surface flux of its own."""

    def __init__(self, context):
        super().__init__(context)
        self.particle_field = HomogenisedParticle.from_case(context.case)
        # no surface flux term in build(): the faces carry c (concentration_boundary_conditions); the flux is the
        # homogenised particle's, reported only
        self.galvanostatic = False
        self.surface_flux.value = self.particle_field.flux_mol_m2_s
        self.time_s = self._accepted_time_s = 0.0
        self.boundary_c = dolfinx.fem.Function(self.space)
        self._nodes = context.surface_dofs(self.space, [FACE])
        self._radii = np.linalg.norm(compat.dof_coordinates(self.space)[self._nodes], axis=1)
        self._set_boundary(0.0)

    def wetted_surfaces(self) -> list[str]:
        return [FACE]

    def _set_boundary(self, t_s: float) -> None:
        self.boundary_c.x.array[self._nodes] = self.particle_field.concentration(self._radii, t_s)

    def concentration_boundary_conditions(self) -> list:
        return [dolfinx.fem.dirichletbc(self.boundary_c, self._nodes)]

    def begin_step(self, dt: float, previous_dt: float | None, scheme: str) -> None:
        super().begin_step(dt, previous_dt, scheme)
        self.time_s = self._accepted_time_s + dt
        self._set_boundary(self.time_s)

    def accept(self) -> None:
        super().accept()
        self._accepted_time_s = self.time_s

    def reject(self) -> None:
        super().reject()
        self.time_s = self._accepted_time_s

    def summary(self) -> dict:
        return {"particle_scale": self.particle_field.summary()}


class SubvolumeMechanics(MechanicsField):
    """Elasticity with u = the particle's displacement on the cube's faces (at the transport's time)."""

    def __init__(self, context):
        super().__init__(context)
        self.boundary_u = dolfinx.fem.Function(self.space)
        self._nodes = context.surface_dofs(self.space, [FACE])       # blocked: a node's (x, y, z) are one dof
        self._points = compat.dof_coordinates(self.space)[self._nodes]
        self._time_s = None

    def boundary_conditions(self) -> list:
        return [dolfinx.fem.dirichletbc(self.boundary_u, self._nodes)]

    def solve_displacement(self) -> int:
        time_s = self.context.fields["transport"].time_s
        if time_s != self._time_s:   # the coupling may solve several times at one time
            values = self.boundary_u.x.array.reshape(-1, 3)
            values[self._nodes] = self.context.fields["transport"].particle_field.displacement(self._points, time_s)
            self._time_s = time_s
        return super().solve_displacement()


SUBVOLUME_FIELDS = {"transport": SubvolumeTransport, "mechanics": SubvolumeMechanics}
