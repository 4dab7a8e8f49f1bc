"""The mechanics field: displacement u (vector P_k), small-strain elasticity with the eigenstrain of the Li content
the transport field offers (strain_li_content), traction-free surface, zero normal displacement on symmetry
planes. Strain and measures come from the kinematics (3D or axisymmetric, solver/fields/kinematics.py); the
constitutive law and eigenstrain from the material model. CG + GAMG with the rigid body modes as near-nullspace
(and as nullspace when no symmetry plane holds the body); the case or the formulation may choose another preset.

A damaged stiffness (cells at the residual stiffness k ~ 1e-6 of the rest) can make GAMG's Chebyshev smoothers
indefinite: CG stops with DIVERGED_INDEFINITE_PC (measured on cycled 400-grain sections once ~30 % of the section
is cracked). The field then switches, for the rest of the run, to CG + BoomerAMG (hypre), whose smoothers
stay positive there (a section that had failed in cycle 15 went on to its broken state at cycle 46, its cycle
ends up to 15 equal to the printed digits); a PETSc without hypre keeps the failure.

Other fields may degrade the stiffness (Field.degrade_constitutive, e.g. phase-field damage): stress() and both
forms use the material's law composed with every field's degradation, and the matrix is then reassembled before
each solve. Mechanics knows nothing of what degrades it.

It also offers the P1 projection of its hydrostatic stress (hydrostatic_stress()), which the stress-assisted
flux reads; the projection is refreshed by solve(), i.e. by every solve the coupling makes.
"""
from __future__ import annotations

import ufl
from petsc4py import PETSc
import dolfinx.fem

from solver import compat, linalg
from solver.errors import SolveError
from solver.fields.base import Field, FieldContext
from solver.physics import mechanics
from solver.projection import L2Projection

PRESETS = {"gamg": "cg_gamg", "hypre": "cg_hypre", "lu": "lu"}
# the preset a CG + GAMG solve falls back to when its preconditioner turns indefinite (module docstring)
INDEFINITE_FALLBACK = {"cg_gamg": "cg_hypre"}


