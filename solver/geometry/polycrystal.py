"""Polycrystalline particle: Voronoi grains clipped to the sphere, conformal grain boundaries, seeded
orientations, optional intergranular pores.

Construction (what keeps meshing affordable at hundreds of grains): the Voronoi cells are built as one
polyhedral complex whose neighbours share their OCC faces (voronoi.voronoi_complex, occ.polyhedral_complex),
so no boolean is needed between grains; one OCC fragment then clips the grains that cross the sphere, and
one OCC cut removes the pores from the grains they touch (grains that neither cross the sphere nor hold a
pore enter no boolean). Building each cell on its own and fragmenting all of them with the sphere (the
construction before) spent most of its time matching the coincident faces of neighbours: dense p_ncm83 meshed
in 5.3 / 18.6 / 57.9 s at 50 / 100 / 200 grains before, 4.2 / 7.9 / 17.7 s now (2 shared cores, 1 gmsh thread;
docs/performance.md section 5, benchmarks/mesh_scaling.py).
"""
from __future__ import annotations

import time

import numpy as np

from solver.geometry import pores as pore_tools
from solver.geometry.assembly import RADIUS, SEED, Assembly, KindSpec, ball_volume, radius_um
from solver.geometry.occ import ball, cut_assign, fragment_assign, polyhedral_complex
from solver.geometry.orientations import grain_rotations
from solver.geometry.voronoi import grain_seeds, voronoi_complex
from solver.schema import FLOAT, INT, STR, Option, fraction_closed, fraction_open, whole_number

# the grains' orientations and seed spacing (a sub-volume's grains too: solver/geometry/subvolume.py)
GRAIN_LAYOUT_OPTIONS = [
    Option("orientation", STR, "random", choices=("random", "radial", "radial_shell"),
           help="random grain orientations, radially textured, or radial_shell: a random core inside a radially "
                "textured shell"),
    Option("radial_texture_fraction", FLOAT, 1.0, check=fraction_closed,
           help="with orientation = 'radial' (or 'radial_shell'): fraction of the grains (of the shell) whose "
                "radial_axis points radially"),
    Option("textured_shell_inner_fraction", FLOAT, 0.5, check=fraction_open,
           help="with orientation = 'radial_shell': grains whose centre lies at r >= this x radius form the "
                "textured shell"),
    Option("radial_axis", STR, "c", choices=("a", "b", "c"), help="crystal axis aligned with the radius"),
    Option("grain_spacing_fraction", FLOAT, 0.5, check=fraction_open,
           help="minimum seed distance / mean grain spacing (regularises grain shapes)"),
]

OPTIONS = [
    RADIUS,
    # one Voronoi complex (shared faces): 200 dense grains mesh in ~18 s, 1000 in ~4 min; the studies use 30
    Option("grain_count", INT, 20, check=whole_number(2, 2000), help="number of Voronoi grains"),
    SEED,
    *GRAIN_LAYOUT_OPTIONS,
    Option("pore_placement", STR, "grain_boundary", choices=("grain_boundary", "sampled"),
           help="move sampled pores onto the nearest grain boundary, or keep the sampled centres"),
    *pore_tools.PORE_OPTIONS,
]


