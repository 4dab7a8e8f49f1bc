"""The Field protocol: what one physical field owns and what the problem asks of it.

A field is one unknown (Li concentration, displacement, released O2, next: damage, particle potential) with

    name                     its key in FieldContext.fields and in the coupling's iteration counts
    space, solution          its function space and the Function holding its current iterate / new state
    reads                    names of the fields whose state its forms read (documentation)
    couples_back             whether Li transport reads it, so that the coupling iterates it with transport
                             (solved between transport iterates); False: solved once per step afterwards
    __init__(context)        spaces, Functions and fem.Constants; may read the *spaces and Functions* of fields
                             created before it (context.fields), never their forms
    build(context)           compile forms and solvers: every field exists by then, so two fields may read each
                             other (transport reads the stress of mechanics, mechanics the Li content of transport)
    begin_step(dt, previous_dt, scheme)   set time weights / predictors of a new step
    solve() -> int           one linear(ised) solve with the current state of the fields it reads; returns the
                             linear iterations
    accept() / reject()      end of an accepted / rejected step (shift histories / restore the last accepted state)
    state() / restore(state) a copy of the step state and its restoration (e.g. a later step-retry strategy)
    quantities() -> dict     {name: Function} it offers to outputs (pictures, extensions, field files)
    point_fields() -> list   Functions added to the field snapshots (fields.xdmf, fields_*.vtu) under their names
    summary() -> dict        {summary.json key: value} it adds to the run's summary (e.g. {"o2": {...}})
    tables() -> dict         {file name: (columns, rows)}: CSV files of its own in the result folder
    end_cycle(cycle, extrapolated)   the end of a protocol cycle (1-based; `extrapolated`: reached by a cycle jump,
                             solver/cycle_jumping.py); a cycling driver calls it on every field (e.g. damage writes
                             a row of fracture_cycles.csv)
    timeseries_values() -> dict   {column: value} of the present state, added to every row of a kinetic run's
                             timeseries.csv (solver/kinetic_run.py; e.g. damage: max_damage, crack_volume_fraction)
    degrade_constitutive(law) optional: the stress law strain -> stress (UFL) with this field's degradation of
                             the stiffness applied (e.g. phase-field damage), or None (the default: it degrades
                             nothing); mechanics composes those of every field (solver/fields/mechanics.py)
    transport_terms(c, v)    (bilinear, linear) UFL terms it adds to the Li transport forms (None: none), e.g. a
                             surface reaction flux; operator_state() changes whenever its bilinear term does;
                             transport_rank_one() an optional rank-one operator term u z^T (a non-local response,
                             e.g. of a galvanostatic potential), solved by Sherman-Morrison

Why an ABC with no-op defaults rather than a typing.Protocol: a passive field (one solve per step, no history)
then implements only __init__, build and solve, and the problem calls every method of every field uniformly;
the pipeline likewise asks every field for its point fields, summary and tables (none by default), and the
kinetic run for its cycle ends and timeseries columns.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field as dataclass_field

import numpy as np
from mpi4py import MPI
import dolfinx.fem

from solver import compat
from solver.case_view import CaseView
from solver.errors import CaseError


@dataclass
class FieldContext:
    """What a field is built from: the validated case, the mesh, the kinematics (strain, dx, ds), the shared
    material model and the fields built so far (by name). `linear_rtol` is set once the iterating fields are
    known (solver.case.linear_rtol)."""

    case: dict
    particle: object
    comm: object
    kinematics: object
    material: object
    fields: dict = dataclass_field(default_factory=dict)
    linear_rtol: dict | None = None
    solvers: dict = dataclass_field(default_factory=dict)   # {field name: (PETSc prefix, linalg preset)}

    @property
    def settings(self) -> CaseView:
        """The validated case with attribute access (settings.material.c_max_mol_m3; solver/case_view.py)."""
        return CaseView(self.case)

    @property
    def mesh(self):
        return self.particle.mesh

    @property
    def dx(self):
        return self.kinematics.dx

    @property
    def ds(self):
        return self.kinematics.ds

    def integrate(self, integrand) -> float:
        local = dolfinx.fem.assemble_scalar(dolfinx.fem.form(integrand))
        return self.comm.allreduce(local, op=MPI.SUM)

    def surface_measure(self, names, key: str):
        """ds over the named facet regions (an error naming `key` for an unknown one)."""
        regions = self.particle.facet_regions
        unknown = [n for n in names if n not in regions]
        if unknown:
            raise CaseError(f"{key} = {names!r}: {unknown[0]!r} is not a surface of this geometry; "
                            f"available: {', '.join(sorted(regions))}")
        measure = None
        for name in names:
            term = self.ds(regions[name])
            measure = term if measure is None else measure + term
        return measure

    def surface_dofs(self, space, names) -> np.ndarray:
        """The dofs of `space` on the named facet regions (sorted, unique; this rank's, ghosts included)."""
        particle = self.particle
        facets = np.concatenate([compat.entities_with_tag(particle.facet_tags, particle.facet_regions[name])
                                 for name in names])
        return np.unique(dolfinx.fem.locate_dofs_topological(space, particle.mesh.topology.dim - 1, facets))


class Field(ABC):
    """One physical field (see the module docstring)."""

    name: str = ""
    reads: tuple[str, ...] = ()
    couples_back: bool = False
    space = None
    solution = None

    def __init__(self, context: FieldContext):
        self.context = context

    @abstractmethod
    def build(self, context: FieldContext) -> None:
        """Compile forms and solvers (all fields exist)."""

    def begin_step(self, dt: float, previous_dt: float | None, scheme: str) -> None:
        """Prepare a step of dt after one of previous_dt (None on the first step)."""

    @abstractmethod
    def solve(self) -> int:
        """One solve with the current state of the fields it reads; returns the linear iterations."""

    def accept(self) -> None:
        """The step is accepted: shift histories."""

    def reject(self) -> None:
        """The step is rejected: back to the last accepted state."""

    def state(self) -> dict:
        """A copy of the step state: {key: array} of the solution (override to add histories)."""
        return {"solution": self.solution.x.array.copy()} if self.solution is not None else {}

    def restore(self, state: dict) -> None:
        if "solution" in state:
            self.solution.x.array[:] = state["solution"]

    def transport_terms(self, c, v):
        """(bilinear, linear) terms added to the Li transport forms (trial c, test v), or None."""
        return None

    def transport_rank_one(self):
        """(u: compiled linear form, z: array over the local dofs, owned entries only) of a rank-one term u z^T of
        the transport operator, or None."""
        return None

    def operator_state(self):
        """A value that changes whenever the bilinear part of transport_terms does (transport reassembles)."""
        return None

    def quantities(self) -> dict:
        """{output name: Function} this field offers (its solution by default)."""
        return {self.solution.name: self.solution} if self.solution is not None else {}

    def point_fields(self) -> list:
        """Functions to add to the field snapshots (none by default)."""
        return []

    def summary(self) -> dict:
        """{summary.json key: value} this field adds at the end of a run (nothing by default)."""
        return {}

    def tables(self) -> dict:
        """{file name: (columns, rows)} of CSV files this field adds to the result folder (none by default)."""
        return {}

    def end_cycle(self, cycle: int, extrapolated: bool = False) -> None:
        """The protocol's cycle `cycle` (1-based) has ended (nothing by default)."""

    def timeseries_values(self) -> dict:
        """{timeseries.csv column: value} of the present state in a kinetic run (none by default)."""
        return {}

    def degrade_constitutive(self, constitutive):
        """The law `constitutive(strain) -> stress` (UFL) degraded by this field, or None: it degrades nothing.

        Mechanics stays one linear solve, so the returned law must be linear in the strain it is given: a factor
        g(x) of the field's state (isotropic degradation), or a split whose tension/compression indicator is taken
        from a lagged state, so that tension is degraded and compression not. The law is given the elastic strain
        and the eigenstrain separately (bilinear and linear form), which is exact for a law linear in the strain."""
        return None
