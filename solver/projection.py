"""L2 projection of a UFL expression onto a finite-element space, with the mass matrix assembled once.

Used where interpolation would sample an expression that the space cannot hold: the hydrostatic stress of
the stress-assisted flux (P1 from a DG stress).
"""
from __future__ import annotations

import ufl
import dolfinx.fem

from solver import compat, linalg

# Mass matrices are well conditioned, so CG + Jacobi reaches this in a handful of iterations; tight, because
# the projected field enters the next transport solve.
PROJECTION_RTOL = 1e-12


class L2Projection:
    """target = argmin ||target - expression||_L2(measure) over `space`; call update() to refresh."""

    def __init__(self, expression, space, measure, comm, prefix: str, name: str | None = None):
        trial, test = ufl.TrialFunction(space), ufl.TestFunction(space)
        self.function = dolfinx.fem.Function(space, name=name) if name else dolfinx.fem.Function(space)
        self._rhs_form = dolfinx.fem.form(ufl.inner(expression, test) * measure)
        self._matrix = compat.assemble_matrix(dolfinx.fem.form(ufl.inner(trial, test) * measure))
        self._rhs = compat.create_vector(self._rhs_form)
        self._ksp = linalg.make_ksp(comm, prefix, "cg_jacobi", PROJECTION_RTOL, self._matrix)
        self._what = f"L2 projection ({prefix.rstrip('_')})"

    def update(self):
        compat.assemble_vector_into(self._rhs, self._rhs_form)
        linalg.solve(self._ksp, self._rhs, compat.petsc_vector(self.function), self._what)
        return self.function
