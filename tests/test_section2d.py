"""The section_2d formulation: plane strain / generalised plane strain of a particle's central section.

- the long-cylinder series (solver/analytic.py galvanostatic_cylinder) satisfies its own equations: mean Li,
  surface flux, traction-free surface, equilibrium, zero axial force;
- the FE stresses of a disc with the series' concentration converge to the series' stresses (plane strain and
  generalised plane strain), observed rate asserted from both sides;
- a galvanostatic charge of a disc from the CLI path (run_case): mean Li at the cylinder's C-rate flux (V/A = R/2),
  peaks against the series;
- the polycrystal section: named grains and facets, seeded, measured porosity; anisotropic grains free of
  axial force; refusals with the key named.
"""
import json
import math

import numpy as np
import pytest
from mpi4py import MPI
from scipy.integrate import trapezoid

from conftest import CASES
from convergence import assert_rate
from solver import analytic
from solver.case import load_case
from solver.errors import CaseError
from solver.pipeline import run_case

QUIET = ["output.pictures=false", "output.progress=false"]
DISC = ['solver.formulation="section_2d"', 'geometry.kind="sphere"', "mesh.geometry_order=2", *QUIET]
MATERIAL = {"E": 150e9, "nu": 0.3, "omega": 3e-6}


def disc_case(*overrides):
    return load_case(CASES / "verification_sphere.toml", [*DISC, *overrides])


def series(case, r, t, flux, axial):
    m = case["material"]
    c0 = case["operation"]["li_fraction_start"] * m["c_max_mol_m3"]
    return analytic.galvanostatic_cylinder(r, t, case["geometry"]["radius_m"], m["diffusivity_m2_s"], flux, c0,
                                           m["stress_free_li_fraction"] * m["c_max_mol_m3"], m["young_modulus_Pa"],
                                           m["poisson_ratio"], m["partial_molar_volume_m3_mol"], axial)


def test_cylinder_series_satisfies_its_equations():
    radius, diffusivity, flux = 5e-6, 1e-14, -1e-5
    r = np.linspace(0.0, radius, 4001)
    for tau in (0.01, 0.1, 1.0):
        t = tau * radius**2 / diffusivity
        for axial in ("free", "zero"):
            s = analytic.galvanostatic_cylinder(r, t, radius, diffusivity, flux, 4e4, 4.5e4, 150e9, 0.3, 3e-6, axial)
            mean = trapezoid(s.c_mol_m3 * r, r) * 2 / radius**2
            assert mean == pytest.approx(4e4 + 2 * flux * t / radius, rel=1e-8)     # V/A = R/2
            slope = (s.c_mol_m3[-1] - s.c_mol_m3[-3]) / (r[-1] - r[-3])
            assert diffusivity * slope == pytest.approx(flux, rel=2e-3)
            scale = np.abs(s.sigma_t_Pa).max()
            assert abs(s.sigma_r_Pa[-1]) < 1e-9 * scale
            equilibrium = np.gradient(s.sigma_r_Pa, r)[1:-1] + (s.sigma_r_Pa - s.sigma_t_Pa)[1:-1] / r[1:-1]
            assert np.abs(equilibrium).max() * radius < 1e-4 * scale
            force = trapezoid(s.sigma_z_Pa * r, r)
            if axial == "free":
                assert abs(force) < 1e-6 * scale * radius**2     # trapezoid error ~6e-8 of it
            else:    # eps_zz = 0: sigma_z = nu (sigma_r + sigma_t) - E Omega (c - c_ref) / 3
                hooke = 0.3 * (s.sigma_r_Pa + s.sigma_t_Pa) - 150e9 * 3e-6 * (s.c_mol_m3 - 4.5e4) / 3
                assert np.allclose(s.sigma_z_Pa, hooke, rtol=1e-9, atol=1e-9 * scale)


