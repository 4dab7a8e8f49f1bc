"""Polycrystalline particle: Voronoi grains clipped to the sphere, conformal grain boundaries, seeded
orientations, optional intergranular pores."""
from __future__ import annotations

import numpy as np

from solver.geometry import pores as pore_tools
from solver.geometry.assembly import RADIUS, SEED, Assembly, KindSpec, ball_volume, radius_um
from solver.geometry.occ import ball, convex_polyhedron, fragment_assign
from solver.geometry.orientations import grain_rotations
from solver.geometry.voronoi import grain_seeds, voronoi_cells
from solver.schema import FLOAT, INT, STR, Option, fraction_closed, fraction_open, whole_number

OPTIONS = [
    RADIUS,
    # one OCC solid per grain in one fragment call; the studies use 20-30 grains
    Option("grain_count", INT, 20, check=whole_number(2, 2000), help="number of Voronoi grains"),
    SEED,
    Option("orientation", STR, "random", choices=("random", "radial"),
           help="random grain orientations, or radially textured"),
    Option("radial_texture_fraction", FLOAT, 1.0, check=fraction_closed,
           help="with orientation = 'radial': fraction of grains whose radial_axis points radially"),
    Option("radial_axis", STR, "c", choices=("a", "b", "c"), help="crystal axis aligned with the radius"),
    Option("grain_spacing_fraction", FLOAT, 0.5, check=fraction_open,
           help="minimum seed distance / mean grain spacing (regularises grain shapes)"),
    Option("pore_placement", STR, "grain_boundary", choices=("grain_boundary", "sampled"),
           help="move sampled pores onto the nearest grain boundary, or keep the sampled centres"),
    *pore_tools.PORE_OPTIONS,
]


def build(geometry: dict, mesh: dict) -> Assembly:
    radius = radius_um(geometry)
    rng = np.random.default_rng([geometry["seed"], 11])
    seeds = grain_seeds(rng, geometry["grain_count"], radius, geometry["grain_spacing_fraction"])
    rotations, textured = grain_rotations(rng, seeds, geometry["orientation"],
                                          geometry["radial_texture_fraction"], geometry["radial_axis"])
    pores, moved, dropped = _intergranular_pores(geometry, radius, seeds)
    inputs = [("particle", ball((0, 0, 0), radius))]
    inputs += [(f"grain_{i}", convex_polyhedron(v, f)) for i, (v, f) in enumerate(voronoi_cells(seeds, 1.2 * radius))]
    inputs += pore_tools.pore_inputs(pores, mesh, radius)

    def region(labels):
        if "particle" not in labels or "pore" in labels:
            return None
        return next(label for label in labels if label.startswith("grain_"))

    regions = fragment_assign(inputs, region)
    description = {"grain_count": len(seeds), "orientation": geometry["orientation"],
                   "textured_grains": int(textured.sum()), "grain_seeds_um": seeds.tolist(),
                   "pores_moved_to_grain_boundaries": moved, "pores_dropped": dropped,
                   **pore_tools.summary(pores)}
    return Assembly(regions, radius, {"envelope": ball_volume(radius)}, description, pores=pores,
                    grain_orientations=rotations)


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
