"""Closed-form reference solutions for spherical particles (numpy/scipy only).

These are the yardsticks the finite-element and 1D solvers are verified against, so every
function states its formula and where it comes from. SI units throughout; every dimensional
argument carries its unit in its name. Notation (as in docs/science.md#closed-form-references):

    x = r / R,  tau = D t / R^2,  Delta = J R / D,  K = E Omega / (3 (1 - nu))

J is the surface molar flux, POSITIVE INTO the particle (a charging cathode, which loses Li,
has J < 0). c0 is the initial uniform concentration and the stress-free reference unless a
separate c_ref is given.

References
- J. Crank, The Mathematics of Diffusion, 2nd ed., Oxford 1975 (ch. 6: the sphere; ch. 14:
  diffusion with an irreversible first-order reaction).
- H. S. Carslaw and J. C. Jaeger, Conduction of Heat in Solids, 2nd ed., Oxford 1959 (sec. 9.3,
  sphere with constant surface flux).
- S. Timoshenko and J. N. Goodier, Theory of Elasticity (thermal stresses in a sphere).
- X. Zhang, W. Shyy and A. M. Sastry, J. Electrochem. Soc. 154 (2007) A910.
- Y.-T. Cheng and M. W. Verbrugge, J. Power Sources 190 (2009) 453.
"""
from __future__ import annotations

import functools
import math
from typing import Callable, NamedTuple

import numpy as np
from scipy.special import erfc

R_GAS_J_MOL_K = 8.314462618

_BISECTION_STEPS = 64            # a bracket of width <= pi shrinks below one ulp
_SINK_SHORT_TIME_TAU = 0.25      # below: image (erfc) series; above: eigen-series
_SINK_IMAGE_TERMS = 10
_QUADRATURE_ORDER = 16
_QUADRATURE_PIECES = 64

Profile = Callable[[np.ndarray], np.ndarray]


# --------------------------------------------------------------------------------------------
# small numerical helpers
# --------------------------------------------------------------------------------------------

def _bisect(f: Callable[[np.ndarray], np.ndarray], lo: np.ndarray, hi: np.ndarray,
            sign_lo: np.ndarray) -> np.ndarray:
    """Vectorised bisection of f on brackets [lo, hi] holding exactly one sign change each.

    The sign of f at lo is passed in, because some brackets start at a trivial root (b = 0).
    """
    lo, hi = np.array(lo, dtype=float), np.array(hi, dtype=float)
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        same = np.sign(f(mid)) == sign_lo
        lo = np.where(same, mid, lo)
        hi = np.where(same, hi, mid)
    return 0.5 * (lo + hi)


@functools.lru_cache(maxsize=32)
def galvanostatic_eigenvalues(n_terms: int) -> np.ndarray:
    """Positive roots of tan(l) = l: 4.493409, 7.725252, 10.904122, ...

    Root n lies in (n pi, n pi + pi/2); bisection on g(l) = l cos l - sin l (no poles there)
    finds it to machine precision. Cached: the same roots serve every call.
    """
    _check_terms(n_terms)
    n = np.arange(1, n_terms + 1)
    lo, hi = n * np.pi, n * np.pi + 0.5 * np.pi
    roots = _bisect(lambda l: l * np.cos(l) - np.sin(l), lo, hi, np.sign(np.cos(lo)))
    roots.flags.writeable = False
    return roots


@functools.lru_cache(maxsize=64)
def robin_eigenvalues(biot: float, n_terms: int) -> np.ndarray:
    """Positive roots of b cot b + L - 1 = 0 (Crank eq. 6.41), L = biot = h R / D > 0.

    b cot b falls monotonically from +inf to -inf on each ((n-1) pi, n pi) (from 1 at b = 0 on the
    first), so each interval holds exactly one root. g(b) = b cos b + (L - 1) sin b has no poles;
    its sign just above the left end is that of L (n = 1) or of (-1)^(n-1) (n >= 2).
    """
    _check_terms(n_terms)
    if not biot > 0.0 or not math.isfinite(biot):
        raise ValueError(f"biot = {biot}: must be finite and > 0 (use the sink functions for inf)")
    n = np.arange(1, n_terms + 1)
    lo, hi = (n - 1) * np.pi, n * np.pi
    sign_lo = np.where(n == 1, 1.0, (-1.0) ** (n - 1))
    roots = _bisect(lambda b: b * np.cos(b) + (biot - 1.0) * np.sin(b), lo, hi, sign_lo)
    roots.flags.writeable = False
    return roots


