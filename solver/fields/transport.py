"""The Li transport field: concentration c on P_k, implicit multistep (BE / variable-step BDF2) history, the
surface flux or surface concentration of the operation, D(c) by Picard, the Li-deficient shell's bounded
content (solver/fields/shell_content.py), and the stress-assisted flux of solver/physics/transport.py with the
fixed-stress split about the coupling iterate c_k (physics.transport.fixed_stress_hydrostatic; sigma_h is the P1
projection of the mechanics field's hydrostatic stress). Up to 0.1.0 the split's known part entered with the
wrong sign: right only where grad sigma_h = -beta grad c (a free isotropic sphere), elsewhere it drew Li towards
compression; tests/test_fields.py checks that the split is consistent.

It is the field the coupling iterates (solver/fields/coupling.py): `solution` is c, `iterate` is c_k, which
every linearised term reads.
"""
from __future__ import annotations

import numpy as np
import ufl
from mpi4py import MPI
from petsc4py import PETSc
import dolfinx.fem

from solver import compat, linalg, units
from solver.fields.base import Field, FieldContext
from solver.fields.shell_content import LiContent
from solver.physics import transport


class TransportField(Field):
    name = "transport"
    symbol = "c"
    reads = ("mechanics",)       # the hydrostatic stress, when the flux is stress-assisted

    def __init__(self, context: FieldContext):
        super().__init__(context)
        case, particle, mesh = context.case, context.particle, context.mesh
        settings = context.settings
        material, operation = settings.material, settings.operation
        self.c_max = material.c_max_mol_m3
        self.space = compat.scalar_space(mesh, settings.solver.concentration_degree)
        self.c = self.solution = dolfinx.fem.Function(self.space, name="concentration_mol_m3")
        self.c_old = dolfinx.fem.Function(self.space)
        self.c_older = dolfinx.fem.Function(self.space)
        self.c_iterate = self.iterate = dolfinx.fem.Function(self.space)
        c_initial = operation.li_fraction_start * self.c_max
        for f in self._states():
            f.x.array[:] = c_initial

        scalar = PETSc.ScalarType
        self.dt = dolfinx.fem.Constant(mesh, scalar(1.0))
        self.weight_new = dolfinx.fem.Constant(mesh, scalar(1.0))
        self.weight_old = dolfinx.fem.Constant(mesh, scalar(-1.0))
        self.weight_older = dolfinx.fem.Constant(mesh, scalar(0.0))
        self.surface_flux = dolfinx.fem.Constant(mesh, scalar(0.0))
        self.surface_concentration = dolfinx.fem.Constant(mesh, scalar(c_initial))
        # Li-deficient shell / bounded regions (shell_content.py); inactive (c is the Li content) otherwise
        self.li_content = LiContent(case, particle, self.space, context.dx)
        if self.li_content.active:
            for f in self._states():
                f.x.array[:] = self.li_content.initial_potential
            context.material.c_ref = self.li_content.reference
            self.li_content.check_initial_state(self.c)
        self.temperature = dolfinx.fem.Constant(mesh, scalar(operation.temperature_K))

        self.ds_wetted = context.surface_measure(self.wetted_surfaces(), "operation.wetted_surfaces")
        self.volume_m3 = context.integrate(1.0 * context.dx)
        self.wetted_area_m2 = context.integrate(1.0 * self.ds_wetted)
        self.galvanostatic = operation.mode == "galvanostatic"
        # with [kinetics] the surface flux is the reaction's (solver/fields/potential.py: transport_terms)
        self.reacting = "kinetics" in case
        if self.galvanostatic:
            self.surface_flux.value = units.galvanostatic_flux_mol_m2_s(
                c_rate=operation.c_rate, capacity_li_fraction=operation.capacity_li_fraction,
                c_max_mol_m3=self.c_max, volume_m3=self.volume_m3, area_m2=self.wetted_area_m2,
                extracting=operation.direction == "charge")
        else:
            self.surface_concentration.value = operation.surface_li_fraction * self.c_max
        self.stress_assisted = settings.coupling.stress_assisted_diffusion
        self.diffusivity_is_variable = context.material.diffusivity_is_variable
        self.sigma_h = None
        self._matrix_key = None

    def wetted_surfaces(self) -> list[str]:
        """The facet regions the surface flux or concentration acts on (a sub-volume: its cube faces)."""
        return self.context.settings.operation.wetted_surfaces

    def _states(self):
        return (self.c, self.c_old, self.c_older, self.c_iterate)

    @property
    def nonlinear(self) -> bool:
        """Whether a step iterates: D(c), the stress-assisted flux, or bounded Li content (shell_content.py,
        where each iteration is a semismooth Newton step, left unrelaxed). The matrix then changes with every
        iterate."""
        return self.diffusivity_is_variable or self.stress_assisted or self.li_content.bounded

    # ------------------------------------------------------------------ Li content (what the others read)
    def li_concentration(self):
        """UFL: the Li content (mol/m^3), c itself or the shell model's clip(c - d, c_lo, c_hi)."""
        return self.li_content.content(self.c) if self.li_content.active else self.c

    def li_concentration_field(self):
        """The Li content as a Function (c, or its DG1 vertex values in each cell)."""
        return self.li_content.field if self.li_content.active else self.c

    def strain_li_content(self):
        """The Li content that strains the lattice (see ChemoMechanicalProblem.strain_li_content)."""
        return self.li_content.field if self.li_content.bounded else self.li_concentration()

    def li_amount(self):
        """UFL form: the Li in the particle (mol), integrated exactly as the transport stores it."""
        return self.li_content.amount_form(self.c) if self.li_content.active else self.c * self.context.dx

    # ------------------------------------------------------------------ forms and solver
    def build(self, context: FieldContext) -> None:
        dx = context.dx
        c, v = ufl.TrialFunction(self.space), ufl.TestFunction(self.space)
        # Picard: D is evaluated at the previous iterate, so every solve is linear.
        diffusivity = context.material.diffusivity(self.c_iterate)
        history = self.weight_old * self.c_old + self.weight_older * self.c_older
        fluxes = [(self.surface_flux, self.ds_wetted)] if self.galvanostatic and not self.reacting else []
        stress = {}
        if self.stress_assisted:
            self.sigma_h = context.fields["mechanics"].hydrostatic_stress()
            slope = context.material.hydrostatic_stress_slope()
            stress = {"hydrostatic_stress": transport.fixed_stress_hydrostatic(c, self.c_iterate, self.sigma_h,
                                                                               slope),
                      "stress_coupling": context.material.omega / (units.GAS_CONSTANT_J_molK * self.temperature),
                      "carrier": self.c_iterate}
        bilinear, linear = transport.transport_forms(c, v, history, self.dt, self.weight_new, diffusivity, dx,
                                                     fluxes, **stress)
        if self.li_content.bounded:  # lumped, linearised storage of the bounded regions (shell_content.py)
            weights = (self.weight_new, self.weight_old, self.weight_older)
            extra_a, extra_L = self.li_content.storage_terms(c, v, self.c_iterate, self.c_old, self.c_older,
                                                             weights, self.dt)
            bilinear, linear = bilinear + extra_a, linear + extra_L
        # terms of other fields (a surface reaction): their operator_state() joins the matrix's staleness key
        self.contributors = [f for f in context.fields.values() if f is not self and f.transport_terms(c, v)]
        for contributor in self.contributors:
            extra_a, extra_L = contributor.transport_terms(c, v)
            bilinear, linear = bilinear + extra_a, linear + extra_L
        self.a = dolfinx.fem.form(bilinear)
        self.L = dolfinx.fem.form(linear)
        self.bcs = self.concentration_boundary_conditions()
        self.A = compat.assemble_matrix(self.a, self.bcs)
        self.b = compat.create_vector(self.L)
        self._rank_one_y = None      # A^-1 u of a contributor's rank-one term, while the operator stands
        # The split keeps the operator symmetric positive definite, so CG + AMG is the right solver.
        prefix, preset = context.solvers.get(self.name, ("transport_", "cg_hypre"))
        self.ksp = linalg.make_ksp(context.comm, prefix, preset, context.linear_rtol["transport"], self.A)

    def concentration_boundary_conditions(self) -> list:
        """The Dirichlet conditions of c: the operation's surface concentration on the wetted surfaces when it holds
        one (none under a surface flux or a surface reaction). A subclass may replace them (solver/subvolume.py: the
        particle's c(r, t) on a sub-volume's faces)."""
        if self.galvanostatic or self.reacting:
            return []
        dofs = self.context.surface_dofs(self.space, self.wetted_surfaces())
        return [dolfinx.fem.dirichletbc(self.surface_concentration, dofs, self.space)]

    # ------------------------------------------------------------------ step state
    def begin_step(self, dt: float, previous_dt: float | None, scheme: str) -> None:
        self.dt.value = dt
        weights = transport.multistep_weights(dt, previous_dt, scheme)
        self.weight_new.value, self.weight_old.value, self.weight_older.value = weights

    def _matrix_is_stale(self) -> bool:
        key = (float(self.dt.value), float(self.weight_new.value), *(f.operator_state() for f in self.contributors))
        stale = self.nonlinear or key != self._matrix_key
        self._matrix_key = key
        return stale

    def solve(self) -> int:
        if self._matrix_is_stale():
            compat.assemble_matrix_into(self.A, self.a, self.bcs)
            self.ksp.setOperators(self.A)
            self._rank_one_y = None
        compat.assemble_vector_into(self.b, self.L, self.a, self.bcs)
        iterations = linalg.solve(self.ksp, self.b, compat.petsc_vector(self.c), "Li transport")
        for contributor in self.contributors:
            term = contributor.transport_rank_one()
            if term is not None:
                iterations += self._sherman_morrison(*term)
        self.li_content.update(self.c)
        return iterations

    def _sherman_morrison(self, u_form, z: np.ndarray, shift: float) -> int:
        """A rank-one term of one contributor (e.g. the galvanostatic potential's response), u z^T on the operator
        and u * shift on the right-hand side: (A + u z^T) c = b + u shift is
        c = x - y (z.x) / (1 + z.y), x = A^-1 b + y shift (x: solved), y = A^-1 u (once per operator)."""
        iterations = 0
        if self._rank_one_y is None:
            u = compat.create_vector(u_form)
            compat.assemble_vector_into(u, u_form)
            y = dolfinx.fem.Function(self.space)
            iterations = linalg.solve(self.ksp, u, compat.petsc_vector(y), "Li transport (rank-one term)")
            self._rank_one_y = y.x.array.copy()
        comm, x, y = self.context.comm, self.c.x.array, self._rank_one_y
        x += shift * y
        n = z.size
        zx = comm.allreduce(float(np.dot(z, x[:n])), op=MPI.SUM)
        zy = comm.allreduce(float(np.dot(z, y[:n])), op=MPI.SUM)
        x -= y * (zx / (1.0 + zy))
        return iterations

    def accept(self) -> None:
        self.c_older.x.array[:] = self.c_old.x.array
        self.c_old.x.array[:] = self.c.x.array

    def reject(self) -> None:
        self.c.x.array[:] = self.c_old.x.array
        self.li_content.update(self.c)

    def state(self) -> dict:
        return {name: f.x.array.copy() for name, f in zip(("c", "c_old", "c_older"), self._states())}

    def restore(self, state: dict) -> None:
        for name, f in zip(("c", "c_old", "c_older"), self._states()):
            f.x.array[:] = state[name]
        self.li_content.update(self.c)

    def quantities(self) -> dict:
        fields = {self.c.name: self.c}
        if self.li_content.active:
            fields[self.li_content.field.name] = self.li_content.field
        if self.sigma_h is not None:
            fields[self.sigma_h.name] = self.sigma_h
        return fields
