"""The phase-field damage field: damage d on P1 (0 intact, 1 broken), AT1 or AT2 (solver/physics/damage.py), with
the keys of `[damage]` (solver/damage_section.py).

Coupling with mechanics (hybrid formulation, Ambati et al. 2015; see solver/physics/damage.py): the field degrades
the stiffness isotropically by g(d) = (1 - d)^2 + k through Field.degrade_constitutive, so mechanics stays linear
and knows nothing of damage; the tension-compression split enters only the crack driving force.

Irreversibility: a history field H = max over accepted states of the driving energy (psi+ of the Amor split where
it exceeds psi-), cellwise (DG0, evaluated at the cell midpoints), as Miehe, Hofacker & Welschinger, Comput.
Methods Appl. Mech. Engrg. 199 (2010) 2765. AT1 has an elastic stage: H starts at (and never drops below) the
elastic limit 3 Gc / (16 l), at which the linear AT1 equation has d = 0 as its solution, so d >= 0 without a
bound-constrained solver (the threshold form of Miehe, Schaenzel & Ulmer, CMAME 294 (2015) 449). Both equations
are linear in d for a given H, and their solution grows with H (maximum principle), so d does not decrease; each
solve is still projected onto [d of the last accepted step, 1], a guard that acts only at the linear solver's
tolerance (and on meshes where P1 violates the discrete maximum principle).

Staggering: one damage "solve" is an alternate minimisation, run by the one coupling mechanism
(solver/fields/coupling.py): the linear damage solve is the iterated field and mechanics is solved between its
iterates, without relaxation (Aitken's extrapolation could leave [d_old, 1]), until max |d_k+1 - d_k| <
damage.staggered_tolerance. The problem solves mechanics before this field (field order), so the first damage
solve reads the displacement of the current Li content. When the Li flux is stress-assisted, damage changes the
stress it reads: the field then couples back and is iterated with transport.

Fatigue (damage.fatigue, Carrara et al. 2020; solver/damage_section.py): each accepted step adds the positive
increment of alpha = g(d) psi+ (DG0, the driving energy of the step's last damage solve, degraded at the cell
midpoint) to the cumulated alpha_bar, and the toughness of the next steps is Gc f(alpha_bar): explicit in time, the
update the staggered scheme of Carrara et al. makes. The AT1 elastic limit 3 Gc_eff / (16 l) falls with Gc_eff, so
the history H = max(accepted peak driving energy, current driving energy, elastic limit) keeps the limit apart
from the energies.

Outputs: the damage and the history in the field files; summary.json["fracture"] (see summary()), its `state`
from the central section's connectivity (solver/crack_census.py); fracture_cycles.csv through tables(), a row per
cycle end that a cycling driver reports (end_cycle; solver/cycle_jumping.py jumps blocks of cycles through
cycle_state() and jump()).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import ufl
from mpi4py import MPI
from petsc4py import PETSc
import dolfinx.fem

from solver import compat, linalg
from solver.crack_census import section_pieces, section_polygons, section_state
from solver.damage_section import (CYCLE_COLUMNS, CYCLES_FILE, NORMALISATION, elastic_limit_J_m3, fatigue_factor,
                                   strength_Pa)
from solver.errors import CaseError, SolveError
from solver.fields.base import Field, FieldContext
from solver.fields.coupling import FixedPointCoupling
from solver.grain_boundaries import grain_boundary_facets
from solver.physics import damage as physics
from solver.runs import log_warning, state_of_charge

SECTION_TOLERANCE = 1e-9           # nodes within this x R of z = 0 lie on the central section
MIRRORS = ("symmetry_x", "symmetry_y")   # symmetry planes that cut the central section


@dataclass
class CentralSection:
    """This rank's owned cells cut by z = 0 (solver/crack_census.py): their P1 dofs (n, 4), cut areas, the sides
    of their cuts (m, 5: section cell number, two corner names) and whether each touches each mirror plane present
    (n, mirrors)."""

    dofs: np.ndarray
    areas: np.ndarray
    sides: np.ndarray
    touches: np.ndarray
    mirrors: int


class LinearDamageSolve:
    """The damage field as the coupling's iterated field: one linear damage solve at the current displacement."""

    def __init__(self, field: "DamageField"):
        self.field = field
        self.name, self.symbol = field.name, field.symbol
        self.space, self.solution, self.iterate = field.space, field.d, field.iterate

    def solve(self) -> int:
        return self.field.solve_damage()


