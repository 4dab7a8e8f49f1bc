"""Checks of the closed-form references in solver.analytic against their defining equations.

Each test guards a specific mistake: a wrong eigenvalue, a sign of J, a lost factor in the
Timoshenko formulas, a truncated series that misses the early-time behaviour.
"""
import math

import numpy as np
import pytest

from solver import analytic as an

R_M, D_M2_S, J_MOL_M2_S, C0 = 5e-6, 1e-14, -1e-5, 2.0e4          # a charging NCM-like particle
E_PA, NU, OMEGA = 150e9, 0.3, 3e-6
T_DIFF_S = R_M**2 / D_M2_S
DELTA = abs(J_MOL_M2_S) * R_M / D_M2_S                                # concentration scale
SIGMA_SCALE = abs(an.surface_hoop_stress_long_time_Pa(R_M, D_M2_S, J_MOL_M2_S, E_PA, NU, OMEGA))


def _sphere_average(profile, inner_m=0.0, outer_m=R_M, pieces=64, order=20):
    """Volume average of profile(r) over inner..outer by composite Gauss-Legendre."""
    x, w = np.polynomial.legendre.leggauss(order)
    edges = np.linspace(inner_m, outer_m, pieces + 1)
    r = (edges[:-1, None] + 0.5 * np.diff(edges)[:, None] * (x + 1)).ravel()
    weights = (0.5 * np.diff(edges)[:, None] * w).ravel()
    return np.sum(weights * profile(r) * r**2) * 3 / (outer_m**3 - inner_m**3)


def _galvanostatic_c(t_s):
    return lambda r: an.galvanostatic_sphere_concentration(r, t_s, R_M, D_M2_S, J_MOL_M2_S, C0)


def test_eigenvalues_solve_tan_l_equals_l():
    lam = an.galvanostatic_eigenvalues(300)
    np.testing.assert_allclose(lam[:3], [4.493409, 7.725252, 10.904122], atol=1e-6)
    np.testing.assert_allclose(np.tan(lam), lam, rtol=1e-9)
    assert np.all(np.diff(lam) > 3.0)                                  # one root per interval


@pytest.mark.parametrize("biot", [0.3, 1.0, 7.0, 1e4])
def test_robin_eigenvalues_solve_b_cot_b(biot):
    b = an.robin_eigenvalues(biot, 50)
    np.testing.assert_allclose(b / np.tan(b) + biot - 1.0, 0.0, atol=1e-9 * max(biot, 1.0))
    assert np.all((b > np.pi * np.arange(50)) & (b < np.pi * np.arange(1, 51)))


@pytest.mark.parametrize("tau", [1e-4, 1e-3, 0.05, 0.5])
def test_galvanostatic_series_mass_balance(tau):
    """Volume average must be c0 + 3 J t / R exactly (every mode has zero mean)."""
    t_s = tau * T_DIFF_S
    average = _sphere_average(_galvanostatic_c(t_s), pieces=256)
    assert abs(average - (C0 + 3 * J_MOL_M2_S * t_s / R_M)) < 1e-10 * DELTA


def test_galvanostatic_series_boundary_flux_and_sign():
    """D dc/dr(R) = J (J < 0 empties the surface first), and c is symmetric at the centre."""
    t_s, h = 0.05 * T_DIFF_S, 1e-5 * R_M
    c = _galvanostatic_c(t_s)
    slope = (c(R_M) - c(R_M - h)) / h + 0.5 * h * (c(R_M) - 2 * c(R_M - h) + c(R_M - 2 * h)) / h**2
    assert D_M2_S * slope == pytest.approx(J_MOL_M2_S, rel=1e-4)
    assert c(R_M) < c(0.0) < C0
    assert c(h) - c(0.0) == pytest.approx(0.0, abs=1e-8 * DELTA)


def test_long_time_stresses_reach_closed_form_limits():
    sigma_r, sigma_t = an.galvanostatic_sphere_stresses(np.array([0.0, R_M]), 2.0 * T_DIFF_S, R_M,
                                                        D_M2_S, J_MOL_M2_S, E_PA, NU, OMEGA)
    surface = an.surface_hoop_stress_long_time_Pa(R_M, D_M2_S, J_MOL_M2_S, E_PA, NU, OMEGA)
    centre = an.centre_stress_long_time_Pa(R_M, D_M2_S, J_MOL_M2_S, E_PA, NU, OMEGA)
    assert surface > 0 > centre                                      # extraction: surface in tension
    assert sigma_t[1] == pytest.approx(surface, rel=1e-3)
    assert sigma_r[0] == pytest.approx(centre, rel=1e-3)
    assert sigma_t[0] == pytest.approx(centre, rel=1e-3)
    assert abs(sigma_r[1]) < 1e-12 * SIGMA_SCALE


