"""[oxygen]: released lattice oxygen (O2) diffusing in the particle, escaping, trapped by RuO2, reduced back.

Case section [oxygen] (an extension, solver/extensions.py): its keys, checks and defaults are
solver/oxygen_section.py.

Model (mol O2 per m^3; c mobile, q trapped, r reduced), stepping with the Li solver, same dt:
    dc/dt = div(D grad c) + S - chi_trap k_a (1 - q/q_max) c          in the particle
    dq/dt = k_a (1 - q/q_max) c - k_r q,   dr/dt = k_r q              in the trap regions
    S = nu max(-dc_Li/dt, 0) H(x_th - x_Li)                          release tied to oxygen redox
    escape: c = 0 (sink), -D dc/dn = h c (Robin) or none, on escape_surfaces
- Release: Li extraction beyond the transition-metal redox capacity is charge-compensated by lattice
  oxygen (the 4.5 V plateau of Li-rich oxides), part of which leaves as O2 (Armstrong et al., J. Am. Chem.
  Soc. 128 (2006) 8694). For Li1.20Mn0.555Ni0.158Co0.080O2, Ni2+/4+ and Co3+/4+ give 2(0.158) + 0.080 =
  0.396 e per formula unit, i.e. x_th = 1 - 0.396/1.2 = 0.67 of the Li. nu only scales the amounts: every
  fraction reported below is independent of it.
- Trapping: O2 binds to RuO2 1.013 eV more strongly than to Li2MnO3 (-1.497 vs -0.484 eV, docs/science.md#study-2-li-rich-lrmo-with-a-buffer-layer-and-ruo2),
  so the equilibrium partition between the two is K = exp(1.013 eV / kT) ~ 1e17 at 298 K: once captured,
  O2 does not desorb on any time scale of the charge. The trap is therefore irreversible, limited by the
  capture rate k_a and the RuO2 sites (Langmuir blocking, 1 - q/q_max); the catalytic reduction (lower
  Li2O2 reduction free energy on RuO2, 6.99 vs 9.02 eV) returns trapped O2 to the lattice at k_r, freeing
  the site. Both rates are assumptions, stated in the case files.

Discretisation and bookkeeping (mass balance at every step)
- P1 c, backward Euler (implicit, first order), its own KSP with options prefix "oxygen_". The blocking
  factor uses the previous step's q (semi-implicit), so every step is one linear solve.
- Trap exchange is mass-lumped (vertex quadrature on the trap regions): q and r are nodal, updated with
  exactly the amount the c equation lost, q_i <- (q_i + dt k_a (1 - q_i/q_max) c_i) / (1 + dt k_r).
- released = initial + sum dt int S dx; mobile = int c dx; trapped = sum m_i q_i; reduced = sum m_i r_i;
  escaped: Robin sum dt int h c ds, sink the consistent boundary flux (minus the residual of the step at the
  sink nodes). The imbalance released - (mobile + trapped + reduced + escaped) is then the linear solver's
  residual only; its largest value over all steps is reported (summary["o2"]["mass_balance"]).
Amounts (mol, in summary.json and o2_timeseries.csv) are for the whole particle: an octant model multiplies
what its eighth holds by 8 (`particle_copies` in the summary); fractions and concentrations are not affected.
"""
from __future__ import annotations

import csv
import math

import numpy as np
import ufl
from mpi4py import MPI
from petsc4py import PETSc
import dolfinx.fem

from solver import compat, linalg
from solver.errors import CaseError, SolveError
from solver.geometry.assembly import symmetry_factor
from solver.oxygen_section import SECTION

CSV_COLUMNS = ("time_s", "released_mol", "mobile_mol", "trapped_mol", "reduced_mol", "escaped_mol",
               "retained_fraction", "trapped_fraction", "reduced_fraction", "escaped_fraction",
               "imbalance_mol", "relative_imbalance", "mean_mobile_mol_m3", "coefficient_of_variation")
_RTOL = 1e-12


