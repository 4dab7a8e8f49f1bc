"""solver.geometry: validation, every kind's tags, volumes, reproducibility, cache, quality, measurements."""
from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
from mpi4py import MPI

from convergence import assert_rate
from solver.errors import CaseError
from solver.geometry import (GEOMETRY_KINDS, MeshQualityError, build_particle_mesh, validate_geometry,
                             validate_mesh_options)

COMM = MPI.COMM_WORLD
COARSE = {"cell_size_fraction": 0.35, "surface_cell_size_fraction": 0.2}
SMALL_POROUS = {"kind": "porous", "radius_um": 1.0, "porosity": "gp_ncm83", "target_pore_count": 25, "seed": 3}


@pytest.fixture
def stand_in_pores(monkeypatch):
    """Hand-made spherical pores instead of the sampler (geometry tests independent of its tuning)."""
    from solver.geometry import pores as pore_tools
    from solver.geometry.porosity import PoreSet

    def sample(geometry, radius_um):
        if not pore_tools.has_pores(geometry):
            return None
        rng = np.random.default_rng(geometry["seed"])
        centres, radii = [], []
        while len(centres) < (geometry["target_pore_count"] or 10):
            c, r = rng.uniform(-0.8, 0.8, 3) * radius_um, rng.uniform(0.05, 0.1) * radius_um
            if np.linalg.norm(c) + r < 0.9 * radius_um and all(
                    np.linalg.norm(c - c2) > r + r2 + 0.02 * radius_um for c2, r2 in zip(centres, radii)):
                centres.append(c)
                radii.append(r)
        n = len(centres)
        return PoreSet(centers_um=np.array(centres), semi_axes_um=np.repeat(np.array(radii)[:, None], 3, axis=1),
                       rotations=np.repeat(np.eye(3)[None], n, axis=0), cluster_ids=-np.ones(n, int),
                       particle_radius_um=radius_um)

    monkeypatch.setattr(pore_tools, "sample", sample)


def build(geometry, mesh=COARSE, cache_dir=None):
    return build_particle_mesh(geometry, mesh, COMM, cache_dir=cache_dir)


def fingerprint(particle) -> tuple[int, str]:
    x = np.round(particle.mesh.geometry.x, 15)
    return particle.mesh.topology.index_map(3).size_global, hashlib.sha256(x.tobytes()).hexdigest()


# -- validation -------------------------------------------------------------------------------------
def test_unknown_kind_lists_the_valid_kinds():
    with pytest.raises(CaseError, match="geometry.kind = 'cube'") as info:
        validate_geometry({"kind": "cube", "radius_um": 1.0})
    for kind in GEOMETRY_KINDS:
        assert kind in str(info.value)


@pytest.mark.parametrize("table, key", [
    ({"kind": "sphere", "radius_um": -1.0}, "geometry.radius_um = -1.0"),
    ({"kind": "sphere", "radius_um": "big"}, "geometry.radius_um = 'big'"),
    ({"kind": "sphere", "radius_um": 1.0, "radius_m": 1e-6}, "radius_m"),
    ({"kind": "sphere"}, "geometry.radius_um: missing"),
    ({"kind": "sphere", "radius_um": 1.0, "radius_nm": 3}, "geometry.radius_nm = 3: unknown key"),
    ({"kind": "sphere", "radius_um": 1.0, "symmetry": "half"}, "geometry.symmetry = 'half'"),
    ({"kind": "hollow_sphere", "radius_um": 1.0, "void_radius_fraction": 1.2}, "geometry.void_radius_fraction"),
    ({"kind": "core_shell", "radius_um": 1.0}, "shell_thickness_um, shell_thickness_fraction"),
    ({"kind": "core_shell", "radius_um": 1.0, "shell_thickness_um": 0.1, "shell_thickness_fraction": 0.1},
     "exactly one"),
    ({"kind": "core_shell", "radius_um": 1.0, "shell_thickness_um": 2.0}, "geometry.shell_thickness_um"),
    ({"kind": "core_shell", "radius_um": 1.0, "shell_thickness_fraction": 0.1, "island_coverage_fraction": 0.1,
      "symmetry": "octant"}, "geometry.symmetry = 'octant'"),
    ({"kind": "porous", "radius_um": 1.0}, "geometry.porosity"),
    ({"kind": "porous", "radius_um": 1.0, "porosity": "swiss_cheese"}, "geometry.porosity = 'swiss_cheese'"),
    ({"kind": "porous", "radius_um": 1.0, "porosity": "p_ncm83", "pore_shape": "cube"}, "geometry.pore_shape"),
    ({"kind": "polycrystal", "radius_um": 1.0, "grain_count": 1}, "geometry.grain_count = 1"),
    ({"kind": "polycrystal", "radius_um": 1.0, "orientation": "fibre"}, "geometry.orientation = 'fibre'"),
    ({"kind": "polycrystal", "radius_um": 1.0, "grain_count": True}, "geometry.grain_count = True"),
])
def test_bad_geometry_names_the_key(table, key):
    with pytest.raises(CaseError, match=key.replace("(", r"\(").replace(".", r"\.")):
        validate_geometry(table)