def _disc_stress_error(fraction, axial, tau=0.05):
    """Max-norm error of the FE stress tensor at the cell nodes of a disc holding the series' concentration at
    tau, relative to the largest exact component; also the section's axial strain and the series' mean excess."""
    from solver.reduced.planar import PlanarModel
    from solver.reduced.section import SectionProblem
    from solver.reduced.section_mesh import build_section_mesh

    case = disc_case(f"mesh.cell_size_fraction={fraction}", f"mesh.surface_cell_size_fraction={fraction}",
                     f'solver.section_axial_strain="{axial}"', "material.stress_free_li_fraction=0.9",
                     "solver.linear_rtol=1e-10")
    particle = build_section_mesh(case["geometry"], case["mesh"])
    problem = SectionProblem(case, particle)
    radius, material = case["geometry"]["radius_m"], case["material"]
    t, flux = tau * radius**2 / material["diffusivity_m2_s"], -2.4e-5      # ~1C of NCM811 at R = 5 um
    problem.c.interpolate(lambda x: series(case, np.hypot(x[0], x[1]), t, flux, axial).c_mol_m3)
    problem.solve_mechanics()
    tensors, points = PlanarModel(case, particle, problem, radius, 0.0).stress_at_nodes()
    r = np.hypot(points[:, 0], points[:, 1])
    s = series(case, np.minimum(r, radius), t, flux, axial)
    n = points[:, :2] / np.maximum(r, 1e-30)[:, None]
    nn = n[:, :, None] * n[:, None, :]
    exact = np.zeros_like(tensors)
    exact[:, :2, :2] = s.sigma_r_Pa[:, None, None] * nn + s.sigma_t_Pa[:, None, None] * (np.eye(2) - nn)
    exact[:, 2, 2] = s.sigma_z_Pa
    mean_excess = problem.mean_concentration() - 0.9 * material["c_max_mol_m3"]
    return np.abs(tensors - exact).max() / np.abs(exact).max(), problem.axial_strain(), mean_excess, material


@pytest.mark.parametrize("axial", ["free", "zero"])
def test_disc_stresses_converge_to_the_long_cylinder_series(axial):
    """P2 displacement on curved quadratic triangles, c the P1 interpolant of the series at tau = 0.05 (a steep
    transient profile), eigenstrain 0.05 c_max above the stress-free state so that plane strain and generalised
    plane strain differ by ~1 GPa in sigma_zz. Measured max-norm errors 1.38e-2, 3.44e-3, 8.33e-4 (free) and
    1.10e-2, 2.72e-3, 6.59e-4 (zero) at h = 0.1, 0.05, 0.025 R: rate 2.02 / 2.03; band [1.8, 2.3] around 2."""
    fractions = [0.1, 0.05, 0.025]
    results = [_disc_stress_error(h, axial) for h in fractions]
    assert_rate(fractions, [error for error, *_ in results], 2.0, 1.8, 2.3, f"section stress ({axial})")
    _, axial_strain, mean_excess, material = results[-1]
    if axial == "free":
        # a free prism stretches axially by its mean eigenstrain, eps_zz = Omega <c - c_ref> / 3: int (sigma_xx +
        # sigma_yy) dA vanishes in a traction-free body, also discretely (v = (x, 0), (0, y) are test functions)
        assert axial_strain == pytest.approx(material["partial_molar_volume_m3_mol"] * mean_excess / 3, rel=1e-6)
    else:
        assert axial_strain == 0.0


def test_disc_charge_follows_the_cylinder_series(tmp_path):
    """A whole galvanostatic run (the CLI's run_case) of a disc: the mean Li fraction moves at the C-rate with the
    cylinder's V/A = R/2, and the final peaks (surface hoop, centre radial) match the series."""
    case = disc_case("mesh.cell_size_fraction=0.05", "mesh.surface_cell_size_fraction=0.05", "time.steps=20")
    summary = run_case(case, tmp_path / "disc", MPI.COMM_SELF, render=False)
    assert summary["status"] == "completed" and summary["formulation"] == "section_2d"
    radius, flux = summary["particle"]["radius_m"], summary["particle"]["surface_flux_mol_m2_s"]
    assert summary["particle"]["volume_m3"] / summary["particle"]["wetted_area_m2"] == pytest.approx(radius / 2, rel=1e-4)
    t_end = summary["time"]["t_reached_s"]
    c_max = case["material"]["c_max_mol_m3"]
    start = case["operation"]["li_fraction_start"]
    assert summary["final_li_fraction_mean"] == pytest.approx(start + 2 * flux * t_end / radius / c_max, rel=1e-6)
    exact = series(case, np.array([0.0, radius]), t_end, flux, "free")
    peak = summary["peak"]
    assert peak["hoop"]["radius_fraction"] == pytest.approx(1.0)
    # measured: hoop +0.03 %, radial +0.2 % (20 BDF2 steps from the uniform start, h = 0.05 R)
    assert peak["hoop"]["value_Pa"] == pytest.approx(exact.sigma_t_Pa[1], rel=2e-3)
    assert peak["radial"]["value_Pa"] == pytest.approx(exact.sigma_r_Pa[0], rel=5e-3)
    for name in ("summary.json", "timeseries.csv", "fields_final.vtu"):
        assert (tmp_path / "disc" / name).is_file()