def radial_profile(radius_fraction: np.ndarray, values: np.ndarray, weights: np.ndarray, bins: int,
                   comm=None) -> dict:
    """Weighted mean of nodal values in equal radial bins of r/R in [0, 1] (empty bins: None)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(np.minimum(radius_fraction, 1.0), edges) - 1, 0, bins - 1)
    sums = np.bincount(index, weights * values, minlength=bins)
    totals = np.bincount(index, weights, minlength=bins)
    if comm is not None:
        sums, totals = comm.allreduce(sums, op=MPI.SUM), comm.allreduce(totals, op=MPI.SUM)
    mean = [float(s / w) if w > 0 else None for s, w in zip(sums, totals)]
    return {"r_over_R": (0.5 * (edges[:-1] + edges[1:])).tolist(), "mean": mean}


class OxygenRelease:
    section = SECTION
    summary_key = "o2"         # summary.json["o2"]: the name the studies and users look for

    def __init__(self, case: dict, problem, folder):
        self.options = options = case[SECTION]
        self.problem, self.comm = problem, problem.comm
        mesh, particle = problem.mesh, problem.particle
        self.radius_m = particle.radius_m
        self.c_max = problem.c_max
        self.particle_copies = 1.0 / symmetry_factor(case["geometry"])   # 8 for an octant model
        for key, names, regions in (("escape_surfaces", options["escape_surfaces"], particle.facet_regions),
                                    ("trap_regions", options["trap_regions"], particle.cell_regions)):
            unknown = [n for n in names if n not in regions]
            if unknown:
                raise CaseError(f"oxygen.{key}: {unknown[0]!r} is not a region of this geometry; "
                                f"available: {', '.join(sorted(regions))}")

        self.V = compat.scalar_space(mesh, 1)
        self.c = dolfinx.fem.Function(self.V, name="o2_mol_m3")
        self.c_old = dolfinx.fem.Function(self.V)
        self.trapped = dolfinx.fem.Function(self.V, name="o2_trapped_mol_m3")
        self.reduced = np.zeros_like(self.trapped.x.array)
        self.blocking = dolfinx.fem.Function(self.V)      # 1 - q/q_max, from the previous step
        self.blocking.x.array[:] = 1.0
        self.c.x.array[:] = options["initial_mol_m3"]
        self.c_old.x.array[:] = self.c.x.array
        self.li = problem.li_concentration_field()
        self.li_previous = dolfinx.fem.Function(self.li.function_space)

        scalar = PETSc.ScalarType
        self.dt = dolfinx.fem.Constant(mesh, scalar(1.0))
        self.diffusivity = dolfinx.fem.Constant(mesh, scalar(options["diffusivity_m2_s"]))
        self.trap_rate = dolfinx.fem.Constant(mesh, scalar(options["trap_rate_1_s"]))
        self.h = dolfinx.fem.Constant(mesh, scalar(options["mass_transfer_m_s"]))
        dx = problem.dx
        ds = problem.ds
        lumped = ufl.Measure("dx", domain=mesh, subdomain_data=particle.cell_tags,
                             metadata={"quadrature_rule": "vertex", "quadrature_degree": 1})
        exact = {"quadrature_degree": 2}

        u, v = ufl.TrialFunction(self.V), ufl.TestFunction(self.V)
        source = self._release_rate()
        trap_tags = tuple(particle.cell_regions[n] for n in options["trap_regions"])
        escape_tags = tuple(particle.facet_regions[n] for n in options["escape_surfaces"])
        a = u * v * dx + self.dt * self.diffusivity * ufl.inner(ufl.grad(u), ufl.grad(v)) * dx
        L = self.c_old * v * dx + self.dt * source * v * dx(metadata=exact)
        residual = ((self.c - self.c_old) * v * dx + self.dt * self.diffusivity * ufl.inner(
            ufl.grad(self.c), ufl.grad(v)) * dx - self.dt * source * v * dx(metadata=exact))
        if trap_tags:
            capture = self.dt * self.trap_rate * self.blocking
            a += capture * u * v * lumped(trap_tags)
            residual += capture * self.c * v * lumped(trap_tags)
            self.trap_mass = compat.assemble_accumulated(dolfinx.fem.form(v * lumped(trap_tags))).copy()
        else:
            self.trap_mass = np.zeros_like(self.c.x.array)
        self.in_trap = (self.trap_mass > 0).astype(float)
        self.robin = options["escape"] == "robin"
        if self.robin:
            a += self.dt * self.h * u * v * ds(escape_tags)
            residual += self.dt * self.h * self.c * v * ds(escape_tags)
            self.escape_rate_form = dolfinx.fem.form(self.h * self.c * ds(escape_tags))
        self.bcs, self.sink_dofs = [], np.zeros(0, dtype=np.int32)
        if options["escape"] == "sink":
            fdim = mesh.topology.dim - 1
            facets = np.concatenate([compat.entities_with_tag(particle.facet_tags, t) for t in escape_tags])
            self.sink_dofs = dolfinx.fem.locate_dofs_topological(self.V, fdim, facets)
            self.bcs = [dolfinx.fem.dirichletbc(scalar(0), self.sink_dofs, self.V)]
        self.a, self.L = dolfinx.fem.form(a), dolfinx.fem.form(L)
        self.residual_form = dolfinx.fem.form(residual)
        self.release_form = dolfinx.fem.form(source * dx(metadata=exact))
        self.mobile_form = dolfinx.fem.form(self.c * dx)
        self.square_form = dolfinx.fem.form(self.c * self.c * dx)
        self.A = compat.assemble_matrix(self.a, self.bcs)
        self.b = compat.create_vector(self.L)
        self.ksp = linalg.make_ksp(self.comm, "oxygen_", "cg_hypre", _RTOL, self.A)
        self._matrix_key = None
        self.n_owned = self.V.dofmap.index_map.size_local
        self.owned_sink = self.sink_dofs[self.sink_dofs < self.n_owned]
        self.nodal_volume = compat.assemble_accumulated(dolfinx.fem.form(v * dx)).copy()
        self.radius_fraction = np.linalg.norm(compat.dof_coordinates(self.V), axis=1) / self.radius_m
        self.volume_m3 = problem.volume_m3

        self.totals = {"released_mol": 0.0, "escaped_mol": 0.0}
        self.history: list[dict] = []
        self.max_imbalance = {"absolute_mol": 0.0, "relative": 0.0, "step": 0}
        self._file = open(folder.path("o2_timeseries.csv"), "w", newline="") if self.comm.rank == 0 else None
        if self._file:
            self._writer = csv.DictWriter(self._file, fieldnames=CSV_COLUMNS)
            self._writer.writeheader()

    # ------------------------------------------------------------------ model pieces
    def _release_rate(self):
        """UFL: S = nu max(c_Li,prev - c_Li, 0) / dt where x_Li < threshold (mol O2 / m^3 / s)."""
        nu = self.options["release_per_li"]
        threshold = self.options["release_below_li_fraction"] * self.c_max
        extracted = ufl.max_value(self.li_previous - self.li, 0.0)
        redox = ufl.conditional(ufl.lt(self.li, threshold), 1.0, 0.0)
        return nu * extracted * redox / self.dt

    def _sum(self, value) -> float:
        return self.comm.allreduce(float(value), op=MPI.SUM)

    def _integrate(self, form) -> float:
        return self._sum(dolfinx.fem.assemble_scalar(form))

    def _lumped_total(self, nodal: np.ndarray) -> float:
        return self._sum(np.dot(self.trap_mass[: self.n_owned], nodal[: self.n_owned]))

    # ------------------------------------------------------------------ stepping
    def _solve(self, dt: float) -> None:
        self.dt.value = dt
        if dt != self._matrix_key or self.options["trap_capacity_mol_m3"] is not None:
            compat.assemble_matrix_into(self.A, self.a, self.bcs)
            self.ksp.setOperators(self.A)
            self._matrix_key = dt
        compat.assemble_vector_into(self.b, self.L, self.a, self.bcs)
        try:
            linalg.solve(self.ksp, self.b, compat.petsc_vector(self.c), "O2 transport")
        except SolveError as exc:
            raise SolveError(f"[oxygen] {exc}") from None

    def _exchange(self, dt: float) -> float:
        """Nodal trap update with exactly what the c equation captured; returns the amount captured (mol)."""
        k_a, k_r = self.options["trap_rate_1_s"], self.options["reduction_rate_1_s"]
        captured = dt * k_a * self.blocking.x.array * self.c.x.array * self.in_trap
        self.trapped.x.array[:] = (self.trapped.x.array + captured) / (1.0 + dt * k_r)
        self.reduced += dt * k_r * self.trapped.x.array
        capacity = self.options["trap_capacity_mol_m3"]
        if capacity is not None:
            self.blocking.x.array[:] = np.maximum(1.0 - self.trapped.x.array / capacity, 0.0)
        return self._lumped_total(captured)

    def _escaped(self, dt: float) -> float:
        """Amount that left through the escape surfaces in this step (mol)."""
        if self.robin:
            return dt * self._integrate(self.escape_rate_form)
        if self.options["escape"] != "sink":
            return 0.0
        residual = compat.assemble_accumulated(self.residual_form)   # collective: every rank assembles
        return -self._sum(residual[self.owned_sink].sum())

    def after_step(self, step: int, t_s: float, dt_s: float) -> None:
        if step == 0 or dt_s <= 0.0:
            self.li_previous.x.array[:] = self.li.x.array
            self.totals["released_mol"] = self._integrate(self.mobile_form)   # the initial inventory
            self._record(t_s, 0.0)
            return
        self.dt.value = dt_s
        released = dt_s * self._integrate(self.release_form)
        self._solve(dt_s)
        self._exchange(dt_s)
        escaped = self._escaped(dt_s)
        self.totals["released_mol"] += released
        self.totals["escaped_mol"] += escaped
        self.c_old.x.array[:] = self.c.x.array
        self.li_previous.x.array[:] = self.li.x.array
        imbalance = self._record(t_s, dt_s)
        scale = max(self.particle_copies * self.totals["released_mol"], 1e-300)   # imbalance: whole particle
        if abs(imbalance) / scale >= self.max_imbalance["relative"]:
            self.max_imbalance = {"absolute_mol": abs(imbalance), "relative": abs(imbalance) / scale, "step": step}

    def budget(self) -> dict:
        """Whole-particle amounts (the modelled domain's times particle_copies) and their fractions."""
        released, mobile, trapped, reduced, escaped = (self.particle_copies * amount for amount in (
            self.totals["released_mol"], self._integrate(self.mobile_form), self._lumped_total(self.trapped.x.array),
            self._lumped_total(self.reduced), self.totals["escaped_mol"]))
        out = {"released_mol": released, "mobile_mol": mobile, "trapped_mol": trapped, "reduced_mol": reduced,
               "escaped_mol": escaped, "imbalance_mol": released - (mobile + trapped + reduced + escaped)}
        for name, amount in (("retained", mobile), ("trapped", trapped), ("reduced", reduced), ("escaped", escaped),
                             ("kept_in_particle", mobile + trapped + reduced)):
            out[f"{name}_fraction"] = amount / released if released > 0 else None
        return out

    def uniformity(self) -> dict:
        mean = self._integrate(self.mobile_form) / self.volume_m3
        variance = max(self._integrate(self.square_form) / self.volume_m3 - mean**2, 0.0)
        owned = self.c.x.array[: self.n_owned]
        low = self.comm.allreduce(float(owned.min()) if owned.size else math.inf, op=MPI.MIN)
        high = self.comm.allreduce(float(owned.max()) if owned.size else -math.inf, op=MPI.MAX)
        # A node that the sink has emptied may come out a round-off below zero (-8e-36 mol/m^3 was seen with
        # GAMG): the ratio counts it as empty; a real undershoot (beyond 1e-9 of the maximum) stays visible.
        ratio_low = 0.0 if -1e-9 * high <= low < 0 else low
        return {"mean_mol_m3": mean, "min_mol_m3": low, "max_mol_m3": high,
                "coefficient_of_variation": math.sqrt(variance) / mean if mean > 0 else None,
                "min_over_max": ratio_low / high if high > 0 else None}

    def _record(self, t_s: float, dt_s: float) -> float:
        budget = self.budget()
        spread = self.uniformity()
        row = {"time_s": t_s, **{k: budget[k] for k in CSV_COLUMNS if k in budget},
               "relative_imbalance": (abs(budget["imbalance_mol"]) / budget["released_mol"]
                                      if budget["released_mol"] > 0 else 0.0),
               "mean_mobile_mol_m3": spread["mean_mol_m3"],
               "coefficient_of_variation": spread["coefficient_of_variation"]}
        self.history.append(row)
        if self._file:
            self._writer.writerow(row)
            self._file.flush()
        return budget["imbalance_mol"]

    # ------------------------------------------------------------------ outputs
    def point_fields(self) -> list:
        return [self.c, self.trapped] if self.options["point_field"] else []

    def final_profile(self) -> dict:
        owned = slice(0, self.n_owned)
        bins = self.options["profile_bins"]
        mobile = radial_profile(self.radius_fraction[owned], self.c.x.array[owned],
                                self.nodal_volume[owned], bins, self.comm)
        trapped = radial_profile(self.radius_fraction[owned], self.trapped.x.array[owned],
                                 self.nodal_volume[owned], bins, self.comm)
        return {"r_over_R": mobile["r_over_R"], "mobile_mol_m3": mobile["mean"], "trapped_mol_m3": trapped["mean"]}

    def summary(self) -> dict:
        if self._file:
            self._file.close()
            self._file = None
        last = self.history[-1] if self.history else {"time_s": 0.0}
        return {
            "model": dict(self.options),
            "time_s": last["time_s"],
            "dimensionless_time": self.options["diffusivity_m2_s"] * last["time_s"] / self.radius_m**2,
            "particle_copies": self.particle_copies,
            "budget": self.budget(),
            "retained_fraction_vs_time": [[row["time_s"], row["retained_fraction"]] for row in self.history],
            "timeseries_file": "o2_timeseries.csv",
            "final_profile": self.final_profile(),
            "uniformity": self.uniformity(),
            "mass_balance": {"max_absolute_imbalance_mol": self.max_imbalance["absolute_mol"],
                             "max_relative_imbalance": self.max_imbalance["relative"],
                             "at_step": self.max_imbalance["step"], "steps_checked": len(self.history) - 1,
                             "linear_solver_rtol": _RTOL},
        }