def _sin_over_x(lam: np.ndarray, x: np.ndarray) -> np.ndarray:
    """sin(lam x) / x, finite at x = 0 (limit lam)."""
    return lam * np.sinc(lam * x / np.pi)


def _j1_over_y(y: np.ndarray) -> np.ndarray:
    """(sin y - y cos y) / y^3 = j1(y) / y, with its Taylor series near 0 (the direct form cancels)."""
    y = np.asarray(y, dtype=float)
    small = np.abs(y) < 0.1
    ys = np.where(small, 1.0, y)
    direct = (np.sin(ys) - ys * np.cos(ys)) / ys**3
    y2 = y * y
    taylor = 1/3 - y2/30 + y2**2/840 - y2**3/45360 + y2**4/3991680
    return np.where(small, taylor, direct)


def _check_terms(n_terms: int) -> None:
    if int(n_terms) != n_terms or n_terms < 1:
        raise ValueError(f"n_terms = {n_terms}: must be a positive integer")


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0.0:
            raise ValueError(f"{name} = {value}: must be > 0")


def _dimensionless(r_m, t_s, radius_m: float, diffusivity_m2_s: float):
    """x = r/R and tau = D t/R^2, broadcast against each other (r and t may be arrays)."""
    _check_positive(radius_m=radius_m, diffusivity_m2_s=diffusivity_m2_s)
    x = np.asarray(r_m, dtype=float) / radius_m
    tau = diffusivity_m2_s * np.asarray(t_s, dtype=float) / radius_m**2
    return np.broadcast_arrays(x, tau)


def _modal_sum(coefficients: np.ndarray, shape_of_x: np.ndarray) -> np.ndarray:
    """sum_n coefficients[..., n] * shape_of_x[..., n] over the trailing mode axis."""
    return np.einsum("...n,...n->...", coefficients, shape_of_x)


# --------------------------------------------------------------------------------------------
# lithium: galvanostatic and potentiostatic sphere
# --------------------------------------------------------------------------------------------

def _galvanostatic_coefficients(tau: np.ndarray, n_terms: int):
    """Eigenvalues l_n and mode amplitudes a_n = 2 exp(-l_n^2 tau) / (l_n^2 sin l_n) (trailing axis).

    In units of Delta = J R / D the transient part of c is sum a_n sin(l_n x)/x.
    """
    lam = galvanostatic_eigenvalues(n_terms)
    return lam, 2.0 * np.exp(-lam**2 * tau[..., None]) / (lam**2 * np.sin(lam))


def galvanostatic_sphere_concentration(r_m, t_s, radius_m: float, diffusivity_m2_s: float,
                                       flux_mol_m2_s: float, c0_mol_m3: float,
                                       n_terms: int = 200) -> np.ndarray:
    """Concentration in a sphere under a constant surface flux (Carslaw & Jaeger 9.3; Crank 6.3).

    Problem: dc/dt = D (1/r^2) d/dr (r^2 dc/dr), c(r, 0) = c0, D dc/dr(R) = J.

        c = c0 + (J R / D) [3 tau + x^2/2 - 3/10 - 2 sum_n exp(-l_n^2 tau) sin(l_n x) / (l_n^2 x sin l_n)]

    with tan l_n = l_n. The volume average is exactly c0 + 3 J t / R (each mode has zero mean).
    r and t broadcast (pass t[:, None], r[None, :] for a (t, r) table); r = 0 uses the limit
    sin(l x)/x -> l.

    Truncation: the first omitted mode is ~ (2 / (pi^2 N)) exp(-l_N^2 tau) Delta. With the default
    N = 200 that is below 1e-16 Delta for tau >= 1e-4; for smaller tau pass n_terms >= 7/(pi sqrt(tau)).
    The series does not converge at tau = 0 (r = 0 diverges), so tau = 0 returns c0 exactly.
    """
    x, tau = _dimensionless(r_m, t_s, radius_m, diffusivity_m2_s)
    lam, a = _galvanostatic_coefficients(tau, n_terms)
    transient = _modal_sum(a, _sin_over_x(lam, x[..., None]))
    delta = flux_mol_m2_s * radius_m / diffusivity_m2_s
    c = c0_mol_m3 + delta * (3.0 * tau + 0.5 * x**2 - 0.3 - transient)
    return np.where(tau > 0.0, c, c0_mol_m3)


