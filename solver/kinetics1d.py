"""Butler-Volmer kinetics and cycling protocols on the 1D spherical particle (numpy only, no dolfinx).

A particle-level model, not a cell model: the electrolyte around the particle has a uniform Li+
concentration c_e and a uniform potential, taken as the reference (Li/Li+), so the particle's electrode
potential V is one unknown per particle. On every wetted surface (the outer one; also the inner one of a
hollow sphere) the local current density follows Butler-Volmer at the local overpotential
eta = V - U(x_s, T), x_s = c(surface) / c_max (solver/kinetics.py, solver/ocp.py for signs and forms):

    galvanostatic (cc, rest):  sum over wetted surfaces of i(eta, c_s) A = I_applied   (V unknown)
    potentiostatic (cv):       V = V_set                                               (V given)

Discretisation: the finite-volume transport of solver/spherical1d.py (its RadialTransport and Stepper: BE or
variable-step BDF2) with the surface molar flux J = -i/F added to the wetted surface nodes, and V as one
extra unknown: each Newton iteration solves the bordered tridiagonal system

    [ A   b ] [du]     [r]        A tridiagonal (transport + d(surface flux)/du), b = d r / dV,
    [ c^T d ] [dV] = - [g]        c^T = d g / du, d = d g / dV   (g: the current or the voltage condition)

by two tridiagonal solves with the same matrix (LAPACK dgtsv, two right-hand sides) and a scalar Schur
complement. The charge passed, Q(t) = integral of I dt, is integrated by the same BDF formula as the Li
content, so Q / F equals the Li content change to round-off at every step (the total of the nodal balances
is the surface flux); the step's charge is therefore the capacity in mAh/g without a separate quadrature.

Protocol: a list of Step objects (cc, cv, rest, cccv = cc then cv at the cc step's cut-off voltage), each with
stop conditions (voltage, current, time, capacity, mean Li fraction); the list is repeated `cycles` times.
A stop condition is located in time: a step that overshoots it is retaken from its start with a step size
found by Illinois regula falsi on the scaled stop function, until the condition holds within its tolerance.
Every protocol step restarts BDF2 with one backward-Euler step (the forcing jumps there).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.linalg.lapack import dgtsv

from solver import spherical1d
from solver.errors import CaseError, SolveError
from solver.kinetics import ButlerVolmer
from solver.spherical1d import SphericalProblem, SurfaceFlux, RadialGeometry, NewtonFailure, Stepper, RadialTransport
from solver.units import FARADAY_C_mol

STEP_KINDS = ("cc", "cv", "rest", "cccv")
STOP_KEYS = ("voltage_V", "current_A", "time_s", "charge_C", "li_fraction")
#: tolerance of a located stop, per condition (absolute; current_A and charge_C relative to their limit)
DEFAULT_TOLERANCES = {"voltage_V": 1e-6, "current_A": 1e-6, "time_s": 0.0, "charge_C": 1e-9, "li_fraction": 1e-9}
_MAX_LOCATE = 40
_MAX_HALVINGS = 30
# A phase whose accepted steps stay this far below its step size makes no progress (a Zeno loop): seen at 10C on a
# coarse 3D mesh, where each step's surface content leaves [0, c_max] unless the step is ~1e-7 s long
_TINY_STEP_FRACTION = 1e-6
_MAX_TINY_STEPS = 20
#: a cc step ends when the surface Li fraction comes this close to 0 (charge) or 1 (discharge): there the exchange
#: current density vanishes and V diverges, so a voltage cut-off beyond the OCP's end is met only in the limit
SURFACE_LIMIT_MARGIN = 1e-4
SURFACE_LIMIT_TOLERANCE = 1e-7
_MAX_DV_PER_ITERATION = 0.25       # V: Newton damping on the electrode potential
#: Newton stops when the last update of V is below this: the error left is ~ (F / 4RT) dV^2 ~ 1e-15 V
_VOLTAGE_TOLERANCE_V = 1e-8


# ------------------------------------------------------------------------------------------------------------
# problem description
# ------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KineticParticle:
    """A spherical particle with a surface reaction.

    transport: the SphericalProblem (radius, D, c_init, elasticity, mesh size); its `surface` entry and
    inner flux are ignored (the reaction sets them). ocp: a callable U(x, T) with .slope(x, T) (solver/ocp.py).
    wetted: which surfaces react ("outer_surface", and "inner_surface" for a hollow sphere).
    """
    transport: SphericalProblem
    reaction: ButlerVolmer
    ocp: object
    temperature_K: float = 298.15
    wetted: tuple[str, ...] = ("outer_surface",)

    @property
    def c_max_mol_m3(self) -> float:
        return self.reaction.c_max_mol_m3

    @property
    def volume_m3(self) -> float:
        return 4.0 / 3.0 * math.pi * (self.transport.radius_m**3 - self.transport.inner_radius_m**3)

    def surface_radii_m(self) -> dict[str, float]:
        return {"outer_surface": self.transport.radius_m, "inner_surface": self.transport.inner_radius_m}

    @property
    def wetted_area_m2(self) -> float:
        radii = self.surface_radii_m()
        return sum(4.0 * math.pi * radii[name]**2 for name in self.wetted)


@dataclass(frozen=True)
class Step:
    """One protocol step in SI. current_A > 0 is anodic (charge of a cathode), < 0 discharge.

    kind: cc (current_A), cv (voltage_V), rest (zero current), cccv (current_A until voltage_V, then voltage_V).
    stops: {condition: limit} with conditions from STOP_KEYS: voltage_V (cc, rest: reached in the direction of
    the current), current_A (|I| falls to it: cv, cccv), time_s (duration of the step), charge_C (|charge passed
    in the step|), li_fraction (mean Li fraction reached). The first condition met ends the step.
    dt_max_s: largest time step; dt_initial_s: first one (cv, rest: then growing by `growth` per step).
    """
    kind: str
    stops: dict
    current_A: float = 0.0
    voltage_V: float | None = None
    dt_max_s: float = 60.0
    dt_initial_s: float | None = None
    growth: float = 1.5
    label: str = ""
    tolerances: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in STEP_KINDS:
            raise CaseError(f"step kind = {self.kind!r}: must be one of {', '.join(STEP_KINDS)}")
        unknown = sorted(set(self.stops) - set(STOP_KEYS))
        if unknown:
            raise CaseError(f"step stop {unknown[0]!r}: must be one of {', '.join(STOP_KEYS)}")
        if not self.stops:
            raise CaseError(f"step {self.label or self.kind}: needs at least one stop condition")
        if self.kind in ("cv", "cccv") and self.voltage_V is None:
            raise CaseError(f"step {self.label or self.kind}: a {self.kind} step needs voltage_V")

    def phases(self) -> list["Step"]:
        """cccv -> [cc until voltage_V (or an earlier stop), cv at voltage_V]; other kinds -> [self]."""
        if self.kind != "cccv":
            return [self]
        cc_stops = {key: value for key, value in self.stops.items() if key != "current_A"}
        cc_stops["voltage_V"] = self.voltage_V
        return [replace(self, kind="cc", stops=cc_stops, voltage_V=None),
                replace(self, kind="cv", dt_initial_s=self.dt_initial_s or self.dt_max_s / 100.0)]


# ------------------------------------------------------------------------------------------------------------
# the coupled step
# ------------------------------------------------------------------------------------------------------------

class _KineticStepper(Stepper):
    """The transport stepper with the surface reaction and the electrode potential V as one more unknown.

    mass_now / mass_before hold the nodal Li contents and, as the last entry, the charge passed expressed as
    Li moles per steradian (q = -Q / (4 pi F)): the BDF history then integrates Q with the transport's formula.
    """

    def __init__(self, particle: KineticParticle, transport: RadialTransport, u0: np.ndarray, scheme: str,
                 volume_per_sr: float, newton_rtol: float = 1e-11, max_newton: int = 40):
        super().__init__(transport, u0, scheme, newton_rtol, max_newton)
        self.particle = particle
        self.volume_per_sr = volume_per_sr
        nodes = {"outer_surface": u0.size - 1, "inner_surface": 0}
        radii = particle.surface_radii_m()
        self.surfaces = [(nodes[name], radii[name]**2) for name in particle.wetted]
        self.mass_now = np.append(self.mass_now, 0.0)
        self.c_max = particle.c_max_mol_m3
        x_s = u0[nodes["outer_surface"]] / self.c_max
        self.V = float(particle.ocp(x_s, particle.temperature_K))
        self.current_A = 0.0
        self.previous = None       # (u, V) one step back: the predictor of the next Newton iteration

    # ---- state
    @property
    def charge_C(self) -> float:
        return -4.0 * math.pi * FARADAY_C_mol * float(self.mass_now[-1])

    def save(self):
        return (self.u, self.mass_now, self.mass_before, self.dt_before, self.V, self.current_A, self.previous)

    def restore(self, state) -> None:
        """The state saved by save() (arrays are replaced, never modified in place, so no copies are needed)."""
        self.u, self.mass_now, self.mass_before, self.dt_before, self.V, self.current_A, self.previous = state

    def restart(self) -> None:
        """Start the next step with backward Euler (the forcing jumps at a protocol step)."""
        self.dt_before, self.mass_before, self.previous = None, None, None

    def _predict(self, dt: float):
        """Linear extrapolation of (u, V) from the last two states: a close start saves Newton iterations."""
        if self.previous is None or self.dt_before is None:
            return self.u.copy(), self.V
        u_prev, V_prev = self.previous
        w = dt / self.dt_before
        return self.u + w * (self.u - u_prev), self.V + w * (self.V - V_prev)

    # ---- kinetics at the surface nodes
    def surface_state(self, u: np.ndarray, V: float):
        """Per wetted surface: (node, r^2, i, di/deta, di/du) at potential V."""
        p = self.particle
        out = []
        for node, r2 in self.surfaces:
            x = u[node] / self.c_max
            eta = V - float(p.ocp(x, p.temperature_K))
            i, di_deta, di_dc = p.reaction.current_density(eta, u[node], p.temperature_K)
            di_du = di_deta * (-float(p.ocp.slope(x, p.temperature_K)) / self.c_max) + di_dc
            out.append((node, r2, float(i), float(di_deta), float(di_du)))
        return out

    def x_mean(self) -> float:
        return float(self.mass_now[:-1].sum() / self.volume_per_sr / self.c_max)

    def surface_li_fraction(self) -> float:
        """The Li fraction at the first wetted surface (reported as surface_li_fraction)."""
        return float(self.u[self.surfaces[0][0]] / self.c_max)

    def surface_li_range(self) -> tuple[float, float]:
        """(lowest, highest) Li fraction on the wetted surfaces (the surface-limit stop)."""
        x = [self.u[node] / self.c_max for node, _ in self.surfaces]
        return float(min(x)), float(max(x))

    def overpotential_V(self, node: int | None = None) -> float:
        node = self.surfaces[0][0] if node is None else node
        x = self.u[node] / self.c_max
        return self.V - float(self.particle.ocp(x, self.particle.temperature_K))

    def guess_voltage(self, current_A: float) -> float:
        """U(x_s) + eta(i) at the present surface state for a uniform current density over the wetted area."""
        p = self.particle
        node = self.surfaces[0][0]
        i = current_A / p.wetted_area_m2
        return float(p.ocp(self.u[node] / self.c_max, p.temperature_K)
                     + p.reaction.overpotential(i, self.u[node], p.temperature_K))

    def step_controlled(self, dt: float, t_new: float, *, current_A: float | None = None,
                        voltage_V: float | None = None) -> None:
        """Advance by dt under an applied current (V unknown) or voltage; raises NewtonFailure (state kept)."""
        a0, history = self._coefficients(dt)
        u, V = self._predict(dt)
        if voltage_V is not None:
            V = voltage_V
        four_pi = 4.0 * math.pi
        for _ in range(self.max_newton):
            residual, (lower, diag, upper) = self._system(u, a0, history[:-1], dt, t_new)
            border = np.zeros(u.size)          # d residual / dV
            row = np.zeros(u.size)             # d g / du
            total_i_r2, d_corner = 0.0, 0.0
            for node, r2, i, di_deta, di_du in self.surface_state(u, V):
                residual[node] += i * r2 / FARADAY_C_mol          # - J r^2 with J = -i/F
                diag[node] += di_du * r2 / FARADAY_C_mol
                border[node] += di_deta * r2 / FARADAY_C_mol
                row[node] += di_du * r2 / FARADAY_C_mol
                total_i_r2 += i * r2
                d_corner += di_deta * r2 / FARADAY_C_mol
            if voltage_V is None:      # the current balance, in Li moles per steradian and second
                g = (total_i_r2 - current_A / four_pi) / FARADAY_C_mol
            else:
                g, row[:], d_corner = V - voltage_V, 0.0, 1.0
            rhs = np.column_stack([-residual, border])
            _, _, _, sol, info = dgtsv(lower, diag, upper, rhs, overwrite_b=True)
            if info != 0 or not np.all(np.isfinite(sol)):
                break
            z, y = sol[:, 0], sol[:, 1]
            schur = d_corner - row @ y
            if schur == 0.0:
                break
            dV = (-g - row @ z) / schur
            du = z - y * dV
            scale = min(1.0, _MAX_DV_PER_ITERATION / abs(dV)) if dV != 0.0 else 1.0
            u += scale * du
            V += scale * dV
            if scale == 1.0 and np.max(np.abs(du)) <= self.tolerance and abs(dV) <= _VOLTAGE_TOLERANCE_V:
                self._accept(u, V, a0, history, dt)
                return
        raise NewtonFailure(t_new)

    def _accept(self, u, V, a0, history, dt) -> None:
        surfaces = self.surface_state(u, V)
        current = 4.0 * math.pi * sum(i * r2 for _, r2, i, _, _ in surfaces)
        if np.any(u < 0.0) or np.any(u > self.c_max):
            raise NewtonFailure(0.0)   # out of the material's Li range: the step is too long (or unreachable)
        q_new = (dt * (-current / (4.0 * math.pi * FARADAY_C_mol)) - history[-1]) / a0
        self.mass_before, self.mass_now = self.mass_now, np.append(self.tr.content(u), q_new)
        self.previous = (self.u, self.V)
        self.u, self.V, self.dt_before, self.current_A = u, V, dt, current


# ------------------------------------------------------------------------------------------------------------
# stop conditions
# ------------------------------------------------------------------------------------------------------------

class Stops:
    """Scaled stop functions h_k = g_k / tol_k of one phase; a condition is met when h_k >= -1.

    `stepper`: anything with V, current_A, charge_C and surface_li_fraction() (the 1D stepper here, the field
    problem's in solver/kinetic_run.py)."""

    def __init__(self, step: Step, x_mean_start: float, charge_start_C: float):
        self.step, self.charge_start_C = step, charge_start_C
        self.sign = 1.0 if step.current_A >= 0 else -1.0
        target = step.stops.get("li_fraction")
        self.x_sign = 0.0 if target is None else (-1.0 if x_mean_start > target else 1.0)
        self.tol = {key: step.tolerances.get(key, DEFAULT_TOLERANCES[key]) for key in step.stops}
        for key in ("current_A", "charge_C"):
            if key in self.tol:
                self.tol[key] *= max(abs(step.stops[key]), 1e-300)
        self.tol["time_s"] = max(1e-9 * step.stops.get("time_s", 0.0), 1e-12)
        self.surface_limit = step.kind == "cc" and step.current_A != 0.0
        self.tol["surface_li_limit"] = SURFACE_LIMIT_TOLERANCE

    def values(self, stepper, x_mean: float, t_phase: float) -> dict:
        limits = self.step.stops
        g = {}
        if "voltage_V" in limits:
            g["voltage_V"] = self.sign * (stepper.V - limits["voltage_V"])
        if "current_A" in limits:
            g["current_A"] = limits["current_A"] - abs(stepper.current_A)
        if "time_s" in limits:
            g["time_s"] = t_phase - limits["time_s"]
        if "charge_C" in limits:
            g["charge_C"] = abs(stepper.charge_C - self.charge_start_C) - limits["charge_C"]
        if "li_fraction" in limits:
            g["li_fraction"] = self.x_sign * (x_mean - limits["li_fraction"])
        if self.surface_limit:
            low, high = stepper.surface_li_range()
            g["surface_li_limit"] = (SURFACE_LIMIT_MARGIN - low) if self.sign > 0 else (high - 1.0 + SURFACE_LIMIT_MARGIN)
        return {key: value / self.tol[key] for key, value in g.items()}


# ------------------------------------------------------------------------------------------------------------
# results
# ------------------------------------------------------------------------------------------------------------

TIMESERIES_COLUMNS = ("time_s", "step", "cycle", "phase", "voltage_V", "current_A", "charge_C",
                      "overpotential_V", "surface_li_fraction", "mean_li_fraction", "ocv_surface_V")


@dataclass
class StepRecord:
    index: int
    cycle: int
    kind: str
    label: str
    t_start_s: float
    t_end_s: float = 0.0
    charge_C: float = 0.0
    stop: str = ""
    end_voltage_V: float = 0.0
    overpotential_min_V: float = math.inf
    overpotential_max_V: float = -math.inf
    overpotential_integral_Vs: float = 0.0
    steps: int = 0
    rejected_steps: int = 0

    @property
    def overpotential_mean_V(self) -> float:
        duration = self.t_end_s - self.t_start_s
        return self.overpotential_integral_Vs / duration if duration > 0 else 0.0


@dataclass
class KineticsResult:
    """Time series (one entry per accepted time step, t = 0 first), per-step records and, if kept, the nodal
    concentration profiles (for stresses)."""
    particle: KineticParticle
    series: dict
    steps: list
    profiles_mol_m3: np.ndarray | None
    mesh: spherical1d.RadialMesh
    status: str = "completed"
    message: str = ""
    cycles: dict | None = None     # FE runs (solver/kinetic_run.py): cycles requested, solved, extrapolated, jumps

    def column(self, name: str) -> np.ndarray:
        return np.asarray(self.series[name])

    def stresses(self):
        """(radii, sigma_r, sigma_t) at every kept time (radii of the sampled nodes, interfaces twice)."""
        elasticity = self.particle.transport.elasticity
        if self.profiles_mol_m3 is None or elasticity is None:
            raise CaseError("stresses: the run kept no profiles or the particle has no elasticity")
        transport = _transport_of(self.particle, self.mesh)
        c_ends = np.stack(transport.element_ends(self.profiles_mol_m3), axis=-1)
        c_ref_ends = None if elasticity.c_ref_mol_m3 is not None else c_ends[0]   # None: the start is stress-free
        ends_r, ends_t = spherical1d.elastic_stresses(self.mesh, elasticity, c_ends, c_ref_ends)
        radii, sigma_r = spherical1d.sample(self.mesh, ends_r)
        return radii, sigma_r, spherical1d.sample(self.mesh, ends_t)[1]

    def spherical_result(self) -> spherical1d.SphericalResult:
        """The profiles and stresses as a spherical1d.SphericalResult (its .peak() finds where and when)."""
        radii, sigma_r, sigma_t = self.stresses()
        transport = _transport_of(self.particle, self.mesh)
        c_ends = np.stack(transport.element_ends(self.profiles_mol_m3), axis=-1)
        mean = transport.content(self.profiles_mol_m3).sum(-1) / transport.geo.volumes.sum()
        return spherical1d.SphericalResult(radii, self.column("time_s"), spherical1d.sample(self.mesh, c_ends)[1],
                                           sigma_r, sigma_t, mean)


def _transport_of(particle: KineticParticle, mesh: spherical1d.RadialMesh) -> RadialTransport:
    c_scale = max(particle.c_max_mol_m3, 1.0)
    problem = replace(particle.transport, surface=SurfaceFlux(0.0), inner_flux_mol_m2_s=0.0)
    return RadialTransport(problem, RadialGeometry.of(mesh), c_scale)


# ------------------------------------------------------------------------------------------------------------
# the protocol loop
# ------------------------------------------------------------------------------------------------------------

class ProtocolRun:
    """The protocol loop on any stepper with this interface (the 1D one above; solver/kinetic_run.py's on the field
    problem of the 3D and axisymmetric formulations):

        V, current_A, charge_C        the electrode potential, the total current and the charge passed so far
        restart()                     the next step is a first (backward-Euler) step
        guess_voltage(current_A)      V for a cc start at the present surface state
        save() / restore(state)       the whole step state
        step_controlled(dt, t_new, current_A=, voltage_V=)   one step; NewtonFailure (state kept) if none
        x_mean()                      the mean Li fraction
        surface_li_fraction(), surface_li_range()   reported surface fraction, (lowest, highest) on wetted surfaces
        overpotential_V()             the reported overpotential (1D: at the surface; FE: area mean)

    `observe(run)` is called after every recorded state (t = 0 first): profiles, stresses.
    """

    def __init__(self, stepper, ocv_of, observe=None):
        self.stepper = stepper
        self.ocv_of = ocv_of          # V_ocv of the reported surface fraction: U(x_s, T)
        self.observe = observe
        self.t = 0.0
        self.series = {name: [] for name in TIMESERIES_COLUMNS}
        self.records: list[StepRecord] = []
        self.record(-1, 0, "start")

    def x_mean(self) -> float:
        return self.stepper.x_mean()

    def record(self, step: int, cycle: int, phase: str) -> None:
        """A row of the series for the present state (and observe(run)): after each accepted protocol step, at the
        start (step -1, cycle 0, "start") and where a driver marks a state of its own (a cycle jump: "jump")."""
        s = self.stepper
        x_s = s.surface_li_fraction()
        ocv = float(self.ocv_of(x_s))
        row = {"time_s": self.t, "step": step, "cycle": cycle, "phase": phase, "voltage_V": s.V,
               "current_A": s.current_A, "charge_C": s.charge_C, "overpotential_V": s.overpotential_V(),
               "surface_li_fraction": x_s, "mean_li_fraction": self.x_mean(), "ocv_surface_V": ocv}
        for key, value in row.items():
            self.series[key].append(value)
        if self.observe is not None:
            self.observe(self)

    def _take(self, phase: Step, dt: float) -> None:
        self.stepper.step_controlled(dt, self.t + dt, current_A=phase.current_A if phase.kind != "cv" else None,
                                     voltage_V=phase.voltage_V if phase.kind == "cv" else None)

    def run_phase(self, phase: Step, record: StepRecord, cycle: int) -> str:
        s = self.stepper
        s.restart()
        if phase.kind != "cv":
            s.V = s.guess_voltage(phase.current_A)
        stops = Stops(phase, self.x_mean(), s.charge_C)
        t_phase = 0.0
        dt = phase.dt_initial_s or phase.dt_max_s
        time_limit = phase.stops.get("time_s", math.inf)
        at_start = stops.values(s, self.x_mean(), 0.0)
        if phase.kind == "cv":      # the current jumps when the voltage is imposed: not a stop at t = 0
            at_start.pop("current_A", None)
        if _met(at_start):
            return _met(at_start)
        h_old = None if phase.kind == "cv" and "current_A" in phase.stops else max(at_start.values())
        tiny_steps = 0
        reason = ""        # why the last rejected step failed, where the stepper said (e.g. a coupled solve's message)
        while True:
            dt = min(dt, phase.dt_max_s, time_limit - t_phase)
            start = s.save()
            try:
                self._take(phase, dt)
            except NewtonFailure as failure:
                s.restore(start)
                record.rejected_steps += 1
                reason = failure.reason
                dt *= 0.5
                if dt < 1e-12 * max(phase.dt_max_s, 1.0) or record.rejected_steps > _MAX_HALVINGS * (record.steps + 1):
                    raise SolveError(_no_converged_step(record.label, self.t, reason, self.x_mean(),
                                                        s.surface_li_fraction(), phase.stops)) from None
                continue
            tiny_steps = tiny_steps + 1 if dt < _TINY_STEP_FRACTION * phase.dt_max_s else 0
            if tiny_steps > _MAX_TINY_STEPS:
                s.restore(start)
                raise SolveError(f"{record.label}: the time step collapsed at t = {self.t:.6g} s ({_MAX_TINY_STEPS} "
                                 f"steps shorter than {_TINY_STEP_FRACTION:g} x {phase.dt_max_s:.3g} s): each longer "
                                 f"step leaves the Li content outside [0, c_max] (surface x = "
                                 f"{s.surface_li_fraction():.4g}) before any stop condition ({', '.join(phase.stops)}) "
                                 "was met; refine the mesh at the wetted surfaces or lower the rate")
            values = stops.values(s, self.x_mean(), t_phase + dt)
            h = max(values.values())
            if h > 1.0:
                dt, values = self._locate(phase, stops, start, t_phase, dt, h_old, h)
            t_phase += dt
            self.t += dt
            record.steps += 1
            eta = s.overpotential_V()
            record.overpotential_min_V = min(record.overpotential_min_V, eta)
            record.overpotential_max_V = max(record.overpotential_max_V, eta)
            record.overpotential_integral_Vs += eta * dt
            self.record(record.index, cycle, phase.kind)
            met = _met(values)
            if met:
                return met
            h_old = max(values.values())
            dt = dt * phase.growth if phase.kind != "cc" else phase.dt_max_s

    def _locate(self, phase: Step, stops: Stops, start, t_phase: float, dt_hi: float, h_lo: float, h_hi: float):
        """Illinois regula falsi on the step length: the first stop within its tolerance (|h| <= 1)."""
        s = self.stepper
        dt_lo, side = 0.0, 0
        for _ in range(_MAX_LOCATE):
            dt = math.nan if h_lo is None else (dt_lo * h_hi - dt_hi * h_lo) / (h_hi - h_lo)
            if not dt_lo < dt < dt_hi:      # also nan: bisect
                dt = 0.5 * (dt_lo + dt_hi)
            s.restore(start)
            try:
                self._take(phase, dt)
            except NewtonFailure:
                dt_hi, h_hi = dt, h_hi      # treat as beyond the stop
                continue
            values = stops.values(s, self.x_mean(), t_phase + dt)
            h = max(values.values())
            if -1.0 <= h <= 1.0:
                return dt, values
            if h > 1.0:
                dt_hi, h_hi = dt, h
                if side == 1:
                    h_lo *= 0.5
                side = 1
            else:
                dt_lo, h_lo = dt, h
                if side == -1:
                    h_hi *= 0.5
                side = -1
        s.restore(start)
        self._take(phase, dt_hi)
        return dt_hi, stops.values(s, self.x_mean(), t_phase + dt_hi)

    def run_step(self, index: int, cycle: int, step: Step) -> StepRecord:
        record = StepRecord(index, cycle, step.kind, step.label or f"step {index}", self.t)
        charge_start = self.stepper.charge_C
        for phase in step.phases():
            record.stop = self.run_phase(phase, record, cycle)
            if step.kind == "cccv" and phase.kind == "cc" and record.stop != "voltage_V":
                break     # an earlier stop of the cc phase ends the whole step
        record.t_end_s = self.t
        record.charge_C = self.stepper.charge_C - charge_start
        record.end_voltage_V = self.stepper.V
        self.records.append(record)
        return record


def _met(values: dict) -> str:
    met = [key for key, h in values.items() if h >= -1.0]
    return max(met, key=values.get) if met else ""


def run_protocol(particle: KineticParticle, steps: list[Step], cycles: int = 1, scheme: str = "bdf2",
                 keep_profiles: bool = True, stop_on_failure: bool = False) -> KineticsResult:
    """Run the steps `cycles` times from the particle's initial state (at rest, V = U(x_surface)).

    stop_on_failure: a step that can not continue (e.g. the particle empties before a stop condition) ends the
    run with status "failed" and its message instead of raising SolveError.
    """
    if not steps:
        raise CaseError("protocol.steps: empty; give at least one step")
    problem = particle.transport
    spherical1d._validate(replace(problem, surface=SurfaceFlux(0.0)))
    if scheme not in spherical1d.SCHEMES:
        raise CaseError(f"scheme = {scheme!r}: must be one of {', '.join(spherical1d.SCHEMES)}")
    mesh = spherical1d.radial_mesh(problem.inner_radius_m, problem.radius_m, problem.interfaces_m, problem.n_cells)
    transport = _transport_of(particle, mesh)
    u0 = spherical1d._radial(problem.c_init_mol_m3, mesh.nodes_m)
    if np.any(u0 <= 0) or np.any(u0 >= particle.c_max_mol_m3):
        raise CaseError("c_init_mol_m3: the initial Li content must lie strictly inside (0, c_max)")
    stepper = _KineticStepper(particle, transport, u0, scheme, float(transport.geo.volumes.sum()))
    profiles = []
    run = ProtocolRun(stepper, lambda x: particle.ocp(x, particle.temperature_K),
                      (lambda run: profiles.append(stepper.u.copy())) if keep_profiles else None)
    status, message = run_cycles(run, steps, cycles, stop_on_failure)
    return KineticsResult(particle, run.series, run.records, np.array(profiles) if keep_profiles else None, mesh,
                          status, message)


def run_cycle(run: ProtocolRun, steps: list[Step], cycle: int, after_step=None) -> None:
    """The steps once, as cycle `cycle` (1-based: the timeseries' and summary's cycle numbers), calling
    after_step(run) after each."""
    for index, step in enumerate(steps):
        run.run_step(index, cycle, step)
        if after_step is not None:
            after_step(run)


def protocol_outcome(protocol, stop_on_failure: bool) -> tuple[str, str]:
    """(status, message) of `protocol()`: a SolveError ends the run as "failed" if stop_on_failure."""
    try:
        protocol()
    except SolveError as exc:
        if not stop_on_failure:
            raise
        return "failed", str(exc)
    return "completed", ""


def _no_converged_step(label: str, t_s: float, reason: str, x_mean: float, x_surface: float, stops) -> str:
    """Why a protocol step ended without a converged time step: the last failure's own reason where the stepper
    gave one (a coupled field's solve), else the usual cause, a surface Li limit reached before the stop."""
    if reason:
        return f"{label}: no converged step at t = {t_s:.6g} s, down to the smallest time step; the last try: {reason}"
    return (f"{label}: no converged step at t = {t_s:.6g} s (the particle is {'empty' if x_mean < 0.5 else 'full'} "
            f"at the surface, x_s = {x_surface:.4g}, before any stop condition ({', '.join(stops)}) was met: an "
            "unreachable stop?)")


def run_cycles(run: ProtocolRun, steps: list[Step], cycles: int, stop_on_failure: bool,
               after_step=None) -> tuple[str, str]:
    """Run the steps `cycles` times (cycles 1 .. cycles), calling after_step(run) after each; (status, message)."""
    def protocol():
        for cycle in range(1, cycles + 1):
            run_cycle(run, steps, cycle, after_step)

    return protocol_outcome(protocol, stop_on_failure)