def test_validation_is_idempotent_and_si():
    raw = {"kind": "core_shell", "radius_um": 2, "shell_thickness_um": 0.25}
    normalised = validate_geometry(raw)
    assert normalised["radius_m"] == pytest.approx(2e-6) and normalised["shell_thickness_m"] == pytest.approx(2.5e-7)
    assert normalised["kind"] == "core_shell" and "radius_um" not in normalised
    assert validate_geometry(normalised) == normalised


@pytest.mark.parametrize("table, key", [
    ({"cell_size": 0.1}, "mesh.cell_size = 0.1: unknown key"),
    ({"cell_size_fraction": 0}, "mesh.cell_size_fraction = 0"),
    ({"cell_size_fraction": 0.1, "surface_cell_size_fraction": 0.2}, "mesh.surface_cell_size_fraction = 0.2"),
    ({"algorithm_3d": "magic"}, "mesh.algorithm_3d = 'magic'"),
    ({"min_quality": 1.5}, "mesh.min_quality = 1.5"),
])
def test_bad_mesh_options_name_the_key(table, key):
    with pytest.raises(CaseError, match=key.replace(".", r"\.")):
        validate_mesh_options(table)


def test_mesh_option_defaults():
    mesh = validate_mesh_options({})
    assert mesh["cell_size_fraction"] == 0.15 and mesh["surface_cell_size_fraction"] == 0.05
    assert validate_mesh_options(mesh) == mesh


