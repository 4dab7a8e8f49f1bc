"""Verification of the 1D spherical solver against solver.analytic, and of its bookkeeping.

Observed orders come from polyfit(log h, log err) over a few meshes/steps (DEVELOPING.md).
"""
import numpy as np
import pytest

from solver import analytic as an
from solver import spherical1d as sp
from solver.errors import CaseError, SolveError

from convergence import assert_rate

R_M, D_M2_S, J_MOL_M2_S, C0 = 5e-6, 1e-14, -1e-5, 2.0e4
E_PA, NU, OMEGA = 150e9, 0.3, 3e-6
T_DIFF_S = R_M**2 / D_M2_S
DELTA = abs(J_MOL_M2_S) * R_M / D_M2_S
SIGMA_SCALE = abs(an.surface_hoop_stress_long_time_Pa(R_M, D_M2_S, J_MOL_M2_S, E_PA, NU, OMEGA))
TAUS = np.array([0.05, 0.2])
ELASTIC = sp.Elasticity(E_PA, NU, OMEGA)


def _galvanostatic(n_cells, **kwargs):
    return sp.SphericalProblem(R_M, D_M2_S, C0, sp.SurfaceFlux(J_MOL_M2_S), elasticity=ELASTIC,
                               n_cells=n_cells, **kwargs)


def _errors(result):
    """Max-norm errors of c (in units of J R/D) and of sigma_t (in units of the long-time hoop)."""
    t, r = result.t_s[:, None], result.r_m[None, :]
    c = an.galvanostatic_sphere_concentration(r, t, R_M, D_M2_S, J_MOL_M2_S, C0)
    _, sigma_t = an.galvanostatic_sphere_stresses(r, t, R_M, D_M2_S, J_MOL_M2_S, E_PA, NU, OMEGA)
    return (np.max(np.abs(result.c_mol_m3 - c), axis=1) / DELTA,
            np.max(np.abs(result.sigma_t_Pa - sigma_t), axis=1) / SIGMA_SCALE)


def test_space_convergence_second_order():
    cells = np.array([20, 40, 80, 160])
    errs = [_errors(sp.solve(_galvanostatic(n), TAUS * T_DIFF_S, dt_max_s=2e-4 * T_DIFF_S)) for n in cells]
    c_err = np.array([e[0] for e in errs])                 # (meshes, taus)
    s_err = np.array([e[1] for e in errs])
    for k, tau in enumerate(TAUS):   # P1, order 2: measured 2.00 for c and the hoop stress at both times
        assert_rate(1.0 / cells, c_err[:, k], 2, 1.8, 2.2, f"c, h, tau = {tau}")
        assert_rate(1.0 / cells, s_err[:, k], 2, 1.8, 2.2, f"hoop, h, tau = {tau}")
    assert np.all(c_err[-1] < 2e-5)


# measured: BDF2 1.91 (tau = 0.05) and 1.99 (0.2); backward Euler 0.95 and 1.02
@pytest.mark.parametrize("scheme, expected, low, high", [("bdf2", 2, 1.8, 2.2), ("backward_euler", 1, 0.9, 1.1)])
def test_time_convergence(scheme, expected, low, high):
    dtaus = np.array([0.01, 0.005, 0.0025, 0.00125])
    problem = _galvanostatic(400)
    c_err = np.array([_errors(sp.solve(problem, TAUS * T_DIFF_S, dt_max_s=d * T_DIFF_S, scheme=scheme))[0]
                      for d in dtaus])
    for k, tau in enumerate(TAUS):
        assert_rate(dtaus, c_err[:, k], expected, low, high, f"c, {scheme}, dt, tau = {tau}")


def test_stress_assisted_diffusion_conserves_mass():
    theta = an.stress_assisted_theta(E_PA, NU, OMEGA, 298.15)
    times = np.linspace(0.0, 0.2, 6) * T_DIFF_S
    problem = sp.SphericalProblem(R_M, lambda c, r: D_M2_S * (1 + theta * c), C0,
                                  sp.SurfaceFlux(J_MOL_M2_S), elasticity=ELASTIC, n_cells=400)
    result = sp.solve(problem, times, dt_max_s=1e-4 * T_DIFF_S)
    change = 3 * J_MOL_M2_S * times / R_M
    np.testing.assert_allclose(result.mean_concentration_mol_m3 - C0, change, rtol=0,
                               atol=1e-10 * abs(change[-1]))
    # faster effective diffusion flattens the profile, so the surface hoop stress is lower
    linear = sp.solve(_galvanostatic(400), times, dt_max_s=1e-4 * T_DIFF_S)
    assert 0 < result.surface("hoop")[-1] < 0.7 * linear.surface("hoop")[-1]


