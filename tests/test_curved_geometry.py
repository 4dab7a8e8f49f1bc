"""mesh.geometry_order = 2: curved (quadratic, isoparametric) tetrahedra with their nodes on the true surfaces.

- validation: default 1, 2 opt-in, other values and unsupported particles refused naming the key;
- the mesh cache key of order 1 is the key from before the option existed; a cached curved mesh stays curved;
- volume and surface areas of octant / hollow spheres converge as h^2 straight and ~h^4 curved, and the
  numpy measurement (measure.py) agrees with dolfinx's own integration over the curved cells;
- the quality gate measures the curved cells;
- full and core-shell particles mesh with curved cells, regions intact;
- a whole hollow-sphere run on curved cells writes its outputs (XDMF with 10-node tets, VTU on the corners).
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import ufl
import dolfinx.fem
from mpi4py import MPI

from conftest import CASES
from solver import compat
from convergence import assert_rate
from solver.case import load_case
from solver.errors import CaseError
from solver.geometry import MeshQualityError, build_particle_mesh, validate_geometry, validate_mesh_options
from solver.geometry.cache import cache_key

COMM = MPI.COMM_WORLD
SIZES = (0.4, 0.2, 0.1)                       # cell = surface size / R: ~70 to ~2,800 octant tets
OCTANT = {"kind": "sphere", "radius_um": 1.0, "symmetry": "octant"}
HOLLOW_OCTANT = {"kind": "hollow_sphere", "radius_um": 1.0, "symmetry": "octant", "void_radius_fraction": 0.4}
R = 1e-6


def mesh_options(size: float, order: int, **extra) -> dict:
    # curvature_cells at its least so the sizes alone set h (the default would refine the surfaces further)
    return {"cell_size_fraction": size, "surface_cell_size_fraction": size, "curvature_cells": 3.0,
            "geometry_order": order, **extra}


def build(geometry: dict, size: float, order: int, **extra):
    return build_particle_mesh(geometry, mesh_options(size, order, **extra), COMM, cache_dir=None)


# -- validation and cache key --------------------------------------------------------------------------
def test_geometry_order_defaults_to_straight_and_accepts_two():
    assert validate_mesh_options({})["geometry_order"] == 1
    assert validate_mesh_options({"geometry_order": 2}, validate_geometry(OCTANT))["geometry_order"] == 2


@pytest.mark.parametrize("value", [3, 0, 1.5, "2"])
def test_other_geometry_orders_are_refused(value):
    with pytest.raises(CaseError, match=r"mesh.geometry_order = .*must be"):
        validate_mesh_options({"geometry_order": value})


@pytest.mark.parametrize("geometry, blocker", [
    ({"kind": "porous", "radius_um": 1.0, "porosity": "p_ncm83"}, "geometry.kind = 'porous'"),
    ({"kind": "polycrystal", "radius_um": 1.0, "grain_count": 4}, "geometry.kind = 'polycrystal'"),
    ({"kind": "hollow_sphere", "radius_um": 1.0, "porosity": "p_ncm83"}, "pores"),
    ({"kind": "core_shell", "radius_um": 1.0, "shell_thickness_fraction": 0.1, "island_coverage_fraction": 0.1,
      "island_count": 4}, "islands"),
])
def test_particles_with_straight_only_features_refuse_order_two(geometry, blocker):
    geometry = validate_geometry(geometry)
    assert validate_mesh_options({"geometry_order": 1}, geometry)["geometry_order"] == 1
    with pytest.raises(CaseError, match=rf"mesh.geometry_order = 2: not available with {blocker}.*allowed there: 1"):
        validate_mesh_options({"geometry_order": 2}, geometry)


def test_a_case_with_pores_and_order_two_is_refused_at_validation():
    with pytest.raises(CaseError, match="mesh.geometry_order = 2: not available with pores"):
        load_case(CASES / "verification_sphere.toml", ['geometry.kind="hollow_sphere"', 'geometry.symmetry="full"',
                                                       'geometry.porosity="p_ncm83"', "mesh.geometry_order=2"])


def test_a_cached_curved_mesh_comes_back_curved(tmp_path):
    options = mesh_options(0.4, 2)
    built = build_particle_mesh(HOLLOW_OCTANT, options, COMM, cache_dir=tmp_path)
    cached = build_particle_mesh(HOLLOW_OCTANT, options, COMM, cache_dir=tmp_path)
    assert not built.description["cache_hit"] and cached.description["cache_hit"]
    assert compat.geometry_degree(cached.mesh) == 2
    assert cached.measure()["volume_mesh_m3"] == pytest.approx(built.measure()["volume_mesh_m3"], rel=1e-12)
    straight = build_particle_mesh(HOLLOW_OCTANT, mesh_options(0.4, 1), COMM, cache_dir=tmp_path)
    assert not straight.description["cache_hit"] and compat.geometry_degree(straight.mesh) == 1


def test_order_one_keeps_the_cache_keys_from_before_the_option():
    geometry = validate_geometry(OCTANT)
    mesh = validate_mesh_options({})
    before = {k: v for k, v in mesh.items() if k != "geometry_order"}     # the [mesh] dict of older versions
    assert cache_key(geometry, mesh, {}) == cache_key(geometry, before, {})
    assert cache_key(geometry, dict(mesh, geometry_order=2), {}) != cache_key(geometry, mesh, {})


# -- geometry accuracy ---------------------------------------------------------------------------------
def _dolfinx_measures(particle) -> tuple[float, dict]:
    """Volume and facet-region areas integrated by dolfinx itself (quadrature over the curved cells)."""
    dx = ufl.Measure("dx", domain=particle.mesh)
    ds = ufl.Measure("ds", domain=particle.mesh, subdomain_data=particle.facet_tags)
    volume = COMM.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(1.0 * dx)))
    areas = {name: COMM.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(1.0 * ds(tag))))
             for name, tag in particle.facet_regions.items() if name in ("outer_surface", "inner_surface")}
    return volume, areas


@pytest.mark.parametrize("geometry, void", [(OCTANT, 0.0), (HOLLOW_OCTANT, 0.4)], ids=["sphere", "hollow"])
def test_curved_volume_and_areas_converge_faster(geometry, void):
    exact = {"volume": math.pi / 6 * R**3 * (1 - void**3), "outer_surface": math.pi / 2 * R**2,
             "inner_surface": math.pi / 2 * (void * R) ** 2}
    errors = {1: {}, 2: {}}
    for order in (1, 2):
        for size in SIZES:
            particle = build(geometry, size, order)
            measured = particle.measure()
            values = {"volume": measured["volume_mesh_m3"], **measured["surface_areas_m2"]}
            if order == 2:
                # measure.py's own quadrature over the quadratic cells and facets against dolfinx's
                volume, areas = _dolfinx_measures(particle)
                assert values["volume"] == pytest.approx(volume, rel=1e-10)
                for name, area in areas.items():
                    assert values[name] == pytest.approx(area, rel=1e-8), name
            for name in exact:
                if exact[name] > 0:
                    errors[order].setdefault(name, []).append(values[name] / exact[name] - 1)
    print(errors)
    for name in errors[1]:
        straight, curved = np.abs(errors[1][name]), np.abs(errors[2][name])
        assert np.all(curved < straight / 10), name
        assert_rate(SIZES, straight, 2, 1.4, 2.5, f"{name}, straight")   # chordal error ~ h^2 (measured 1.7-2.1)
        # quadratic surfaces: h^3 or better, h^4 for these areas and volumes (the odd term cancels on a sphere;
        # measured 4.2 outer surface and volume, 3.5 the void's surface); above 4.8 the measure or the reference
        # would be suspect. The hollow volume is left out: the void's and the outer surface's errors have opposite
        # signs and cancel irregularly under refinement
        if not (name == "volume" and void):
            assert_rate(SIZES, curved, 4, 2.7, 4.8, f"{name}, curved")
    assert abs(errors[2]["volume"][-1]) < 1e-5


def test_the_quality_gate_measures_the_curved_cells():
    particle = build(HOLLOW_OCTANT, 0.3, 2)
    quality = particle.description["quality"]
    assert quality["geometry_order"] == 2
    assert 0.02 < quality["min_quality"] <= quality["quality_p01"] <= quality["quality_mean"] <= 1
    # curving distorts the cells next to the curved surfaces: the curved cells are measured, not the straight mesh
    assert quality["min_quality"] != quality["straight_min_quality"]
    assert particle.description["cells"] == COMM.allreduce(particle.mesh.topology.index_map(3).size_local)
    with pytest.raises(MeshQualityError, match="below mesh.min_quality = 0.9"):
        build(HOLLOW_OCTANT, 0.3, 2, min_quality=0.9)


@pytest.mark.parametrize("geometry", [
    {"kind": "sphere", "radius_um": 1.0},
    {"kind": "core_shell", "radius_um": 1.0, "shell_thickness_fraction": 0.2, "symmetry": "octant"},
], ids=["full_sphere", "core_shell_octant"])
def test_full_and_core_shell_particles_mesh_with_curved_cells(geometry):
    straight, curved = (build(geometry, 0.35, order) for order in (1, 2))
    assert curved.cell_regions == straight.cell_regions and curved.facet_regions == straight.facet_regions
    assert compat.geometry_degree(curved.mesh) == 2
    for region, entry in curved.measure()["region_volumes_m3"].items():
        if entry["nominal"]:
            error = abs(entry["relative_error"])
            assert error < 2e-3, region
            assert error < abs(straight.measure()["region_volumes_m3"][region]["relative_error"]) / 5, region


# -- a whole run -------------------------------------------------------------------------------------
def test_a_hollow_sphere_runs_on_curved_cells_and_writes_its_outputs(tmp_path):
    import meshio

    from solver.pipeline import run_case

    case = load_case(CASES / "verification_sphere.toml", [
        'geometry.kind="hollow_sphere"', "geometry.void_radius_fraction=0.4", "mesh.geometry_order=2",
        "mesh.cell_size_fraction=0.3", "mesh.surface_cell_size_fraction=0.15", "time.steps=4",
        "output.pictures=false", "output.progress=false"])
    out = tmp_path / "curved"
    summary = run_case(case, out, MPI.COMM_SELF, mesh_cache=None, render=False)
    assert summary["status"] == "completed"
    assert summary["case"]["mesh"]["geometry_order"] == 2
    assert json.loads((out / "summary.json").read_text())["status"] == "completed"
    radius = summary["particle"]["radius_m"]
    for kind, peak in summary["peak"].items():
        assert math.isfinite(peak["value_Pa"]) and 0.4 - 1e-9 <= peak["radius_fraction"] <= 1 + 1e-9, kind
    assert summary["peak"]["hoop"]["value_Pa"] > 0
    # ParaView's XDMF: the 10-node tets, point data at every geometry node
    assert 'TopologyType="Tetrahedron_10"' in (out / "fields.xdmf").read_text()
    # the renderer's VTU: the P1 fields on the straight tets through the cell corners (the vertices)
    vtu = meshio.read(out / "fields_final.vtu")
    assert [block.type for block in vtu.cells] == ["tetra"]
    assert len(vtu.cells[0].data) == summary["mesh"]["cells"]
    r = np.linalg.norm(vtu.points, axis=1) / radius
    assert r.min() == pytest.approx(0.4) and r.max() == pytest.approx(1.0)
    assert np.all(np.isfinite(vtu.point_data["von_mises_Pa"]))
    # ... and ParaView's reader (VTK's XDMF3 through pyvista, in its own process: VTK and dolfinx do not share one)
    # reads every field at every time on the 10-node tets (as float32); at the final time each field's extremes are the VTU's
    # (the P2 copy interpolates the P1 field exactly, so its extremes sit at the vertices)
    fields = read_xdmf_in_a_fresh_process(out / "fields.xdmf")
    assert len(fields) == case["output"]["snapshots"]
    final = fields[-1]
    assert set(final["fields"]) >= {"concentration_mol_m3", "displacement_m", "von_mises_Pa", "hoop_Pa", "radial_Pa"}
    assert final["quadratic_tets"] and final["points"] > len(vtu.points)
    for name in ("concentration_mol_m3", "von_mises_Pa", "hoop_Pa"):
        low, high = final["fields"][name]
        assert low == pytest.approx(vtu.point_data[name].min(), rel=1e-6, abs=1e-6), name
        assert high == pytest.approx(vtu.point_data[name].max(), rel=1e-6), name


XDMF_READER = """
import json, sys
import pyvista
reader = pyvista.get_reader(sys.argv[1])
steps = []
for index, time_s in enumerate(reader.time_values):
    reader.set_active_time_point(index)
    blocks = reader.read()
    fields, points, quadratic = {}, 0, True
    for block in blocks:
        for name in block.point_data.keys():
            values = block.point_data[name]
            fields[name] = [float(values.min()), float(values.max())]
        points = block.n_points
        quadratic &= bool((block.celltypes == pyvista.CellType.QUADRATIC_TETRA).all())
    steps.append({"time_s": time_s, "points": points, "quadratic_tets": quadratic, "fields": fields})
print(json.dumps(steps))
"""


def read_xdmf_in_a_fresh_process(path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", XDMF_READER, str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
