"""Sub-volume models (geometry.kind = "subvolume"): the cube's geometry, the particle-scale field on its faces
(solver/particle_scale.py, solver/subvolume.py), and its verification against the analytic galvanostatic sphere."""
from __future__ import annotations

import math

import numpy as np
import pytest
from mpi4py import MPI

from convergence import assert_rate
from solver import analytic, compat
from solver.case import end_time_s, validate_case
from solver.errors import CaseError
from solver.geometry import build_particle_mesh, validate_geometry
from solver.geometry.subvolume import grain_count, interior_mask
from solver.particle_scale import HomogenisedParticle

COMM = MPI.COMM_WORLD
RADIUS_M, D_M2_S, E_PA, NU, OMEGA = 5e-6, 1e-14, 100e9, 0.3, 3e-6


def dense_cube_case(cell_size_fraction: float, steps: int = 10, **geometry) -> dict:
    """A homogeneous isotropic 2 um cube at r = 0.5 R of a 5 um particle charged at 1C (0.95 -> 0.55)."""
    return validate_case({
        "name": "dense_cube",
        "geometry": {"kind": "subvolume", "radius_um": 5.0, "edge_um": 2.0, "centre_radius_fraction": 0.5, **geometry},
        "mesh": {"cell_size_fraction": cell_size_fraction, "surface_cell_size_fraction": cell_size_fraction},
        "material": {"c_max_mol_m3": 49000.0, "diffusivity_m2_s": D_M2_S, "young_modulus_GPa": E_PA / 1e9,
                     "poisson_ratio": NU, "partial_molar_volume_m3_mol": OMEGA},
        "operation": {"mode": "galvanostatic", "direction": "charge", "c_rate": 1.0, "capacity_li_fraction": 1.0,
                      "li_fraction_start": 0.95, "li_fraction_end": 0.55},
        "time": {"steps": steps, "scheme": "bdf2"}, "solver": {"linear_rtol": 1e-10}})


# -- geometry -----------------------------------------------------------------------------------------
def test_grains_fill_the_cube_at_its_place_with_named_faces():
    geometry = {"kind": "subvolume", "radius_um": 5.0, "edge_um": 1.0, "centre_radius_fraction": 0.6,
                "grain_count": 12, "seed": 4}
    particle = build_particle_mesh(geometry, {"cell_size_fraction": 0.06, "surface_cell_size_fraction": 0.06}, COMM,
                                   cache_dir=None)
    assert set(particle.cell_regions) == {f"grain_{i}" for i in range(12)}
    assert set(particle.facet_regions) == {"cube_face", "grain_boundary"}
    measured = particle.measure()
    # the Voronoi complex clipped to the cube fills it exactly (planar faces: no chord error)
    assert measured["volume_mesh_m3"] == pytest.approx(1e-18, rel=1e-9)
    assert measured["surface_areas_m2"]["cube_face"] == pytest.approx(6e-12, rel=1e-9)
    x = particle.mesh.geometry.x
    assert x[:, 0].min() == pytest.approx(2.5e-6) and x[:, 0].max() == pytest.approx(3.5e-6)
    assert np.abs(x[:, 1:]).max() == pytest.approx(0.5e-6)
    assert particle.grain_orientations.shape == (12, 3, 3)


def test_grain_size_sets_the_grain_count_and_the_window_is_centred():
    geometry = validate_geometry({"kind": "subvolume", "radius_um": 5.0, "edge_um": 2.0, "grain_size_um": 0.5})
    assert grain_count(geometry) == round(8.0 / (math.pi / 6 * 0.125))           # 122 grains of 0.5 um
    assert grain_count(validate_geometry({"kind": "subvolume", "radius_um": 5.0, "edge_um": 2.0})) == 0
    points = np.array([[1.25e-6, 0, 0], [1.74e-6, 0.49e-6, -0.49e-6], [1.76e-6, 0, 0], [1.25e-6, 0.6e-6, 0]])
    assert interior_mask(points, geometry).tolist() == [True, True, False, False]