def test_nonlinear_time_order_is_kept():
    """BDF2 + Newton with D(c): halving dt quarters the difference to a fine-step solution."""
    theta = an.stress_assisted_theta(E_PA, NU, OMEGA, 298.15)
    problem = sp.SphericalProblem(R_M, lambda c, r: D_M2_S * (1 + theta * c), C0,
                                  sp.SurfaceFlux(J_MOL_M2_S), n_cells=100)
    t = [0.1 * T_DIFF_S]
    ref = sp.solve(problem, t, dt_max_s=1e-4 * T_DIFF_S).c_mol_m3
    dtaus = np.array([4e-3, 2e-3, 1e-3])
    errs = [np.max(np.abs(sp.solve(problem, t, dt_max_s=d * T_DIFF_S).c_mol_m3 - ref)) for d in dtaus]
    assert_rate(dtaus, errs, 2, 1.8, 2.4, "c, BDF2 + Newton, dt")   # measured 2.14 (largest step pre-asymptotic)


@pytest.mark.parametrize("inner_m", [0.0, 0.35 * R_M])
def test_radial_elasticity_matches_timoshenko(inner_m):
    profile = lambda s: C0 + 5e3 * np.cos(3.0 * s / R_M) + 2e3 * (s / R_M) ** 3
    errors = []
    cells = np.array([25, 50, 100])
    for n in cells:
        mesh = sp.radial_mesh(inner_m, R_M, n_cells=n)
        c_ends = profile(np.stack([mesh.nodes_m[:-1], mesh.nodes_m[1:]], axis=1))[None]
        ends_r, ends_t = sp.elastic_stresses(mesh, ELASTIC, c_ends, c_ref_ends=np.full(c_ends.shape[1:], C0))
        r, sigma_r = sp.sample(mesh, ends_r)
        sigma_r, sigma_t = sigma_r[0], sp.sample(mesh, ends_t)[1][0]
        exact_r, exact_t = an.sphere_stresses(r, profile, R_M, E_PA, NU, OMEGA, C0, inner_radius_m=inner_m)
        scale = E_PA * OMEGA * 5e3
        errors.append(max(np.max(np.abs(sigma_r - exact_r)), np.max(np.abs(sigma_t - exact_t))) / scale)
        assert abs(sigma_r[-1]) < 1e-3 * scale                            # traction-free surface
    assert errors[-1] < 3e-4                                              # largest at the free surfaces
    assert_rate(1.0 / cells, errors, 2, 1.8, 2.2, "stresses, h")   # measured 1.99 (solid), 1.94 (hollow)


def test_bimaterial_interfaces():
    """Uniform eigenstrain with an E jump: stress-free. An Omega jump (misfitting core): the
    Timoshenko solution with the equivalent piecewise eigenstrain, one-sided limits kept."""
    core, dc = 0.6 * R_M, 1e4
    mesh = sp.radial_mesh(0.0, R_M, (core,), n_cells=100)
    c_ends = np.full((1, mesh.h_m.size, 2), C0 + dc)
    reference = np.full(c_ends.shape[1:], C0)
    stiff_shell = sp.Elasticity(sp.piecewise_constant([core], [150e9, 250e9]), NU, OMEGA)
    for ends in sp.elastic_stresses(mesh, stiff_shell, c_ends, reference):
        assert np.max(np.abs(ends)) < 1e-9 * E_PA * OMEGA * dc

    omega = sp.piecewise_constant([core], [2 * OMEGA, OMEGA])
    ends_r, ends_t = sp.elastic_stresses(mesh, sp.Elasticity(E_PA, NU, omega), c_ends, reference)
    r, sigma_r = sp.sample(mesh, ends_r)
    _, sigma_t = sp.sample(mesh, ends_t)
    left, right = np.flatnonzero(r == core)                              # interface listed twice
    r_exact = r.copy()
    r_exact[left] = core * (1 - 1e-12)                                   # read the core-side limit
    equivalent_c = lambda s: C0 + dc * omega(s) / OMEGA
    exact_r, exact_t = an.sphere_stresses(r_exact, equivalent_c, R_M, E_PA, NU, OMEGA, C0,
                                          breakpoints_m=[core])
    scale = E_PA * OMEGA * dc                                             # P2: error ~ (h/r)^2
    assert np.max(np.abs(sigma_r[0] - exact_r)) < 5e-4 * scale
    assert np.max(np.abs(sigma_t[0] - exact_t)) < 5e-4 * scale
    assert sigma_r[0, left] < 0 and sigma_t[0, right] > 0                # core compressed, shell hoop tension
    assert sigma_t[0, right] - sigma_t[0, left] > 0.1 * scale             # the hoop jump is not averaged away


def test_potentiostatic_matches_series():
    problem = sp.SphericalProblem(R_M, D_M2_S, C0, sp.SurfaceConcentration(1e4), n_cells=200)
    times = TAUS * T_DIFF_S
    result = sp.solve(problem, times, dt_max_s=2e-4 * T_DIFF_S)
    exact = an.potentiostatic_sphere_concentration(result.r_m[None], times[:, None], R_M, D_M2_S, 1e4, C0)
    assert np.max(np.abs(result.c_mol_m3 - exact)) < 1e-4 * (C0 - 1e4)
    assert np.all(result.surface("concentration") == 1e4)