@pytest.mark.parametrize("tau", [1e-3, 0.02, 0.2])
def test_termwise_stress_integrals_match_quadrature(tau):
    t_s = tau * T_DIFF_S
    r = np.linspace(0.0, R_M, 201)
    exact = an.galvanostatic_sphere_stresses(r, t_s, R_M, D_M2_S, J_MOL_M2_S, E_PA, NU, OMEGA)
    numeric = an.sphere_stresses(r, _galvanostatic_c(t_s), R_M, E_PA, NU, OMEGA, C0)
    for a, b in zip(exact, numeric):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-8 * SIGMA_SCALE)


def test_surface_hoop_equals_mean_minus_surface_concentration():
    """sigma_t(R) = E Omega (cbar - c_R) / (3 (1 - nu)), the form PyBaMM reports."""
    t_s = 0.03 * T_DIFF_S
    c = _galvanostatic_c(t_s)
    _, sigma_t = an.sphere_stresses(np.array([R_M]), c, R_M, E_PA, NU, OMEGA, C0)
    expected = E_PA * OMEGA * (_sphere_average(c, pieces=128) - c(R_M)) / (3 * (1 - NU))
    assert sigma_t[0] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("inner_m", [0.0, 0.3 * R_M])
def test_uniform_concentration_is_stress_free(inner_m):
    r = np.linspace(inner_m, R_M, 11)
    for s in an.sphere_stresses(r, lambda s: np.full_like(s, 3e4), R_M, E_PA, NU, OMEGA, C0,
                                inner_radius_m=inner_m):
        assert np.max(np.abs(s)) < 1e-9 * E_PA * OMEGA * 1e4


@pytest.mark.parametrize("inner_m", [0.0, 0.4 * R_M])
def test_stresses_satisfy_equilibrium_and_free_surfaces(inner_m):
    """d sigma_r/dr + 2 (sigma_r - sigma_t)/r = 0 inside; sigma_r = 0 on every free surface."""
    profile = lambda s: C0 + 5e3 * np.cos(3.0 * s / R_M) + 2e3 * (s / R_M) ** 3
    r = np.linspace(inner_m + 0.05 * R_M, 0.95 * R_M, 19)
    h = 1e-4 * R_M
    sr, st = an.sphere_stresses(r, profile, R_M, E_PA, NU, OMEGA, C0, inner_radius_m=inner_m)
    sr_plus, _ = an.sphere_stresses(r + h, profile, R_M, E_PA, NU, OMEGA, C0, inner_radius_m=inner_m)
    sr_minus, _ = an.sphere_stresses(r - h, profile, R_M, E_PA, NU, OMEGA, C0, inner_radius_m=inner_m)
    residual = (sr_plus - sr_minus) / (2 * h) + 2 * (sr - st) / r
    scale = E_PA * OMEGA * 5e3 / R_M
    assert np.max(np.abs(residual)) < 1e-5 * scale
    ends = np.array([inner_m, R_M]) if inner_m > 0 else np.array([R_M])
    sr_ends, _ = an.sphere_stresses(ends, profile, R_M, E_PA, NU, OMEGA, C0, inner_radius_m=inner_m)
    assert np.max(np.abs(sr_ends)) < 1e-10 * E_PA * OMEGA * 5e3


def test_hydrostatic_gradient_gives_stress_assisted_theta():
    """sigma_h + (2K/3)(c - c_ref) is uniform, which is what reduces the flux to D (1 + theta c)."""
    profile = lambda s: C0 + 4e3 * np.sin(2.0 * s / R_M)
    r = np.linspace(0.0, R_M, 9)
    sigma_h = an.hydrostatic_stress_Pa(*an.sphere_stresses(r, profile, R_M, E_PA, NU, OMEGA, C0))
    k = E_PA * OMEGA / (3 * (1 - NU))
    combined = sigma_h + 2 * k / 3 * (profile(r) - C0)
    assert np.ptp(combined) < 1e-9 * k * 4e3
    theta = an.stress_assisted_theta(E_PA, NU, OMEGA, 298.15)
    assert theta == pytest.approx(OMEGA / (an.R_GAS_J_MOL_K * 298.15) * 2 * k / 3, rel=1e-12)


def test_potentiostatic_series_boundary_and_uptake():
    t_s = 0.1 * T_DIFF_S
    c = lambda r: an.potentiostatic_sphere_concentration(r, t_s, R_M, D_M2_S, 1e4, C0)
    assert c(R_M) == pytest.approx(1e4, abs=1e-9)
    fraction = (_sphere_average(c, pieces=128) - C0) / (1e4 - C0)
    assert fraction == pytest.approx(an.sphere_release_fraction_sink(0.1), rel=1e-10)


# ----------------------------------------------------------------------------------------------
# oxygen release
# ----------------------------------------------------------------------------------------------

