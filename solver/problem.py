"""The coupled Li-diffusion / elasticity problem on one particle mesh: the fields a case asks for, composed.

Flow: validated case + ParticleMesh -> kinematics (strain, dx, ds) and material model -> the fields of
solver/fields/registry.py (Li transport, mechanics, then any registered extra field whose case section is
present), each owning its space, forms, solver and step state -> `advance(dt)` runs the one coupling mechanism
(solver/fields/coupling.py) and then the fields solved once per step.

Stress-assisted diffusion uses a fixed-stress-style split: inside the coupling iteration sigma_h(c)
is linearised as sigma_h,k - beta (c - c_k), beta = 2 E Omega / (9 (1 - nu)) (exact for a free
isotropic sphere; solver/physics/transport.py). The iteration is consistent (the extra term vanishes at
convergence) and, unlike plain lagging of sigma_h, it converges when theta c = Omega beta c / (R T) exceeds 1,
which it does for Ni-rich NCM (~2).

ChemoMechanicalProblem keeps the surface the pipeline, post-processing, writers, stepping and extensions use
(c, u, V_c, V_u, advance, accept_step, reject_step, solve_mechanics, stress(), li_concentration, ...): those
names delegate to the fields; the fields are `problem.fields[name]`.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field

import numpy as np
from mpi4py import MPI

from solver import materials
from solver.case import linear_rtol
from solver.fields import kinematics as kinematics_module
from solver.fields.base import FieldContext
from solver.fields.coupling import FixedPointCoupling
from solver.fields.registry import field_classes
from solver.postprocess import global_range


@dataclass
class StepReport:
    coupling_iterations: int
    transport_iterations: int
    mechanics_iterations: int
    coupling_change: float
    field_iterations: dict = dataclass_field(default_factory=dict)   # {field name: linear iterations}


def _delegate(field: str, attribute: str, doc: str = ""):
    """A read-only property of the problem that reads `attribute` of field `field`."""
    return property(lambda self: getattr(self.fields[field], attribute), doc=doc or f"fields[{field!r}].{attribute}")


class ChemoMechanicalProblem:
    """Li transport and mechanics (and registered extra fields) on one mesh; see the module docstring.

    `kinematics`: a class of solver/fields/kinematics.py (Cartesian by default; Axisymmetric for the meridian);
    `solvers`: {field name: (PETSc prefix, linalg preset)} replacing a field's default solver;
    `material`: a material model replacing the case's (a formulation's wrapper of it); `fields`: {field name: Field
    class} replacing a core field's class (the generalised plane strain of solver/fields/plane_strain.py).
    """

    def __init__(self, case: dict, particle, comm=MPI.COMM_WORLD, kinematics=None, solvers=None, material=None,
                 fields=None):
        self.case = case
        self.particle = particle
        self.comm = comm
        self.mesh = particle.mesh
        self.c_max = case["material"]["c_max_mol_m3"]
        self.kinematics = (kinematics or kinematics_module.Cartesian)(particle)
        self.material = material or materials.material_model(self.mesh, particle, case["material"])
        self.context = FieldContext(case, particle, comm, self.kinematics, self.material, solvers=dict(solvers or {}))
        self.fields = self.context.fields
        replaced = fields or {}
        for cls in field_classes(case):
            built = replaced.get(cls.name, cls)(self.context)
            self.fields[built.name] = built
        # a step iterates for the transport's own nonlinearity or because a field couples back into it
        self.iterates = self.nonlinear or any(f.couples_back for f in self.fields.values())
        self.linear_rtol = linear_rtol(case, iterates=self.iterates)
        if self.iterates and not self.fields["transport"].stress_assisted:
            # mechanics is then solved once after the coupling loop, not in it: the loop's ceiling on the linear
            # tolerance is not its business (a kinetic step paid 36 % more mechanics iterations for it)
            self.linear_rtol["mechanics"] = linear_rtol(case, iterates=False)["mechanics"]
        self.context.linear_rtol = self.linear_rtol
        for built in self.fields.values():
            built.build(self.context)
        transport = self.fields["transport"]
        # iterated: the field the coupling iterates (transport); coupled: the fields solved between its iterates
        # (mechanics when the flux reads its stress, extra fields that couple back); followers: every other field,
        # solved once per step after the coupling has converged (mechanics included)
        self.iterated = transport
        self.coupled = [f for f in self.fields.values()
                        if f is not transport and ((f.name == "mechanics" and transport.stress_assisted)
                                                   or f.couples_back)]
        self.followers = [f for f in self.fields.values() if f is not transport]
        coupling = case["coupling"]
        self.coupling = FixedPointCoupling(comm, coupling["tolerance"], coupling["max_iterations"])
        self._li_range = None      # li_content_range() of the current state (None: not reduced yet)

    # ------------------------------------------------------------ the contract other modules read
    dx = property(lambda self: self.kinematics.dx)
    ds = property(lambda self: self.kinematics.ds)
    V_c = _delegate("transport", "space")
    c = _delegate("transport", "c")
    c_old = _delegate("transport", "c_old")
    c_older = _delegate("transport", "c_older")
    c_iterate = _delegate("transport", "c_iterate")
    dt = _delegate("transport", "dt")
    surface_flux = _delegate("transport", "surface_flux")
    surface_concentration = _delegate("transport", "surface_concentration")
    temperature = _delegate("transport", "temperature")
    li_content = _delegate("transport", "li_content")
    ds_wetted = _delegate("transport", "ds_wetted")
    volume_m3 = _delegate("transport", "volume_m3")
    wetted_area_m2 = _delegate("transport", "wetted_area_m2")
    galvanostatic = _delegate("transport", "galvanostatic")
    stress_assisted = _delegate("transport", "stress_assisted")
    diffusivity_is_variable = _delegate("transport", "diffusivity_is_variable")
    nonlinear = _delegate("transport", "nonlinear", "Whether a step iterates (TransportField.nonlinear).")
    sigma_h = _delegate("transport", "sigma_h")
    V_u = _delegate("mechanics", "space")
    u = _delegate("mechanics", "u")
    mech_a = _delegate("mechanics", "a")
    mech_L = _delegate("mechanics", "L")
    mech_A = _delegate("mechanics", "A")
    mech_b = _delegate("mechanics", "b")
    mech_bcs = _delegate("mechanics", "bcs")
    floating = _delegate("mechanics", "floating")
    rigid_modes = _delegate("mechanics", "rigid_modes")

    def constitutive(self, strain):
        return self.material.constitutive(strain)

    def eigenstrain(self, c):
        return self.material.eigenstrain(c)

    def li_concentration(self):
        """UFL: the Li content (mol/m^3), c itself or the shell model's clip(c - d, c_lo, c_hi)
        (solver/fields/shell_content.py)."""
        return self.fields["transport"].li_concentration()

    def li_concentration_field(self):
        """The Li content as a Function (c, or its DG1 vertex values in each cell): pictures, extensions."""
        return self.fields["transport"].li_concentration_field()

    def li_content_values(self) -> np.ndarray:
        """The Li content (mol/m^3) at this rank's owned nodes of its field (vertex values per cell in a shell)."""
        field = self.li_concentration_field()
        return field.x.array[: field.function_space.dofmap.index_map.size_local]

    def li_content_range(self) -> tuple[float, float]:
        """(min, max) of the Li content (mol/m^3) over the particle in the current state: the transported c, or
        in a Li-deficient shell the bounded content (whose transported variable may sit beyond its bounds by
        design). Reduced over the ranks once per state: the surface-limit check of the step and the sanity check
        after it read the same numbers."""
        if self._li_range is None:
            self._li_range = global_range(self.comm, self.li_content_values())
        return self._li_range

    def li_amount(self):
        """UFL form: the Li in the particle (mol), integrated exactly as the transport stores it."""
        return self.fields["transport"].li_amount()

    def strain_li_content(self):
        """The Li content that strains the lattice: c, or in bounded regions (solver/fields/shell_content.py) the
        content's vertex values in each cell. The clipped content bends inside cells where it reaches its bound; a P2
        displacement (P1 strain) cannot follow that kink and its stress overshoots by ~ the jump in the content's
        gradient times h at the cell's vertices. The vertex interpolant spreads the kink over the cell instead,
        keeps the content within its bounds and makes the stress linear in each cell again."""
        return self.fields["transport"].strain_li_content()

    def stress(self):
        """UFL: the Cauchy stress (kinematics' strain of u minus the eigenstrain of the Li content)."""
        return self.fields["mechanics"].stress()

    def quantities(self) -> dict:
        """{name: Function} every field offers to outputs."""
        out = {}
        for built in self.fields.values():
            out.update(built.quantities())
        return out

    # ---------------------------------------------------------------- solving
    def set_time_weights(self, dt: float, previous_dt: float | None, scheme: str) -> None:
        self.fields["transport"].begin_step(dt, previous_dt, scheme)

    def solve_transport(self) -> int:
        return self.fields["transport"].solve()

    def solve_mechanics(self) -> int:
        """The displacement of the current Li content (no projection of sigma_h)."""
        return self.fields["mechanics"].solve_displacement()

    def advance(self, dt: float, previous_dt: float | None, scheme: str) -> StepReport:
        """Solve one step from (c_old, c_older); c (and every field) holds the new state on return.

        Nonlinear steps (D(c), stress-assisted flux, bounded content, fields that couple back) iterate
        transport against the inner fields (solver/fields/coupling.py); then every other field solves once.
        """
        self._li_range = None
        for built in self.fields.values():
            built.begin_step(dt, previous_dt, scheme)
        transport = self.iterated
        report = self.coupling.run(transport, self.coupled, start=transport.c_old.x.array,
                                   nonlinear=self.iterates, relax=not transport.li_content.bounded)
        solves = dict(report.solves)
        for built in self.followers:
            solves[built.name] = solves.get(built.name, 0) + built.solve()
        return StepReport(report.iterations, solves["transport"], solves["mechanics"], report.change, solves)

    def accept_step(self) -> None:
        for built in self.fields.values():
            built.accept()

    def reject_step(self) -> None:
        self._li_range = None
        for built in self.fields.values():
            built.reject()

    def _integrate(self, integrand) -> float:
        return self.context.integrate(integrand)

    def mean_concentration(self) -> float:
        return self._integrate(self.li_amount()) / self.volume_m3

    def dimensionless_time(self, t_s: float) -> float:
        return self.case["material"]["diffusivity_m2_s"] * t_s / self.particle.radius_m**2