SECTION_CASE = CASES / "section_ncm83_1000_grains.toml"
SMALL_SECTION = ["geometry.grain_count=40", "mesh.cell_size_fraction=0.06", "mesh.surface_cell_size_fraction=0.04",
                 "time.steps=2", "output.snapshots=0", *QUIET]


def test_polycrystal_section_is_named_seeded_and_holds_the_section_porosity():
    """40 grains, the GP-NCM83 profile with the FIB-SEM classes unscaled and the two central pores: every cell in
    a grain_<i>, the three facet regions, the meshed area = disc - pores, the drawn porosity of every ring within
    1 point of the profile outside the central pores, the same layout for the same seed."""
    from solver import compat
    from solver.geometry import pores as pore_tools
    from solver.geometry.porosity import circle_annulus_area
    from solver.reduced.section_mesh import RINGS, build_section_mesh, section_layout

    case = load_case(SECTION_CASE, [*SMALL_SECTION, "geometry.central_pores_um3=[3.779, 1.123]"])
    geometry = case["geometry"]
    particle = build_section_mesh(geometry, case["mesh"])
    assert set(particle.facet_regions) == {"outer_surface", "pore_surface", "grain_boundary"}
    assert all(name.startswith("grain_") for name in particle.cell_regions)
    assert 30 <= len(particle.cell_regions) <= 40       # the central pores swallow a few of the 40 grains
    tags = particle.cell_tags
    assert len(np.unique(tags.indices)) == compat.owned_cell_count(particle.mesh)
    assert particle.grain_orientations.shape == (40, 3, 3)
    layout = section_layout(geometry)
    radius = layout["radius_um"]
    centres, radii = layout["pore_centres_um"], layout["pore_radii_um"]
    assert radii[:2] == pytest.approx([(3 * v / (4 * math.pi)) ** (1 / 3) for v in (3.779, 1.123)])
    assert radii[2:].max() < 0.37                        # the top class's 0.2 um^3 sphere: 0.363 um
    drawn, meshed = particle.description["section_porosity"], particle.description["section_porosity_meshed"]
    assert drawn == pytest.approx(np.sum(np.pi * radii**2) / (math.pi * radius**2))
    assert 0 < drawn - meshed < 0.03 * drawn     # 16 chords per pore circle keep 97.4 % of its area
    profile = pore_tools.profile(geometry["porosity"])
    edges = np.linspace(0, radius, RINGS + 1)
    for inner, outer in zip(edges[:-1], edges[1:]):
        drawn = np.sum(circle_annulus_area(radii, np.linalg.norm(centres, axis=1), inner, outer))
        porosity = drawn / (math.pi * (outer**2 - inner**2))
        target = profile.annulus_mean(inner / radius, outer / radius)
        if inner >= np.linalg.norm(centres[1]) + radii[1]:     # outside the two central pores
            assert porosity == pytest.approx(target, abs=0.01)
    again = section_layout(geometry)
    assert np.array_equal(again["pore_radii_um"], radii) and np.array_equal(again["seeds_um"], layout["seeds_um"])
    other = section_layout(dict(geometry, seed=geometry["seed"] + 1))
    assert not np.array_equal(other["seeds_um"], layout["seeds_um"])