def potentiostatic_sphere_concentration(r_m, t_s, radius_m: float, diffusivity_m2_s: float,
                                        c_surface_mol_m3: float, c0_mol_m3: float,
                                        n_terms: int = 200) -> np.ndarray:
    """Concentration in a sphere whose surface is held at c_s from t = 0 (Crank eq. 6.18).

        (c - c0) / (c_s - c0) = 1 + (2 / (pi x)) sum_n ((-1)^n / n) sin(n pi x) exp(-n^2 pi^2 tau)

    i.e. c = c_s + (c0 - c_s) g(x, tau) with g the sink-release profile of
    sphere_release_concentration_sink. Needs n_terms >~ 7/(pi sqrt(tau)) (the default 200 is
    good for tau >= 1e-4); at tau -> 0 the series converges slowly (Gibbs) near the surface.
    """
    g = sphere_release_concentration_sink(r_m, t_s, radius_m, diffusivity_m2_s, 1.0, n_terms=n_terms)
    return c_surface_mol_m3 + (c0_mol_m3 - c_surface_mol_m3) * g


# --------------------------------------------------------------------------------------------
# mechanics: sphere with a radial eigenstrain Omega (c - c_ref) / 3
# --------------------------------------------------------------------------------------------

def _stress_prefactor_Pa_m3_mol(young_modulus_Pa, poisson_ratio, partial_molar_volume_m3_mol):
    """K = E Omega / (3 (1 - nu)): stress per unit concentration difference."""
    if not -1.0 < poisson_ratio < 0.5:
        raise ValueError(f"poisson_ratio = {poisson_ratio}: must be in (-1, 0.5)")
    return young_modulus_Pa * partial_molar_volume_m3_mol / (3.0 * (1.0 - poisson_ratio))


def _stresses_from_moments(x, a_over_R, m_x, m_R, dc, K):
    """Timoshenko sphere formulas in terms of m(x) = I(r)/r^3 and m_R = I(R)/R^3.

    Solid (a = 0) and hollow (both surfaces traction-free):
        sigma_r = 2K [ (r^3 - a^3)/(R^3 - a^3) I(R)/r^3 - I(r)/r^3 ]
        sigma_t =  K [ (2 r^3 + a^3)/(R^3 - a^3) I(R)/r^3 + I(r)/r^3 - (c - c_ref) ]
    written with I(R)/r^3 = m_R / x^3 so that x = 0 (solid sphere) stays finite.
    """
    a3 = a_over_R**3
    if a3 == 0.0:
        f_r, f_t = m_R, 2.0 * m_R
    else:
        f_r = (x**3 - a3) / ((1.0 - a3) * x**3) * m_R
        f_t = (2.0 * x**3 + a3) / ((1.0 - a3) * x**3) * m_R
    sigma_r = 2.0 * K * (f_r - m_x)
    sigma_t = K * (f_t + m_x - dc)
    return sigma_r, sigma_t


def _gauss_moment_table(c_of_r: Profile, c_ref, r_points: np.ndarray, inner_radius_m: float,
                        radius_m: float, breakpoints_m) -> tuple[np.ndarray, np.ndarray]:
    """I(r) = int_a^r (c - c_ref) s^2 ds at r_points, and I(R), by composite Gauss-Legendre.

    The subdivision contains every requested radius, every breakpoint (put material interfaces
    or kinks of c there) and _QUADRATURE_PIECES uniform pieces, so each sub-interval holds a
    smooth integrand and the 16-point rule is accurate to round-off for smooth profiles.
    """
    extra = [b for b in breakpoints_m if inner_radius_m < b < radius_m]
    grid = np.unique(np.concatenate([
        np.linspace(inner_radius_m, radius_m, _QUADRATURE_PIECES + 1), r_points.ravel(), extra]))
    nodes, weights = np.polynomial.legendre.leggauss(_QUADRATURE_ORDER)
    left, width = grid[:-1, None], np.diff(grid)[:, None]
    s = left + 0.5 * width * (nodes + 1.0)
    integrand = (np.asarray(c_of_r(s.ravel()), dtype=float) - _evaluate(c_ref, s.ravel())) * s.ravel()**2
    pieces = 0.5 * width[:, 0] * (integrand.reshape(s.shape) @ weights)
    cumulative = np.concatenate([[0.0], np.cumsum(pieces)])
    return cumulative[np.searchsorted(grid, r_points)], cumulative[-1]


def _evaluate(value_or_profile, r: np.ndarray) -> np.ndarray:
    """A float or a callable of r, as an array shaped like r."""
    if callable(value_or_profile):
        return np.asarray(value_or_profile(r), dtype=float) * np.ones_like(r)
    return np.full_like(r, float(value_or_profile), dtype=float)


