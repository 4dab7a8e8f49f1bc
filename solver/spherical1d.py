"""1D spherically symmetric Li transport and radial elasticity (numpy/scipy only).

Two uses: (a) a reference for the 3D solver (stress-assisted diffusion in an isotropic sphere
reduces to N = -D (1 + theta c) grad c, see analytic.stress_assisted_theta), and (b) a fast path
for rotationally symmetric particles (dense, hollow, core-shell).

Model, on a <= r <= R (a = 0: solid sphere):
    transport   dc/dt = (1/r^2) d/dr (r^2 D(c, r) dc/dr)
                surface r = R: a flux J(t) (mol/m^2/s, > 0 INTO the particle) or c = c_s(t);
                inner surface r = a: a flux J_a(t), zero by default.
    mechanics   radial linear elasticity with isotropic eigenstrain Omega(r) (c - c_ref(r)) / 3,
                E(r), nu(r); both surfaces traction-free. It is solved after transport at the
                output times (stress does not feed back except through a D(c, r) the caller
                chose, e.g. D0 (1 + theta c)).

Discretisation
- Space: vertex-centred finite volumes on a mesh whose nodes include r = a, r = R and every
  material interface. Node i owns the control volume between the neighbouring element midpoints;
  element e carries the properties evaluated at its midpoint (so piecewise properties are exact
  when the interfaces are nodes). Face diffusivity D(mean of the two nodal c, r_mid). Second
  order in h (measured in tests/test_spherical1d.py). Values at r = 0 and r = R are nodal.
- Time: backward Euler (first order) or variable-step BDF2 (second order, started with one
  backward-Euler step), Newton iterations with a tridiagonal Jacobian (dD/dc by a finite
  difference of the D callable). A step whose Newton iteration fails is halved (a few times).
- Mechanics: P2 finite elements in u(r), 3-point Gauss (exact for the linear-in-element eigenstrain),
  u(0) = 0 for the solid sphere, one banded solve for all output times at once.

Concentration bounds ("stops changing once it reaches its limit")
  Each element may carry c_min(r) <= c <= c_max(r) (e.g. a Li-deficient shell that can not be
  delithiated below c_min). The transported variable is a nodal potential-like concentration u;
  the Li content of each half-element is c = clip(u, c_min, c_max) and the flux is driven by grad u.
  Where a region sits at its bound its storage term d clip/du is zero: its content no longer
  changes, but Li still flows THROUGH it (from the core to the surface during charge). Mass is
  exactly conserved because the balance is written for the clipped content itself. If every node
  is at its bound while a flux is imposed the step can not converge and SolveError is raised.

Output positions are the nodes; an interface node appears twice (left and right limits), so the
jumps of c (bounded regions) and of the hoop stress (property jumps) are kept, not averaged.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Union

import numpy as np
import scipy.sparse
from scipy.linalg import solve_banded
from scipy.linalg.lapack import dgtsv

from solver import quantities
from solver.errors import CaseError, SolveError

Radial = Union[float, Callable[[np.ndarray], np.ndarray]]
Diffusivity = Union[float, Callable[[np.ndarray, np.ndarray], np.ndarray]]
OfTime = Union[float, Callable[[float], float]]

SCHEMES = ("bdf2", "backward_euler")
_BDF2_MAX_STEP_RATIO = 2.4      # variable-step BDF2 is zero-stable below 1 + sqrt(2)
_MAX_HALVINGS = 8
_FD_RELATIVE_STEP = 1e-7
_END_NUDGE = 1e-9               # evaluate element-end properties just inside the element


# --------------------------------------------------------------------------------------------
# problem description
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SurfaceFlux:
    """Galvanostatic surface: molar flux in mol/m^2/s, > 0 into the particle (float or f(t_s))."""
    flux_mol_m2_s: OfTime


@dataclass(frozen=True)
class SurfaceConcentration:
    """Potentiostatic surface: c(R, t) = c_mol_m3 (float or f(t_s))."""
    c_mol_m3: OfTime


@dataclass(frozen=True)
class Elasticity:
    """Isotropic elastic properties and the chemical expansion, each a float or a function of r_m.

    c_ref_mol_m3 is the stress-free concentration; None means the initial profile is stress-free.
    """
    young_modulus_Pa: Radial
    poisson_ratio: Radial
    partial_molar_volume_m3_mol: Radial
    c_ref_mol_m3: Radial | None = None


@dataclass(frozen=True)
class SphericalProblem:
    """A spherically symmetric particle. Radial properties are floats or vectorised functions of r_m.

    diffusivity_m2_s: float or D(c_mol_m3, r_m) (e.g. lambda c, r: D0 * (1 + theta * c)).
    interfaces_m: radii where properties or bounds jump (become mesh nodes; output twice there).
    c_min_mol_m3 / c_max_mol_m3: optional bounds per region (see the module docstring).
    """
    radius_m: float
    diffusivity_m2_s: Diffusivity
    c_init_mol_m3: Radial
    surface: SurfaceFlux | SurfaceConcentration
    elasticity: Elasticity | None = None
    inner_radius_m: float = 0.0
    inner_flux_mol_m2_s: OfTime = 0.0
    interfaces_m: tuple[float, ...] = ()
    c_min_mol_m3: Radial | None = None
    c_max_mol_m3: Radial | None = None
    n_cells: int = 400


def piecewise_constant(interfaces_m, values) -> Callable[[np.ndarray], np.ndarray]:
    """f(r) = values[k] for interfaces_m[k-1] <= r < interfaces_m[k] (core-shell properties)."""
    interfaces_m, values = np.asarray(interfaces_m, dtype=float), np.asarray(values, dtype=float)
    if values.size != interfaces_m.size + 1:
        raise CaseError(f"piecewise_constant: {values.size} values for {interfaces_m.size} "
                        "interfaces: need one value more than interfaces")
    return lambda r: values[np.searchsorted(interfaces_m, np.asarray(r, dtype=float), side="right")]


def _radial(value: Radial, r: np.ndarray) -> np.ndarray:
    if callable(value):
        return np.broadcast_to(np.asarray(value(r), dtype=float), r.shape).copy()
    return np.full(r.shape, float(value))


def _at_time(value: OfTime, t_s: float) -> float:
    return float(value(t_s)) if callable(value) else float(value)


def _validate(problem: SphericalProblem) -> None:
    R, a = problem.radius_m, problem.inner_radius_m
    if not R > 0.0:
        raise CaseError(f"radius_m = {R}: must be > 0")
    if not 0.0 <= a < R:
        raise CaseError(f"inner_radius_m = {a}: must be in [0, radius_m = {R})")
    for radius in problem.interfaces_m:
        if not a < radius < R:
            raise CaseError(f"interfaces_m contains {radius}: must lie strictly inside ({a}, {R})")
    if problem.n_cells < 2 * (len(problem.interfaces_m) + 1):
        raise CaseError(f"n_cells = {problem.n_cells}: need at least 2 per region")
    if not isinstance(problem.surface, (SurfaceFlux, SurfaceConcentration)):
        raise CaseError(f"surface = {problem.surface!r}: must be SurfaceFlux or SurfaceConcentration")


# --------------------------------------------------------------------------------------------
# mesh and finite-volume geometry
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RadialMesh:
    """Nodes a = r_0 < ... < r_N = R; element e spans [r_e, r_e+1]; interface node indices."""
    nodes_m: np.ndarray
    interface_nodes: tuple[int, ...]

    @property
    def h_m(self) -> np.ndarray:
        return np.diff(self.nodes_m)

    @property
    def mid_m(self) -> np.ndarray:
        return 0.5 * (self.nodes_m[:-1] + self.nodes_m[1:])

    def element_ends_m(self) -> np.ndarray:
        """(n_elements, 2) radii nudged just inside each element, to read one-sided values."""
        nudge = _END_NUDGE * self.h_m
        return np.stack([self.nodes_m[:-1] + nudge, self.nodes_m[1:] - nudge], axis=1)


def radial_mesh(inner_radius_m: float, radius_m: float, interfaces_m=(), n_cells: int = 400) -> RadialMesh:
    """Uniform spacing inside each region, n_cells shared in proportion to the region widths."""
    breaks = np.array([inner_radius_m, *sorted(interfaces_m), radius_m])
    widths = np.diff(breaks)
    counts = np.maximum(2, np.round(n_cells * widths / widths.sum()).astype(int))
    pieces = [np.linspace(lo, hi, n + 1)[:-1] for lo, hi, n in zip(breaks[:-1], breaks[1:], counts)]
    nodes = np.concatenate([*pieces, [radius_m]])
    return RadialMesh(nodes, tuple(int(i) for i in np.cumsum(counts)[:-1]))


@dataclass(frozen=True)
class RadialGeometry:
    """Per-steradian control-volume geometry of a RadialMesh.

    half_left[e] is the part of element e inside node e's control volume, half_right[e] the part
    inside node e+1's; face e (at the element midpoint) has area mid^2 and length h.
    """
    mesh: RadialMesh
    half_left: np.ndarray
    half_right: np.ndarray
    transmissibility: np.ndarray     # mid^2 / h: multiplied by D gives the face conductance

    @classmethod
    def of(cls, mesh: RadialMesh) -> "RadialGeometry":
        r, mid = mesh.nodes_m, mesh.mid_m
        return cls(mesh, (mid**3 - r[:-1]**3) / 3.0, (r[1:]**3 - mid**3) / 3.0, mid**2 / mesh.h_m)

    def gather(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Nodal sums of per-element contributions to the left (node e) and right (node e+1) node."""
        out = np.zeros(left.shape[:-1] + (left.shape[-1] + 1,))
        out[..., :-1] += left
        out[..., 1:] += right
        return out

    @property
    def volumes(self) -> np.ndarray:
        return self.gather(self.half_left, self.half_right)