def _pore_fraction_in_cube(pores, lower_um, edge_um: float, points: int = 200_000) -> float:
    """Monte Carlo volume fraction of the cube inside the (spherical) pores."""
    x = lower_um + edge_um * np.random.default_rng(0).random((points, 3))
    inside = np.zeros(points, bool)
    for centre, axes in zip(pores.centers_um, pores.semi_axes_um):
        if np.all(centre > lower_um - axes[0]) and np.all(centre < lower_um + edge_um + axes[0]):
            inside |= np.sum((x - centre) ** 2, axis=1) < axes[0] ** 2
    return float(inside.mean())


@pytest.mark.filterwarnings("ignore:sample_pores")
def test_the_cube_holds_the_particles_pores_cut_at_its_faces():
    """A rim cube of P-NCM83: the meshed porosity is that of the particle's sampled pores within the cube."""
    geometry = {"kind": "subvolume", "radius_um": 5.0, "edge_um": 1.5, "centre_radius_fraction": 0.7,
                "porosity": "p_ncm83", "seed": 2}
    particle = build_particle_mesh(geometry, {"cell_size_fraction": 0.05, "surface_cell_size_fraction": 0.03,
                                              "min_quality": 0.0002}, COMM, cache_dir=None)
    measured = particle.measure()
    assert set(particle.facet_regions) == {"cube_face", "pore_surface"}
    assert measured["pore_count"] == len(particle.pores) > 3
    assert measured["porosity_profile_at_centre"] == pytest.approx(0.0196)
    expected = _pore_fraction_in_cube(particle.pores, np.array([2.75, -0.75, -0.75]), 1.5)
    # measured 0.93 % against 0.96 % (pore volume compensation holds the polyhedral pores' volume within a few %)
    assert measured["porosity_mesh_cube"] == pytest.approx(expected, rel=0.15)
    assert measured["surface_areas_m2"]["cube_face"] < 6 * 1.5e-6**2          # pores cut at the faces leave holes


@pytest.mark.filterwarnings("ignore:sample_pores")
def test_local_porosity_over_seeds_follows_the_profile():
    """The particle's pores in a 2 um rim cube (r = 0.75 R) of P-NCM83 over seeds 1-5: measured 1.98 % against
    the profile's 1.96 % (single seeds 1.6-2.4 %: a cube holds ~10 pores)."""
    from solver.geometry import pores as pore_tools
    values = []
    for seed in range(1, 6):
        geometry = validate_geometry({"kind": "subvolume", "radius_um": 5.0, "edge_um": 2.0,
                                      "centre_radius_fraction": 0.75, "porosity": "p_ncm83", "seed": seed})
        values.append(_pore_fraction_in_cube(pore_tools.sample(geometry, 5.0), np.array([2.75, -1.0, -1.0]), 2.0))
    assert np.mean(values) == pytest.approx(0.0196, abs=0.002)


@pytest.mark.parametrize("geometry, key", [
    ({"centre_radius_fraction": 0.9}, "geometry.centre_radius_fraction = 0.9"),
    ({"grain_count": 10, "grain_size_um": 0.5}, "geometry.grain_count = 10"),
    ({"grain_size_um": 0.05}, "geometry.grain_size_um = 0.05"),
    ({"edge_um": -1.0}, "geometry.edge_um = -1"),
    ({"interior_fraction": 1.0}, "geometry.interior_fraction = 1"),
])
def test_bad_subvolume_geometry_names_key_value_and_what_is_allowed(geometry, key):
    with pytest.raises(CaseError, match="allowed|must|at most one") as error:
        validate_geometry({"kind": "subvolume", "radius_um": 5.0, "edge_um": 2.0, **geometry})
    assert str(error.value).startswith(key)