def sphere_stresses(r_m, c_of_r: Profile, radius_m: float, young_modulus_Pa: float,
                    poisson_ratio: float, partial_molar_volume_m3_mol: float, c_ref_mol_m3,
                    inner_radius_m: float = 0.0, breakpoints_m=()) -> tuple[np.ndarray, np.ndarray]:
    """Radial and hoop stress of an elastic sphere with eigenstrain Omega (c - c_ref)/3 (Timoshenko
    & Goodier thermal-stress solution with alpha T -> Omega c / 3; Zhang, Shyy & Sastry 2007).

    With I(r) = int_a^r (c - c_ref) s^2 ds and K = E Omega / (3 (1 - nu)):
    solid sphere (a = 0)
        sigma_r = 2K [I(R)/R^3 - I(r)/r^3],   sigma_t = K [2 I(R)/R^3 + I(r)/r^3 - (c - c_ref)]
    hollow sphere a <= r <= R, both surfaces traction-free: see _stresses_from_moments.
    At the solid-sphere centre I(r)/r^3 -> (c(0) - c_ref)/3, so sigma_r = sigma_t there.

    c_of_r: vectorised callable r_m -> c (mol/m^3). c_ref_mol_m3: float, or callable of r for a
    non-uniform stress-free state. The integrals use composite 16-point Gauss-Legendre; pass the
    radii where c or c_ref is not smooth as breakpoints_m to keep that accuracy.
    Returns (sigma_r_Pa, sigma_t_Pa) shaped like r_m; see hydrostatic_stress_Pa, von_mises_stress_Pa.
    """
    _check_positive(radius_m=radius_m)
    if not 0.0 <= inner_radius_m < radius_m:
        raise ValueError(f"inner_radius_m = {inner_radius_m}: must be in [0, radius_m)")
    r = np.asarray(r_m, dtype=float)
    if np.any(r < inner_radius_m) or np.any(r > radius_m):
        raise ValueError("r_m: every radius must lie in [inner_radius_m, radius_m]")
    K = _stress_prefactor_Pa_m3_mol(young_modulus_Pa, poisson_ratio, partial_molar_volume_m3_mol)
    I_r, I_R = _gauss_moment_table(c_of_r, c_ref_mol_m3, r, inner_radius_m, radius_m, breakpoints_m)
    dc = np.asarray(c_of_r(r), dtype=float) - _evaluate(c_ref_mol_m3, r)
    m_r = np.where(r > 0.0, I_r / np.where(r > 0.0, r, 1.0)**3, dc / 3.0)
    return _stresses_from_moments(r / radius_m, inner_radius_m / radius_m, m_r, I_R / radius_m**3,
                                  dc, K)


def sphere_displacement(r_m, c_of_r: Profile, radius_m: float, poisson_ratio: float,
                        partial_molar_volume_m3_mol: float, c_ref_mol_m3) -> np.ndarray:
    """Radial displacement of the traction-free solid sphere of sphere_stresses (Timoshenko & Goodier, thermal
    stresses in a sphere, alpha T -> Omega (c - c_ref) / 3):

        u(r) = (1 + nu)/(1 - nu) e_I(r) / r^2 + 2 (1 - 2 nu)/(1 - nu) r e_I(R) / R^3,  e_I(r) = Omega I(r) / 3

    with I(r) = int_0^r (c - c_ref) s^2 ds. Independent of E; a uniform c gives the free expansion
    u = Omega (c - c_ref) r / 3. Its strains u' and u/r give sphere_stresses (tests/test_subvolume.py).
    Returns u_r (m) shaped like r_m (u = 0 at r = 0)."""
    _check_positive(radius_m=radius_m)
    if not -1.0 < poisson_ratio < 0.5:
        raise ValueError(f"poisson_ratio = {poisson_ratio}: must be in (-1, 0.5)")
    r = np.asarray(r_m, dtype=float)
    if np.any(r < 0.0) or np.any(r > radius_m):
        raise ValueError("r_m: every radius must lie in [0, radius_m]")
    I_r, I_R = _gauss_moment_table(c_of_r, c_ref_mol_m3, r, 0.0, radius_m, ())
    third = partial_molar_volume_m3_mol / 3.0
    inner = np.where(r > 0.0, I_r / np.where(r > 0.0, r, 1.0) ** 2, 0.0)
    return third * ((1.0 + poisson_ratio) * inner + 2.0 * (1.0 - 2.0 * poisson_ratio) * r * I_R / radius_m**3) \
        / (1.0 - poisson_ratio)