def test_sink_release_fraction_limits_and_continuity():
    tau = np.array([0.0, 1e-8, 1e-4, 0.01, 0.25, 0.25 + 1e-12, 1.0, 3.0])
    F = an.sphere_release_fraction_sink(tau)
    assert F[0] == 0.0
    assert np.all(np.diff(F) >= 0) and F[-1] == pytest.approx(1.0, abs=1e-12)
    assert F[1] == pytest.approx(6 * math.sqrt(1e-8 / math.pi) - 3e-8, rel=1e-12)
    assert F[5] == pytest.approx(F[4], abs=1e-11)                    # short/long forms agree
    many = an._release_fraction_series(np.array([0.01, 0.1]), math.inf, 3000)
    np.testing.assert_allclose(an.sphere_release_fraction_sink([0.01, 0.1]), many, atol=1e-12)


def test_robin_release_tends_to_sink_for_large_biot():
    tau = np.array([0.005, 0.05, 0.3])
    sink = an.sphere_release_fraction_sink(tau)
    assert an.sphere_release_fraction_robin(0.0, 5.0) == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(an.sphere_release_fraction_robin(tau, 1e5, n_terms=400), sink, atol=2e-4)
    slow = an.sphere_release_fraction_robin(tau, 0.5)
    assert np.all(slow < sink)                                        # a surface resistance slows release


@pytest.mark.parametrize("biot", [math.inf, 2.0])
@pytest.mark.parametrize("tau", [0.01, 0.1])
def test_profile_integrates_to_unreleased_fraction(biot, tau):
    t_s = tau * T_DIFF_S
    if biot == math.inf:
        profile = lambda r: an.sphere_release_concentration_sink(r, t_s, R_M, D_M2_S, 1.0)
    else:
        profile = lambda r: an.sphere_release_concentration_robin(r, t_s, R_M, D_M2_S, 1.0, biot)
    assert _sphere_average(profile, pieces=128) == pytest.approx(1.0 - _release_fraction(tau, biot), abs=1e-9)


def test_robin_profile_satisfies_surface_condition():
    """-D dc/dr = h c at r = R, i.e. -dc/dx = L c."""
    biot, t_s, h = 3.0, 0.05 * T_DIFF_S, 1e-5 * R_M
    c = lambda r: an.sphere_release_concentration_robin(r, t_s, R_M, D_M2_S, 1.0, biot)
    slope = (3 * c(R_M) - 4 * c(R_M - h) + c(R_M - 2 * h)) / (2 * h)
    assert -slope * R_M == pytest.approx(biot * c(R_M), rel=1e-5)


def _release_fraction(tau, biot):
    if biot == math.inf:
        return an.sphere_release_fraction_sink(tau)
    return an.sphere_release_fraction_robin(tau, biot)


@pytest.mark.parametrize("biot", [math.inf, 4.0])
def test_trapping_budget(biot):
    tau = np.linspace(0.0, 0.6, 7)
    budget = an.sphere_release_fractions_trapping(tau, damkohler=0.0, biot=biot)
    np.testing.assert_allclose(budget.released, _release_fraction(tau, biot), atol=1e-12)
    np.testing.assert_allclose(budget.trapped, 0.0, atol=1e-15)

    da = 5.0
    budget = an.sphere_release_fractions_trapping(tau, damkohler=da, biot=biot)
    np.testing.assert_allclose(budget.released + budget.trapped + budget.retained, 1.0, atol=1e-14)
    # released = int_0^tau exp(-Da s) dF(s): a midpoint Riemann-Stieltjes sum on a grid graded
    # towards s = 0, where the sink release starts like sqrt(s)
    s = tau[-1] * np.linspace(0.0, 1.0, 20001) ** 2
    released = np.sum(np.exp(-da * 0.5 * (s[1:] + s[:-1])) * np.diff(_release_fraction(s, biot)))
    assert budget.released[-1] == pytest.approx(released, abs=1e-7)
    assert np.all(np.diff(budget.trapped) > 0) and budget.trapped[-1] > 0.2


def test_trapping_profile_integrates_to_retained_fraction():
    da, tau, biot = 5.0, 0.1, 4.0
    profile = lambda r: an.sphere_release_concentration_robin(
        r, tau * T_DIFF_S, R_M, D_M2_S, 1.0, biot, trap_rate_1_s=da / T_DIFF_S)
    retained = an.sphere_release_fractions_trapping(tau, da, biot).retained
    assert _sphere_average(profile, pieces=128) == pytest.approx(retained, abs=1e-9)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="radius_m"):
        an.galvanostatic_sphere_concentration(0.0, 1.0, -1.0, D_M2_S, J_MOL_M2_S, C0)
    with pytest.raises(ValueError, match="poisson_ratio"):
        an.sphere_stresses(np.array([0.0]), lambda r: r, R_M, E_PA, 0.5, OMEGA, C0)
    with pytest.raises(ValueError, match="biot"):
        an.sphere_release_fraction_robin(0.1, 0.0)
