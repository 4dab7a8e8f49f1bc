"""The crack census quantities of the damage field: the state rule on the central section (solver/crack_census.py),
the cracked grain-boundary area fraction and the per-cycle table (solver/fields/damage.py). The damage is set by
hand on tiny box meshes, so every expected value is exact."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from solver import compat
from solver.crack_census import section_pieces, section_polygons, section_state
from solver.writers import write_field_tables
from solver.problem import ChemoMechanicalProblem

from test_anisotropic import box_particle
from test_damage import bar_case

UM = 1e-6
BOX_M = (2 * UM, 1 * UM, 0.5 * UM)


def box_damage(cells=(16, 4, 2), mirror=False, boundary_at_x_um=None, shift_z_m=0.0, piece_fraction=None):
    """The damage field of a box [0, 2] x [0, 1] x [0, 0.5] um whose z = 0 face is the central section (as in an
    octant model), `mirror`: x = 0 is a symmetry plane; a grain boundary at x = `boundary_at_x_um`."""
    tol = 1e-12
    facets = {"outer_surface": lambda p: np.isclose(p[2], BOX_M[2], atol=tol)}
    if mirror:
        facets["symmetry_x"] = lambda p: np.isclose(p[0], 0.0, atol=tol)
    interfaces = ([lambda p: np.isclose(p[0], boundary_at_x_um * UM, atol=tol)]
                  if boundary_at_x_um is not None else [])
    particle = box_particle(BOX_M, cells, lambda p: 0, [np.eye(3)], facets, interfaces)
    particle.mesh.geometry.x[:, 2] += shift_z_m
    extra = {} if piece_fraction is None else {"broken_piece_fraction": piece_fraction}
    return ChemoMechanicalProblem(bar_case(extra), particle).fields["damage"]


def set_damage(damage, where) -> None:
    """d = 1 at the nodes where `where(x, y, z)` (um) holds, 0 elsewhere."""
    x, y, z = compat.dof_coordinates(damage.space).T / UM
    damage.d.x.array[:] = np.where(where(np.round(x, 9), np.round(y, 9), np.round(z, 9)), 1.0, 0.0)


def test_the_section_area_of_a_tetrahedron():
    """Triangle, quadrilateral, a face on the plane, and an edge on it (no area); a meridian triangle is its own
    cut, its sides its edges."""
    triangle = np.array([[0, 0, -1], [2, 0, 1], [0, 2, 1], [0, 0, 1]], float)
    quadrilateral = np.array([[0, 0, -1], [1, 0, -1], [0, 0, 1], [0, 1, 1]], float)
    face = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], float)
    edge = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 1], [0, 0, 1]], float)
    areas, sides = section_polygons(np.array([triangle, quadrilateral, face, edge]), np.arange(16).reshape(4, 4),
                                    1e-12)
    assert np.allclose(areas, [0.5, 0.25, 0.5, 0])
    assert np.array_equal(np.bincount(sides[:, 0]), [3, 4, 3])
    assert [0, 0, 1, 0, 3] in sides.tolist()          # the triangle's side from the crossing of edge 0-1 to 0-3
    flat, edges = section_polygons(np.array([[[0, 0, 0], [2, 0, 0], [0, 1, 0]]], float), np.array([[4, 5, 6]]), 1e-12)
    assert flat[0] == pytest.approx(1.0) and sorted(map(tuple, edges[:, 1:])) == [(4, 4, 5, 5), (4, 4, 6, 6),
                                                                                    (5, 5, 6, 6)]


def test_triangles_in_the_plane_are_cut_as_the_general_rule_cuts_them():
    """The vectorised path for a mesh lying in the plane (2D section, meridian) gives the general loop's areas and
    sides: one triangle off the plane sends the same triangles through the loop."""
    rng = np.random.default_rng(3)
    flat = np.zeros((50, 3, 3))
    flat[:, :, :2] = rng.random((50, 3, 2))
    ids = rng.permuted(np.tile(np.arange(40), 4))[:150].reshape(50, 3)
    fast_areas, fast_sides = section_polygons(flat, ids, 1e-12)
    off = np.array([[[0, 0, -1], [1, 0, 1], [0, 1, 1]]], float)
    loop_areas, loop_sides = section_polygons(np.concatenate([flat, off]), np.vstack([ids, [[97, 98, 99]]]), 1e-12)
    assert np.allclose(fast_areas, loop_areas[:50], rtol=1e-12, atol=0)
    assert sorted(map(tuple, fast_sides)) == sorted(map(tuple, loop_sides[loop_sides[:, 0] < 50]))


def test_the_cut_cells_tile_the_section():
    """Shifted so that z = 0 cuts the cells through their middle: the cut areas add up to the box's cross-section."""
    damage = box_damage(cells=(4, 2, 2), shift_z_m=-0.3 * UM)
    comm = damage.comm
    assert comm.allreduce(damage.section.areas.sum()) == pytest.approx(BOX_M[0] * BOX_M[1], rel=1e-12)
    assert comm.allreduce(len(damage.section.areas)) > 16     # cut cells, not only faces on the plane


@pytest.mark.parametrize("crack, mirror, state", [
    (lambda x, y, z: x < -1, False, "intact"),
    (lambda x, y, z: x == 1.0, False, "broken"),                  # across the section: two halves
    (lambda x, y, z: (x == 1.0) & (y <= 0.5), False, "mild"),     # from the surface, halfway across
    (lambda x, y, z: x == 1.5, False, "broken"),                  # cuts off 19 % of the section (>= 10 %)
    (lambda x, y, z: x == 1.75, False, "mild"),                   # cuts off 6 %: a chip, not a split
    (lambda x, y, z: (x == 0) | (x == 2) | (y == 0) | (y == 1), False, "mild"),   # a cracked rim, intact core
    (lambda x, y, z: x == 0.0, False, "mild"),                    # along the free end: nothing split off
    (lambda x, y, z: x == 0.0, True, "broken"),                   # along the mirror plane: splits the whole
    (lambda x, y, z: (x == 1.0) & (z > 0.3), False, "mild"),      # cracked above the section's cells only
])
def test_the_state_is_a_connectivity_test_on_the_central_section(crack, mirror, state):
    damage = box_damage(mirror=mirror)
    set_damage(damage, crack)
    assert damage.state_name() == state