# --------------------------------------------------------------------------------------------
# transport
# --------------------------------------------------------------------------------------------

class RadialTransport:
    """Residual and tridiagonal Jacobian of the nodal balance  d m(u)/dt = G(u)  (per steradian).

    m_i(u) = Li content of node i's control volume (bounded content, see the module docstring);
    G_i(u) = net diffusive inflow + imposed boundary fluxes.
    """

    def __init__(self, problem: SphericalProblem, geometry: RadialGeometry, c_scale: float):
        self.problem, self.geo, self.c_scale = problem, geometry, c_scale
        mid = geometry.mesh.mid_m
        self.r_mid = mid
        self.c_min = _radial(problem.c_min_mol_m3, mid) if problem.c_min_mol_m3 is not None \
            else np.full(mid.shape, -np.inf)
        self.c_max = _radial(problem.c_max_mol_m3, mid) if problem.c_max_mol_m3 is not None \
            else np.full(mid.shape, np.inf)
        self.bounded = problem.c_min_mol_m3 is not None or problem.c_max_mol_m3 is not None
        self.D_is_constant = not callable(problem.diffusivity_m2_s)
        self.dirichlet = isinstance(problem.surface, SurfaceConcentration)

    def element_ends(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bounded concentrations at the left/right end of every element (last axis = elements)."""
        if not self.bounded:     # np.clip with infinite bounds is slow: the fast path of unbounded problems
            return u[..., :-1], u[..., 1:]
        return (np.clip(u[..., :-1], self.c_min, self.c_max),
                np.clip(u[..., 1:], self.c_min, self.c_max))

    def unbounded_ends(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether each element end is within its bounds, i.e. d clip/du = 1 there (else 0)."""
        return ((u[:-1] >= self.c_min) & (u[:-1] <= self.c_max),
                (u[1:] >= self.c_min) & (u[1:] <= self.c_max))

    def content(self, u: np.ndarray) -> np.ndarray:
        c_left, c_right = self.element_ends(u)
        return self.geo.gather(self.geo.half_left * c_left, self.geo.half_right * c_right)

    def capacity(self, u: np.ndarray) -> np.ndarray:
        """d content / du: zero where a region sits at (or beyond) its bound."""
        free_left, free_right = self.unbounded_ends(u)
        return self.geo.gather(self.geo.half_left * free_left, self.geo.half_right * free_right)

    def _diffusivity(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Face D and dD/dc (forward difference of the callable; zero for a constant D)."""
        D = self.problem.diffusivity_m2_s
        if self.D_is_constant:
            return np.full(c.shape, float(D)), np.zeros(c.shape)
        step = _FD_RELATIVE_STEP * (np.abs(c) + self.c_scale)
        value = np.asarray(D(c, self.r_mid), dtype=float)
        return value, (np.asarray(D(c + step, self.r_mid), dtype=float) - value) / step

    def inflow(self, u: np.ndarray, t_s: float):
        """G(u) and its tridiagonal derivative (lower, diag, upper)."""
        c_left, c_right = self.element_ends(u)
        D, dD_dc = self._diffusivity(0.5 * (c_left + c_right))
        T = self.geo.transmissibility
        q = T * D * (u[1:] - u[:-1])                       # face flow from node e+1 into node e
        G = self.geo.gather(q, -q)
        if not self.dirichlet:
            G[-1] += _at_time(self.problem.surface.flux_mol_m2_s, t_s) * self.problem.radius_m**2
        G[0] += _at_time(self.problem.inner_flux_mol_m2_s, t_s) * self.problem.inner_radius_m**2
        slope = T * (u[1:] - u[:-1]) * 0.5 * dD_dc       # through D(mean of the two end values)
        free_left, free_right = self.unbounded_ends(u)
        dq_left = -T * D + slope * free_left
        dq_right = T * D + slope * free_right
        diag = self.geo.gather(dq_left, -dq_right)
        return G, (-dq_left, diag, dq_right)                # lower[e] = dG_{e+1}/du_e


class Stepper:
    """Implicit time integration of the transport problem with Newton iterations."""

    def __init__(self, transport: RadialTransport, u0: np.ndarray, scheme: str,
                 newton_rtol: float, max_newton: int):
        self.tr, self.scheme = transport, scheme
        self.u = u0.copy()
        self.mass_now, self.mass_before, self.dt_before = transport.content(u0), None, None
        self.tolerance = newton_rtol * transport.c_scale
        self.max_newton = max_newton

    def _coefficients(self, dt: float):
        """(a0, history) with  [a0 m^{n+1} + history] / dt  the BDF approximation of dm/dt."""
        if self.scheme == "backward_euler" or self.dt_before is None \
                or dt / self.dt_before > _BDF2_MAX_STEP_RATIO:
            return 1.0, -self.mass_now
        w = dt / self.dt_before
        return (1 + 2 * w) / (1 + w), -(1 + w) * self.mass_now + w * w / (1 + w) * self.mass_before

    def step(self, dt: float, t_new: float) -> None:
        """Advance to t_new; raises NewtonFailure (state unchanged) if Newton does not converge."""
        a0, history = self._coefficients(dt)
        u = self.u.copy()
        for _ in range(self.max_newton):
            residual, (lower, diag, upper) = self._system(u, a0, history, dt, t_new)
            _, _, _, du, info = dgtsv(lower, diag, upper, -residual, overwrite_b=True)
            if info != 0 or not np.all(np.isfinite(du)):
                break
            u += du
            if np.max(np.abs(du)) <= self.tolerance:
                self.mass_before, self.mass_now = self.mass_now, self.tr.content(u)
                self.u, self.dt_before = u, dt
                return
        raise NewtonFailure(t_new)

    def _system(self, u, a0, history, dt, t_new):
        """Residual  [a0 m(u) + history]/dt - G(u)  and its tridiagonal Jacobian."""
        G, (g_lower, g_diag, g_upper) = self.tr.inflow(u, t_new)
        residual = (a0 * self.tr.content(u) + history) / dt - G
        capacity = np.maximum(self.tr.capacity(u), 1e-12 * self.tr.geo.volumes)
        diag = a0 * capacity / dt - g_diag
        lower, upper = -g_lower, -g_upper
        if self.tr.dirichlet:                          # replace the surface node's balance
            residual[-1] = u[-1] - _at_time(self.tr.problem.surface.c_mol_m3, t_new)
            diag[-1], lower[-1] = 1.0, 0.0
        return residual, (lower, diag, upper)


class NewtonFailure(Exception):
    """A Newton iteration of a step did not converge (the step is retried smaller). `reason`: why, where the
    stepper knows it (a coupled solve's own SolveError message), for the error raised when no step converges."""

    def __init__(self, t_s: float | None = None, reason: str = ""):
        super().__init__(t_s, reason)
        self.reason = reason


def _march(stepper: Stepper, times_s: np.ndarray, dt_max_s: float | None) -> np.ndarray:
    """Run from t = 0 through every output time; returns the nodal u at each output time."""
    saved, t = [], 0.0
    for t_out in times_s:
        if t_out > t:
            n_sub = 1 if dt_max_s is None else max(1, math.ceil((t_out - t) / dt_max_s - 1e-9))
            _advance(stepper, np.linspace(t, t_out, n_sub + 1)[1:].tolist(), t)
            t = t_out
        saved.append(stepper.u.copy())
    return np.array(saved)


def _advance(stepper: Stepper, targets: list, t: float) -> None:
    """Take the steps ending at targets, halving any step whose Newton iteration fails."""
    halvings = 0
    while targets:
        try:
            stepper.step(targets[0] - t, targets[0])
        except NewtonFailure:
            if halvings == _MAX_HALVINGS:
                raise SolveError(f"spherical1d: Newton did not converge at t = {targets[0]:.6g} s "
                                 f"after {halvings} step halvings (a region at its concentration "
                                 "bound everywhere, or a too large dt_max_s)") from None
            targets.insert(0, 0.5 * (t + targets[0]))
            halvings += 1
            continue
        t = targets.pop(0)


# --------------------------------------------------------------------------------------------
# mechanics
# --------------------------------------------------------------------------------------------

_GAUSS_X, _GAUSS_W = (0.5 * (np.polynomial.legendre.leggauss(3)[0] + 1.0),
                      0.5 * np.polynomial.legendre.leggauss(3)[1])


def _p2_shapes(xi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P2 shape functions on [0, 1] (nodes 0, 1/2, 1) and their xi-derivatives, shape (len(xi), 3)."""
    N = np.stack([(1 - xi) * (1 - 2 * xi), 4 * xi * (1 - xi), xi * (2 * xi - 1)], axis=-1)
    dN = np.stack([4 * xi - 3, 4 - 8 * xi, 4 * xi - 1], axis=-1)
    return N, dN


class _RadialElasticity:
    """P2 radial elasticity  int [sigma_r d(eps_r) + 2 sigma_t d(eps_t)] r^2 dr = 0, u = u(r).

    eps_r = u', eps_t = u/r; sigma_r = (lam + 2 mu) eps_r + 2 lam eps_t - 3 k eps*,
    sigma_t = lam eps_r + 2 (lam + mu) eps_t - 3 k eps*, eps* = Omega (c - c_ref)/3, k the bulk modulus.
    Properties are constant per element (evaluated at its midpoint); c is linear in each element.
    """

    def __init__(self, mesh: RadialMesh, elasticity: Elasticity, c_ref_ends: np.ndarray):
        mid = mesh.mid_m
        E, nu = _radial(elasticity.young_modulus_Pa, mid), _radial(elasticity.poisson_ratio, mid)
        if np.any(E <= 0) or np.any((nu <= -1) | (nu >= 0.5)):
            raise CaseError("elasticity: need young_modulus_Pa > 0 and -1 < poisson_ratio < 0.5")
        self.lam = E * nu / ((1 + nu) * (1 - 2 * nu))
        self.mu = E / (2 * (1 + nu))
        self.three_k = 3 * self.lam + 2 * self.mu
        self.omega = _radial(elasticity.partial_molar_volume_m3_mol, mid)
        self.mesh, self.c_ref_ends = mesh, c_ref_ends
        self.r_gauss = mesh.nodes_m[:-1, None] + mesh.h_m[:, None] * _GAUSS_X      # (elements, 3)
        self.banded = self._stiffness()

    def _dofs(self) -> np.ndarray:
        e = np.arange(self.mesh.h_m.size)
        return np.stack([2 * e, 2 * e + 1, 2 * e + 2], axis=1)

    def _stiffness(self) -> np.ndarray:
        """Banded (2, 2) global stiffness, with u(0) = 0 imposed for a solid sphere."""
        h, r = self.mesh.h_m[:, None, None, None], self.r_gauss[:, :, None, None]
        N, dN = _p2_shapes(_GAUSS_X)
        Ni, Nj = N[None, :, :, None], N[None, :, None, :]
        dNi, dNj = dN[None, :, :, None] / h, dN[None, :, None, :] / h
        lam, mu = self.lam[:, None, None, None], self.mu[:, None, None, None]
        integrand = ((lam + 2 * mu) * dNi * dNj * r**2 + 2 * lam * (Ni * dNj + dNi * Nj) * r
                     + 4 * (lam + mu) * Ni * Nj)
        Ke = np.einsum("q,eqij->eij", _GAUSS_W, integrand * h)
        n_dofs = 2 * self.mesh.h_m.size + 1
        banded = np.zeros((5, n_dofs))
        dofs = self._dofs()
        for i in range(3):
            for j in range(3):
                np.add.at(banded, (2 + dofs[:, i] - dofs[:, j], dofs[:, j]), Ke[:, i, j])
        if self.mesh.nodes_m[0] == 0.0:
            banded[:, 0] = 0.0                           # column 0
            banded[1, 1] = banded[0, 2] = 0.0            # row 0 (columns 1, 2)
            banded[2, 0] = 1.0
        return banded

    def _eigen_three_k(self, c_ends: np.ndarray) -> np.ndarray:
        """3 k eps* at the element ends: shape (times, elements, 2)."""
        return (self.three_k * self.omega)[:, None] * (c_ends - self.c_ref_ends) / 3.0

    def stresses(self, c_ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """sigma_r, sigma_t at the element ends for c_ends of shape (times, elements, 2)."""
        load = self._eigen_three_k(c_ends)                               # (t, e, 2)
        N, dN = _p2_shapes(_GAUSS_X)
        h = self.mesh.h_m[:, None]
        at_gauss = load[..., :1] * (1 - _GAUSS_X) + load[..., 1:] * _GAUSS_X  # (t, e, q)
        r = self.r_gauss
        test = dN[None] / h[..., None] * r[..., None]**2 + 2 * N[None] * r[..., None]   # (e, q, 3)
        fe = np.einsum("teq,eqi,q->tei", at_gauss, test, _GAUSS_W) * h[None]
        n_dofs = 2 * self.mesh.h_m.size + 1
        rhs = np.zeros((n_dofs, c_ends.shape[0]))
        dofs = self._dofs()
        for i in range(3):
            np.add.at(rhs, dofs[:, i], fe[:, :, i].T)
        if self.mesh.nodes_m[0] == 0.0:
            rhs[0] = 0.0
        U = solve_banded((2, 2), self.banded, rhs, check_finite=False).T  # (t, dofs)
        return self._end_stresses(U[:, self._dofs()], load)

    def _end_stresses(self, Ue: np.ndarray, load: np.ndarray):
        """Stresses from the element displacements Ue (t, e, 3) at xi = 0 and 1."""
        _, dN = _p2_shapes(np.array([0.0, 1.0]))
        du = np.einsum("tei,ki->tek", Ue, dN) / self.mesh.h_m[None, :, None]
        u_end = Ue[..., [0, 2]]
        r_end = np.stack([self.mesh.nodes_m[:-1], self.mesh.nodes_m[1:]], axis=1)
        u_over_r = np.where(r_end > 0.0, u_end / np.where(r_end > 0.0, r_end, 1.0), du)
        lam, mu = self.lam[:, None], self.mu[:, None]
        sigma_r = (lam + 2 * mu) * du + 2 * lam * u_over_r - load
        sigma_t = lam * du + 2 * (lam + mu) * u_over_r - load
        return sigma_r, sigma_t


# --------------------------------------------------------------------------------------------
# output sampling and result
# --------------------------------------------------------------------------------------------

def _sampling(mesh: RadialMesh) -> tuple[np.ndarray, scipy.sparse.csr_matrix]:
    """Output radii and the matrix mapping element-end values (elements*2, flattened) to them.

    Ordinary interior nodes average the two one-sided values; interface nodes appear twice.
    """
    n_nodes = mesh.nodes_m.size
    rows, cols, weights, radii = [], [], [], []
    for i in range(n_nodes):
        left = [(2 * (i - 1) + 1)] if i > 0 else []
        right = [2 * i] if i < n_nodes - 1 else []
        groups = [left, right] if i in mesh.interface_nodes else [left + right]
        for group in groups:
            rows += [len(radii)] * len(group)
            cols += group
            weights += [1.0 / len(group)] * len(group)
            radii.append(mesh.nodes_m[i])
    matrix = scipy.sparse.csr_matrix((weights, (rows, cols)), shape=(len(radii), 2 * (n_nodes - 1)))
    return np.array(radii), matrix


@dataclass(frozen=True)
class Peak:
    value: float
    radius_m: float
    time_s: float


@dataclass(frozen=True)
class SphericalResult:
    """Fields on (output time, output radius). r_m repeats interface radii (left, right limits)."""
    r_m: np.ndarray
    t_s: np.ndarray
    c_mol_m3: np.ndarray
    sigma_r_Pa: np.ndarray | None
    sigma_t_Pa: np.ndarray | None
    mean_concentration_mol_m3: np.ndarray     # content / volume (exact FV bookkeeping)

    @property
    def quantity_names(self) -> tuple[str, ...]:
        """"concentration" and the stress quantities of solver/quantities.py (radial, hoop, von_mises, ...)."""
        return ("concentration", *(q.name for q in quantities.stress_quantities()))

    def field(self, quantity: str) -> np.ndarray:
        """(time, radius) array of one of `quantity_names` (stresses in Pa, concentration in mol/m^3)."""
        if quantity == "concentration":
            return self.c_mol_m3
        if quantity not in self.quantity_names:
            raise CaseError(f"quantity = {quantity!r}: must be one of {', '.join(self.quantity_names)}")
        if self.sigma_r_Pa is None:
            raise CaseError(f"quantity = {quantity!r}: the problem has no elasticity, so no stresses")
        return quantities.spherical_measures(self.sigma_r_Pa, self.sigma_t_Pa, self.r_m)[quantity]

    def surface(self, quantity: str) -> np.ndarray:
        """Values at r = R over time."""
        return self.field(quantity)[:, -1]

    def centre(self, quantity: str) -> np.ndarray:
        """Values at r = 0 (solid) or at the inner surface r = a (hollow) over time."""
        return self.field(quantity)[:, 0]

    def peak(self, quantity: str, kind: str = "max") -> Peak:
        """Where and when a quantity is largest ("max"), smallest ("min") or largest in magnitude ("abs")."""
        values = self.field(quantity)
        pickers = {"max": np.argmax, "min": np.argmin, "abs": lambda v: np.argmax(np.abs(v))}
        if kind not in pickers:
            raise CaseError(f"kind = {kind!r}: must be one of {', '.join(pickers)}")
        it, ir = np.unravel_index(pickers[kind](values), values.shape)
        return Peak(float(values[it, ir]), float(self.r_m[ir]), float(self.t_s[it]))


# --------------------------------------------------------------------------------------------
# public entry points
# --------------------------------------------------------------------------------------------

def elastic_stresses(mesh: RadialMesh, elasticity: Elasticity, c_ends: np.ndarray,
                     c_ref_ends: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Element-end stresses for element-end concentrations c_ends (times, elements, 2).

    c_ref_ends overrides elasticity.c_ref_mol_m3 (needed when that is None). Exposed so that
    tests and other modules can solve the mechanics for a given concentration field.
    """
    if c_ref_ends is None:
        if elasticity.c_ref_mol_m3 is None:
            raise CaseError("elasticity.c_ref_mol_m3 = None: pass c_ref_ends or give a reference")
        c_ref_ends = _radial(elasticity.c_ref_mol_m3, mesh.element_ends_m())
    return _RadialElasticity(mesh, elasticity, c_ref_ends).stresses(c_ends)


def sample(mesh: RadialMesh, element_end_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(radii, values) at the output positions from element-end values (times, elements, 2)."""
    radii, matrix = _sampling(mesh)
    flat = element_end_values.reshape(element_end_values.shape[0], -1)
    return radii, np.asarray((matrix @ flat.T).T)


def solve(problem: SphericalProblem, times_s, dt_max_s: float | None = None, scheme: str = "bdf2",
          newton_rtol: float = 1e-11, max_newton: int = 25) -> SphericalResult:
    """Integrate from t = 0 (c = c_init) and report at times_s (non-decreasing, >= 0).

    dt_max_s: internal step limit (each output interval is split evenly); None steps from one
    output time to the next. scheme: "bdf2" (2nd order) or "backward_euler" (1st order).
    """
    _validate(problem)
    if scheme not in SCHEMES:
        raise CaseError(f"scheme = {scheme!r}: must be one of {', '.join(SCHEMES)}")
    times = np.asarray(times_s, dtype=float)
    if times.ndim != 1 or times.size == 0 or times[0] < 0 or np.any(np.diff(times) < 0):
        raise CaseError("times_s: must be a non-empty, non-decreasing 1D array of times >= 0")
    if dt_max_s is not None and not dt_max_s > 0:
        raise CaseError(f"dt_max_s = {dt_max_s}: must be > 0")

    mesh = radial_mesh(problem.inner_radius_m, problem.radius_m, problem.interfaces_m, problem.n_cells)
    geometry = RadialGeometry.of(mesh)
    u0 = _radial(problem.c_init_mol_m3, mesh.nodes_m)
    transport = RadialTransport(problem, geometry, c_scale=max(float(np.max(np.abs(u0))), 1.0))
    c0_left, c0_right = transport.element_ends(u0)
    if np.any(c0_left != u0[:-1]) or np.any(c0_right != u0[1:]):
        raise CaseError("c_init_mol_m3: the initial profile lies outside c_min_mol_m3/c_max_mol_m3")

    u_out = _march(Stepper(transport, u0, scheme, newton_rtol, max_newton), times, dt_max_s)
    c_ends = np.stack(transport.element_ends(u_out), axis=-1)          # (t, e, 2)
    mean_c = transport.content(u_out).sum(-1) / geometry.volumes.sum()
    radii, c_samples = sample(mesh, c_ends)
    sigma_r = sigma_t = None
    if problem.elasticity is not None:
        c_ref_ends = np.stack([c0_left, c0_right], axis=-1) if problem.elasticity.c_ref_mol_m3 is None \
            else None
        ends_r, ends_t = elastic_stresses(mesh, problem.elasticity, c_ends, c_ref_ends)
        sigma_r, sigma_t = sample(mesh, ends_r)[1], sample(mesh, ends_t)[1]
    return SphericalResult(radii, times, c_samples, sigma_r, sigma_t, mean_c)