@pytest.mark.parametrize("section, table, key", [
    ("coupling", {"stress_assisted_diffusion": True}, "coupling.stress_assisted_diffusion = True"),
    ("operation", {"wetted_surfaces": ["outer_surface", "pore_surface"]}, "operation.wetted_surfaces"),
    ("solver", {"formulation": "axisymmetric"}, "solver.formulation = 'axisymmetric'"),
])
def test_a_case_the_particle_scale_field_cannot_drive_is_refused(section, table, key):
    raw = {"name": "c", "geometry": {"kind": "subvolume", "radius_um": 5.0, "edge_um": 2.0},
           "material": {"parameter_set": "ncm811"}, "operation": {"li_fraction_start": 0.95, "li_fraction_end": 0.5}}
    raw[section] = {**raw.get(section, {}), **table}
    with pytest.raises(CaseError, match="not available with geometry.kind = 'subvolume'; allowed") as error:
        validate_case(raw)
    assert str(error.value).startswith(key)


# -- the particle-scale field -------------------------------------------------------------------------
def test_sphere_displacement_strains_give_the_sphere_stresses():
    """u' and u/r of analytic.sphere_displacement through Hooke's law = analytic.sphere_stresses."""
    profile = lambda r: 2e4 * (r / RADIUS_M) ** 2 + 3e3 * np.sin(7 * r / RADIUS_M)
    r = np.linspace(0.05, 1.0, 40) * RADIUS_M
    step = 1e-7 * RADIUS_M
    u = analytic.sphere_displacement(r, profile, RADIUS_M, NU, OMEGA, 1e4)
    du = (analytic.sphere_displacement(np.minimum(r + step, RADIUS_M), profile, RADIUS_M, NU, OMEGA, 1e4)
          - analytic.sphere_displacement(r - step, profile, RADIUS_M, NU, OMEGA, 1e4)) / (np.minimum(r + step, RADIUS_M) - r + step)
    eigen = OMEGA * (profile(r) - 1e4) / 3
    e_r, e_t = du - eigen, u / r - eigen
    lam, mu = E_PA * NU / ((1 + NU) * (1 - 2 * NU)), E_PA / (2 * (1 + NU))
    sigma_r, sigma_t = analytic.sphere_stresses(r, profile, RADIUS_M, E_PA, NU, OMEGA, 1e4)
    scale = np.abs(sigma_r).max()
    assert np.abs(lam * (e_r + 2 * e_t) + 2 * mu * e_r - sigma_r).max() < 1e-6 * scale
    assert np.abs(lam * (e_r + 2 * e_t) + 2 * mu * e_t - sigma_t).max() < 1e-6 * scale
    # a uniform concentration expands freely
    uniform = analytic.sphere_displacement(r, lambda s: np.full_like(s, 2e4), RADIUS_M, NU, OMEGA, 1e4)
    assert uniform == pytest.approx(OMEGA * 1e4 / 3 * r, rel=1e-12)


def test_homogenised_particle_is_the_galvanostatic_sphere():
    particle = HomogenisedParticle.from_case(dense_cube_case(0.2))
    r, t = np.linspace(0.0, 1.0, 11) * particle.radius_m, 1500.0
    sigma_r, sigma_t = particle.stresses(r, t)
    ref_r, ref_t = analytic.galvanostatic_sphere_stresses(r, t, particle.radius_m, D_M2_S, particle.flux_mol_m2_s, E_PA, NU,
                                                          OMEGA)
    assert np.abs(sigma_r - ref_r).max() < 1e-8 * np.abs(ref_t).max()
    assert np.abs(sigma_t - ref_t).max() < 1e-8 * np.abs(ref_t).max()
    # the flux moves the mean Li fraction at 1C with capacity fraction 1: 1 per hour, extracting
    assert particle.flux_mol_m2_s * 3 / RADIUS_M * 3600 / 49000 == pytest.approx(-1.0)