def test_the_census_runs_again_only_when_the_intact_section_cells_change(monkeypatch):
    """Every timeseries row asks for the state: the piece count reruns only where a crack has crossed another
    section cell, and the state follows the damage whichever way it changes (a restored step too)."""
    damage = box_damage()
    counted = []
    section_state_of = damage._section_state
    monkeypatch.setattr(damage, "_section_state", lambda intact: counted.append(1) or section_state_of(intact))
    steps = [(lambda x, y, z: (x == 1.0) & (y <= 0.5), "mild", 1),
             (lambda x, y, z: (x == 1.0) & (y <= 0.5), "mild", 0),                 # the same damage: no census
             (lambda x, y, z: ((x == 1.0) & (y <= 0.5)) | (z > 0.3), "mild", 0),   # above the section's cells only
             (lambda x, y, z: x == 1.0, "broken", 1),                             # across: two halves
             (lambda x, y, z: x < -1, "intact", 0),                               # undamaged: no census needed
             (lambda x, y, z: (x == 1.0) & (y <= 0.5), "mild", 1)]                # back to the first: counted again
    for crack, state, census in steps:
        set_damage(damage, crack)
        before = len(counted)
        assert damage.state_name() == state and damage.state_name() == state
        assert len(counted) - before == census


def test_the_broken_piece_fraction_is_the_smallest_piece_that_counts():
    damage = box_damage(piece_fraction=0.05)
    set_damage(damage, lambda x, y, z: x == 1.75)
    assert damage.state_name() == "broken"


def test_pieces_touching_mirror_planes_are_joined_with_their_images():
    """One piece touching both mirrors of an octant is the whole section once; touching one, two copies."""
    assert section_state(True, [(1.0, np.array([True, True]))], 2, 1.0, 0.1) == "mild"
    assert section_state(True, [(0.5, np.array([True, False]))], 2, 1.0, 0.1) == "broken"
    assert section_state(False, [], 2, 1.0, 0.1) == "intact"


def test_a_pulverised_section_is_broken():
    """Cracks that leave only fragments (no intact piece of broken_piece_fraction) break the section, as do cracks
    that leave nothing intact; one large piece with fragments beside it is a chipped, "mild" section."""
    fragments = [(0.05, np.array([False])) for _ in range(4)]
    assert section_state(True, fragments, 0, 1.0, 0.1) == "broken"
    assert section_state(True, [], 0, 1.0, 0.1) == "broken"
    assert section_state(True, [(0.8, np.array([False])), *fragments], 0, 1.0, 0.1) == "mild"
    sides = np.array([[0, 1, 1, 2, 2], [0, 2, 2, 3, 3], [1, 1, 1, 2, 2], [1, 5, 5, 6, 6], [2, 3, 3, 4, 4]])
    pieces = section_pieces(sides, np.array([1.0, 2.0, 4.0]), np.array([[True], [False], [False]]))  # 0, 1 share
    assert sorted((area, bool(t[0])) for area, t in pieces) == [(3.0, True), (4.0, False)]


def test_the_cracked_grain_boundary_area_fraction():
    """A grain boundary at x = 1 um cracked for y <= 0.5 um: half its area; without grain boundaries: 0."""
    damage = box_damage(boundary_at_x_um=1.0)
    set_damage(damage, lambda x, y, z: (x == 1.0) & (y <= 0.5))
    assert damage.cracked_grain_boundary_area_fraction() == pytest.approx(0.5, rel=1e-12)
    set_damage(damage, lambda x, y, z: x >= 0)
    assert damage.cracked_grain_boundary_area_fraction() == pytest.approx(1.0, rel=1e-12)
    plain = box_damage()
    set_damage(plain, lambda x, y, z: x >= 0)
    assert plain.cracked_grain_boundary_area_fraction() == 0.0
    assert plain.summary()["fracture"]["cracked_grain_boundary_area_fraction"] == 0.0


def test_cycle_rows_reach_fracture_cycles_csv(tmp_path):
    """end_cycle rows go through the Field tables() hook into the result folder; no cycles, no file."""
    damage = box_damage(boundary_at_x_um=1.0)

    class Folder:
        def path(self, name):
            return tmp_path / name

    problem = type("Problem", (), {"fields": {"damage": damage}, "comm": damage.comm})()
    write_field_tables(problem, Folder())
    assert not (tmp_path / "fracture_cycles.csv").exists()
    damage.end_cycle(1)
    set_damage(damage, lambda x, y, z: abs(x - 1.0) <= 0.125)     # a band two cells wide
    damage.end_cycle(7, extrapolated=True)
    write_field_tables(problem, Folder())
    if damage.comm.rank != 0:           # rank 0 writes the tables (each rank has its own tmp_path under MPI)
        return
    rows = list(csv.DictReader((tmp_path / "fracture_cycles.csv").open()))
    assert [(r["cycle"], r["extrapolated"], r["state"]) for r in rows] == [("1", "0", "intact"), ("7", "1", "broken")]
    assert float(rows[1]["cracked_grain_boundary_area_fraction"]) == pytest.approx(1.0)
    assert 0.125 <= float(rows[1]["crack_volume_fraction"]) < 0.25 and float(rows[0]["crack_volume_fraction"]) == 0