class DamageField(Field):
    name = "damage"
    symbol = "d"
    reads = ("mechanics",)          # the elastic strain, through the driving energy

    def __init__(self, context: FieldContext):
        super().__init__(context)
        options = self.options = context.settings.damage
        mesh = context.mesh
        self.model = options.model
        self.length_scale_m = options.length_scale_m
        self.space = compat.scalar_space(mesh, 1)
        self.d = self.solution = dolfinx.fem.Function(self.space, name="damage")
        self.iterate = dolfinx.fem.Function(self.space)
        self.d_accepted = np.zeros_like(self.d.x.array)
        self.cells = compat.scalar_space(mesh, 0, "DG")
        self.history = dolfinx.fem.Function(self.cells, name="damage_history_J_m3")
        self.energy = dolfinx.fem.Function(self.cells)
        self.toughness = dolfinx.fem.Function(self.cells, name="fracture_energy_J_m2")
        self.toughness.x.array[:] = options.fracture_energy_J_m2
        self._weaken_grain_boundaries(options.grain_boundary_toughness_factor)
        self.intact_toughness = self.toughness.x.array.copy()
        # the peak driving energy of the accepted steps; H never drops below it nor below the elastic stage of AT1
        # (elastic_limit, 0 for AT2), kept apart because fatigue lowers the limit with the toughness
        self.history_accepted = np.zeros_like(self.history.x.array)
        self.history.x.array[:] = self.elastic_limit()
        # fatigue: alpha = g(d) psi+ of the last accepted step and its cumulated positive increments alpha_bar
        self.degraded_energy_accepted = np.zeros_like(self.history.x.array)
        self.cumulated = np.zeros_like(self.history.x.array)
        self.residual_stiffness = dolfinx.fem.Constant(mesh, PETSc.ScalarType(options.residual_stiffness))
        # damage changes the stress; when Li transport reads it, the field must be iterated with transport
        self.couples_back = context.settings.coupling.stress_assisted_diffusion
        self.elapsed_s, self._dt = 0.0, 0.0
        self.initiation = None
        self.cycle = 1                  # the cycle under way (1-based), as the cycling driver's end_cycle counts
        self.cycle_rows = []
        self.staggered_iterations = []
        self._census = None             # (this rank's intact section cells, the state they gave): see state_name

    def elastic_limit(self) -> np.ndarray:
        """The cellwise energy density below which d stays 0 (AT1: 3 Gc_eff / (16 l); AT2: 0)."""
        return elastic_limit_J_m3(self.model, self.toughness.x.array, self.length_scale_m)

    def _weaken_grain_boundaries(self, factor: float) -> None:
        """Gc times `factor` in the cells that touch a grain_boundary facet."""
        if factor == 1.0:
            return
        particle = self.context.particle
        if "grain_boundary" not in particle.facet_regions:
            raise CaseError(f"damage.grain_boundary_toughness_factor = {factor}: the geometry has no grain_boundary "
                            f"surface (a polycrystal has); leave it at 1")
        mesh = particle.mesh
        tdim = mesh.topology.dim
        mesh.topology.create_connectivity(tdim - 1, tdim)
        facet_cells = mesh.topology.connectivity(tdim - 1, tdim)
        facets = compat.entities_with_tag(particle.facet_tags, particle.facet_regions["grain_boundary"])
        cells = np.unique(np.concatenate([facet_cells.links(f) for f in facets])) if facets.size else []
        self.toughness.x.array[compat.cell_dofs(self.cells)[cells, 0]] *= factor

    # ------------------------------------------------------------------ what mechanics reads
    def degrade_constitutive(self, constitutive):
        return physics.degraded_law(constitutive, self.d, self.residual_stiffness)

    # ------------------------------------------------------------------ forms and solvers
    def build(self, context: FieldContext) -> None:
        material, mechanics = context.material, context.fields["mechanics"]
        self.mechanics = mechanics
        energy = physics.driving_energy(mechanics.elastic_strain(), material.constitutive, material.young_modulus,
                                        material.poisson_ratio, self.options.energy_split)
        self.energy_expression = compat.expression(energy, self.cells)
        self.degradation_expression = compat.expression(
            physics.degradation(self.d, self.residual_stiffness), self.cells)
        self.degradation_cells = dolfinx.fem.Function(self.cells)
        d, v = ufl.TrialFunction(self.space), ufl.TestFunction(self.space)
        self.normalisation = NORMALISATION[self.model]
        bilinear, linear = physics.damage_forms(d, v, self.history, self.toughness, self.length_scale_m,
                                                self.normalisation, self.model, context.dx)
        self.a, self.L = dolfinx.fem.form(bilinear), dolfinx.fem.form(linear)
        self.A = compat.assemble_matrix(self.a)
        self.b = compat.create_vector(self.L)
        # the damage matrix is mass (2H + Gc/(c_w l)) plus Gc l / c_w times a Laplacian: SPD. Its condition number
        # is ~ (l / h)^2, not the mesh size's: the crack profile needs h <= l / 2 and no mesh resolves l much
        # finer, so CG + Jacobi converges in ~20-30 iterations at any size, without the AMG set-up that the matrix,
        # reassembled each solve (H changes), would need every time. Measured (benchmarks/damage_cost.py, shipped
        # damage case): KSP 2.3 ms against 16-22 ms with CG + BoomerAMG, the same staggered iterations. Its
        # tolerance is the displacement's, which it reads.
        prefix, preset = context.solvers.get(self.name, ("damage_", "cg_jacobi"))
        self.ksp = linalg.make_ksp(context.comm, prefix, preset, context.linear_rtol["mechanics"], self.A)
        dx = context.dx
        self.crack_energy_form = dolfinx.fem.form(physics.crack_energy_density(
            self.d, self.toughness, self.length_scale_m, self.normalisation, self.model) * dx)
        cracked = ufl.conditional(ufl.gt(self.d, self.options.crack_damage), 1.0, 0.0)
        self.crack_volume_form = dolfinx.fem.form(cracked * dx)
        self.elastic_energy_form = dolfinx.fem.form(ufl.inner(mechanics.stress(), mechanics.elastic_strain()) / 2 * dx)
        self.staggered = FixedPointCoupling(context.comm, self.options.staggered_tolerance,
                                            self.options.staggered_max_iterations)
        self.linear_solve = LinearDamageSolve(self)
        self.cell_size_over_length_scale = self._resolution()
        self.section = self._central_section()
        particle = context.particle
        # this rank's owned grain-boundary facets: their vertices' dofs and measures (3D: areas; a section: lengths)
        self.boundary = grain_boundary_facets(particle.mesh, particle.facet_tags,
                                              particle.facet_regions["grain_boundary"], self.space) \
            if "grain_boundary" in particle.facet_regions else None
        if self.cell_size_over_length_scale > 0.5:
            log_warning(f"damage.length_scale_um = {self.length_scale_m * 1e6:g}: the largest cell is "
                        f"{self.cell_size_over_length_scale:.2g} l; phase-field cracks need h <= l / 2 (refine the "
                        f"mesh or raise the length scale)", context.comm)

    def _resolution(self) -> float:
        """The largest cell diameter over l (the crack profile needs h <= l / 2): a simplex's diameter is its
        longest edge, taken between the vertices (numpy: ufl's CellDiameter is not compiled for curved cells)."""
        corners = compat.dof_coordinates(self.space)[compat.cell_dofs(self.space)]       # P1: (cells, vertices, 3)
        pairs = corners[:, :, None, :] - corners[:, None, :, :]
        local = float(np.sqrt((pairs**2).sum(axis=-1)).max()) if len(corners) else 0.0
        return self.context.comm.allreduce(local, op=MPI.MAX) / self.length_scale_m

    def _central_section(self) -> CentralSection:
        """The owned cells the plane z = 0 cuts, with what the census' connectivity test needs."""
        particle = self.context.particle
        mesh = particle.mesh
        tdim = mesh.topology.dim
        owned = mesh.topology.index_map(tdim).size_local
        dofs = compat.cell_dofs(self.space)[:owned]          # P1: the cell's vertices, numbered globally alike
        numbers = compat.local_to_global_dofs(self.space, dofs.ravel()).reshape(dofs.shape)
        areas, sides = section_polygons(compat.dof_coordinates(self.space)[dofs], numbers,
                                        SECTION_TOLERANCE * particle.radius_m)
        cells = np.flatnonzero(areas > 0)
        renumber = np.full(owned, -1, dtype=np.int64)
        renumber[cells] = np.arange(len(cells))
        sides[:, 0] = renumber[sides[:, 0]]
        mesh.topology.create_connectivity(tdim, tdim - 1)
        cell_facets = mesh.topology.connectivity(tdim, tdim - 1)
        facets = np.array([cell_facets.links(c) for c in cells], dtype=np.int32).reshape(len(cells), tdim + 1)
        mirrors = [name for name in MIRRORS if name in particle.facet_regions]
        touches = np.zeros((len(cells), len(mirrors)), dtype=bool)
        for j, name in enumerate(mirrors):
            touches[:, j] = np.isin(facets, compat.entities_with_tag(particle.facet_tags,
                                                                     particle.facet_regions[name])).any(axis=1)
        return CentralSection(dofs[cells], areas[cells], sides, touches, len(mirrors))

    def solve_damage(self) -> int:
        """One linear damage solve at the current displacement: H = max(H accepted, driving energy), then d."""
        self.energy.interpolate(self.energy_expression)
        np.maximum(np.maximum(self.history_accepted, self.energy.x.array), self.elastic_limit(),
                   out=self.history.x.array)
        compat.assemble_matrix_into(self.A, self.a)
        self.ksp.setOperators(self.A)
        compat.assemble_vector_into(self.b, self.L)
        iterations = linalg.solve(self.ksp, self.b, compat.petsc_vector(self.d), "damage")
        np.clip(self.d.x.array, self.d_accepted, 1.0, out=self.d.x.array)
        return iterations

    def solve(self) -> int:
        """Alternate minimisation of u and d to damage.staggered_tolerance (the module docstring); returns the
        damage solves' linear iterations (the mechanics solves' are mechanics' own)."""
        try:
            # d is in [0, 1]: its changes count absolutely (least_scale 1), roundoff about d = 0 is no change
            report = self.staggered.run(self.linear_solve, [self.mechanics], start=self.d.x.array, relax=False,
                                        least_scale=1.0)
        except SolveError as exc:
            if exc.reason is not None:      # a linear solve failed (PETSc's reason): not the iteration
                raise
            raise SolveError(f"damage: the staggered u-d iteration did not reach damage.staggered_tolerance = "
                             f"{self.staggered.tolerance:g} in {self.staggered.max_iterations} damage solves; raise "
                             f"damage.staggered_max_iterations or reduce the time step") from exc
        self.staggered_iterations.append(report.iterations)
        return report.solves[self.name]

    # ------------------------------------------------------------------ step state
    def begin_step(self, dt: float, previous_dt: float | None, scheme: str) -> None:
        self._dt = dt

    def accept(self) -> None:
        self.d_accepted = self.d.x.array.copy()
        # the driving energy of the step's last damage solve: the H that solve used is max(this, limit) exactly
        np.maximum(self.history_accepted, self.energy.x.array, out=self.history_accepted)
        if self.options.fatigue != "none":
            self._accumulate_fatigue()
        self.elapsed_s += self._dt
        if self.initiation is None:
            self._check_initiation()

    def _accumulate_fatigue(self) -> None:
        """alpha_bar += <alpha - alpha_previous>+ with alpha = g(d) psi+; Gc_eff = f(alpha_bar) Gc for the next
        steps (module docstring)."""
        self.degradation_cells.interpolate(self.degradation_expression)
        degraded = self.degradation_cells.x.array * self.energy.x.array
        self.cumulated += np.maximum(degraded - self.degraded_energy_accepted, 0.0)
        self.degraded_energy_accepted = degraded
        self.update_toughness()

    def update_toughness(self) -> None:
        """Gc_eff = f(alpha_bar) Gc in every cell, and H at the new elastic limit (it only falls)."""
        self.toughness.x.array[:] = self.intact_toughness * self.toughness_fraction(self.cumulated)
        np.maximum(self.history_accepted, self.elastic_limit(), out=self.history.x.array)

    # ------------------------------------------------------------------ cycles (solver/cycle_jumping.py)
    @property
    def comm(self):
        return self.context.comm

    def cycle_state(self) -> dict:
        """What a cycle jump extrapolates, as accepted: d (nodes), the peak driving energy and alpha_bar (cells)."""
        return {"damage": self.d_accepted.copy(), "history": self.history_accepted.copy(),
                "cumulated": self.cumulated.copy()}

    def toughness_fraction(self, cumulated: np.ndarray) -> np.ndarray:
        """Gc_eff / Gc for the cumulated alpha_bar (1 without fatigue)."""
        options = self.options
        return fatigue_factor(options.fatigue, cumulated, options.fatigue_threshold_J_m3,
                              options.fatigue_log_slope)

    def end_cycle(self, cycle: int, extrapolated: bool = False) -> None:
        """A row of fracture_cycles.csv for the state at the end of `cycle` (1-based), `extrapolated` when a cycle
        jump reached it; the cycling driver calls it (solver/cycle_jumping.py, a cycling protocol)."""
        self.cycle = cycle + 1
        self.cycle_rows.append({"cycle": cycle, "extrapolated": int(extrapolated),
                                "crack_volume_fraction": self.crack_volume_fraction(),
                                "cracked_grain_boundary_area_fraction": self.cracked_grain_boundary_area_fraction(),
                                "max_damage": self.max_damage(), "state": self.state_name()})

    def jump(self, state: dict, cycles: int, duration_s: float = 0.0) -> None:
        """Take the extrapolated cycle_state() of `cycles` cycles later as accepted: nothing decreases, d <= 1.
        `duration_s`: the time those cycles take on the driver's clock (the initiation time stays on it). A crack
        that the extrapolation initiates is dated to the jump's last cycle and marked `extrapolated`."""
        self.d_accepted = np.clip(state["damage"], self.d_accepted, 1.0)
        self.d.x.array[:] = self.d_accepted
        np.maximum(self.history_accepted, state["history"], out=self.history_accepted)
        np.maximum(self.cumulated, state["cumulated"], out=self.cumulated)
        self.update_toughness()
        self.elapsed_s += duration_s
        if self.initiation is None:
            self._check_initiation(cycle=self.cycle + cycles - 1)
            if self.initiation is not None:
                self.initiation["extrapolated"] = True

    def reject(self) -> None:
        self.d.x.array[:] = self.d_accepted
        np.maximum(self.history_accepted, self.elastic_limit(), out=self.history.x.array)

    def state(self) -> dict:
        return {"solution": self.d.x.array.copy(), "d_accepted": self.d_accepted.copy(),
                "history": self.history.x.array.copy(), "history_accepted": self.history_accepted.copy(),
                "cumulated": self.cumulated.copy(), "degraded_energy": self.degraded_energy_accepted.copy(),
                "toughness": self.toughness.x.array.copy(),
                "elapsed_s": self.elapsed_s, "initiation": dict(self.initiation) if self.initiation else None}

    def restore(self, state: dict) -> None:
        self.d.x.array[:] = state["solution"]
        self.d_accepted = state["d_accepted"].copy()
        self.history.x.array[:] = state["history"]
        self.history_accepted = state["history_accepted"].copy()
        self.cumulated = state["cumulated"].copy()
        self.degraded_energy_accepted = state["degraded_energy"].copy()
        self.toughness.x.array[:] = state["toughness"]
        self.elapsed_s, self.initiation = state["elapsed_s"], state["initiation"]

    # ------------------------------------------------------------------ outputs
    def _owned(self) -> tuple[np.ndarray, np.ndarray]:
        """(d, r / R) at this rank's owned nodes."""
        n = self.space.dofmap.index_map.size_local
        radius = np.linalg.norm(compat.dof_coordinates(self.space)[:n], axis=1) / self.context.particle.radius_m
        return self.d.x.array[:n], radius

    def _check_initiation(self, cycle: int | None = None) -> None:
        """The initiation entry once d first exceeds initiation_damage: where, when (time, state of charge, the
        cycle under way or `cycle`) and, with [kinetics], at which particle voltage (that of the state just solved,
        the voltage the protocol records for this step)."""
        d, radius = self._owned()
        local = (float(d.max()), float(radius[np.argmax(d)])) if d.size else (-1.0, 0.0)
        peak, where = max(self.context.comm.allgather(local))
        if peak <= self.options.initiation_damage:
            return
        transport = self.context.fields["transport"]
        mean_li_fraction = self.context.integrate(transport.li_amount()) / transport.volume_m3 / transport.c_max
        potential = self.context.fields.get("potential")
        self.initiation = {"radius_fraction": where, "time_s": self.elapsed_s,
                           "state_of_charge": state_of_charge(self.context.case, mean_li_fraction),
                           "damage": peak, "cycle": self.cycle if cycle is None else cycle, "extrapolated": False}
        if potential is not None:
            self.initiation["voltage_V"] = potential.V

    def _total(self, form) -> float:
        return self.context.comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM)

    def crack_energy_J(self) -> float:
        """The energy the cracks have dissipated: the integral of the crack energy density."""
        return self._total(self.crack_energy_form)

    def elastic_energy_J(self) -> float:
        """The stored elastic energy, 1/2 sigma : eps_e with the degraded stress."""
        return self._total(self.elastic_energy_form)

    def state_name(self) -> str:
        """"intact", "mild" or "broken" by the central section's connectivity (solver/crack_census.py): broken when
        the cracks cut the section z = 0 into >= 2 pieces of >= damage.broken_piece_fraction of its area each."""
        comm, threshold = self.context.comm, self.options.crack_damage
        d, _ = self._owned()
        if not comm.allreduce(bool(np.any(d > threshold)), op=MPI.LOR):
            return "intact"
        intact = self.d.x.array[self.section.dofs].max(axis=1, initial=0.0) <= threshold
        # the census reads nothing but which section cells are intact, and that changes only when a crack crosses
        # one: every timeseries.csv row, cycle end and summary asks, so the gather and the piece count run again
        # only where some rank's intact cells differ from the last census'
        if comm.allreduce(self._census is None or not np.array_equal(self._census[0], intact), op=MPI.LOR):
            self._census = (intact, self._section_state(intact))
        return self._census[1]

    def _section_state(self, intact: np.ndarray) -> str:
        """The census state of the section with these intact cells (this rank's; collective): its pieces."""
        comm, section = self.context.comm, self.section
        number = np.cumsum(intact) - 1                      # the intact cells numbered 0..n-1
        sides = section.sides[intact[section.sides[:, 0]]]
        sides[:, 0] = number[sides[:, 0]]
        parts = comm.gather((sides, section.areas[intact], section.touches[intact], float(section.areas.sum())),
                            root=0)
        state = None
        if comm.rank == 0:
            sides, areas, touches, totals = zip(*parts)
            offsets = np.cumsum([0] + [len(a) for a in areas[:-1]])
            sides = np.concatenate([rows + np.array([offset, 0, 0, 0, 0]) for rows, offset in zip(sides, offsets)])
            pieces = section_pieces(sides, np.concatenate(areas), np.concatenate(touches))
            state = section_state(True, pieces, section.mirrors, sum(totals), self.options.broken_piece_fraction)
        return comm.bcast(state, root=0)

    def cracked_grain_boundary_area_fraction(self) -> float:
        """The grain-boundary area with d > crack_damage at every vertex of its facet (d is continuous: both grains
        see it) over the whole grain-boundary area; on a 2D section the boundary is a set of lines, so the fraction
        is one of lengths (the summary's `cracked_grain_boundary_measure` says which); 0 without grain boundaries."""
        if self.boundary is None:
            return 0.0
        comm, measure = self.context.comm, self.boundary.measure
        cracked = np.all(self.d.x.array[self.boundary.vertex_dofs] > self.options.crack_damage, axis=1)
        total = comm.allreduce(float(measure.sum()), op=MPI.SUM)
        return comm.allreduce(float(measure[cracked].sum()), op=MPI.SUM) / total if total > 0 else 0.0

    def crack_volume_fraction(self) -> float:
        """The volume with d > crack_damage over the particle's volume."""
        return self._total(self.crack_volume_form) / self.context.fields["transport"].volume_m3

    def max_damage(self) -> float:
        local = float(self.d.x.array.max()) if self.d.x.array.size else 0.0
        return self.context.comm.allreduce(local, op=MPI.MAX)

    def timeseries_values(self) -> dict:
        """The present state's columns of timeseries.csv: the largest damage, the crack volume fraction and the
        census state (as the summary's)."""
        return {"max_damage": self.max_damage(), "crack_volume_fraction": self.crack_volume_fraction(),
                "fracture_state": self.state_name()}

    def tables(self) -> dict:
        """fracture_cycles.csv: one row per cycle end the cycling driver reported (none: no file)."""
        return {CYCLES_FILE: (CYCLE_COLUMNS, self.cycle_rows)} if self.cycle_rows else {}

    def summary(self) -> dict:
        """{"fracture": ...}: the model, the state and the section it is read from, crack volume fraction (volume
        with d > crack_damage over the particle volume; a 2D section: areas), cracked grain-boundary area fraction
        (a 2D section: of lengths; `cracked_grain_boundary_measure`), dissipated energy, initiation (None: no crack
        initiated), resolution and fatigue (None: off)."""
        context, options = self.context, self.options
        young_modulus = context.settings.material.young_modulus_Pa
        return {"fracture": {
            "model": self.model,
            "state": self.state_name(),
            "crack_volume_fraction": self.crack_volume_fraction(),
            "cracked_grain_boundary_area_fraction": self.cracked_grain_boundary_area_fraction(),
            "cracked_grain_boundary_measure": self.boundary.measure_name if self.boundary else None,
            "state_from": self._state_basis(),
            "max_damage": self.max_damage(),
            "initiation": self.initiation,
            "crack_energy_J": self.crack_energy_J(),
            "strength_Pa": strength_Pa(self.model, young_modulus, options.fracture_energy_J_m2,
                                       self.length_scale_m),
            "length_scale_m": self.length_scale_m,
            "cell_size_over_length_scale": self.cell_size_over_length_scale,
            "staggered_iterations_max": max(self.staggered_iterations, default=0),
            "fatigue": self._fatigue_summary(),
        }}

    def _state_basis(self) -> str:
        """Which section the census state reads (solver/crack_census.py)."""
        if self.context.settings.solver.formulation == "section_2d":
            return "the whole 2D section (it is the central section)"
        if self.context.mesh.topology.dim == 2:
            return "the meridian (a plane through the symmetry axis; mirrors: axis and equator)"
        return "the central section z = 0 of the 3D mesh" + (" (mirrors: symmetry planes)" if self.section.mirrors
                                                               else "")

    def _fatigue_summary(self) -> dict | None:
        """The fatigue model, alpha_T, the largest cumulated alpha_bar and the lowest Gc_eff / Gc (None: off)."""
        options, comm = self.options, self.context.comm
        if options.fatigue == "none":
            return None
        n = self.cells.dofmap.index_map.size_local
        ratio = self.toughness.x.array[:n] / self.intact_toughness[:n]
        return {"model": options.fatigue, "threshold_J_m3": options.fatigue_threshold_J_m3,
                "max_cumulated_J_m3": comm.allreduce(float(self.cumulated[:n].max(initial=0.0)), op=MPI.MAX),
                "min_toughness_fraction": comm.allreduce(float(ratio.min(initial=1.0)), op=MPI.MIN)}

    def point_fields(self) -> list:
        return [self.d]

    def quantities(self) -> dict:
        return {self.d.name: self.d, self.history.name: self.history}