# -- every kind builds with its named tags ---------------------------------------------------------
KINDS = {
    "sphere": ({"kind": "sphere", "radius_um": 1.0}, {"bulk"}, {"outer_surface"}),
    "sphere_octant": ({"kind": "sphere", "radius_um": 1.0, "symmetry": "octant"}, {"bulk"},
                      {"outer_surface", "symmetry_x", "symmetry_y", "symmetry_z"}),
    "hollow": ({"kind": "hollow_sphere", "radius_um": 1.0, "void_radius_fraction": 0.4}, {"bulk"},
               {"outer_surface", "inner_surface"}),
    "hollow_octant": ({"kind": "hollow_sphere", "radius_um": 1.0, "symmetry": "octant"}, {"bulk"},
                      {"outer_surface", "inner_surface", "symmetry_x", "symmetry_y", "symmetry_z"}),
    "hollow_porous": ({"kind": "hollow_sphere", "radius_um": 1.0, "void_radius_fraction": 0.3, "porosity": "p_ncm83",
                       "target_pore_count": 15}, {"bulk"}, {"outer_surface", "inner_surface", "pore_surface"}),
    "polycrystal_porous": ({"kind": "polycrystal", "radius_um": 1.0, "grain_count": 4, "porosity": "p_ncm83",
                            "target_pore_count": 8}, {f"grain_{i}" for i in range(4)},
                           {"outer_surface", "grain_boundary", "pore_surface"}),
    "core_shell": ({"kind": "core_shell", "radius_um": 1.0, "shell_thickness_fraction": 0.3}, {"bulk", "shell"},
                   {"outer_surface", "shell_interface"}),
    "core_shell_octant": ({"kind": "core_shell", "radius_um": 1.0, "shell_thickness_um": 0.3, "symmetry": "octant"},
                          {"bulk", "shell"}, {"outer_surface", "shell_interface", "symmetry_x", "symmetry_y",
                                              "symmetry_z"}),
    "core_shell_islands": ({"kind": "core_shell", "radius_um": 1.0, "shell_thickness_fraction": 0.3,
                            "island_coverage_fraction": 0.2, "island_count": 6, "island_thickness_um": 0.2},
                           {"bulk", "shell", "islands"},
                           {"outer_surface", "shell_interface", "island_interface", "island_surface"}),
    "porous": (SMALL_POROUS, {"bulk"}, {"outer_surface", "pore_surface"}),
    "polycrystal": ({"kind": "polycrystal", "radius_um": 1.0, "grain_count": 6}, {f"grain_{i}" for i in range(6)},
                    {"outer_surface", "grain_boundary"}),
    "subvolume": ({"kind": "subvolume", "radius_um": 1.0, "edge_um": 0.5, "centre_radius_fraction": 0.4,
                   "grain_count": 5}, {f"grain_{i}" for i in range(5)}, {"cube_face", "grain_boundary"}),
    "subvolume_dense": ({"kind": "subvolume", "radius_um": 1.0, "edge_um": 0.5}, {"bulk"}, {"cube_face"}),
}


@pytest.mark.parametrize("name", KINDS)
def test_every_kind_builds_with_its_tags(name, stand_in_pores):
    geometry, cells, facets = KINDS[name]
    particle = build(geometry)
    assert set(particle.cell_regions) == cells
    assert set(particle.facet_regions) == facets
    tagged_cells = set(np.unique(particle.cell_tags.values))
    assert tagged_cells == set(particle.cell_regions.values())
    assert len(particle.cell_tags.values) == particle.mesh.topology.index_map(3).size_local
    assert set(np.unique(particle.facet_tags.values)) == set(particle.facet_regions.values())
    x = particle.mesh.geometry.x
    radius = particle.radius_m
    assert radius == pytest.approx(1e-6)
    assert np.abs(x).max() < 1.3 * radius            # metres, centred at the origin
    assert particle.description["kind"] == geometry["kind"]
    assert particle.description["quality"]["min_quality"] > 0.01


def test_octant_symmetry_facets_lie_on_their_planes():
    from solver.geometry.measure import _oriented_facets
    particle = build(KINDS["core_shell_octant"][0])
    for axis, name in enumerate(("symmetry_x", "symmetry_y", "symmetry_z")):
        tri = _oriented_facets(particle, particle.facet_regions[name])
        assert len(tri) > 0 and np.abs(tri[..., axis]).max() < 1e-12
        normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        assert np.all(normal[:, axis] < 0)             # outward: towards the negative half space
    outer = _oriented_facets(particle, particle.facet_regions["outer_surface"])
    assert np.allclose(np.linalg.norm(outer, axis=2), particle.radius_m, rtol=1e-9)


# -- volumes ---------------------------------------------------------------------------------------
def _relative_errors(geometry, fractions):
    errors = []
    for fraction in fractions:
        particle = build(geometry, {"cell_size_fraction": fraction, "surface_cell_size_fraction": fraction,
                                    "layer_cells": 1})
        errors.append(particle.measure())
    return errors