@pytest.mark.parametrize("porosity", ["gp_ncm83", "p_ncm83", "gp_ni96"])
def test_shipped_section_has_1200_grains_and_the_measured_porosity_in_every_ring(porosity):
    """The layout of cases/section_ncm83_1000_grains.toml (no meshing): 1200 grain seeds, unscaled pores (largest
    circle <= the 0.2 um^3 top class, 0.363 um), the section porosity of every ring within 1 point of the profile
    (measured: within 0.5 point)."""
    from solver.geometry import pores as pore_tools
    from solver.geometry.porosity import circle_annulus_area
    from solver.reduced.section_mesh import RINGS, section_layout

    geometry = load_case(SECTION_CASE, [f'geometry.porosity="{porosity}"'])["geometry"]
    layout = section_layout(geometry)
    assert len(layout["seeds_um"]) == len(layout["cells"]) == 1200
    radius, centres, radii = layout["radius_um"], layout["pore_centres_um"], layout["pore_radii_um"]
    assert len(radii) > 50 and radii.max() < 0.364
    profile = pore_tools.profile(geometry["porosity"])
    edges = np.linspace(0, radius, RINGS + 1)
    for inner, outer in zip(edges[:-1], edges[1:]):
        drawn = np.sum(circle_annulus_area(radii, np.linalg.norm(centres, axis=1), inner, outer))
        porosity_in_ring = drawn / (math.pi * (outer**2 - inner**2))
        assert porosity_in_ring == pytest.approx(profile.annulus_mean(inner / radius, outer / radius), abs=0.01)


def test_anisotropic_section_runs_free_of_axial_force(tmp_path):
    """The shipped case on 40 grains, 2 steps: completes, writes the outputs, and the layered-oxide grains (3D c
    axes, so eps* has an axial part that differs grain by grain) carry no net axial force; the in-plane rigid
    motions are the operator's nullspace."""
    from solver.reduced.section import SectionModel

    case = load_case(SECTION_CASE, SMALL_SECTION)
    model = SectionModel(case)
    problem = model.problem
    matrix = problem.mech_A
    modes = problem.rigid_modes.getVecs()
    assert len(modes) == 3
    for mode in modes:        # PETSc's own NullSpace.test uses an absolute tolerance, meaningless at E ~ 1e11 Pa
        image = matrix.createVecLeft()
        matrix.mult(mode, image)
        assert image.norm() < 1e-10 * matrix.norm() * mode.norm()
    problem.c.x.array[:] = 0.5 * problem.c_max       # x = 0.5: the largest c - a misfit, away from the start
    problem.solve_mechanics()
    import dolfinx.fem
    import ufl
    sigma = problem.stress()
    integral = lambda f: dolfinx.fem.assemble_scalar(dolfinx.fem.form(f * ufl.dx(domain=problem.mesh)))
    axial_force, scale = integral(sigma[2, 2]), integral(abs(sigma[2, 2]))
    assert abs(axial_force) < 1e-6 * scale
    assert abs(problem.axial_strain()) > 1e-3           # the lattice contracts by several per mille at x = 0.5
    summary = run_case(case, tmp_path / "section", MPI.COMM_SELF, render=False)
    assert summary["status"] == "completed"
    assert summary["mesh"]["description"]["pore_count"] > 100    # unscaled: ~210 on the whole section
    assert summary["final_li_fraction_mean"] == pytest.approx(0.2, abs=1e-9)
    assert 1e8 < summary["peak"]["von_mises"]["value_Pa"] < 2e10     # GPa misfit, no singular blow-up
    stored = json.loads((tmp_path / "section" / "summary.json").read_text())
    assert stored["formulation"] == "section_2d"
    assert stored["section"]["axial"] == "free" and stored["section"]["axial_strain"] < -1e-3   # the lattice shrinks


@pytest.mark.parametrize("overrides, key", [
    (['geometry.kind="hollow_sphere"', "geometry.void_radius_fraction=0.4"], "geometry.kind"),
    (["geometry.porosity=0.05"], "geometry.porosity"),
    (['solver.mechanics_preconditioner="lu"'], "solver.mechanics_preconditioner"),
    (['operation.wetted_surfaces=["inner_surface"]'], "operation.wetted_surfaces"),
    (["material.regions.shell.diffusivity_m2_s=1e-15"], "material.regions.shell"),
])
def test_cases_a_section_cannot_take_are_refused_naming_the_key(overrides, key):
    from solver.reduced.symmetry import check_section

    with pytest.raises(CaseError, match=key.replace(".", r"\.")):
        check_section(disc_case(*overrides))


