"""Generalised plane strain of a 2D section: a uniform axial strain eps_zz = e, free to take the value at which
the section carries no axial force (N = int sigma_zz dA = 0), as a thin slice of a body free at its ends does.

Plain plane strain (eps_zz = 0, solver/fields/kinematics.py PlaneStrain) clamps the section axially: Li
insertion then builds sigma_zz = -E Omega (c - c_ref) / 3 everywhere, gigapascals over a charge, which no
particle carries. With e free the in-plane stresses are those of plane strain (for an isotropic body they do not
depend on e) and sigma_zz loses its uniform part (solver/analytic.py: long_cylinder_stresses).

The total strain is eps(u) + e e_z e_z^T. So that every form stays linear in u and the constitutive law sees the
full 3x3 strain unchanged, e enters as an eigenstrain: sigma = C : (eps(u) - (eps*(c) - e e_z e_z^T))
(AxialStrainMaterial). By linearity u = u_0 + e u_1, where u_0 is the plane-strain solution (e = 0) and u_1 the
displacement of a unit axial strain with no Li strain, solved once when the field is built (it depends on the
stiffness only), so a step costs one solve as in plane strain plus two integrals: N(e) = N_0 + e N_1 = 0. Where
another field degrades the stiffness (phase-field damage), u_1 and N_1 are solved again whenever that field's state
has changed since (one more solve then; none while the section stays undamaged).
"""
from __future__ import annotations

import numpy as np
import ufl
from petsc4py import PETSc
import dolfinx.fem

from solver import compat, linalg
from solver.fields.mechanics import MechanicsField


def axial_unit_strain():
    """e_z e_z^T (3x3)."""
    return ufl.as_matrix([[0, 0, 0], [0, 0, 0], [0, 0, 1]])


class AxialStrainMaterial:
    """A material model whose eigenstrain is shifted by the section's axial strain: eps*(c) - e e_z e_z^T.
    Everything else is the wrapped model's."""

    def __init__(self, material, mesh):
        self.wrapped = material
        self.axial_strain = dolfinx.fem.Constant(mesh, PETSc.ScalarType(0.0))

    def __getattr__(self, name):
        return getattr(self.wrapped, name)

    def eigenstrain(self, c):
        return self.wrapped.eigenstrain(c) - self.axial_strain * axial_unit_strain()


class GeneralisedPlaneStrainMechanics(MechanicsField):
    """The mechanics field with the axial strain chosen at every solve so that the axial force vanishes
    (see the module docstring). Needs the AxialStrainMaterial as the problem's material."""

    def build(self, context) -> None:
        super().build(context)
        material, dx, strain = context.material, context.dx, self.kinematics.strain
        unit = axial_unit_strain()
        law = self.constitutive()        # degraded by other fields (e.g. damage): u_1 and N_1 follow their state
        # u_1: K u_1 = -int C(e_z e_z^T) : eps(v), the load of a unit axial strain (self-equilibrated)
        self.u_unit = dolfinx.fem.Function(self.space)
        self.unit_load = dolfinx.fem.form(-ufl.inner(law(unit), strain(ufl.TestFunction(self.space))) * dx)
        self.unit_force = dolfinx.fem.form(law(strain(self.u_unit) + unit)[2, 2] * dx)
        self.axial_force = dolfinx.fem.form(self.stress()[2, 2] * dx)
        self._unit_state = None          # the degrading fields' solutions u_1 was solved for
        if not self.stiffness_varies:
            self._solve_unit_strain()

    def _solve_unit_strain(self) -> None:
        """u_1 and N_1 for the present stiffness (with the operator K the last solve assembled)."""
        b = compat.create_vector(self.unit_load)
        compat.assemble_vector_into(b, self.unit_load, self.a, self.bcs)
        vector = compat.petsc_vector(self.u_unit)
        if self.floating:
            self.rigid_modes.remove(b)
        linalg.solve(self.ksp, b, vector, "mechanics (unit axial strain)")
        if self.floating:
            self.rigid_modes.remove(vector)
        compat.scatter_forward(self.u_unit)
        self.axial_force_per_strain = self.context.comm.allreduce(dolfinx.fem.assemble_scalar(self.unit_force))

    def solve_displacement(self) -> int:
        axial = self.context.material.axial_strain
        axial.value = 0.0
        iterations = super().solve_displacement()
        if self.stiffness_varies:
            # a degraded stiffness changes u_1: solved again (one more solve) only when a degrading field moved
            state = [field.solution.x.array.copy() for field in self.degradations()]
            if self._unit_state is None or any(not np.array_equal(a, b) for a, b in zip(state, self._unit_state)):
                self._solve_unit_strain()
                self._unit_state = state
        force = self.context.comm.allreduce(dolfinx.fem.assemble_scalar(self.axial_force))
        strain = -force / self.axial_force_per_strain
        self.u.x.array[:] += strain * self.u_unit.x.array
        axial.value = strain
        return iterations