def build(geometry: dict, mesh: dict) -> Assembly:
    radius = radius_um(geometry)
    started = time.perf_counter()
    rng = np.random.default_rng([geometry["seed"], 11])
    seeds = grain_seeds(rng, geometry["grain_count"], radius, geometry["grain_spacing_fraction"])
    rotations, textured = grain_rotations(rng, seeds, geometry["orientation"], geometry["radial_texture_fraction"],
                                          geometry["radial_axis"], geometry["textured_shell_inner_fraction"] * radius)
    pores, moved, dropped = _intergranular_pores(geometry, radius, seeds)
    stages = {"seeds_and_pores": time.perf_counter() - started}
    started = time.perf_counter()
    vertices, faces, cell_faces = voronoi_complex(seeds, 1.2 * radius)
    solids = polyhedral_complex(vertices, faces, cell_faces)
    stages["grain_solids"] = time.perf_counter() - started
    started = time.perf_counter()
    cut = _grains_to_cut(vertices, faces, cell_faces, radius, pores)
    inputs = [("particle", ball((0, 0, 0), radius))]
    inputs += [(f"grain_{i}", solids[i]) for i in np.flatnonzero(cut)]

    def region(labels):
        if "particle" not in labels:
            return None   # outside the sphere, or the room of the uncut grains (they fill it)
        return next((label for label in labels if label.startswith("grain_")), None)

    regions = fragment_assign(inputs, region)
    stages["sphere_boolean"] = time.perf_counter() - started
    started = time.perf_counter()
    pore_solids = [dimtag for _, dimtags in pore_tools.pore_inputs(pores, mesh, radius) for dimtag in dimtags]
    regions = cut_assign(regions, [f"grain_{i}" for i in np.flatnonzero(cut)], pore_solids)
    regions.update({f"grain_{i}": [solids[i][0][1]] for i in np.flatnonzero(~cut)})
    stages["pore_boolean"] = time.perf_counter() - started
    description = {"grain_count": len(seeds), "orientation": geometry["orientation"],
                   "textured_grains": int(textured.sum()), "grain_seeds_um": seeds.tolist(),
                   "pores_moved_to_grain_boundaries": moved, "pores_dropped": dropped,
                   "grains_cut": int(cut.sum()), "geometry_stage_seconds": stages,
                   **pore_tools.summary(pores)}
    return Assembly(regions, radius, {"envelope": ball_volume(radius)}, description, pores=pores,
                    grain_orientations=rotations)


def _grains_to_cut(vertices: np.ndarray, faces: list[list[int]], cell_faces: list[list[int]], radius: float,
                   pores) -> np.ndarray:
    """Which grains the boolean must cut: those reaching past the sphere (a convex cell with every vertex
    inside lies inside) and those whose bounding box a pore's bounding sphere touches. The others keep
    their faces, which they share with their neighbours, cut or not (the boolean leaves a face it does not
    split as it is), so they join the mesh conformally without entering the boolean."""
    reach_um = 1e-9 * radius
    cut = np.zeros(len(cell_faces), bool)
    centres = np.zeros((0, 3)) if pores is None else pores.centers_um
    reach = np.zeros(0) if pores is None else 1.5 * pores.bounding_radii_um()   # pore_inputs inflates <= 1.49x
    for i, cell in enumerate(cell_faces):
        corners = vertices[sorted({v for f in cell for v in faces[f]})]
        low, high = corners.min(axis=0), corners.max(axis=0)
        outside = np.linalg.norm(corners, axis=1).max() > radius - reach_um
        gap = np.linalg.norm(np.maximum(0.0, np.maximum(low - centres, centres - high)), axis=1)
        cut[i] = outside or bool(np.any(gap <= reach + reach_um))
    return cut


def _intergranular_pores(geometry: dict, radius: float, seeds: np.ndarray):
    """Sampled pores; isolated ones are moved (largest first) onto the bisector plane of their two nearest
    grain seeds when that keeps them clear of the surface and of the pores already placed, else left where
    sampled, else dropped. Cluster pores (deliberately overlapping) stay where they were sampled."""
    pores = pore_tools.sample(geometry, radius)
    if pores is None or geometry["pore_placement"] == "sampled":
        return pores, 0, 0
    gap, surface_gap = pore_tools.gaps_um(geometry, radius)
    reach = pores.bounding_radii_um()
    centres = pores.centers_um.copy()
    placed = pores.cluster_ids >= 0
    moved = 0
    for k in np.argsort(-reach):
        if placed[k]:
            continue
        others = np.flatnonzero(placed)
        for candidate, is_move in ((_onto_boundary(centres[k], seeds), True), (centres[k], False)):
            inside = np.linalg.norm(candidate) + reach[k] <= radius - surface_gap
            clear = np.all(np.linalg.norm(centres[others] - candidate, axis=1) >= reach[others] + reach[k] + gap)
            if inside and clear:
                centres[k], placed[k] = candidate, True
                moved += is_move
                break
    return pore_tools.subset(pores, placed, centres), moved, int((~placed).sum())


def _onto_boundary(point: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    nearest = np.argsort(np.linalg.norm(seeds - point, axis=1))[:2]
    a, b = seeds[nearest]
    normal = (b - a) / np.linalg.norm(b - a)
    return point - ((point - (a + b) / 2.0) @ normal) * normal


SPEC = KindSpec("polycrystal", OPTIONS, build, "Voronoi grains grain_<i> with grain_boundary facets",
                check=pore_tools.check_pore_options)