@pytest.mark.parametrize("geometry, nominal", [
    ({"kind": "sphere", "radius_um": 2.0, "symmetry": "octant"}, lambda r: math.pi / 6 * r**3),
    ({"kind": "hollow_sphere", "radius_um": 2.0, "void_radius_fraction": 0.5, "symmetry": "octant"},
     lambda r: math.pi / 6 * (r**3 - (r / 2) ** 3)),
])
def test_volume_converges_to_analytic(geometry, nominal):
    coarse, fine = _relative_errors(geometry, (0.4, 0.2))
    exact = nominal(2e-6)
    for m in (coarse, fine):
        assert m["volume_nominal_m3"] == pytest.approx(exact, rel=1e-12)
    err_coarse = abs(coarse["volume_relative_error"])
    err_fine = abs(fine["volume_relative_error"])
    assert err_coarse < 0.1
    # O(h^2) chord error of curved surfaces: measured 2.10 (sphere), 2.39 (hollow: two surfaces' errors add)
    assert_rate([0.4, 0.2], [err_coarse, err_fine], 2, 1.5, 2.6, "volume")


def test_core_shell_region_volumes_match_and_converge():
    geometry = {"kind": "core_shell", "radius_um": 1.0, "shell_thickness_fraction": 0.3, "symmetry": "octant"}
    coarse, fine = _relative_errors(geometry, (0.15, 0.075))
    shell = 4 / 3 * math.pi * (1 - 0.7**3) * 1e-18 / 8
    assert coarse["region_volumes_m3"]["shell"]["nominal"] == pytest.approx(shell)
    for region in ("bulk", "shell"):
        e_coarse = abs(coarse["region_volumes_m3"][region]["relative_error"])
        e_fine = abs(fine["region_volumes_m3"][region]["relative_error"])
        assert e_coarse < 0.05
        assert_rate([0.15, 0.075], [e_coarse, e_fine], 2, 1.5, 2.4, f"{region} volume")   # measured 1.92 / 1.94


def test_islands_cover_the_requested_fraction():
    geometry = dict(KINDS["core_shell_islands"][0])
    particle = build(geometry)
    islands = particle.description["islands"]
    assert islands["count"] == 6 and islands["coverage_fraction"] == pytest.approx(0.2)
    m = particle.measure()
    covered = m["surface_areas_m2"]["island_interface"] / (4 * math.pi * particle.radius_m**2)
    assert covered == pytest.approx(0.2, abs=0.02)
    assert m["region_volumes_m3"]["islands"]["relative_error"] == pytest.approx(0, abs=0.05)
    embedded = build(dict(geometry, island_placement="embedded"))
    assert np.abs(embedded.mesh.geometry.x).max() <= particle.radius_m * (1 + 1e-9)


# -- reproducibility and the cache -----------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:sample_pores")     # tiny particle: the sampler's ring targets are loose
@pytest.mark.parametrize("geometry", [SMALL_POROUS, {"kind": "polycrystal", "radius_um": 1.0, "grain_count": 6}])
def test_same_seed_same_mesh_other_seed_other_mesh(geometry):
    first, again = build(geometry), build(geometry)
    assert fingerprint(first) == fingerprint(again)
    other = build(dict(geometry, seed=geometry.get("seed", 0) + 1))
    assert fingerprint(other) != fingerprint(first)


def test_cache_hit_then_invalidated_by_a_changed_parameter(tmp_path):
    geometry = {"kind": "hollow_sphere", "radius_um": 1.0, "void_radius_fraction": 0.4}
    first = build(geometry, cache_dir=tmp_path)
    assert not first.description["cache_hit"]
    assert len(list(tmp_path.glob("*.msh"))) == 1 and len(list(tmp_path.glob("*.json"))) == 1
    second = build(geometry, cache_dir=tmp_path)
    assert second.description["cache_hit"]
    assert fingerprint(second) == fingerprint(first)
    assert second.facet_regions == first.facet_regions
    assert np.array_equal(np.sort(second.facet_tags.values), np.sort(first.facet_tags.values))
    changed = build(dict(geometry, void_radius_fraction=0.5), cache_dir=tmp_path)
    assert not changed.description["cache_hit"]
    remeshed = build(geometry, dict(COARSE, surface_cell_size_fraction=0.15), cache_dir=tmp_path)
    assert not remeshed.description["cache_hit"]
    assert len(list(tmp_path.glob("*.msh"))) == 3
    assert not list(tmp_path.glob(".*tmp*"))