def test_layered_oxide_particle_strains_like_the_grains_mean_misfit():
    """For the layered oxide the homogenised eigenstrain is tr(eps*)/3 of the lattice table, not the secant."""
    from solver.layered_oxide import lattice_table
    case = validate_case({"name": "c", "geometry": {"kind": "subvolume", "radius_um": 5.0, "edge_um": 2.0},
                          "material": {"parameter_set": "ncm83", "layered": {"stiffness": "isotropic"}},
                          "operation": {"li_fraction_start": 0.95, "li_fraction_end": 0.2}})
    particle = HomogenisedParticle.from_case(case)
    x = np.array([0.95, 0.7, 0.45, 0.2])
    eps_a, eps_c = lattice_table(case["material"]["layered"]).strains(x, 0.95)
    assert particle.eigenstrain(x * 49000.0) == pytest.approx((2 * eps_a + eps_c) / 3, rel=1e-12)


# -- verification: a dense isotropic cube under the particle-scale BCs is the sphere at its radii ---------
def _dense_cube_errors(cell_size_fraction: float) -> tuple[float, float, float]:
    """(h, max c error / c drop over the cube's nodes, max stress error / max |sigma| over the window's cells)
    at the end of the charge window."""
    from solver.problem import ChemoMechanicalProblem
    from solver.subvolume import SUBVOLUME_FIELDS
    case = dense_cube_case(cell_size_fraction)
    particle = build_particle_mesh(case["geometry"], case["mesh"], COMM, cache_dir=None)
    problem = ChemoMechanicalProblem(case, particle, COMM, fields=SUBVOLUME_FIELDS)
    problem.solve_mechanics()
    t_end, steps = end_time_s(case, RADIUS_M), case["time"]["steps"]
    previous = None
    for _ in range(steps):
        problem.advance(t_end / steps, previous, "bdf2")
        problem.accept_step()
        previous = t_end / steps
    flux, c0 = problem.fields["transport"].particle_field.flux_mol_m2_s, 0.95 * 49000.0
    r = np.linalg.norm(compat.dof_coordinates(problem.V_c), axis=1)
    exact_c = analytic.galvanostatic_sphere_concentration(r, t_end, RADIUS_M, D_M2_S, flux, c0)
    error_c = np.abs(problem.c.x.array - exact_c).max() / np.abs(exact_c - c0).max()
    cells = np.arange(compat.owned_cell_count(particle.mesh), dtype=np.int32)
    stress = compat.evaluate_expression(compat.expression_at_points(problem.stress(), np.array([[0.25] * 3])),
                                        particle.mesh, cells).reshape(-1, 3, 3)
    centroids = particle.mesh.geometry.x[compat.geometry_nodes(particle.mesh)[cells, :4]].mean(axis=1)
    rc = np.linalg.norm(centroids, axis=1)
    normal = centroids / rc[:, None]
    sigma_r, sigma_t = analytic.galvanostatic_sphere_stresses(rc, t_end, RADIUS_M, D_M2_S, flux, E_PA, NU, OMEGA)
    exact = sigma_t[:, None, None] * np.eye(3) + (sigma_r - sigma_t)[:, None, None] * np.einsum("ni,nj->nij",
                                                                                                 normal, normal)
    window = interior_mask(centroids, case["geometry"])
    error_s = np.abs(stress - exact)[window].max() / np.abs(exact).max()
    h = (8e-18 / len(cells)) ** (1 / 3)
    return h, error_c, error_s


def test_dense_cube_reproduces_the_analytic_sphere_and_converges():
    """Cube edge / 2, / 4, / 8 cells (100, 426, 2732 tetrahedra). Measured: c error 2.1e-3, 1.06e-3, 3.9e-4
    (observed rate 1.53: P1 nodal second order, still pre-asymptotic at 2 cells across), window stress error 6.1e-2,
    2.1e-2, 6.9e-3 (rate 1.98). The time error (10 BDF2 steps, quasi-steady profile) is below 1e-6 of these (40
    steps give the same digits)."""
    levels = [_dense_cube_errors(h) for h in (0.2, 0.1, 0.05)]
    h, error_c, error_s = map(np.asarray, zip(*levels))
    assert error_c[-1] < 1e-3 and error_s[-1] < 1e-2
    assert_rate(h, error_c, 2.0, 1.2, 2.3, "sub-volume concentration")
    assert_rate(h, error_s, 2.0, 1.6, 2.4, "sub-volume stress in the window")