def galvanostatic_sphere_stresses(r_m, t_s, radius_m: float, diffusivity_m2_s: float,
                                  flux_mol_m2_s: float, young_modulus_Pa: float, poisson_ratio: float,
                                  partial_molar_volume_m3_mol: float,
                                  n_terms: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Stresses in a solid sphere under constant surface flux, exact to series truncation.

    The concentration series (galvanostatic_sphere_concentration) is integrated term by term:
    int_0^x s^2 (s^2/2) ds = x^5/10 and int_0^x s^2 sin(l s)/s ds = (sin(l x) - l x cos(l x)) / l^2,
    so I(r)/r^3 = Delta [u/3 + x^2/10 - sum a_n (sin l x - l x cos l x)/(l^2 x^3)], u the uniform part
    (3 tau - 3/10, stress-free, hence no c0 or c_ref argument: a uniform offset causes no stress).
    The surface term vanishes (sin l = l cos l), so sigma_t(R) = K Delta [3/10 - 1/2 + 2 sum e^{-l^2 tau}/l^2],
    which tends to -E Omega J R / (15 (1 - nu) D). Cheng & Verbrugge (2009) give the same result.
    Returns (sigma_r_Pa, sigma_t_Pa) broadcast over r_m and t_s.
    """
    x, tau = _dimensionless(r_m, t_s, radius_m, diffusivity_m2_s)
    lam, a = _galvanostatic_coefficients(tau, n_terms)
    s_c = _modal_sum(a, _sin_over_x(lam, x[..., None]))
    s_m = _modal_sum(a, lam * _j1_over_y(lam * x[..., None]))   # (1/x^3) int_0^x s sin(l s) ds
    delta = flux_mol_m2_s * radius_m / diffusivity_m2_s
    K = _stress_prefactor_Pa_m3_mol(young_modulus_Pa, poisson_ratio, partial_molar_volume_m3_mol)
    dc = delta * (0.5 * x**2 - s_c)
    m_x = delta * (0.1 * x**2 - s_m)
    m_R = 0.1 * delta                     # every mode integrates to zero over the sphere
    sigma_r, sigma_t = _stresses_from_moments(x, 0.0, m_x, m_R, dc, K)
    started = tau > 0.0                   # the series does not converge at tau = 0: stress-free
    return np.where(started, sigma_r, 0.0), np.where(started, sigma_t, 0.0)


# --------------------------------------------------------------------------------------------
# lithium: galvanostatic long cylinder (the verification of 2D section models)
# --------------------------------------------------------------------------------------------

class CylinderStresses(NamedTuple):
    c_mol_m3: np.ndarray
    sigma_r_Pa: np.ndarray
    sigma_t_Pa: np.ndarray
    sigma_z_Pa: np.ndarray


def galvanostatic_cylinder(r_m, t_s, radius_m: float, diffusivity_m2_s: float, flux_mol_m2_s: float,
                           c0_mol_m3: float, c_ref_mol_m3: float, young_modulus_Pa: float, poisson_ratio: float,
                           partial_molar_volume_m3_mol: float, axial: str = "free",
                           n_terms: int = 200) -> CylinderStresses:
    """Concentration and stresses of a long solid cylinder under a constant surface flux J (> 0 into it).

    Diffusion (Crank 1975, sec. 5.3.3, constant flux into a cylinder; D dc/dr(R) = J, c(r, 0) = c0):

        c = c0 + Delta [2 tau + x^2/2 - 1/4 - 2 sum_n exp(-a_n^2 tau) J0(a_n x) / (a_n^2 J0(a_n))]

    with a_n the positive roots of J1 and Delta = J R / D. The mean rises as c0 + 2 J t / R: the volume per
    wetted area of a cylinder is R/2 (a sphere's R/3), which sets the flux of a C-rate.
    Stresses (Timoshenko & Goodier, thermal stresses in a long cylinder, alpha T -> Omega (c - c_ref) / 3),
    with m(r) = (1/r^2) int_0^r (c - c_ref) s ds, M = m(R) (half the mean excess) and K = E Omega / (3 (1 - nu)):

        sigma_r = K [M - m(r)],   sigma_t = K [M + m(r) - (c - c_ref)]
        sigma_z = K [2 M - (c - c_ref)]        axial = "free":  generalised plane strain, zero axial force
        sigma_z = K [2 nu M - (c - c_ref)]     axial = "zero":  plane strain, eps_zz = 0

    (sigma_r and sigma_t are the same in both; with eps_zz = 0 a uniform excess c - c_ref alone gives
    sigma_z = -E Omega (c - c_ref) / 3.) The series is integrated term by term, int_0^x J0(a s) s ds = x J1(a x)/a,
    so m(x) = (c0 - c_ref)/2 + Delta [tau + x^2/8 - 1/8 - 2 sum exp(-a_n^2 tau) J1(a_n x) / (x a_n^3 J0(a_n))],
    with J1(a x)/x -> a/2 at the axis. r and t broadcast; t = 0 is the uniform stress-free start of "free".
    """
    from scipy.special import j0, j1, jn_zeros

    if axial not in ("free", "zero"):
        raise ValueError(f"axial = {axial!r}: must be 'free' or 'zero'")
    _check_terms(n_terms)
    x, tau = _dimensionless(r_m, t_s, radius_m, diffusivity_m2_s)
    roots = jn_zeros(1, n_terms)
    decay = np.exp(-roots**2 * tau[..., None]) / (roots**2 * j0(roots))
    ax = roots * x[..., None]
    safe_x = np.where(x > 0.0, x, 1.0)[..., None]
    j1_over_x = np.where(x[..., None] > 0.0, j1(ax) / safe_x, 0.5 * roots)
    delta = flux_mol_m2_s * radius_m / diffusivity_m2_s
    uniform = c0_mol_m3 - c_ref_mol_m3 + delta * 2.0 * tau
    excess = uniform + delta * (0.5 * x**2 - 0.25 - 2.0 * _modal_sum(decay, j0(ax)))
    m_x = 0.5 * uniform + delta * (x**2 / 8.0 - 0.125 - 2.0 * _modal_sum(decay, j1_over_x / roots))
    m_R = 0.5 * uniform                   # every mode and the parabola integrate to zero over the section
    K = _stress_prefactor_Pa_m3_mol(young_modulus_Pa, poisson_ratio, partial_molar_volume_m3_mol)
    started = tau > 0.0                   # the series does not converge at tau = 0: uniform c0 there
    excess = np.where(started, excess, c0_mol_m3 - c_ref_mol_m3)
    m_x = np.where(started, m_x, 0.5 * (c0_mol_m3 - c_ref_mol_m3))
    axial_weight = 2.0 if axial == "free" else 2.0 * poisson_ratio
    return CylinderStresses(c_ref_mol_m3 + excess, K * (m_R - m_x), K * (m_R + m_x - excess),
                            K * (axial_weight * m_R - excess))


def surface_hoop_stress_long_time_Pa(radius_m: float, diffusivity_m2_s: float, flux_mol_m2_s: float,
                                     young_modulus_Pa: float, poisson_ratio: float,
                                     partial_molar_volume_m3_mol: float) -> float:
    """Quasi-steady (tau >~ 0.5) surface hoop stress under constant flux: -E Omega J R / (15 (1 - nu) D).

    From the parabolic profile c - cbar = Delta (x^2/2 - 3/10): sigma_t(R) = K (cbar - c_R) = -K Delta / 5.
    Tensile (> 0) for extraction (J < 0).
    """
    K = _stress_prefactor_Pa_m3_mol(young_modulus_Pa, poisson_ratio, partial_molar_volume_m3_mol)
    _check_positive(radius_m=radius_m, diffusivity_m2_s=diffusivity_m2_s)
    return -K * flux_mol_m2_s * radius_m / (5.0 * diffusivity_m2_s)


def centre_stress_long_time_Pa(radius_m: float, diffusivity_m2_s: float, flux_mol_m2_s: float,
                               young_modulus_Pa: float, poisson_ratio: float,
                               partial_molar_volume_m3_mol: float) -> float:
    """Quasi-steady centre stress (sigma_r = sigma_t there): +E Omega J R / (15 (1 - nu) D)."""
    return -surface_hoop_stress_long_time_Pa(radius_m, diffusivity_m2_s, flux_mol_m2_s,
                                             young_modulus_Pa, poisson_ratio,
                                             partial_molar_volume_m3_mol)


def hydrostatic_stress_Pa(sigma_r_Pa, sigma_t_Pa):
    """(sigma_r + 2 sigma_t) / 3: the mean stress under spherical symmetry."""
    return (np.asarray(sigma_r_Pa) + 2.0 * np.asarray(sigma_t_Pa)) / 3.0


def von_mises_stress_Pa(sigma_r_Pa, sigma_t_Pa):
    """|sigma_t - sigma_r|: von Mises stress when the two hoop components are equal."""
    return np.abs(np.asarray(sigma_t_Pa) - np.asarray(sigma_r_Pa))


def stress_assisted_theta(young_modulus_Pa: float, poisson_ratio: float,
                          partial_molar_volume_m3_mol: float, temperature_K: float) -> float:
    """theta (m^3/mol) in the isotropic-sphere reduction N = -D (1 + theta c) grad c.

    In a sphere with free surfaces sigma_h = (2K/3) (3 I(R)/R^3 - (c - c_ref)), so
    grad sigma_h = -2 E Omega / (9 (1 - nu)) grad c and N = -D (grad c - Omega c/(R T) grad sigma_h)
    becomes -D (1 + theta c) grad c with theta = 2 Omega^2 E / (9 R_gas T (1 - nu))
    (Zhang, Shyy & Sastry 2007).
    """
    _check_positive(temperature_K=temperature_K)
    if not -1.0 < poisson_ratio < 0.5:
        raise ValueError(f"poisson_ratio = {poisson_ratio}: must be in (-1, 0.5)")
    return (2.0 * partial_molar_volume_m3_mol**2 * young_modulus_Pa
            / (9.0 * R_GAS_J_MOL_K * temperature_K * (1.0 - poisson_ratio)))


# --------------------------------------------------------------------------------------------
# oxygen: release from a sphere through a sink or a Robin surface, with first-order trapping
# --------------------------------------------------------------------------------------------

class OxygenBudget(NamedTuple):
    """Fractions of the initial oxygen content; released + trapped + retained = 1."""
    released: np.ndarray   # left through the surface
    trapped: np.ndarray    # consumed by first-order trapping inside the particle
    retained: np.ndarray   # still mobile in the particle


def _release_modes(biot: float, n_terms: int):
    """Eigenvalues b_n, release weights A_n and profile weights B_n.

    1 - F(tau) = sum A_n exp(-b_n^2 tau),  c/c0 = sum B_n exp(-b_n^2 tau) sin(b_n x)/x.
    Sink (biot = inf, Crank 6.18-6.20): b = n pi, A = 6/b^2, B = 2 (-1)^(n+1)/b.
    Robin (Crank 6.39-6.40): A = 6 L^2 / (b^2 (b^2 + L (L - 1))), B = 2 L / ((b^2 + L (L - 1)) sin b).
    """
    _check_terms(n_terms)
    if biot == math.inf:
        b = np.pi * np.arange(1, n_terms + 1)
        return b, 6.0 / b**2, 2.0 * (-1.0) ** np.arange(n_terms) / b
    b = robin_eigenvalues(float(biot), n_terms)
    denominator = b**2 + biot * (biot - 1.0)
    return b, 6.0 * biot**2 / (b**2 * denominator), 2.0 * biot / (denominator * np.sin(b))


def _release_profile(r_m, t_s, radius_m, diffusivity_m2_s, c0_mol_m3, biot, n_terms, trap_rate_1_s):
    x, tau = _dimensionless(r_m, t_s, radius_m, diffusivity_m2_s)
    b, _, B = _release_modes(biot, n_terms)
    modes = _modal_sum(B * np.exp(-b**2 * tau[..., None]), _sin_over_x(b, x[..., None]))
    modes = np.where(tau > 0.0, modes, 1.0)          # the series does not converge at tau = 0
    t = tau * radius_m**2 / diffusivity_m2_s
    return c0_mol_m3 * modes * np.exp(-trap_rate_1_s * t)


def sphere_release_concentration_sink(r_m, t_s, radius_m: float, diffusivity_m2_s: float,
                                      c0_mol_m3: float, n_terms: int = 200,
                                      trap_rate_1_s: float = 0.0) -> np.ndarray:
    """c(r, t) for diffusion out of a sphere (uniform c0 at t = 0) with c = 0 at r = R (Crank 6.18).

        c / c0 = (2 / (pi x)) sum_n (-1)^(n+1) / n sin(n pi x) exp(-n^2 pi^2 tau) * exp(-k t)

    The last factor adds first-order irreversible trapping dc/dt = D lap c - k c (c = u e^{-kt} with
    u the trap-free solution). Needs n_terms >~ 7/(pi sqrt(tau)); r and t broadcast; tau = 0
    returns the initial state c0.
    """
    return _release_profile(r_m, t_s, radius_m, diffusivity_m2_s, c0_mol_m3, math.inf, n_terms,
                            trap_rate_1_s)


def sphere_release_concentration_robin(r_m, t_s, radius_m: float, diffusivity_m2_s: float,
                                       c0_mol_m3: float, biot: float, n_terms: int = 200,
                                       trap_rate_1_s: float = 0.0) -> np.ndarray:
    """c(r, t) for release through a surface with mass transfer -D dc/dr = h c at r = R (Crank 6.39).

        c / c0 = (2 L / x) sum_n exp(-b_n^2 tau) sin(b_n x) / ((b_n^2 + L (L - 1)) sin b_n) * exp(-k t)

    with b_n cot b_n + L - 1 = 0 and biot L = h R / D; exp(-k t) adds first-order trapping.
    """
    return _release_profile(r_m, t_s, radius_m, diffusivity_m2_s, c0_mol_m3, float(biot), n_terms,
                            trap_rate_1_s)


def _release_fraction_series(tau, biot: float, n_terms: int) -> np.ndarray:
    """F = 1 - sum A_n exp(-b_n^2 tau), with the omitted tail sum_{n>N} A_n = 1 - sum_{n<=N} A_n
    decayed at the first omitted rate, so that F(0) = 0 exactly and F -> 1 correctly."""
    tau = np.asarray(tau, dtype=float)
    b, A, _ = _release_modes(biot, n_terms + 1)
    tail = max(1.0 - A[:-1].sum(), 0.0)
    remaining = np.exp(-b[:-1]**2 * tau[..., None]) @ A[:-1] + tail * np.exp(-b[-1]**2 * tau)
    return 1.0 - remaining


def _ierfc(z: np.ndarray) -> np.ndarray:
    """First integral of erfc: exp(-z^2)/sqrt(pi) - z erfc(z)."""
    return np.exp(-z**2) / math.sqrt(math.pi) - z * erfc(z)


def sphere_release_fraction_sink(tau) -> np.ndarray:
    """Fraction released from a sphere with c = 0 at the surface (Crank eqs. 6.20 and 6.21).

        F = 1 - (6/pi^2) sum_n exp(-n^2 pi^2 tau) / n^2                            (long times)
        F = 6 sqrt(tau) [1/sqrt(pi) + 2 sum_n ierfc(n / sqrt(tau))] - 3 tau     (short times)

    Both are exact; the short-time form is used for tau <= 0.25 where the eigen-series would need
    many terms, so the result is accurate to round-off for every tau >= 0 (F ~ 6 sqrt(tau/pi) early).
    """
    tau = np.asarray(tau, dtype=float)
    if np.any(tau < 0):
        raise ValueError("tau: must be >= 0")
    root = np.sqrt(np.maximum(tau, 1e-300))[..., None]
    n = np.arange(1, _SINK_IMAGE_TERMS + 1)
    short = 6.0 * root[..., 0] * (1.0 / math.sqrt(math.pi) + 2.0 * _ierfc(n / root).sum(-1)) - 3.0 * tau
    long = _release_fraction_series(tau, math.inf, 40)
    return np.where(tau <= _SINK_SHORT_TIME_TAU, np.where(tau > 0, short, 0.0), long)


def sphere_release_fraction_robin(tau, biot: float, n_terms: int = 200) -> np.ndarray:
    """Fraction released through a surface with mass transfer coefficient h (Crank eq. 6.40).

        F = 1 - sum_n 6 L^2 exp(-b_n^2 tau) / (b_n^2 (b_n^2 + L (L - 1))),  b_n cot b_n + L - 1 = 0

    with biot L = h R / D. L -> inf recovers sphere_release_fraction_sink. The omitted modes are
    bounded by ~2 L^2 / (pi^4 N^3) and are carried as one lumped tail (exact at tau = 0 and
    tau -> inf); for L ~ N use more terms.
    """
    return _release_fraction_series(tau, float(biot), n_terms)


def sphere_release_fractions_trapping(tau, damkohler: float, biot: float = math.inf,
                                      n_terms: int = 200) -> OxygenBudget:
    """Release with first-order irreversible trapping, dc/dt = D lap c - k c, Da = k R^2 / D.

    Derivation (Crank ch. 14 / Danckwerts substitution): c = u exp(-k t) with u the trap-free
    solution, and 1 - F_u = sum A_n exp(-b_n^2 tau). Then
        retained = (1 - F_u(tau)) exp(-Da tau)
        trapped  = int_0^tau Da * retained = sum_n A_n Da / (b_n^2 + Da) (1 - exp(-(b_n^2 + Da) tau))
        released = 1 - retained - trapped  (= int_0^tau exp(-Da s) dF_u)
    The trapped series converges like n^-4; biot = inf is the sink surface, otherwise Robin.
    """
    if not damkohler >= 0.0:
        raise ValueError(f"damkohler = {damkohler}: must be >= 0")
    tau = np.asarray(tau, dtype=float)
    F_u = sphere_release_fraction_sink(tau) if biot == math.inf else \
        sphere_release_fraction_robin(tau, biot, n_terms)
    retained = (1.0 - F_u) * np.exp(-damkohler * tau)
    b, A, _ = _release_modes(float(biot), n_terms)
    rate = b**2 + damkohler
    trapped = (1.0 - np.exp(-rate * tau[..., None])) @ (A * damkohler / rate)
    return OxygenBudget(released=1.0 - retained - trapped, trapped=trapped, retained=retained)