def test_mesh_command_reports_the_section(tmp_path, capsys):
    """`python -m solver mesh` on a section_2d case meshes the section (not a 3D particle of as many grains) and
    writes its grains, pores and porosity per ring (drawn, and the profile's) to geometry.json."""
    from solver.cli import main

    out = tmp_path / "mesh"
    assert main(["mesh", str(SECTION_CASE), "--out", str(out), "--set", "geometry.grain_count=30",
                 "--set", "mesh.cell_size_fraction=0.08"]) == 0
    report = json.loads((out / "geometry.json").read_text())
    assert report["formulation"] == "section_2d" and report["grains"] == 30
    assert report["pore_count"] > 100 and report["cells"] == report["triangles"]
    rings = report["porosity_by_ring"]
    assert len(rings) == 10 and all(abs(ring["porosity"] - ring["profile"]) <= 0.01 for ring in rings)
    assert '"pore_count"' in capsys.readouterr().out


def test_section_meshes_are_cached(tmp_path):
    """A second build of the same section comes from the mesh cache: same regions, cells, orientations and
    porosities; another seed is another entry."""
    from solver import compat
    from solver.reduced.section_mesh import build_section_mesh

    geometry = load_case(SECTION_CASE, SMALL_SECTION)["geometry"]
    mesh_options = load_case(SECTION_CASE, SMALL_SECTION)["mesh"]
    built = build_section_mesh(geometry, mesh_options, cache_dir=tmp_path)
    cached = build_section_mesh(geometry, mesh_options, cache_dir=tmp_path)
    assert not built.description["cache_hit"] and cached.description["cache_hit"]
    assert cached.cell_regions == built.cell_regions and cached.facet_regions == built.facet_regions
    assert compat.owned_cell_count(cached.mesh) == compat.owned_cell_count(built.mesh)
    assert np.array_equal(cached.grain_orientations, built.grain_orientations)
    for key in ("section_porosity", "section_porosity_meshed", "pore_count"):
        assert cached.description[key] == pytest.approx(built.description[key], rel=1e-12)
    build_section_mesh(dict(geometry, seed=geometry["seed"] + 1), mesh_options, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.msh"))) == 2


@pytest.mark.parametrize("count", [2, 7, 300])
def test_clipped_voronoi_cells_tile_the_disc(count):
    """clipped_cells: the cells (straight pieces by the shoelace formula, rim arcs by their circular segments)
    tile the disc exactly, each holds its seed's area share with its seed inside, and every straight piece
    inside the disc is shared by exactly two cells (conformal without a boolean)."""
    from solver.reduced.section_mesh import clipped_cells, section_seeds, voronoi_cells_2d

    radius = 5.0
    seeds = section_seeds(np.random.default_rng(count), count, radius, 0.5)
    points, boundaries = clipped_cells(*voronoi_cells_2d(seeds, radius), radius)
    total, uses = 0.0, {}
    for boundary in boundaries:
        area = 0.0
        for kind, a, b in boundary:
            (xa, ya), (xb, yb) = points[a], points[b]
            area += 0.5 * (xa * yb - xb * ya)
            if kind == "arc":
                sweep = (math.atan2(yb, xb) - math.atan2(ya, xa)) % (2 * math.pi)
                area += 0.5 * radius**2 * (sweep - math.sin(sweep))
            else:
                uses[frozenset((a, b))] = uses.get(frozenset((a, b)), 0) + 1
        assert area > 0
        total += area
    assert total == pytest.approx(math.pi * radius**2, rel=1e-12)
    on_rim = {edge for edge in uses if all(abs(np.hypot(*points[k]) - radius) < 1e-9 for k in edge)}
    assert all(n == 2 for edge, n in uses.items() if edge not in on_rim)


def test_dense_polycrystal_section_is_conformal():
    """Without pores the grains meet only each other and the rim: facets outer_surface and grain_boundary, the
    meshed area the disc's (polygonal rim: -6e-5)."""
    from solver.reduced.section_mesh import build_section_mesh

    case = load_case(SECTION_CASE, [*SMALL_SECTION, "geometry.porosity=0"])
    particle = build_section_mesh(case["geometry"], case["mesh"])
    assert set(particle.facet_regions) == {"outer_surface", "grain_boundary"}
    assert len(particle.cell_regions) == 40
    assert 0 < particle.description["section_porosity_meshed"] < 1e-3