def test_hollow_sphere_mass_balance_and_free_surfaces():
    a = 0.4 * R_M
    times = np.linspace(0.0, 0.1, 5) * T_DIFF_S
    result = sp.solve(_galvanostatic(200, inner_radius_m=a), times, dt_max_s=5e-4 * T_DIFF_S)
    change = 3 * J_MOL_M2_S * R_M**2 * times / (R_M**3 - a**3)
    np.testing.assert_allclose(result.mean_concentration_mol_m3 - C0, change, atol=1e-11 * C0)
    np.testing.assert_allclose(result.centre("radial"), 0.0, atol=1e-3 * SIGMA_SCALE)
    np.testing.assert_allclose(result.surface("radial"), 0.0, atol=1e-3 * SIGMA_SCALE)


def _core_shell(lower_bound=True):
    """Li-deficient shell (a gradient from 15000 at the surface to C0 at the interface) bounded below."""
    core = 0.8 * R_M
    c_init = lambda r: np.where(r < core, C0, C0 - 5e3 * (r - core) / (R_M - core))
    return sp.SphericalProblem(
        R_M, lambda c, r: sp.piecewise_constant([core], [D_M2_S, 3 * D_M2_S])(r), c_init,
        sp.SurfaceFlux(J_MOL_M2_S), elasticity=ELASTIC, interfaces_m=(core,), n_cells=200,
        c_min_mol_m3=sp.piecewise_constant([core], [0.0, 14e3]) if lower_bound else None), core


def test_clamped_shell_keeps_mass_balance_and_stops_changing():
    problem, core = _core_shell()
    times = np.linspace(0.0, 0.4, 9) * T_DIFF_S
    result = sp.solve(problem, times, dt_max_s=5e-4 * T_DIFF_S)
    change = 3 * J_MOL_M2_S * times / R_M
    np.testing.assert_allclose(result.mean_concentration_mol_m3 - result.mean_concentration_mol_m3[0],
                               change, rtol=0, atol=1e-10 * abs(change[-1]))
    shell = np.arange(result.r_m.size) > np.flatnonzero(result.r_m == core)[0]   # right limit onwards
    shell_c = result.c_mol_m3[:, shell]
    assert shell_c.min() >= 14e3 - 1e-9
    assert np.all(shell_c[-2:] == 14e3)                      # fully at its bound: no longer changes
    core_c = result.c_mol_m3[:, ~shell]
    assert np.all(np.diff(core_c.mean(axis=1)) < 0)         # Li keeps flowing out through the shell
    free = sp.solve(_core_shell(lower_bound=False)[0], times, dt_max_s=5e-4 * T_DIFF_S)
    assert free.c_mol_m3[-1, shell].min() < 14e3


def test_emptied_particle_raises_solve_error():
    problem = sp.SphericalProblem(R_M, D_M2_S, C0, sp.SurfaceFlux(J_MOL_M2_S), n_cells=20,
                                  c_min_mol_m3=C0)
    with pytest.raises(SolveError, match="Newton"):
        sp.solve(problem, [0.01 * T_DIFF_S])


def test_result_helpers_find_peaks():
    times = np.linspace(0.0, 0.3, 7) * T_DIFF_S
    result = sp.solve(_galvanostatic(100), times, dt_max_s=1e-3 * T_DIFF_S)
    peak = result.peak("hoop")
    assert peak.radius_m == R_M and peak.time_s == times[-1]           # extraction: surface tension
    assert peak.value == pytest.approx(result.surface("hoop").max())
    assert result.peak("hydrostatic", "min").radius_m == 0.0             # centre compression
    np.testing.assert_allclose(result.field("von_mises"),
                               np.abs(result.sigma_t_Pa - result.sigma_r_Pa))
    assert result.centre("concentration")[-1] > result.surface("concentration")[-1]
    with pytest.raises(CaseError, match="quantity"):
        result.field("tresca")


def test_speed_thousands_of_steps():
    import time
    start = time.perf_counter()
    sp.solve(_galvanostatic(400), np.linspace(0, 0.2, 41) * T_DIFF_S, dt_max_s=1e-4 * T_DIFF_S)
    assert time.perf_counter() - start < 5.0                           # ~0.4 s alone on 2 cores


def test_bad_input_names_the_key():
    with pytest.raises(CaseError, match="scheme"):
        sp.solve(_galvanostatic(20), [1.0], scheme="rk4")
    with pytest.raises(CaseError, match="inner_radius_m"):
        sp.solve(_galvanostatic(20, inner_radius_m=2 * R_M), [1.0])
    with pytest.raises(CaseError, match="c_init_mol_m3"):
        sp.solve(_galvanostatic(20, c_min_mol_m3=2 * C0), [1.0])