class MechanicsField(Field):
    name = "mechanics"
    symbol = "u"
    reads = ("transport",)       # the Li content, through the eigenstrain

    def __init__(self, context: FieldContext):
        super().__init__(context)
        self.kinematics = context.kinematics
        self.space = compat.vector_space(context.mesh, context.settings.solver.displacement_degree)
        self.u = self.solution = dolfinx.fem.Function(self.space, name="displacement_m")
        self._accepted = (None, None)      # displacement of the last two accepted steps (PETSc vectors)
        self.projection = None
        self.rigid_modes = None

    def degradations(self) -> list:
        """The fields that degrade the stiffness (their degrade_constitutive returns a law)."""
        law = self.context.material.constitutive
        return [f for f in self.context.fields.values() if f is not self and f.degrade_constitutive(law) is not None]

    def constitutive(self):
        """The law strain -> stress: the material's, degraded by every field that degrades it (in field order)."""
        law = self.context.material.constitutive
        for field in self.degradations():
            law = field.degrade_constitutive(law)
        return law

    def elastic_strain(self):
        """UFL: the kinematics' strain of u minus the eigenstrain of the transport field's Li content."""
        content = self.context.fields["transport"].strain_li_content()
        return self.kinematics.strain(self.u) - self.context.material.eigenstrain(content)

    def stress(self):
        """UFL: the Cauchy stress of u with the eigenstrain of the transport field's Li content (degraded)."""
        content = self.context.fields["transport"].strain_li_content()
        return mechanics.stress(self.u, self.context.material.eigenstrain(content), self.constitutive(),
                                self.kinematics.strain)

    def hydrostatic_stress(self):
        """The P1 L2 projection of tr(sigma) / 3 (a Function, refreshed by solve())."""
        if self.projection is None:
            context = self.context
            space = compat.scalar_space(context.mesh, 1)
            self.projection = L2Projection(mechanics.hydrostatic(self.stress()), space, context.dx, context.comm,
                                           "projection_", name="hydrostatic_stress_Pa")
        return self.projection.function

    def build(self, context: FieldContext) -> None:
        material = context.material
        u, v = ufl.TrialFunction(self.space), ufl.TestFunction(self.space)
        content = context.fields["transport"].strain_li_content()
        bilinear, linear = mechanics.elasticity_forms(u, v, material.eigenstrain(content), self.constitutive(),
                                                      context.dx, self.kinematics.strain)
        # a degraded stiffness follows another field's state: the matrix changes between solves
        self.stiffness_varies = bool(self.degradations())
        self.bcs = self.boundary_conditions()
        self.a = dolfinx.fem.form(bilinear)
        self.L = dolfinx.fem.form(linear)
        self.A = compat.assemble_matrix(self.a, self.bcs)
        self.b = compat.create_vector(self.L)
        # Without symmetry planes the traction-free body floats: CG works in the complement of the
        # rigid modes (the eigenstrain load is self-equilibrated, so the system is consistent).
        self.floating = self.kinematics.rigid_motion and not self.bcs
        if self.kinematics.rigid_motion:
            self.rigid_modes = linalg.rigid_body_modes(self.space)
            self.A.setNearNullSpace(self.rigid_modes)
            if self.floating:
                self.A.setNullSpace(self.rigid_modes)
        default = ("mechanics_", PRESETS[context.settings.solver.mechanics_preconditioner])
        prefix, preset = context.solvers.get(self.name, default)
        self.ksp = linalg.make_ksp(context.comm, prefix, preset, context.linear_rtol["mechanics"], self.A)
        self.ksp_prefix, self.ksp_preset = prefix, linalg.available_preset(preset)
        self.fallback_at_solve = None     # the solve (count) at which the preconditioner fell back, if it did
        self.solves = 0

    def boundary_conditions(self) -> list:
        """The Dirichlet conditions of u: zero normal displacement on the symmetry planes. A subclass may add its
        own (a loaded specimen: tests/test_damage_sent.py holds and pulls its edges through dolfinx Constants)."""
        particle = self.context.particle
        fdim = particle.mesh.topology.dim - 1
        bcs = []
        for axis, name in enumerate(("symmetry_x", "symmetry_y", "symmetry_z")):
            tag = particle.facet_regions.get(name)
            if tag is None:
                continue
            facets = compat.entities_with_tag(particle.facet_tags, tag)
            sub = self.space.sub(axis)
            dofs = dolfinx.fem.locate_dofs_topological(sub, fdim, facets)
            bcs.append(dolfinx.fem.dirichletbc(PETSc.ScalarType(0), dofs, sub))
        return bcs

    def solve_displacement(self) -> int:
        if self.stiffness_varies:
            compat.assemble_matrix_into(self.A, self.a, self.bcs)
            self.ksp.setOperators(self.A)
        compat.assemble_vector_into(self.b, self.L, self.a, self.bcs)
        if self.floating:
            self.rigid_modes.remove(self.b)
        u_vec = compat.petsc_vector(self.u)
        self.solves += 1
        try:
            iterations = linalg.solve(self.ksp, self.b, u_vec, "mechanics")
        except SolveError as failure:
            if not self._fall_back(failure):
                raise
            iterations = linalg.solve(self.ksp, self.b, u_vec, "mechanics (after the preconditioner fallback)")
        if self.floating:
            # Report the displacement with rigid motion removed, so it is unique and rank-independent.
            self.rigid_modes.remove(u_vec)
            compat.scatter_forward(self.u)
        return iterations

    def _fall_back(self, failure: SolveError) -> bool:
        """Switch to INDEFINITE_FALLBACK's preset after an indefinite-preconditioner stop (module docstring);
        False when there is none to switch to (another failure, another preset, or a PETSc without hypre)."""
        fallback = INDEFINITE_FALLBACK.get(self.ksp_preset)
        if failure.reason not in ("DIVERGED_INDEFINITE_PC", "DIVERGED_BREAKDOWN") or fallback is None \
                or linalg.available_preset(fallback) != fallback:
            return False
        self.ksp.destroy()
        self.ksp_preset, self.fallback_at_solve = fallback, self.solves
        self.ksp = linalg.make_ksp(self.context.comm, f"{self.ksp_prefix}fallback_", fallback,
                                   self.context.linear_rtol["mechanics"], self.A)
        compat.petsc_vector(self.u).set(0.0)      # the failed solve's iterate is no start
        return True

    def solve(self) -> int:
        """Displacement, then the hydrostatic stress projection when a field reads it."""
        iterations = self.solve_displacement()
        if self.projection is not None:
            self.projection.update()
        return iterations

    def begin_step(self, dt: float, previous_dt: float | None, scheme: str) -> None:
        """Start the mechanics solves from u extrapolated linearly through the last two accepted states.

        u follows c smoothly, so this start is closer than the last state. Measured on the verification sphere
        (40 steps, 32k displacement dofs, CG + GAMG, rtol 1e-8): 21.6 -> 14.7 mechanics iterations per step on
        average, time-loop CPU 34 -> 25 s, peak stresses equal to 7 digits (benchmarks/pipeline_overhead.py).
        """
        accepted, before = self._accepted
        if accepted is None:
            return
        u = compat.petsc_vector(self.u)
        accepted.copy(u)
        if before is not None and previous_dt:
            ratio = dt / previous_dt
            u.axpy(ratio, accepted)
            u.axpy(-ratio, before)
        compat.scatter_forward(self.u)

    def accept(self) -> None:
        u = compat.petsc_vector(self.u)
        accepted, before = self._accepted
        if accepted is None:
            self._accepted = (u.copy(), None)
            return
        if before is None:
            before = u.duplicate()
        accepted.copy(before)
        u.copy(accepted)
        self._accepted = (accepted, before)

    def summary(self) -> dict:
        """summary.json["mechanics_solver"] only when the preconditioner fell back (module docstring)."""
        if self.fallback_at_solve is None:
            return {}
        return {"mechanics_solver": {"fallback_preset": self.ksp_preset, "from_solve": self.fallback_at_solve,
                                     "reason": "DIVERGED_INDEFINITE_PC or breakdown of the first preset"}}

    def quantities(self) -> dict:
        fields = {self.u.name: self.u}
        if self.projection is not None:
            fields[self.projection.function.name] = self.projection.function
        return fields