def test_cache_keeps_pores_and_orientations(tmp_path, stand_in_pores):
    geometry = {"kind": "polycrystal", "radius_um": 1.0, "grain_count": 5, "orientation": "radial",
                "porosity": "p_ncm83", "target_pore_count": 10}
    fresh, cached = build(geometry, cache_dir=tmp_path), build(geometry, cache_dir=tmp_path)
    assert cached.description["cache_hit"]
    assert np.array_equal(fresh.grain_orientations, cached.grain_orientations)
    assert fresh.pores == cached.pores


def test_sampler_digest_covers_every_module_of_the_porosity_package(tmp_path, monkeypatch):
    """The mesh cache key's sampler hash changes when any file of solver/geometry/porosity/ changes."""
    import shutil

    from solver.geometry import pores as pore_tools

    real = pore_tools.sampler_digest()
    package = tmp_path / "porosity"
    shutil.copytree(pore_tools.Path(pore_tools.__file__).with_name("porosity"), package,
                    ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(pore_tools, "__file__", str(tmp_path / "pores.py"))
    assert pore_tools.sampler_digest() == real
    digests = {real}
    for module in sorted(package.glob("*.py")):
        original = module.read_bytes()
        module.write_bytes(original + b"\n# changed\n")
        digests.add(pore_tools.sampler_digest())
        module.write_bytes(original)
    assert len(digests) == 1 + len(list(package.glob("*.py"))) >= 3
    shutil.rmtree(package)
    assert pore_tools.sampler_digest() == "absent"


# -- quality ---------------------------------------------------------------------------------------
def test_quality_threshold_is_enforced(tmp_path):
    geometry = {"kind": "sphere", "radius_um": 1.0}
    with pytest.raises(MeshQualityError, match="minSICN .* below mesh.min_quality = 0.95"):
        build(geometry, dict(COARSE, min_quality=0.95))
    particle = build(geometry, cache_dir=tmp_path)
    quality = particle.description["quality"]
    assert 0.01 < quality["min_quality"] <= quality["quality_p01"] <= quality["quality_mean"] <= 1
    with pytest.raises(CaseError, match="min_quality"):          # a cached mesh is checked again
        build(geometry, dict(COARSE, min_quality=0.95), cache_dir=tmp_path)


def test_low_quality_gets_one_netgen_optimisation_and_the_cache_follows(tmp_path):
    geometry = {"kind": "sphere", "radius_um": 1.0}
    plain = build(geometry, cache_dir=tmp_path)
    assert "netgen_rescue" not in plain.description["quality"] and plain.description["quality"]["min_quality"] < 0.35
    strict = build(geometry, dict(COARSE, min_quality=0.35), cache_dir=tmp_path)
    assert not strict.description["cache_hit"]              # the laxer cached mesh does not qualify
    assert strict.description["quality"]["netgen_rescue"] and strict.description["quality"]["min_quality"] >= 0.35
    again = build(geometry, dict(COARSE, min_quality=0.35), cache_dir=tmp_path)
    assert again.description["cache_hit"] and fingerprint(again) == fingerprint(strict)


# -- grains ----------------------------------------------------------------------------------------
def test_grain_orientations_are_rotations_and_radially_textured():
    geometry = {"kind": "polycrystal", "radius_um": 1.0, "grain_count": 8, "orientation": "radial",
                "radial_texture_fraction": 0.5, "seed": 4}
    particle = build(geometry)
    q = particle.grain_orientations
    assert q.shape == (8, 3, 3)
    assert np.allclose(q @ q.transpose(0, 2, 1), np.eye(3)) and np.allclose(np.linalg.det(q), 1)
    seeds = np.asarray(particle.description["grain_seeds_um"])
    radial = seeds / np.linalg.norm(seeds, axis=1, keepdims=True)
    aligned = np.abs(np.einsum("nij,j,ni->n", q, [0.0, 0.0, 1.0], radial)) > 1 - 1e-9
    assert aligned.sum() == particle.description["textured_grains"] == 4


def test_radial_shell_texture_aligns_only_shell_grains():
    """orientation = "radial_shell": every grain centred at r >= 0.5 R has its c axis radial, the core none."""
    from solver.geometry.orientations import grain_rotations

    rng = np.random.default_rng(3)
    centres = rng.uniform(-1.0, 1.0, size=(200, 3))
    rotations, textured = grain_rotations(rng, centres, "radial_shell", 1.0, "c", shell_inner_radius=0.5)
    radius = np.linalg.norm(centres, axis=1)
    radial = centres / radius[:, None]
    aligned = np.abs(np.einsum("nij,j,ni->n", rotations, [0.0, 0.0, 1.0], radial)) > 1 - 1e-9
    assert np.array_equal(textured, radius >= 0.5) and np.array_equal(aligned, textured)
    assert 0 < textured.sum() < len(centres)
    half = grain_rotations(np.random.default_rng(3), centres, "radial_shell", 0.5, "c", shell_inner_radius=0.5)[1]
    assert half.sum() == round(0.5 * (radius >= 0.5).sum()) and not np.any(half & (radius < 0.5))


def test_voronoi_complex_shares_faces_and_fills_the_box():
    from scipy.spatial import ConvexHull

    from solver.geometry.voronoi import grain_seeds, voronoi_cells, voronoi_complex

    seeds = grain_seeds(np.random.default_rng(5), 40, 1.0, 0.5)
    vertices, faces, cell_faces = voronoi_complex(seeds, 1.2)
    uses = np.bincount([f for cell in cell_faces for f in cell], minlength=len(faces))
    on_box = np.array([np.all(np.isclose(np.abs(vertices[face]), 1.2).any(axis=1)) for face in faces])
    assert set(uses[~on_box]) == {2} and set(uses[on_box]) == {1}      # inner faces shared by two cells
    assert len(vertices) < sum(len(v) for v, _ in voronoi_cells(seeds, 1.2)) / 2   # corners shared too
    hulls = [ConvexHull(vertices[sorted({v for f in cell for v in faces[f]})]) for cell in cell_faces]
    assert sum(hull.volume for hull in hulls) == pytest.approx(2.4**3, rel=1e-9)
    assert all(np.all(hull.equations[:, :3] @ seed + hull.equations[:, 3] < 0) for hull, seed in zip(hulls, seeds))


def test_polycrystal_cuts_only_the_grains_it_must_and_stays_conformal(stand_in_pores):
    geometry = {"kind": "polycrystal", "radius_um": 1.0, "grain_count": 40, "seed": 2, "porosity": "p_ncm83",
                "target_pore_count": 6, "pore_placement": "sampled"}
    particle = build(geometry, dict(COARSE, min_quality=0.005))   # small Voronoi faces at this coarse size
    d = particle.description
    assert 0 < d["grains_cut"] < d["grain_count"]                  # interior grains skip the boolean
    m = particle.measure()
    assert abs(m["volume_relative_error"]) < 0.02
    assert len(m["region_volumes_m3"]) == 40
    # conformal: the only facets with one tetrahedron are the outer and pore surfaces' (a grain built beside the
    # booleans and not sharing its faces would leave two one-sided facets at each of its boundaries)
    mesh = particle.mesh
    tdim = mesh.topology.dim
    mesh.topology.create_connectivity(tdim - 1, tdim)
    f2c = mesh.topology.connectivity(tdim - 1, tdim)
    one_sided = {f for f in range(mesh.topology.index_map(tdim - 1).size_local) if len(f2c.links(f)) == 1}
    surfaces = [particle.facet_tags.find(particle.facet_regions[name]) for name in ("outer_surface", "pore_surface")]
    assert len(surfaces[1]) > 0 and one_sided == set(np.concatenate(surfaces).tolist())


def test_polycrystal_grain_volumes_fill_the_sphere(stand_in_pores):
    particle = build({"kind": "polycrystal", "radius_um": 1.0, "grain_count": 6, "porosity": "p_ncm83",
                      "target_pore_count": 10})
    m = particle.measure()
    grains = sum(v["mesh"] for v in m["region_volumes_m3"].values())
    assert grains == pytest.approx(m["volume_mesh_m3"])
    assert abs(m["volume_relative_error"]) < 0.03
    assert particle.description["pores_moved_to_grain_boundaries"] > 0
    assert "pore_surface" in particle.facet_regions


# -- measurements ----------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:sample_pores")
def test_porous_mesh_measures_like_the_sampled_pores():
    particle = build(dict(SMALL_POROUS, target_pore_count=60), {})
    m = particle.measure()
    assert m["pore_count"] == len(particle.pores) >= 40
    assert m["porosity_overall"] > 0.05
    difference = m["porosity_mesh_minus_analytic_pp"]
    assert abs(difference["overall"]) < 1.0 and abs(difference["volume"]) < 1.0
    assert difference["worst_ring"] < 1.5
    assert [r["r_inner_fraction"] for r in m["porosity_by_ring"]] == [0.5, 0.6, 0.7, 0.8, 0.9]
    assert len(m["porosity_profile_full"]) == len(m["porosity_mesh_shells"]) == 10
    assert set(m["pore_volume_um3"]) >= {"min", "p50", "max"}


@pytest.mark.parametrize("geometry, area_m2", [
    ({"kind": "sphere", "radius_um": 1.0}, 4 * math.pi * 1e-12),
    ({"kind": "hollow_sphere", "radius_um": 1.0, "void_radius_fraction": 0.5, "symmetry": "octant"},
     math.pi / 2 * 1e-12),
])
def test_dense_particles_measure_no_porosity(geometry, area_m2):
    m = build(geometry, {"cell_size_fraction": 0.2, "surface_cell_size_fraction": 0.1}).measure()
    assert m["porosity_overall"] == 0 and m["pore_count"] == 0 and m["porosity_mesh_volume"] == 0
    assert abs(m["porosity_mesh_overall"]) < 0.01                   # the hollow void is not porosity
    assert all(abs(r["porosity"]) < 0.02 for r in m["porosity_mesh_by_ring"] + m["porosity_mesh_shells"])
    assert m["surface_areas_m2"]["outer_surface"] == pytest.approx(area_m2, rel=0.02)


def test_hollow_porous_mesh_measures_like_its_pores(stand_in_pores):
    geometry = {"kind": "hollow_sphere", "radius_um": 1.0, "void_radius_fraction": 0.3, "porosity": "p_ncm83",
                "target_pore_count": 30}
    particle = build(geometry, {})
    m = particle.measure()
    assert 0 < m["pore_count"] <= 30 and m["void_volume_fraction"] == pytest.approx(0.027)
    difference = m["porosity_mesh_minus_analytic_pp"]
    assert abs(difference["overall"]) < 1.0 and abs(difference["volume"]) < 0.5


@pytest.mark.slow
def test_porous_particle_with_500_pores_meshes():
    geometry = {"kind": "porous", "radius_um": 5.0, "porosity": "gp_ncm83", "target_pore_count": 500, "seed": 1}
    particle = build(geometry, {"cell_size_fraction": 0.15, "surface_cell_size_fraction": 0.08})
    m = particle.measure()
    assert m["pore_count"] >= 500 * 0.8
    assert abs(m["porosity_mesh_minus_analytic_pp"]["overall"]) < 1.0
    assert m["min_quality"] > 0.01
